import { inspect } from 'node:util';
import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { SecretBox } from '../../lib/secrets';
import { hiddenFromSerialisation, requiredUuid, uuidPrimaryKey, withoutKeys, withTimestamps } from './columns';
import type { KeyProvider } from './enums';
import type { Organization } from './organization';
import type { User } from './user';

const HIDDEN = ['sealed_key'] as const;

function sealedOnly(value: unknown): void {
  if (typeof value !== 'string' || !SecretBox.isSealed(value)) throw new Error('provider keys are stored sealed: use key.setKey(box, plain)');
}

/**
 * organization_provider_keys (migration 011): an organization's own key for one provider, sealed
 * with SecretBox and bound to its row (`organization_provider_keys.sealed_key:<id>`). The key goes
 * in through `setKey` and out through `readKey`; no serialisation carries even the ciphertext.
 */
export class OrganizationProviderKey extends Model<InferAttributes<OrganizationProviderKey>, InferCreationAttributes<OrganizationProviderKey>> {
  declare id: CreationOptional<string>;
  declare organization_id: string;
  declare provider: KeyProvider;
  /** Sealed; write with setKey. */
  declare sealed_key: string;
  /** The key's last 4 characters. */
  declare key_hint: string;
  declare created_by: string | null;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare organization?: NonAttribute<Organization>;
  declare creator?: NonAttribute<User | null>;

  /** Seals `plain` into the row with its hint (not saved until `save()`); the row needs its id. */
  setKey(box: SecretBox, plain: string): void {
    this.sealed_key = box.encrypt(plain, OrganizationProviderKey.context(this.id));
    this.key_hint = plain.slice(-4);
  }

  readKey(box: SecretBox): string {
    return box.decrypt(this.getDataValue('sealed_key'), OrganizationProviderKey.context(this.id));
  }

  static context(id: string | undefined): string {
    if (!id) throw new Error('a provider key needs its row id: build the row with its id');
    return `organization_provider_keys.sealed_key:${id}`;
  }

  override toJSON<T extends InferAttributes<OrganizationProviderKey>>(): T;
  override toJSON(): object;
  override toJSON(): object {
    return withoutKeys(super.toJSON(), HIDDEN);
  }

  [inspect.custom](): object {
    return this.toJSON();
  }
}

export function initOrganizationProviderKey(sequelize: Sequelize): typeof OrganizationProviderKey {
  class BoundOrganizationProviderKey extends OrganizationProviderKey {}
  BoundOrganizationProviderKey.init(
    {
      id: uuidPrimaryKey(),
      organization_id: requiredUuid(),
      provider: { type: DataTypes.STRING(20), allowNull: false },
      sealed_key: { type: DataTypes.TEXT, allowNull: false, get: hiddenFromSerialisation<BoundOrganizationProviderKey>('sealed_key'), validate: { sealedOnly } },
      key_hint: { type: DataTypes.STRING(4), allowNull: false },
      created_by: DataTypes.UUID,
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'OrganizationProviderKey', tableName: 'organization_provider_keys', underscored: true, ...withTimestamps },
  );
  return BoundOrganizationProviderKey;
}
