import Joi from 'joi';
import { startWebhookDelivery } from '../../control/webhooks';
import { OPERATOR_EVENT_TYPES, WEBHOOK_EVENT_TYPES, type WebhookDelivery, type WebhookEndpoint, type WebhookEventType, type WebhookOwner } from '../../db/repositories/webhooks';
import { newWebhookSecret } from '../../lib/standard-webhooks';
import { resolveTarget, WebhookTargetError } from '../../providers/webhooks/target';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { cursorParam, encodeCursor, pageOf, type Cursor } from '../pagination';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { notFound, ownerFor, roleAtLeast, roleOver } from '../tenancy';

/**
 * Webhook endpoints of a user (their own) or an organization (admins and owners): the platform's
 * events POSTed to them signed as Standard Webhooks says, each delivery retried for up to three days
 * (workflows/deliver-webhook.ts). The signing secret is answered once, at creation.
 */

interface EndpointBody {
  url: string;
  event_types: WebhookEventType[];
  description?: string | null;
  organization_id?: string;
}

interface EndpointChanges {
  url?: string;
  event_types?: WebhookEventType[];
  description?: string | null;
  status?: 'active' | 'disabled';
}

const url = Joi.string().trim().max(2000);
const eventTypes = Joi.array().items(Joi.string().valid(...WEBHOOK_EVENT_TYPES)).min(1).unique();
const description = Joi.string().trim().max(200).allow(null);

function serializeEndpoint(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    url: endpoint.url,
    event_types: endpoint.event_types,
    description: endpoint.description,
    status: endpoint.status,
    disabled_reason: endpoint.disabled_reason,
    disabled_at: endpoint.disabled_at,
    user_id: endpoint.user_id,
    organization_id: endpoint.organization_id,
    created_by: endpoint.created_by,
    created_at: endpoint.created_at,
    updated_at: endpoint.updated_at,
  };
}

function serializeDelivery(delivery: WebhookDelivery) {
  return {
    id: delivery.id,
    event_id: delivery.event_id,
    event_type: delivery.event_type,
    payload: delivery.payload,
    status: delivery.status,
    attempts: delivery.attempts,
    redeliveries: delivery.redeliveries,
    last_status_code: delivery.last_status_code,
    last_error: delivery.last_error,
    last_attempt_at: delivery.last_attempt_at,
    delivered_at: delivery.delivered_at,
    created_at: delivery.created_at,
  };
}

function ownerOf(endpoint: WebhookEndpoint): WebhookOwner {
  return endpoint.organization_id ? { organizationId: endpoint.organization_id } : { userId: endpoint.user_id! };
}

