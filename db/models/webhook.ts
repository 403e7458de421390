import { inspect } from 'node:util';
import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import type { WebhookDeliveryStatus, WebhookEndpointStatus, WebhookEventType } from '../repositories/webhooks';
import { createdAtOnly, hiddenFromSerialisation, requiredUuid, withoutKeys, withTimestamps } from './columns';
import type { Organization } from './organization';
import type { User } from './user';

const HIDDEN = ['secret'] as const;

/**
 * webhook_endpoints (migration 016): a user's or an organization's endpoint (exactly one of them).
 * `secret` holds SecretBox ciphertext only, bound to the row (db/repositories/webhooks.ts writes and
 * opens it), and is left out of every serialisation.
 */
export class WebhookEndpoint extends Model<InferAttributes<WebhookEndpoint>, InferCreationAttributes<WebhookEndpoint>> {
  declare id: string;
  declare user_id: string | null;
  declare organization_id: string | null;
  declare created_by: string | null;
  declare url: string;
  declare event_types: WebhookEventType[];
  declare description: string | null;
  declare secret: string;
  declare status: CreationOptional<WebhookEndpointStatus>;
  declare disabled_reason: CreationOptional<string | null>;
  declare disabled_at: CreationOptional<Date | null>;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare user?: NonAttribute<User | null>;
  declare organization?: NonAttribute<Organization | null>;
  declare creator?: NonAttribute<User | null>;

  override toJSON<T extends InferAttributes<WebhookEndpoint>>(): T;
  override toJSON(): object;
  override toJSON(): object {
    return withoutKeys(super.toJSON(), HIDDEN);
  }

  [inspect.custom](): object {
    return this.toJSON();
  }
}

/** webhook_deliveries (migration 016): one event's delivery to one endpoint, with its attempts. */
export class WebhookDelivery extends Model<InferAttributes<WebhookDelivery>, InferCreationAttributes<WebhookDelivery>> {
  declare id: CreationOptional<string>;
  declare endpoint_id: string;
  declare event_id: string;
  declare event_type: WebhookEventType;
  declare payload: Record<string, unknown>;
  declare status: CreationOptional<WebhookDeliveryStatus>;
  declare attempts: CreationOptional<number>;
  declare redeliveries: CreationOptional<number>;
  declare last_status_code: CreationOptional<number | null>;
  declare last_error: CreationOptional<string | null>;
  declare last_attempt_at: CreationOptional<Date | null>;
  declare delivered_at: CreationOptional<Date | null>;
  declare created_at: CreationOptional<Date>;

  declare endpoint?: NonAttribute<WebhookEndpoint>;
}

export function initWebhookEndpoint(sequelize: Sequelize): typeof WebhookEndpoint {
  class BoundWebhookEndpoint extends WebhookEndpoint {}
  BoundWebhookEndpoint.init(
    {
      id: { type: DataTypes.UUID, primaryKey: true },
      user_id: DataTypes.UUID,
      organization_id: DataTypes.UUID,
      created_by: DataTypes.UUID,
      url: { type: DataTypes.STRING(2000), allowNull: false },
      event_types: { type: DataTypes.ARRAY(DataTypes.TEXT), allowNull: false },
      description: DataTypes.STRING(200),
      secret: { type: DataTypes.TEXT, allowNull: false, get: hiddenFromSerialisation<BoundWebhookEndpoint>('secret') },
      status: DataTypes.STRING(20),
      disabled_reason: DataTypes.TEXT,
      disabled_at: DataTypes.DATE,
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'WebhookEndpoint', tableName: 'webhook_endpoints', underscored: true, ...withTimestamps },
  );
  return BoundWebhookEndpoint;
}

export function initWebhookDelivery(sequelize: Sequelize): typeof WebhookDelivery {
  class BoundWebhookDelivery extends WebhookDelivery {}
  BoundWebhookDelivery.init(
    {
      id: { type: DataTypes.UUID, primaryKey: true, defaultValue: DataTypes.UUIDV4 },
      endpoint_id: requiredUuid(),
      event_id: { type: DataTypes.STRING(200), allowNull: false },
      event_type: { type: DataTypes.STRING(50), allowNull: false },
      payload: { type: DataTypes.JSONB, allowNull: false },
      status: DataTypes.STRING(20),
      attempts: DataTypes.INTEGER,
      redeliveries: DataTypes.INTEGER,
      last_status_code: DataTypes.INTEGER,
      last_error: DataTypes.TEXT,
      last_attempt_at: DataTypes.DATE,
      delivered_at: DataTypes.DATE,
      created_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'WebhookDelivery', tableName: 'webhook_deliveries', underscored: true, ...createdAtOnly },
  );
  return BoundWebhookDelivery;
}
