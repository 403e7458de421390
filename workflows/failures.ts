import { isCancellation } from '@temporalio/workflow';

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
