import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { isProviderError, PermanentProviderError } from '../providers/errors';

/**
 * Turns a provider error into the Temporal failure that makes the retry policy do the right thing:
 * permanent errors are non-retryable (with the provider's message), rate limits wait at least the
 * provider's Retry-After through `nextRetryDelay`. Anything else is rethrown as it is (retried).
 */
export function toActivityFailure(err: unknown): unknown {
  if (err instanceof PermanentProviderError) return ApplicationFailure.nonRetryable(err.message, err.name);
  if (!isProviderError(err)) return err;
  const details = [{ provider: err.provider, code: err.code, statusCode: err.statusCode, providerReason: err.providerReason }];
  if (!err.retryable) return ApplicationFailure.nonRetryable(err.message, err.code, ...details);
  return ApplicationFailure.create({
    message: err.message,
    type: err.code,
    details,
    ...(err.retryAfterMs !== undefined ? { nextRetryDelay: err.retryAfterMs } : {}),
  });
}

/** What each reason the SDK cancels an activity for means, for a person reading the job's error. */
const CANCEL_REASONS: Readonly<Record<string, string>> = {
  CANCELLED: 'cancelled',
  NOT_FOUND: 'cancelled: its workflow run has ended',
  TIMED_OUT: 'cancelled: its heartbeat timed out',
  WORKER_SHUTDOWN: 'cancelled: the worker is shutting down',
};

/**
 * The failure a cancelled activity ends with. The SDK aborts the activity with its bare reason
 * ('CANCELLED', 'NOT_FOUND' once the workflow run is gone, …), which would otherwise become the
 * job's recorded error; whatever the activity threw once cancelled, it ends cancelled, named so.
 */
export function cancellationFailure(signal: AbortSignal): CancelledFailure {
  const reason = signal.reason instanceof Error ? signal.reason.message : String(signal.reason);
  return new CancelledFailure(CANCEL_REASONS[reason] ?? `cancelled: ${reason}`);
}
