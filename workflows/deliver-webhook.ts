import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhooks';
import { failureMessage } from './failures';

export interface DeliverWebhookInput {
  deliveryId: string;
  /** The wait before the second attempt, doubled after each up to `retryMaxMs`. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** How long the delivery is tried before it is given up and its endpoint disabled. */
  giveUpAfterMs: number;
  /** The longest one attempt may take. */
  attemptTimeoutMs: number;
}

export interface DeliverWebhookResult {
  deliveryId: string;
  delivered: boolean;
}

/** One delivery's workflow id; a redelivery is a new round of the same delivery. */
export function deliverWebhookWorkflowId(deliveryId: string, round: number): string {
  return round === 0 ? `webhook-${deliveryId}` : `webhook-${deliveryId}-${round}`;
}

/**
 * Delivers one event to one endpoint: the signed POST is tried again with exponential backoff
 * (Temporal's retry policy: the waits survive worker restarts) until the receiver answers 2xx or
 * `giveUpAfterMs` has passed; then the delivery is marked failed and the endpoint disabled, its
 * owner told through the endpoint's status and reason.
 */
export async function deliverWebhook(input: DeliverWebhookInput): Promise<DeliverWebhookResult> {
  const { deliveryId } = input;
  const send = proxyActivities<WebhookActivities>({
    startToCloseTimeout: input.attemptTimeoutMs + 5000,
    scheduleToCloseTimeout: input.giveUpAfterMs,
    retry: {
      initialInterval: input.retryInitialMs,
      backoffCoefficient: 2,
      maximumInterval: input.retryMaxMs,
      nonRetryableErrorTypes: ['WebhookEndpointInactive'],
    },
  });
  const giveUp = proxyActivities<WebhookActivities>({ startToCloseTimeout: '1 minute', scheduleToCloseTimeout: '1 hour' });
  try {
    await send.sendWebhook({ deliveryId, attemptTimeoutMs: input.attemptTimeoutMs });
    return { deliveryId, delivered: true };
  } catch (err) {
    const inactive = err instanceof Error && err.cause instanceof ApplicationFailure && err.cause.type === 'WebhookEndpointInactive';
    await giveUp.giveUpWebhook({ deliveryId, error: failureMessage(err), disableEndpoint: !inactive });
    return { deliveryId, delivered: false };
  }
}
