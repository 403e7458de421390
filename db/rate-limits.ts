import type { Redis } from 'ioredis';

/**
 * Fixed one-minute windows of request counts, kept in Redis so a limit holds across API processes.
 * The caller names each counter; a counter lives a little longer than its window.
 */

/** INCR and, on the window's first hit, EXPIRE, in one round trip. */
const RATE_HIT_SCRIPT = `local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count`;

/**
 * Two counters in one round trip: the first (the address) is always counted; the second (the
 * user) only when the first is within ARGV[2], as when the two are counted one after the other
 * and a refusal by the first stops the request. Returns both counts (0 for one not counted).
 */
const RATE_HIT_PAIR_SCRIPT = `local first = redis.call('INCR', KEYS[1])
if first == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
if first > tonumber(ARGV[2]) then return {first, 0} end
local second = redis.call('INCR', KEYS[2])
if second == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
return {first, second}`;

const WINDOW_MS = 60_000;
/** A key outlives its window by a second, so a late hit of the window still finds it. */
const WINDOW_TTL_SEC = 61;

type RateLimitRedis = Redis & {
  rateHit(key: string, ttlSec: number): Promise<number>;
  rateHitPair(first: string, second: string, ttlSec: number, firstLimit: number): Promise<[number, number]>;
};

export class RateCounters {
  private readonly redis: RateLimitRedis;

  constructor(redis: Redis) {
    if (!('rateHit' in redis)) redis.defineCommand('rateHit', { numberOfKeys: 1, lua: RATE_HIT_SCRIPT });
    if (!('rateHitPair' in redis)) redis.defineCommand('rateHitPair', { numberOfKeys: 2, lua: RATE_HIT_PAIR_SCRIPT });
    this.redis = redis as RateLimitRedis;
  }

  /** The window a time falls in. */
  windowOf(now: number): number {
    return Math.floor(now / WINDOW_MS);
  }

  /** Milliseconds from `now` to the start of the window after `window`. */
  untilNext(window: number, now: number): number {
    return (window + 1) * WINDOW_MS - now;
  }

  /** Counts one hit of `name` in `window`; returns the window's count. */
  hit(name: string, window: number): Promise<number> {
    return this.redis.rateHit(`rl:${name}:${window}`, WINDOW_TTL_SEC);
  }

  /** Counts `first` and, while it is within `firstLimit`, `second`, in one round trip (see RATE_HIT_PAIR_SCRIPT). */
  hitPair(first: string, second: string, window: number, firstLimit: number): Promise<[number, number]> {
    return this.redis.rateHitPair(`rl:${first}:${window}`, `rl:${second}:${window}`, WINDOW_TTL_SEC, firstLimit);
  }
}

