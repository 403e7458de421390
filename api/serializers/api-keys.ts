import type { ApiKey } from '../../db/models';

/**
 * What the API shows of an API key: never its secret nor the secret's hash. The prefix is the
 * key's public part (`ak_<prefix>_…`), shown so its holder can tell keys apart.
 */
export function serializeApiKey(key: ApiKey) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    role: key.role,
    user_id: key.user_id,
    organization_id: key.organization_id,
    created_by: key.created_by,
    last_used_at: key.last_used_at ?? null,
    expires_at: key.expires_at,
    revoked_at: key.revoked_at ?? null,
    created_at: key.created_at,
  };
}
