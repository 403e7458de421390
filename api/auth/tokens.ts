import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Access tokens are short-lived HS256 JWTs (stateless, checked on every request without I/O).
 * Refresh tokens are opaque random strings; Redis keeps only their SHA-256, so they can be revoked
 * (logout) and rotate on every use: a refresh token works once.
 */
export interface AccessClaims {
  sub: string;
  iat: number;
  exp: number;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

function sign(data: string, secret: Buffer): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

export function issueAccessToken(userId: string, secret: Buffer, ttlSec: number, now = Date.now()): { token: string; expiresAt: Date } {
  const iat = Math.floor(now / 1000);
  const claims: AccessClaims = { sub: userId, iat, exp: iat + ttlSec };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return { token: `${HEADER}.${payload}.${sign(`${HEADER}.${payload}`, secret)}`, expiresAt: new Date(claims.exp * 1000) };
}

/**
 * Tokens whose signature was checked, per secret, with their claims: a client sends the same token
 * on every request until it expires, and its signature, once checked, stays valid. Expiry is still
 * checked on each use. Bounded: the oldest entry makes room for a new one.
 */
const VERIFIED_MAX = 10_000;
const verifiedBySecret = new WeakMap<Buffer, Map<string, Readonly<AccessClaims>>>();

/** The claims of a valid, unexpired token, or undefined. Never throws on malformed input. */
export function verifyAccessToken(token: string, secret: Buffer, now = Date.now()): AccessClaims | undefined {
  let verified = verifiedBySecret.get(secret);
  const known = verified?.get(token);
  if (known) return known.exp * 1000 > now ? known : undefined;
  const claims = checkAccessToken(token, secret, now);
  if (!claims) return undefined;
  if (!verified) verifiedBySecret.set(secret, (verified = new Map()));
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(token, Object.freeze(claims));
  return claims;
}

function checkAccessToken(token: string, secret: Buffer, now: number): AccessClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
  const expected = Buffer.from(sign(`${parts[0]}.${parts[1]}`, secret));
  const given = Buffer.from(parts[2]!);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Partial<AccessClaims>;
    if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return undefined;
    return claims as AccessClaims;
  } catch {
    return undefined;
  }
}

const refreshKey = (token: string) => `auth:refresh:${createHash('sha256').update(token).digest('hex')}`;
const userSetKey = (userId: string) => `auth:user-refresh:${userId}`;

export class RefreshTokens {
  constructor(
    private readonly redis: Redis,
    private readonly ttlSec: number,
  ) {}

  async issue(userId: string): Promise<{ token: string; expiresAt: Date }> {
    const token = `rt_${randomBytes(32).toString('base64url')}`;
    const key = refreshKey(token);
    await this.redis.multi().set(key, userId, 'EX', this.ttlSec).sadd(userSetKey(userId), key).expire(userSetKey(userId), this.ttlSec).exec();
    return { token, expiresAt: new Date(Date.now() + this.ttlSec * 1000) };
  }

  /** Uses the token up (it works once) and returns its user, or undefined when unknown, used or revoked. */
  async consume(token: string): Promise<string | undefined> {
    const key = refreshKey(token);
    const userId = await this.redis.getdel(key);
    if (userId) await this.redis.srem(userSetKey(userId), key);
    return userId ?? undefined;
  }

  async revoke(token: string): Promise<void> {
    await this.consume(token);
  }

  /** Logs a user out everywhere. */
  async revokeAll(userId: string): Promise<void> {
    const keys = await this.redis.smembers(userSetKey(userId));
    await this.redis.del(userSetKey(userId), ...keys);
  }
}