export function webhookRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models, db } = ctx;

  /** The URL as a target the deployment allows, resolved now; a 400 naming `body.url` otherwise. */
  async function checkUrl(raw: string): Promise<string> {
    try {
      return (await resolveTarget(raw, ctx.config.webhooks.targets)).url.href;
    } catch (err) {
      if (err instanceof WebhookTargetError) throw new HttpError(400, 'validation_failed', 'the request is invalid', { 'body.url': err.message });
      throw err;
    }
  }

  /**
   * Events about the platform itself (the restore drill's result) go only to the personal endpoints
   * of its operators (OPERATOR_EMAILS), signed in as themselves.
   */
  async function checkOperatorEvents(types: readonly WebhookEventType[] | undefined, auth: { userId: string; apiKey?: unknown }, organizationId: string | null | undefined): Promise<void> {
    const asked = (types ?? []).filter((type) => OPERATOR_EVENT_TYPES.includes(type));
    if (asked.length === 0) return;
    const user = auth.apiKey || organizationId ? null : await models.User.findByPk(auth.userId, { attributes: ['email'] });
    if (!user || !ctx.config.operatorEmails.includes(user.email.toLowerCase())) {
      throw new HttpError(403, 'forbidden', `${asked.join(', ')} goes only to the personal endpoints of the platform's operators, signed in`, { 'body.event_types': 'names an operator event' });
    }
  }

  /** The endpoint, if the caller manages it: its own, or its organization's as an admin or owner. */
  async function managed(userId: string, id: string): Promise<WebhookEndpoint> {
    const endpoint = await db.webhooks.get(id);
    const role = endpoint ? await roleOver(models, userId, endpoint) : undefined;
    if (!endpoint || !role) throw notFound('webhook endpoint');
    if (endpoint.organization_id && !roleAtLeast(role, 'admin')) throw new HttpError(403, 'forbidden', "an organization's webhooks are managed by its admins and owners");
    return endpoint;
  }

  return [
    route<Record<string, never>, Record<string, never>, EndpointBody>({
      method: 'post',
      path: '/webhooks',
      summary:
        `Register a webhook endpoint, personal or (organization_id, admin or higher) an organization's, for some of the events ${WEBHOOK_EVENT_TYPES.join(', ')}. ` +
        'The URL must be https with a public address in production (resolved now; loopback and http are allowed on a local stack). The signing secret (whsec_…) is in this answer only',
      tag: 'webhooks',
      auth: 'user',
      body: Joi.object<EndpointBody>({ url: url.required(), event_types: eventTypes.required(), description, organization_id: schemas.id }).required(),
      responses: { 201: '{ webhook, secret }: secret is shown this once', 400: 'an invalid or refused URL, or unknown event types' },
      handler: async (req, res, { body }) => {
        const userId = req.auth!.userId;
        const owner = await ownerFor(models, userId, body.organization_id, 'admin');
        await checkOperatorEvents(body.event_types, req.auth!, body.organization_id);
        const target = await checkUrl(body.url);
        const secret = newWebhookSecret();
        const endpoint = await db.webhooks.create(
          {
            owner: owner.kind === 'organization' ? { organizationId: owner.organizationId } : { userId: owner.userId },
            createdBy: userId,
            url: target,
            eventTypes: body.event_types,
            description: body.description ?? null,
          },
          secret,
        );
        res.status(201).json({ webhook: serializeEndpoint(endpoint), secret });
      },
    }),
    route<Record<string, never>, { organization_id?: string }>({
      method: 'get',
      path: '/webhooks',
      summary: "The caller's own webhook endpoints, or (organization_id, admin or higher) an organization's; never their secrets",
      tag: 'webhooks',
      auth: 'user',
      query: Joi.object({ organization_id: schemas.id }),
      responses: { 200: '{ items }, newest first' },
      handler: async (req, res, { query }) => {
        const owner = await ownerFor(models, req.auth!.userId, query.organization_id, 'admin');
        const endpoints = await db.webhooks.list(owner.kind === 'organization' ? { organizationId: owner.organizationId } : { userId: owner.userId });
        res.json({ items: endpoints.map(serializeEndpoint) });
      },
    }),
    route<{ id: string }>({
      method: 'get',
      path: '/webhooks/:id',
      summary: 'A webhook endpoint: its URL, events and status (a disabled one says why)',
      tag: 'webhooks',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ webhook }' },
      handler: async (req, res, { params }) => {
        res.json({ webhook: serializeEndpoint(await managed(req.auth!.userId, params.id)) });
      },
    }),
    route<{ id: string }, Record<string, never>, EndpointChanges>({
      method: 'patch',
      path: '/webhooks/:id',
      summary: "Change a webhook endpoint's URL, events or description, or disable it and enable it again (status)",
      tag: 'webhooks',
      auth: 'user',
      params: schemas.idParams,
      body: Joi.object<EndpointChanges>({ url, event_types: eventTypes, description, status: Joi.string().valid('active', 'disabled') }).min(1).required(),
      responses: { 200: '{ webhook }' },
      handler: async (req, res, { params, body }) => {
        const endpoint = await managed(req.auth!.userId, params.id);
        await checkOperatorEvents(body.event_types, req.auth!, endpoint.organization_id);
        const target = body.url === undefined ? undefined : await checkUrl(body.url);
        const changed = await db.webhooks.update(params.id, {
          ...(target !== undefined ? { url: target } : {}),
          ...(body.event_types ? { eventTypes: body.event_types } : {}),
          ...(body.description !== undefined ? { description: body.description } : {}),
          ...(body.status ? { status: body.status } : {}),
        });
        if (!changed) throw notFound('webhook endpoint');
        res.json({ webhook: serializeEndpoint(changed) });
      },
    }),
    route<{ id: string }>({
      method: 'delete',
      path: '/webhooks/:id',
      summary: 'Remove a webhook endpoint: it receives nothing more (its delivery log is kept for accounting, not shown)',
      tag: 'webhooks',
      auth: 'user',
      params: schemas.idParams,
      responses: { 204: 'removed' },
      handler: async (req, res, { params }) => {
        await managed(req.auth!.userId, params.id);
        await db.webhooks.remove(params.id);
        res.status(204).end();
      },
    }),
    route<{ id: string }, { limit: number; cursor?: Cursor }>({
      method: 'get',
      path: '/webhooks/:id/deliveries',
      summary: "A webhook endpoint's delivery log, newest first: each event's payload, attempts, last status code or error, and when it was delivered",
      tag: 'webhooks',
      auth: 'user',
      params: schemas.idParams,
      query: Joi.object({ limit: schemas.limit, cursor: cursorParam }),
      responses: { 200: '{ items, next_cursor }' },
      handler: async (req, res, { params, query }) => {
        await managed(req.auth!.userId, params.id);
        const rows = await db.webhooks.deliveries(params.id, query.limit + 1, query.cursor);
        const { page, nextCursor } = pageOf(rows, query.limit, (last) => encodeCursor(last.cursor_at, last.id));
        res.json({ items: page.map(serializeDelivery), next_cursor: nextCursor });
      },
    }),
    route<{ id: string; deliveryId: string }>({
      method: 'post',
      path: '/webhooks/:id/deliveries/:deliveryId/redeliver',
      summary: 'Send a delivered or failed event again, with the same id, through a new round of attempts (the endpoint must be active)',
      tag: 'webhooks',
      auth: 'user',
      params: Joi.object({ id: schemas.id.lowercase().required(), deliveryId: schemas.id.lowercase().required() }),
      responses: { 202: '{ delivery }', 409: 'endpoint_disabled: enable the endpoint first; delivery_pending: its attempts are still running' },
      handler: async (req, res, { params }) => {
        const endpoint = await managed(req.auth!.userId, params.id);
        const delivery = await db.webhooks.delivery(params.deliveryId);
        if (!delivery || delivery.endpoint_id !== endpoint.id) throw notFound('webhook delivery');
        if (endpoint.status !== 'active') throw new HttpError(409, 'endpoint_disabled', 'the endpoint is disabled: PATCH it with status active first');
        if (delivery.status === 'pending') throw new HttpError(409, 'delivery_pending', 'the delivery is still being attempted');
        const round = await db.webhooks.redeliver(delivery.id);
        await startWebhookDelivery(ctx, { ...delivery, redeliveries: round }, ownerOf(endpoint));
        res.status(202).json({ delivery: serializeDelivery((await db.webhooks.delivery(delivery.id))!) });
      },
    }),
  ];
}
