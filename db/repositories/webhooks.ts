import { randomUUID } from 'node:crypto';
import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { SecretBox } from '../../lib/secrets';
import { cursorAt, olderThan, type Cursor } from '../keyset';
import { replaceSealedValue, staleSealedRows, type SealedColumnSource, type SealedRow } from './channels';

/** The events an endpoint can subscribe to. */
export const WEBHOOK_EVENT_TYPES = ['content.ready', 'content.failed', 'content.published', 'upload.failed', 'data_source.ingested', 'credits.low', 'drill.completed'] as const;

/** The events about the platform itself, which only its operators' own endpoints receive. */
export const OPERATOR_EVENT_TYPES: readonly WebhookEventType[] = ['drill.completed'];
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Who an endpoint belongs to, and whose events it receives: a user's own or an organization's. */
export type WebhookOwner = { userId: string; organizationId?: null } | { organizationId: string; userId?: null };

export type WebhookEndpointStatus = 'active' | 'disabled' | 'deleted';

/** An endpoint as shown: never its secret. */
export interface WebhookEndpoint {
  id: string;
  user_id: string | null;
  organization_id: string | null;
  created_by: string | null;
  url: string;
  event_types: WebhookEventType[];
  description: string | null;
  status: WebhookEndpointStatus;
  disabled_reason: string | null;
  disabled_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export type WebhookDeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface WebhookDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: WebhookEventType;
  payload: Record<string, unknown>;
  status: WebhookDeliveryStatus;
  attempts: number;
  redeliveries: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

const ENDPOINT_COLUMNS = 'id, user_id, organization_id, created_by, url, event_types, description, status, disabled_reason, disabled_at, created_at, updated_at';

/** The longest error kept per attempt in the delivery log. */
const ERROR_CHARS = 1000;

/**
 * webhook_endpoints and webhook_deliveries (migration 016). An endpoint's signing secret is sealed
 * under the row's context and opened only to sign a delivery (`secretOf`); no other read returns
 * it. Also a sealed source of the key rotation (`npm run secrets -- rotate`).
 */
export class WebhookRepository implements SealedColumnSource {
  readonly name = 'webhook_endpoints.secret';
  readonly columns = ['secret'] as const;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly box: SecretBox,
  ) {}

  static context(id: string): string {
    return `webhook_endpoints.secret:${id}`;
  }

  async create(endpoint: { owner: WebhookOwner; createdBy: string | null; url: string; eventTypes: readonly WebhookEventType[]; description: string | null }, secret: string): Promise<WebhookEndpoint> {
    const id = randomUUID();
    const [row] = await this.sequelize.query<WebhookEndpoint>(
      `INSERT INTO webhook_endpoints (id, user_id, organization_id, created_by, url, event_types, description, secret)
       VALUES (:id, :userId, :organizationId, :createdBy, :url, ARRAY[:eventTypes]::text[], :description, :secret)
       RETURNING ${ENDPOINT_COLUMNS}`,
      {
        type: QueryTypes.SELECT,
        replacements: {
          id,
          userId: endpoint.owner.userId ?? null,
          organizationId: endpoint.owner.organizationId ?? null,
          createdBy: endpoint.createdBy,
          url: endpoint.url,
          eventTypes: [...endpoint.eventTypes],
          description: endpoint.description,
          secret: this.box.encrypt(secret, WebhookRepository.context(id)),
        },
      },
    );
    return row!;
  }

