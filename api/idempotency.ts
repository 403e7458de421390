import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Request } from 'express';
import type { Redis } from 'ioredis';
import { moduleLogger } from '../lib/logger';
import { HttpError } from './errors';

const log = moduleLogger('api');

/**
 * Exactly-once handling of requests that start work, kept in Redis so it holds across API
 * processes: an `Idempotency-Key` remembers the response of the first request made with it, and a
 * short lock serialises the check-then-act of a start.
 */

export interface RecordedResponse {
  status: number;
  body: unknown;
}

const KEY_PATTERN = /^[\x21-\x7e]{1,100}$/;

/** The request's Idempotency-Key header: undefined when absent, a 400 when malformed. */
export function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.header('idempotency-key');
  if (key === undefined) return undefined;
  if (!KEY_PATTERN.test(key)) {
    throw new HttpError(400, 'validation_failed', 'the request is invalid', { 'headers.idempotency-key': 'must be 1 to 100 visible ASCII characters' });
  }
  return key;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value instanceof Date) return value.toISOString();
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, canonical(v)]));
  }
  return value;
}

/** What makes two requests "the same request": equal parts, whatever the order of object keys. */
export function requestFingerprint(...parts: unknown[]): string {
  return createHash('sha256').update(JSON.stringify(canonical(parts))).digest('hex');
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
      if (record.fingerprint !== fingerprint) throw new HttpError(409, 'idempotency_key_reused', 'this Idempotency-Key was already used with a different request');
      if (record.response) return { ...record.response, replayed: true };
      if (Date.now() >= deadline) throw new HttpError(409, 'idempotency_in_progress', 'a request with this Idempotency-Key is still in progress; retry later');
      await sleep(this.options.pollMs);
    }
  }
}

/**
 * Runs `work` holding the Redis lock `name`, so that concurrent requests (in any API process) take
 * turns. The lock expires after `ttlMs` should its holder die.
 */
export async function withRedisLock<T>(redis: Redis, name: string, work: () => Promise<T>, ttlMs = 15_000, waitMs = 15_000): Promise<T> {
  const key = `lock:${name}`;
  const token = randomUUID();
  const deadline = Date.now() + waitMs;
  while ((await redis.set(key, token, 'PX', ttlMs, 'NX')) !== 'OK') {
    if (Date.now() >= deadline) throw new HttpError(409, 'busy', 'another request is changing this resource; retry');
    await sleep(DEFAULT_OPTIONS.pollMs);
  }
  try {
    return await work();
  } finally {
    await release(redis, key, token);
  }
}
