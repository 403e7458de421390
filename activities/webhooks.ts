import { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { AppContext } from '../control/app-context';
import { emailEndpointDisabled } from '../control/email';
import type { WebhookEventType } from '../db/repositories/webhooks';
import { moduleLogger } from '../lib/logger';
import { signWebhook } from '../lib/standard-webhooks';
import { postToTarget, resolveTarget, WebhookTargetError } from '../providers/webhooks/target';

const log = moduleLogger('webhooks');

/** The id of an event about the running activity's workflow run: `<type>:<subject>:<run id>`. */
export function runEventId(type: WebhookEventType, subject: string): string {
  const execution = ActivityContext.current().info.workflowExecution;
  if (!execution) throw new Error(`a ${type} event is emitted from an activity of a workflow`);
  return `${type}:${subject}:${execution.runId}`;
}

function spanOf(ms: number): string {
  return ms >= 3600_000 ? `${Math.round(ms / 3600_000)} hours` : `${Math.round(ms / 1000)} seconds`;
}

/** The activities of the delivery workflow. */
export function createWebhookActivities(ctx: AppContext) {
  const { webhooks } = ctx.db;
  return {
    /**
     * One attempt: the delivery's event signed with its endpoint's secret (a fresh timestamp per
     * attempt, the same id) and POSTed to the endpoint's address, resolved and checked now. A 2xx
     * delivers it; anything else fails the attempt, recorded in the log, for the retry policy.
     */
    async sendWebhook(input: { deliveryId: string; attemptTimeoutMs: number }): Promise<{ statusCode: number }> {
      const delivery = await webhooks.delivery(input.deliveryId);
      if (!delivery) throw ApplicationFailure.nonRetryable(`webhook delivery ${input.deliveryId} does not exist`, 'WebhookEndpointInactive');
      if (delivery.status === 'delivered') return { statusCode: delivery.last_status_code ?? 200 };
      const endpoint = await webhooks.get(delivery.endpoint_id);
      if (!endpoint || endpoint.status !== 'active') {
        throw ApplicationFailure.nonRetryable(`the endpoint is ${endpoint?.status ?? 'deleted'}`, 'WebhookEndpointInactive');
      }
      const body = JSON.stringify(delivery.payload);
      const headers = signWebhook(await webhooks.secretOf(endpoint.id), delivery.event_id, Math.floor(Date.now() / 1000), body);
      let statusCode: number | null = null;
      let error: string | null = null;
      try {
        const target = await resolveTarget(endpoint.url, ctx.config.webhooks.targets);
        const response = await postToTarget(target, headers, body, { timeoutMs: input.attemptTimeoutMs, signal: ActivityContext.current().cancellationSignal });
        statusCode = response.status;
        if (statusCode < 200 || statusCode > 299) error = `the endpoint answered ${statusCode}${response.body ? `: ${response.body.slice(0, 200)}` : ''}`;
      } catch (err) {
        error = err instanceof WebhookTargetError ? `the endpoint's address is refused: ${err.message}` : `no answer: ${err instanceof Error ? err.message : String(err)}`;
      }
      await webhooks.recordAttempt(delivery.id, { delivered: error === null, statusCode, error });
      if (error !== null) throw ApplicationFailure.retryable(error, 'WebhookAttemptFailed');
      return { statusCode: statusCode! };
    },

    /**
     * A delivery whose attempts are spent (or whose endpoint is gone): marked failed; with
     * `disableEndpoint`, its endpoint is disabled with the reason, which its owner reads on the
     * endpoint (GET /webhooks/:id), logged, and mailed to its owner (control/email.ts).
     */
    async giveUpWebhook(input: { deliveryId: string; error: string; disableEndpoint: boolean }): Promise<void> {
      await webhooks.markFailed(input.deliveryId, input.error);
      const delivery = await webhooks.delivery(input.deliveryId);
      if (!delivery || !input.disableEndpoint) return;
      const reason = `deliveries failed for ${spanOf(ctx.config.webhooks.giveUpAfterMs)}; the last: ${delivery.last_error ?? input.error}`;
      if (await webhooks.disable(delivery.endpoint_id, reason.slice(0, 1000))) {
        log.warn({ endpointId: delivery.endpoint_id, deliveryId: delivery.id }, 'webhook endpoint disabled after its deliveries kept failing');
      }
      // Also when an earlier attempt of this activity disabled it: the mail is named by the endpoint's disabling, sent once.
      await emailEndpointDisabled(ctx, delivery.endpoint_id);
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
