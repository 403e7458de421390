/**
 * The errors providers throw. Activities turn them into Temporal failures (activities/failures.ts).
 */

/**
 * What a provider (a script or speech service, an image source, a renderer, a platform, a data
 * source) answered or failed with: `retryable: false` → `ApplicationFailure.nonRetryable`,
 * `retryAfterMs` → `nextRetryDelay`, `code === 'auth_revoked'` → mark the channel `error`.
 * Messages never carry keys or tokens: clients redact them before constructing one.
 */

export type ProviderErrorCode =
  /** The user revoked the app or the refresh token expired: the channel must be reconnected. */
  | 'auth_revoked'
  /** The access token was refused even after a refresh. */
  | 'unauthorized'
  /** The daily quota or upload limit is used up: no retry helps until it resets. */
  | 'quota_exceeded'
  | 'rate_limited'
  | 'forbidden'
  | 'bad_request'
  | 'not_found'
  /** The resumable session is gone and could not be restarted. */
  | 'session_expired'
  | 'server_error'
  | 'network_error'
  /** The provider answered something this client cannot read. */
  | 'invalid_response';

const RETRYABLE: Readonly<Record<ProviderErrorCode, boolean>> = {
  auth_revoked: false,
  unauthorized: false,
  quota_exceeded: false,
  rate_limited: true,
  forbidden: false,
  bad_request: false,
  not_found: false,
  session_expired: true,
  server_error: true,
  network_error: true,
  invalid_response: true,
};

export interface ProviderErrorOptions {
  statusCode?: number;
  retryAfterMs?: number;
  /** The provider's own reason string, e.g. `quotaExceeded` or `invalid_grant`. */
  providerReason?: string;
}

export class ProviderError extends Error {
  readonly retryable: boolean;
  readonly statusCode?: number;
  readonly retryAfterMs?: number;
  readonly providerReason?: string;

  constructor(
    /** The service, as `ProviderUsage.service` names it: 'gemini', 'elevenlabs', 'youtube', 'rss'… */
    readonly provider: string,
    readonly code: ProviderErrorCode,
    message: string,
    options: ProviderErrorOptions = {},
  ) {
    super(message);
    this.name = 'ProviderError';
    this.retryable = RETRYABLE[code];
    this.statusCode = options.statusCode;
    this.retryAfterMs = options.retryAfterMs;
    this.providerReason = options.providerReason;
  }

  /** True when the stored channel credentials are no longer usable. */
  get requiresReconnect(): boolean {
    return this.code === 'auth_revoked';
  }
}

export function isProviderError(error: unknown): error is ProviderError {
  return error instanceof ProviderError;
}

/**
 * An error no retry can fix, found before any provider is called: bad input (an impossible frame
 * size, a colour the template spells wrongly, a voice that does not exist, a source without a
 * feed URL) or a machine that lacks something (no Hangul font). It names no provider and has no
 * HTTP status, so it is not a `ProviderError`; activities turn it into a non-retryable failure
 * typed by its name, so a production fails at once with the reason.
 */
export class PermanentProviderError extends Error {
  override readonly name: string = 'PermanentProviderError';
}
