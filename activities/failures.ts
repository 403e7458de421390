import { ApplicationFailure } from '@temporalio/common';
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
