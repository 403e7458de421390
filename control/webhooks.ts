import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { TypedSearchAttributes, WorkflowIdReusePolicy, type SearchAttributePair } from '@temporalio/common';
import type { WebhookDelivery, WebhookEventType, WebhookOwner } from '../db/repositories/webhooks';
import { deliverWebhook, deliverWebhookWorkflowId } from '../workflows/deliver-webhook';
import { ChannelIdKey, ContentIdKey, DataSourceIdKey, OrganizationIdKey, OwnerUserIdKey, ProjectIdKey } from '../workflows/search-attributes';
import type { AppContext } from './app-context';
import { emailEvent } from './email';

/**
 * Events out: the platform's events reach the endpoints of their owner (api/routes/webhooks.ts),
 * each delivery a `deliverWebhook` workflow. Activities emit; the API starts redeliveries.
 */

/** One event of the platform, for the endpoints of its owner that subscribe to its type. */
export interface WebhookEvent {
  /**
   * The event's id, the messages' `webhook-id`: derived from what happened (e.g. the content and
   * the run), so an activity that emits it again, retried, makes no second delivery.
   */
  id: string;
  type: WebhookEventType;
  owner: WebhookOwner;
  data: Record<string, unknown>;
}

/** The owner of a project's events: its organization, else its user. */
export function projectOwner(project: { organization_id: string | null; user_id: string | null }): WebhookOwner {
  if (project.organization_id) return { organizationId: project.organization_id };
  if (project.user_id) return { userId: project.user_id };
  throw new Error('a project has an organization or a user');
}

/** The ids in an event's data that place its delivery in the Web UI, beside its owner's. */
const PLACING_FIELDS = [
  ['content_id', ContentIdKey],
  ['project_id', ProjectIdKey],
  ['channel_id', ChannelIdKey],
  ['data_source_id', DataSourceIdKey],
] as const;

/** A delivery's search attributes: its owner (organization or user) and the content, project, channel or data source its event is about. */
export function deliverySearchAttributes(owner: WebhookOwner, payload: Record<string, unknown>): SearchAttributePair[] {
  const data = payload.data && typeof payload.data === 'object' ? (payload.data as Record<string, unknown>) : {};
  return [
    owner.organizationId ? { key: OrganizationIdKey, value: owner.organizationId } : { key: OwnerUserIdKey, value: owner.userId! },
    ...PLACING_FIELDS.flatMap(([field, key]) => (typeof data[field] === 'string' ? [{ key, value: data[field] }] : [])),
  ];
}

type DeliveryRound = Pick<WebhookDelivery, 'id' | 'redeliveries' | 'event_id' | 'event_type' | 'payload'>;

/** Starts the workflow of one round of a delivery; a round already started is left as it is. */
export async function startWebhookDelivery(ctx: AppContext, delivery: DeliveryRound, owner: WebhookOwner): Promise<void> {
  const { webhooks } = ctx.config;
  try {
    await ctx.temporal.workflow.start(deliverWebhook, {
      taskQueue: ctx.config.temporal.taskQueue,
      workflowId: deliverWebhookWorkflowId(delivery.id, delivery.redeliveries),
      // A round that ended is never run again: a redelivery is a new round.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{ deliveryId: delivery.id, retryInitialMs: webhooks.retryInitialMs, retryMaxMs: webhooks.retryMaxMs, giveUpAfterMs: webhooks.giveUpAfterMs, attemptTimeoutMs: webhooks.timeoutMs }],
      typedSearchAttributes: new TypedSearchAttributes(deliverySearchAttributes(owner, delivery.payload)),
      memo: { webhookDelivery: delivery.id, event: delivery.event_type, eventId: delivery.event_id, round: delivery.redeliveries },
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/**
 * Sends an event to every active endpoint of its owner that subscribes to its type: one delivery
 * row per endpoint (made once per event id) and its delivery workflow. Answers how many endpoints
 * it went to. The events that also come by email go to the people who asked for them
 * (control/email.ts `emailEvent`). A store or Temporal failure is thrown, so the emitting activity
 * is tried again and the event is not lost; what was already made is found again, not made twice.
 */
export async function emitWebhookEvent(ctx: AppContext, event: WebhookEvent): Promise<number> {
  const endpoints = await ctx.db.webhooks.subscribed(event.owner, event.type);
  const payload = { type: event.type, timestamp: new Date().toISOString(), data: event.data };
  for (const endpoint of endpoints) {
    const { delivery } = await ctx.db.webhooks.recordDelivery(endpoint.id, { id: event.id, type: event.type, payload });
    // A delivery still pending may have no workflow yet (an attempt that stopped between the two writes).
    if (delivery.status === 'pending') await startWebhookDelivery(ctx, delivery, event.owner);
  }
  await emailEvent(ctx, event);
  return endpoints.length;
}

