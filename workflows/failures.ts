import type { RetryPolicy } from '@temporalio/common';
import { isCancellation } from '@temporalio/workflow';

/**
 * Every activity retries through a database or Redis failover (minutes): backoff capped at 30 s,
 * bounded by each proxy's schedule-to-close time rather than by a few attempts. What no retry can
 * fix is thrown non-retryable by the activities (NoCredits, ContentNotFound, a provider's permanent
 * refusal, …) and still fails at once.
 */
export const OUTLASTS_FAILOVER: RetryPolicy = { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds' };

/**
 * How a workflow names a failure in what it records: workflow-safe, shared by the workflows.
 * Temporal wraps what an activity or child threw (ChildWorkflowFailure → ActivityFailure →
 * ApplicationFailure): the reason a person needs is the innermost message.
 */

/** The innermost non-empty message of a failure's cause chain; 'cancelled' for a cancellation. */
export function rootMessage(err: unknown): string {
  if (isCancellation(err)) return 'cancelled';
  let message = err instanceof Error ? err.message : String(err);
  for (let cause = err instanceof Error ? err.cause : undefined; cause instanceof Error; cause = cause.cause) {
    if (cause.message) message = cause.message;
  }
  return message;
}

/** A failure's own message followed by its cause's, when the cause adds something. */
export function failureMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? err.cause.message : undefined;
    return cause && !err.message.includes(cause) ? `${err.message}: ${cause}` : err.message;
  }
  return String(err);
}
