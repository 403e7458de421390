import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { ClaimConflictError } from '../db/claims';
import { HttpError } from './errors';

/**
 * Exactly-once handling of requests that start work: an `Idempotency-Key` remembers the response
 * of the first request made with it, and a short lock serialises the check-then-act of a start
 * (both held in Redis by db/claims.ts, so they hold across API processes).
 */

export type { RecordedResponse } from '../db/claims';

/** Runs `work`, answering a claim held by another request as 409 with its code. */
export async function answeringConflicts<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ClaimConflictError) throw new HttpError(409, err.code, err.message);
    throw err;
  }
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

