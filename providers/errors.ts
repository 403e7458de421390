/**
 * An error no retry can fix: bad input (an impossible frame size, a colour the template spells
 * wrongly, a voice that does not exist) or a machine that lacks something (no Hangul font).
 * Activities turn it into a non-retryable failure, so a production fails at once with the reason.
 */
export class PermanentProviderError extends Error {
  override readonly name: string = 'PermanentProviderError';
}
