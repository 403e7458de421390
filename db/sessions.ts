import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * Refresh tokens, kept in Redis so every API process sees them: a token works once (it is used
 * up when exchanged), and a user's tokens can all be revoked at once. Only a hash of each token is
 * stored.
 */
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

/** What a one-time token stands for: the flow that issued it, e.g. 'email-verify', 'channel-connect'. */
export type OneTimePurpose = 'email-verify' | 'password-reset' | 'channel-connect' | 'oidc-sign-in';

const oneTimeKey = (purpose: OneTimePurpose, token: string) => `auth:once:${purpose}:${createHash('sha256').update(token).digest('hex')}`;

/**
 * Short-lived, single-use tokens (email verification, password reset, OAuth `state`): each stands
 * for a JSON payload kept in Redis under a hash of the token, and is used up by the first `consume`
 * (GETDEL), so a second use, an expired token and a token of another purpose all find nothing.
 */
export class OneTimeTokens {
  constructor(private readonly redis: Redis) {}

  async issue<T extends object>(purpose: OneTimePurpose, payload: T, ttlSec: number): Promise<{ token: string; expiresAt: Date }> {
    const token = randomBytes(32).toString('base64url');
    await this.redis.set(oneTimeKey(purpose, token), JSON.stringify(payload), 'EX', ttlSec);
    return { token, expiresAt: new Date(Date.now() + ttlSec * 1000) };
  }

  /** The token's payload, once; undefined when it is unknown, used, expired or of another purpose. */
  async consume<T extends object>(purpose: OneTimePurpose, token: string): Promise<T | undefined> {
    const value = await this.redis.getdel(oneTimeKey(purpose, token));
    return value === null ? undefined : (JSON.parse(value) as T);
  }
}
