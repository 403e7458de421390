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
