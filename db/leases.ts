import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ConcurrencyLimiter } from '../providers/concurrency';
import { sleep } from '../providers/http';

/**
 * Holders of a slot are members of a sorted set scored by their lease's expiry. Taking a slot
 * drops expired leases (a worker that died frees its slot after one lease), counts the rest and
 * adds the caller when there is room, atomically in one script.
 */
const ACQUIRE_SCRIPT = `redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[4])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0`;

const RENEW_SCRIPT = `if redis.call('ZSCORE', KEYS[1], ARGV[2]) then
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0`;

export interface RedisLimiterOptions {
  /** How long a slot stays held without renewal; holders renew it every third of this. */
  leaseMs?: number;
  /** Longest wait between two tries while the slots are full. */
  maxPollMs?: number;
}

export class RedisConcurrencyLimiter implements ConcurrencyLimiter {
  private readonly leaseMs: number;
  private readonly maxPollMs: number;

  constructor(
    private readonly redis: Redis,
    options: RedisLimiterOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.maxPollMs = options.maxPollMs ?? 1000;
  }

  async acquire(key: string, limit: number, signal?: AbortSignal): Promise<() => Promise<void>> {
    const redisKey = `autoclip:slots:${key}`;
    const holder = randomUUID();
    let pollMs = 50;
    for (;;) {
      signal?.throwIfAborted();
      const now = Date.now();
      const taken = await this.redis.eval(ACQUIRE_SCRIPT, 1, redisKey, now, limit, now + this.leaseMs, holder, this.leaseMs * 2);
      if (taken === 1) break;
      await sleep(pollMs + Math.floor(Math.random() * pollMs), signal);
      pollMs = Math.min(this.maxPollMs, pollMs * 2);
    }
    const renewal = setInterval(() => {
      this.redis.eval(RENEW_SCRIPT, 1, redisKey, Date.now() + this.leaseMs, holder, this.leaseMs * 2).catch(() => undefined);
    }, Math.max(100, Math.floor(this.leaseMs / 3)));
    renewal.unref();
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      clearInterval(renewal);
      await this.redis.zrem(redisKey, holder);
    };
  }
}
