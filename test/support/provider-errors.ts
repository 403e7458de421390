import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../activities/failures';
import { ProviderError } from '../../providers/errors';
import type { CallOptions, ProviderUsage } from '../../providers/types';

/**
 * What the suites of remote clients share about failures: the `ProviderError` a call must fail
 * with, and what the failures of a suite showed, kept so its end can check that no key, token or
 * secret got into any error, failed-call report or usage record.
 */

/** The `ProviderError` a promise rejects with; fails the test when it resolves or rejects with anything else. */
export async function providerFailure(promise: Promise<unknown>, what = 'the call'): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${String(error)}`);
    return error;
  }
  return assert.fail(`${what} should have failed`);
}

/** A failed exchange reported through `CallOptions.onFailedCall`. */
export interface FailedCall {
  usage: ProviderUsage;
  error: string;
}

export interface FailureLog {
  errors: ProviderError[];
  failedCalls: FailedCall[];
  /** Reports failed exchanges into `failedCalls`. */
  callOptions: CallOptions;
  /** The `ProviderError` of a call expected to fail, kept for the key check. */
  failed(promise: Promise<unknown>): Promise<ProviderError>;
  /** Asserts that no key is in a kept error or failed-call report. */
  assertNoKey(keys: readonly string[]): void;
}

/** The errors and failed-call reports of a provider client's suite; `what` names the call in the message when it succeeds. */
export function failureLog(what?: string): FailureLog {
  const errors: ProviderError[] = [];
  const failedCalls: FailedCall[] = [];
  return {
    errors,
    failedCalls,
    callOptions: { onFailedCall: (usage, error) => void failedCalls.push({ usage, error }) },
    async failed(promise) {
      const error = await providerFailure(promise, what);
      errors.push(error);
      return error;
    },
    assertNoKey(keys) {
      for (const key of keys) {
        for (const error of errors) {
          assert.ok(!error.message.includes(key), `the key leaked into: ${error.message}`);
          assert.ok(!JSON.stringify(error).includes(key));
        }
        for (const call of failedCalls) assert.ok(!call.error.includes(key), `the key leaked into a failed call: ${call.error}`);
      }
    },
  };
}

/** Call options keeping the usage and failed-call records of one call. */
export interface WatchedCall {
  onUsage: (usage: ProviderUsage) => void;
  onFailedCall: (usage: ProviderUsage, error: string) => void;
  usages: ProviderUsage[];
  failed: [ProviderUsage, string][];
}

export interface LeakWatch {
  /** Everything a failing call threw. */
  thrown: unknown[];
  /** Runs a call expected to fail with a `ProviderError` and keeps what it threw. */
  failure(call: () => Promise<unknown>): Promise<ProviderError>;
  /** Call options keeping every usage and failed-call record, also as text for the leak check. */
  watched(): WatchedCall;
  /** Asserts that no secret is in anything thrown (message, stack, fields), any watched record or `texts`. */
  assertNoSecrets(secrets: readonly string[], texts?: readonly string[]): void;
}

/** What a platform client's suite threw and recorded, for the check at its end that no token or secret leaked. */
export function leakWatch(): LeakWatch {
  const thrown: unknown[] = [];
  const records: string[] = [];
  return {
    thrown,
    async failure(call) {
      try {
        await call();
      } catch (error) {
        thrown.push(error);
        assert.ok(error instanceof ProviderError, `expected a ProviderError, got ${String(error)}`);
        return error;
      }
      assert.fail('the call succeeded');
    },
    watched() {
      const usages: ProviderUsage[] = [];
      const failed: [ProviderUsage, string][] = [];
      return {
        usages,
        failed,
        onUsage: (usage) => {
          usages.push(usage);
          records.push(JSON.stringify(usage));
        },
        onFailedCall: (usage, error) => {
          failed.push([usage, error]);
          records.push(JSON.stringify(usage), error);
        },
      };
    },
    assertNoSecrets(secrets, texts = []) {
      const all = [...thrown.map((error) => `${String(error)} ${(error as Error).stack ?? ''} ${JSON.stringify(error)}`), ...records, ...texts];
      for (const text of all) {
        for (const secret of secrets) assert.ok(!text.includes(secret), `a secret leaked into: ${text.slice(0, 200)}`);
      }
    },
  };
}

/**
 * Asserts a retryable `rate_limited` error asking to wait `retryAfterMs`, whose Temporal failure
 * is retryable and delays the next attempt at least that long.
 */
export function assertRateLimited(error: ProviderError, retryAfterMs: number): void {
  assert.equal(error.code, 'rate_limited');
  assert.equal(error.retryable, true);
  assert.equal(error.retryAfterMs, retryAfterMs);
  const failure = toActivityFailure(error);
  assert.ok(failure instanceof ApplicationFailure);
  assert.equal(failure.nonRetryable, false);
  assert.ok(Number(failure.nextRetryDelay) >= retryAfterMs, `nextRetryDelay ${String(failure.nextRetryDelay)}`);
}