  async get(id: string, transaction?: Transaction): Promise<WebhookEndpoint | undefined> {
    const [row] = await this.sequelize.query<WebhookEndpoint>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = :id AND status <> 'deleted'`, {
      type: QueryTypes.SELECT,
      replacements: { id },
      ...(transaction ? { transaction } : {}),
    });
    return row;
  }

  /** The owner's endpoints that are not deleted, newest first. */
  async list(owner: WebhookOwner): Promise<WebhookEndpoint[]> {
    const column = owner.organizationId ? 'organization_id' : 'user_id';
    return this.sequelize.query<WebhookEndpoint>(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE ${column} = :ownerId AND status <> 'deleted' ORDER BY created_at DESC, id`,
      { type: QueryTypes.SELECT, replacements: { ownerId: owner.organizationId ?? owner.userId } },
    );
  }

  /** The owner's active endpoints subscribed to `type`. */
  async subscribed(owner: WebhookOwner, type: WebhookEventType): Promise<WebhookEndpoint[]> {
    const column = owner.organizationId ? 'organization_id' : 'user_id';
    return this.sequelize.query<WebhookEndpoint>(
      `SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE ${column} = :ownerId AND status = 'active' AND :type = ANY(event_types) ORDER BY id`,
      { type: QueryTypes.SELECT, replacements: { ownerId: owner.organizationId ?? owner.userId, type } },
    );
  }

  /** Changes an endpoint; `status: 'active'` enables a disabled one again. Answers it as changed. */
  async update(id: string, changes: { url?: string; eventTypes?: readonly WebhookEventType[]; description?: string | null; status?: 'active' | 'disabled' }): Promise<WebhookEndpoint | undefined> {
    const sets: string[] = [];
    if (changes.url !== undefined) sets.push('url = :url');
    if (changes.eventTypes !== undefined) sets.push('event_types = ARRAY[:eventTypes]::text[]');
    if (changes.description !== undefined) sets.push('description = :description');
    if (changes.status === 'active') sets.push("status = 'active', disabled_reason = NULL, disabled_at = NULL");
    if (changes.status === 'disabled') sets.push("status = 'disabled', disabled_reason = 'disabled by its owner', disabled_at = NOW()");
    if (sets.length === 0) return this.get(id);
    const [row] = await this.sequelize.query<WebhookEndpoint>(`UPDATE webhook_endpoints SET ${sets.join(', ')} WHERE id = :id AND status <> 'deleted' RETURNING ${ENDPOINT_COLUMNS}`, {
      type: QueryTypes.SELECT,
      replacements: { id, url: changes.url ?? null, eventTypes: changes.eventTypes ? [...changes.eventTypes] : null, description: changes.description ?? null },
    });
    return row;
  }

  /** Marks an endpoint deleted: it receives nothing more; its log stays. True when it was there. */
  async remove(id: string): Promise<boolean> {
    const [, count] = await this.sequelize.query("UPDATE webhook_endpoints SET status = 'deleted' WHERE id = :id AND status <> 'deleted'", {
      type: QueryTypes.UPDATE,
      replacements: { id },
    });
    return count > 0;
  }

  /** Disables an active endpoint with the reason. True when this call disabled it. */
  async disable(id: string, reason: string): Promise<boolean> {
    const [, count] = await this.sequelize.query(
      "UPDATE webhook_endpoints SET status = 'disabled', disabled_reason = :reason, disabled_at = NOW() WHERE id = :id AND status = 'active'",
      { type: QueryTypes.UPDATE, replacements: { id, reason } },
    );
    return count > 0;
  }

  /** The endpoint's signing secret, opened: to sign a delivery only, never for a response or a log. */
  async secretOf(id: string): Promise<string> {
    const [row] = await this.sequelize.query<{ secret: string }>('SELECT secret FROM webhook_endpoints WHERE id = :id', { type: QueryTypes.SELECT, replacements: { id } });
    if (!row) throw new Error(`webhook endpoint ${id} does not exist`);
    return this.box.decrypt(row.secret, WebhookRepository.context(id));
  }

  /**
   * The delivery of one event to one endpoint, made once: an event emitted again (a retried
   * activity) finds the row it made before. `created` says whether this call made it.
   */
  async recordDelivery(endpointId: string, event: { id: string; type: WebhookEventType; payload: Record<string, unknown> }): Promise<{ delivery: WebhookDelivery; created: boolean }> {
    const [inserted] = await this.sequelize.query<WebhookDelivery>(
      `INSERT INTO webhook_deliveries (endpoint_id, event_id, event_type, payload)
       VALUES (:endpointId, :eventId, :eventType, CAST(:payload AS jsonb))
       ON CONFLICT (endpoint_id, event_id) DO NOTHING
       RETURNING *`,
      { type: QueryTypes.SELECT, replacements: { endpointId, eventId: event.id, eventType: event.type, payload: JSON.stringify(event.payload) } },
    );
    if (inserted) return { delivery: inserted, created: true };
    const [existing] = await this.sequelize.query<WebhookDelivery>('SELECT * FROM webhook_deliveries WHERE endpoint_id = :endpointId AND event_id = :eventId', {
      type: QueryTypes.SELECT,
      replacements: { endpointId, eventId: event.id },
    });
    return { delivery: existing!, created: false };
  }

  async delivery(id: string): Promise<WebhookDelivery | undefined> {
    const [row] = await this.sequelize.query<WebhookDelivery>('SELECT * FROM webhook_deliveries WHERE id = :id', { type: QueryTypes.SELECT, replacements: { id } });
    return row;
  }

  /** An endpoint's deliveries, newest first: `limit` of them after the cursor, each with its own cursor `at`. */
  async deliveries(endpointId: string, limit: number, after?: Cursor): Promise<(WebhookDelivery & { cursor_at: string })[]> {
    return this.sequelize.query<WebhookDelivery & { cursor_at: string }>(
      `SELECT *, ${cursorAt()} AS cursor_at FROM webhook_deliveries
        WHERE endpoint_id = :endpointId ${after ? `AND ${olderThan(this.sequelize, after)}` : ''}
        ORDER BY created_at DESC, id DESC
        LIMIT :limit`,
      { type: QueryTypes.SELECT, replacements: { endpointId, limit } },
    );
  }

  /** One attempt's outcome: delivered on a 2xx, else its status code or error kept as the last one. */
  async recordAttempt(id: string, outcome: { delivered: boolean; statusCode: number | null; error: string | null }): Promise<void> {
    await this.sequelize.query(
      `UPDATE webhook_deliveries
          SET attempts = attempts + 1, last_attempt_at = NOW(), last_status_code = :statusCode, last_error = :error,
              status = CASE WHEN :delivered THEN 'delivered' ELSE status END,
              delivered_at = CASE WHEN :delivered THEN NOW() ELSE delivered_at END
        WHERE id = :id`,
      { type: QueryTypes.UPDATE, replacements: { id, delivered: outcome.delivered, statusCode: outcome.statusCode, error: outcome.error?.slice(0, ERROR_CHARS) ?? null } },
    );
  }

  /** A delivery given up (its retries spent, or its endpoint gone); a delivered one stays delivered. */
  async markFailed(id: string, error: string): Promise<void> {
    await this.sequelize.query("UPDATE webhook_deliveries SET status = 'failed', last_error = COALESCE(last_error, :error) WHERE id = :id AND status <> 'delivered'", {
      type: QueryTypes.UPDATE,
      replacements: { id, error: error.slice(0, ERROR_CHARS) },
    });
  }

  /** Puts a delivery back to pending for another round of attempts; answers its redelivery count. */
  async redeliver(id: string): Promise<number> {
    const [row] = await this.sequelize.query<{ redeliveries: number }>(
      "UPDATE webhook_deliveries SET status = 'pending', redeliveries = redeliveries + 1, delivered_at = NULL WHERE id = :id RETURNING redeliveries",
      { type: QueryTypes.SELECT, replacements: { id } },
    );
    if (!row) throw new Error(`webhook delivery ${id} does not exist`);
    return row.redeliveries;
  }

  context(_column: string, id: string): string {
    return WebhookRepository.context(id);
  }

  staleBatch(activeKeyId: string, afterId: string | null, limit: number): Promise<SealedRow[]> {
    return staleSealedRows(this.sequelize, 'webhook_endpoints', 'secret', activeKeyId, afterId, limit);
  }

  replaceSealed(id: string, column: string, expected: string, next: string): Promise<boolean> {
    return replaceSealedValue(this.sequelize, 'webhook_endpoints', 'secret', { id, column, expected, next });
  }
}
