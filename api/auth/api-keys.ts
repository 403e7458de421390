import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ApiKeyRepository, type ApiKeyCredential } from '../../db/repositories/api-keys';
import { moduleLogger } from '../../lib/logger';

/**
 * API keys read `ak_<prefix>_<secret>`: the prefix (12 hex characters) is public and finds the
 * key's row; the secret (32 random bytes, base64url) is shown once at creation and stored only as
 * its SHA-256. A slow password hash would add nothing for 256 bits of randomness, and SHA-256
 * keeps every request's check cheap.
 */
const KEY_PATTERN = /^ak_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;

export interface GeneratedApiKey {
  /** The whole key, to show once. */
  key: string;
  prefix: string;
  secretHash: string;
}

function hashApiKeySecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function generateApiKey(): GeneratedApiKey {
  const prefix = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { key: `ak_${prefix}_${secret}`, prefix, secretHash: hashApiKeySecret(secret) };
}

/** Whether a bearer token is meant as an API key (access tokens are JWTs and never start so). */
export function looksLikeApiKey(token: string): boolean {
  return token.startsWith('ak_');
}

/** The prefix and secret of a well-formed key, or undefined. */
function parseApiKey(token: string): { prefix: string; secret: string } | undefined {
  const match = KEY_PATTERN.exec(token);
  return match ? { prefix: match[1]!, secret: match[2]! } : undefined;
}

/** Compares the secret with the stored hash in constant time. */
function apiKeySecretMatches(secret: string, storedHash: string): boolean {
  const given = Buffer.from(hashApiKeySecret(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored);
}

/** What authentication needs of the key store (db/repositories/api-keys.ts). */
export interface ApiKeyStore {
  credentialByPrefix(prefix: string): Promise<ApiKeyCredential | null>;
  touch(id: string, now?: Date): Promise<void>;
}

const log = moduleLogger('api');

/**
 * The key's row when `token` is a known key whose secret matches and that is neither revoked nor
 * expired; undefined otherwise. Records the use (`last_used_at`) when the stored one is a minute
 * old or more: at most one UPDATE a minute per key, not one per request.
 */
export async function verifyApiKey(store: ApiKeyStore, token: string, now = Date.now()): Promise<ApiKeyCredential | undefined> {
  const parsed = parseApiKey(token);
  if (!parsed) return undefined;
  const key = await store.credentialByPrefix(parsed.prefix);
  if (!key || !apiKeySecretMatches(parsed.secret, key.secret_hash)) return undefined;
  if (key.revoked_at || (key.expires_at && new Date(key.expires_at).getTime() <= now)) return undefined;
  if (ApiKeyRepository.touchDue(key.last_used_at, now)) {
    await store.touch(key.id, new Date(now)).catch((err: unknown) => log.warn({ apiKeyId: key.id, err: err instanceof Error ? err.message : String(err) }, 'api key last_used_at not recorded'));
  }
  return key;
}
