import { proxyActivities } from '@temporalio/workflow';
import type { EmailActivities, EmailRequest } from '../activities/email';

export interface DeliverEmailInput {
  request: EmailRequest;
  /** The wait before the second attempt, doubled after each up to `retryMaxMs`. */
  retryInitialMs: number;
  retryMaxMs: number;
  /** How long the mail is tried before it is given up. */
  giveUpAfterMs: number;
}

/**
 * Sends one queued mail (a password reset, a notification): the activity is tried again with
 * backoff while the SMTP server is down or answers 4xx (Temporal's retry policy: the waits survive
 * worker restarts) until `giveUpAfterMs`; a permanent refusal (5xx, bad credentials) fails at once.
 * The workflow's input names the recipient and the subject of the mail, never a token: the
 * activity makes the reset link itself, so no secret is kept in the history.
 */
export async function deliverEmail(input: DeliverEmailInput): Promise<{ sent: boolean }> {
  const { sendEmail } = proxyActivities<EmailActivities>({
    startToCloseTimeout: '2 minutes',
    scheduleToCloseTimeout: input.giveUpAfterMs,
    retry: { initialInterval: input.retryInitialMs, backoffCoefficient: 2, maximumInterval: input.retryMaxMs },
  });
  return sendEmail(input.request);
}
