import { randomUUID } from 'node:crypto';
import type { Sequelize } from 'sequelize';
import type { SecretBox } from '../../lib/secrets';
import type { KeyProvider, Models } from '../models';
import { OrganizationProviderKey } from '../models/organization-provider-key';
import { replaceSealedValue, staleSealedRows, type SealedColumnSource, type SealedRow } from './channels';

/** What may be shown of a stored key: never the key. */
export interface ProviderKeyHint {
  provider: KeyProvider;
  key_hint: string;
  updated_at: Date;
}

/**
 * organization_provider_keys: an organization's own provider keys (migration 011), sealed under
 * the row's context. `keysFor` opens them for the worker; everything else returns hints only. It is
 * also a sealed source of the key rotation (`npm run secrets -- rotate`).
 */
export class ProviderKeyRepository implements SealedColumnSource {
  readonly name = 'organization_provider_keys.sealed_key';
  readonly columns = ['sealed_key'] as const;

  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Models,
    private readonly box: SecretBox,
  ) {}

  /** Stores (or replaces) the organization's key for `provider`; returns its hint. */
  async put(organizationId: string, provider: KeyProvider, key: string, userId: string | null): Promise<ProviderKeyHint> {
    const { OrganizationProviderKey: Keys } = this.models;
    return this.sequelize.transaction(async (transaction) => {
      const existing = await Keys.findOne({ where: { organization_id: organizationId, provider }, transaction, lock: transaction.LOCK.UPDATE });
      const row = existing ?? Keys.build({ id: randomUUID(), organization_id: organizationId, provider, sealed_key: '', key_hint: '', created_by: userId });
      row.setKey(this.box, key);
      row.changed('updated_at', true);
      await row.save({ transaction });
      return { provider, key_hint: row.key_hint, updated_at: row.updated_at };
    });
  }

  /** True when a key was removed. */
  async remove(organizationId: string, provider: KeyProvider): Promise<boolean> {
    return (await this.models.OrganizationProviderKey.destroy({ where: { organization_id: organizationId, provider } })) > 0;
  }

  async list(organizationId: string): Promise<ProviderKeyHint[]> {
    const rows = await this.models.OrganizationProviderKey.findAll({
      where: { organization_id: organizationId },
      attributes: ['provider', 'key_hint', 'updated_at'],
      order: [['provider', 'ASC']],
    });
    return rows.map((row) => ({ provider: row.provider, key_hint: row.key_hint, updated_at: row.updated_at }));
  }

  /** The organization's keys, opened: for the worker's engines only, never for a response or a log. */
  async keysFor(organizationId: string): Promise<Partial<Record<KeyProvider, string>>> {
    const rows = await this.models.OrganizationProviderKey.findAll({ where: { organization_id: organizationId } });
    const keys: Partial<Record<KeyProvider, string>> = {};
    for (const row of rows) keys[row.provider] = row.readKey(this.box);
    return keys;
  }

  context(_column: string, id: string): string {
    return OrganizationProviderKey.context(id);
  }

  staleBatch(activeKeyId: string, afterId: string | null, limit: number): Promise<SealedRow[]> {
    return staleSealedRows(this.sequelize, 'organization_provider_keys', 'sealed_key', activeKeyId, afterId, limit);
  }

  replaceSealed(id: string, column: string, expected: string, next: string): Promise<boolean> {
    return replaceSealedValue(this.sequelize, 'organization_provider_keys', 'sealed_key', { id, column, expected, next });
  }
}
