import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('claims');

/**
 * Claims held in Redis, so they hold across API processes: an idempotency key remembers the
 * response of the first request made with it, and a short lock serialises a check-then-act.
 */

/** A claim someone else holds: the caller answers it as a conflict. */
export class ClaimConflictError extends Error {
  override readonly name = 'ClaimConflictError';
  constructor(
    readonly code: 'idempotency_key_reused' | 'idempotency_in_progress' | 'busy',
    message: string,
  ) {
    super(message);
  }
}

export interface RecordedResponse {
  status: number;
  body: unknown;
}

// A claim may be replaced or released only by its holder, whose claim may have expired meanwhile.
const REPLACE_IF_HELD = `if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end return 0`;
const DELETE_IF_HELD = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

function release(redis: Redis, key: string, held: string): Promise<void> {
  return redis.eval(DELETE_IF_HELD, 1, key, held).then(
    () => undefined,
    (err: unknown) => log.warn({ err, key }, 'could not release a Redis claim; it expires on its own'),
  );
}

export interface IdempotencyOptions {
  /** How long a response is remembered. */
  ttlSec: number;
  /** How long an unfinished first request holds its key (a crashed process frees it after this). */
  claimTtlSec: number;
  /** How long a repeat waits for the first request to finish before a 409. */
  waitMs: number;
  pollMs: number;
}

const DEFAULT_OPTIONS: IdempotencyOptions = { ttlSec: 24 * 3600, claimTtlSec: 60, waitMs: 10_000, pollMs: 25 };

interface StoredRecord {
  fingerprint: string;
  claim?: string;
  response?: RecordedResponse;
}

export class IdempotencyStore {
  constructor(
    private readonly redis: Redis,
    private readonly options: IdempotencyOptions = DEFAULT_OPTIONS,
  ) {}

  /**
   * Runs `work` once per (scope, key). A repeat with the same fingerprint gets the first response
   * (waiting while the first is still running); a different fingerprint is a 409. When `work`
   * fails, the key is released so that the client may try again with it.
   */
  async run(scope: string, key: string, fingerprint: string, work: () => Promise<RecordedResponse>): Promise<RecordedResponse & { replayed: boolean }> {
    const redisKey = `idempotency:${scope}:${createHash('sha256').update(key).digest('hex')}`;
    const deadline = Date.now() + this.options.waitMs;
    for (;;) {
      const claim = JSON.stringify({ fingerprint, claim: randomUUID() } satisfies StoredRecord);
      if ((await this.redis.set(redisKey, claim, 'EX', this.options.claimTtlSec, 'NX')) === 'OK') {
        let response: RecordedResponse;
        try {
          response = await work();
        } catch (err) {
          await release(this.redis, redisKey, claim);
          throw err;
        }
        const record: StoredRecord = { fingerprint, response };
        await this.redis.eval(REPLACE_IF_HELD, 1, redisKey, claim, JSON.stringify(record), this.options.ttlSec);
        return { ...response, replayed: false };
      }
      const stored = await this.redis.get(redisKey);
      // Released by a first request that failed: claim it again.
      if (stored === null) continue;
      const record = JSON.parse(stored) as StoredRecord;
      if (record.fingerprint !== fingerprint) throw new ClaimConflictError('idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
      if (record.response) return { ...record.response, replayed: true };
      if (Date.now() >= deadline) throw new ClaimConflictError('idempotency_in_progress', 'a request with this Idempotency-Key is still in progress; retry later');
      await sleep(this.options.pollMs);
    }
  }
}

/** Locks held in Redis: concurrent holders of one name (in any process) take turns. */
export class RedisLocks {
  constructor(private readonly redis: Redis) {}

  /** Runs `work` holding the lock `name`; the lock expires after `ttlMs` should its holder die. */
  async withLock<T>(name: string, work: () => Promise<T>, ttlMs = 15_000, waitMs = 15_000): Promise<T> {
    const key = `lock:${name}`;
    const token = randomUUID();
    const deadline = Date.now() + waitMs;
    while ((await this.redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
      if (Date.now() >= deadline) throw new ClaimConflictError('busy', 'another request is changing this resource; retry');
      await sleep(DEFAULT_OPTIONS.pollMs);
    }
    try {
      return await work();
    } finally {
      await release(this.redis, key, token);
    }
  }
}
