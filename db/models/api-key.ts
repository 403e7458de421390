import { inspect } from 'node:util';
import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { createdAtOnly, hiddenFromSerialisation, requiredUuid, uuidPrimaryKey, withoutKeys } from './columns';
import type { Role } from './enums';
import type { Organization } from './organization';
import type { User } from './user';

const HIDDEN = ['secret_hash'] as const;

/**
 * api_keys (migration 010): a personal key (user_id) or an organization's key (organization_id),
 * exactly one of them, made by `created_by`. Only the SHA-256 of the key's secret is stored
 * (`secret_hash`, left out of every serialisation); `prefix` is the key's public lookup part.
 * Revoked by setting `revoked_at` (db/repositories/api-keys.ts).
 */
export class ApiKey extends Model<InferAttributes<ApiKey>, InferCreationAttributes<ApiKey>> {
  declare id: CreationOptional<string>;
  declare user_id: string | null;
  declare organization_id: string | null;
  declare created_by: string;
  declare name: string;
  declare prefix: string;
  declare secret_hash: string;
  declare role: Role;
  declare last_used_at: CreationOptional<Date | null>;
  declare expires_at: Date | null;
  declare revoked_at: CreationOptional<Date | null>;
  declare created_at: CreationOptional<Date>;

  declare user?: NonAttribute<User | null>;
  declare organization?: NonAttribute<Organization | null>;
  declare creator?: NonAttribute<User>;

  override toJSON<T extends InferAttributes<ApiKey>>(): T;
  override toJSON(): object;
  override toJSON(): object {
    return withoutKeys(super.toJSON(), HIDDEN);
  }

  [inspect.custom](): object {
    return this.toJSON();
  }
}

export function initApiKey(sequelize: Sequelize): typeof ApiKey {
  class BoundApiKey extends ApiKey {}
  BoundApiKey.init(
    {
      id: uuidPrimaryKey(),
      user_id: DataTypes.UUID,
      organization_id: DataTypes.UUID,
      created_by: requiredUuid(),
      name: { type: DataTypes.STRING(100), allowNull: false },
      prefix: { type: DataTypes.STRING(32), allowNull: false },
      secret_hash: { type: DataTypes.STRING(64), allowNull: false, get: hiddenFromSerialisation<BoundApiKey>('secret_hash') },
      role: { type: DataTypes.STRING(20), allowNull: false },
      last_used_at: DataTypes.DATE,
      expires_at: DataTypes.DATE,
      revoked_at: DataTypes.DATE,
      created_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'ApiKey', tableName: 'api_keys', underscored: true, ...createdAtOnly },
  );
  return BoundApiKey;
}
