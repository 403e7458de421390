import { Op } from 'sequelize';
import type { ApiKey, Models, Role } from '../models';

/** What a request needs of a key to authenticate with it (never shown to anyone). */
export interface ApiKeyCredential {
  id: string;
  user_id: string | null;
  organization_id: string | null;
  created_by: string;
  role: Role;
  secret_hash: string;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
}

export interface NewApiKey {
  user_id: string | null;
  organization_id: string | null;
  created_by: string;
  name: string;
  prefix: string;
  secret_hash: string;
  role: Role;
  expires_at: Date | null;
}

/** How often `last_used_at` is written at most, per key: a busy key costs one UPDATE a minute, not one per request. */
export const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * api_keys: personal and organization keys, found by their public prefix. No row is ever deleted:
 * revoking sets `revoked_at`, and the next request with the key is refused (it is read on every
 * request, no cache).
 */
export class ApiKeyRepository {
  constructor(private readonly models: Models) {}

  async create(key: NewApiKey): Promise<ApiKey> {
    return this.models.ApiKey.create(key);
  }

  /** The key with this prefix, whatever its state (the caller checks revocation and expiry). */
  async credentialByPrefix(prefix: string): Promise<ApiKeyCredential | null> {
    const row = await this.models.ApiKey.findOne({
      where: { prefix },
      attributes: ['id', 'user_id', 'organization_id', 'created_by', 'role', 'secret_hash', 'expires_at', 'revoked_at', 'last_used_at'],
      raw: true,
    });
    return (row as unknown as ApiKeyCredential | null) ?? null;
  }

  async findById(id: string): Promise<ApiKey | null> {
    return this.models.ApiKey.findByPk(id);
  }

  /** A user's personal keys, or an organization's keys, newest first (revoked ones included). */
  async list(owner: { user_id: string } | { organization_id: string }): Promise<ApiKey[]> {
    return this.models.ApiKey.findAll({
      where: 'user_id' in owner ? { user_id: owner.user_id } : { organization_id: owner.organization_id },
      order: [['created_at', 'DESC'], ['id', 'DESC']],
    });
  }

  /** Revokes the key now; false when it was revoked already. */
  async revoke(id: string): Promise<boolean> {
    const [count] = await this.models.ApiKey.update({ revoked_at: new Date() }, { where: { id, revoked_at: null } });
    return count > 0;
  }

  /**
   * Records a use of the key, at most once per LAST_USED_RESOLUTION_MS: the caller asks only when
   * the value it read is older than that, and the WHERE makes concurrent API processes write once.
   */
  async touch(id: string, now = new Date()): Promise<void> {
    const before = new Date(now.getTime() - LAST_USED_RESOLUTION_MS);
    await this.models.ApiKey.update(
      { last_used_at: now },
      { where: { id, [Op.or]: [{ last_used_at: null }, { last_used_at: { [Op.lt]: before } }] }, logging: false },
    );
  }

  /** Whether a use at `now` should be recorded, given the `last_used_at` just read. */
  static touchDue(lastUsedAt: Date | null, now = Date.now()): boolean {
    return !lastUsedAt || now - new Date(lastUsedAt).getTime() >= LAST_USED_RESOLUTION_MS;
  }
}
