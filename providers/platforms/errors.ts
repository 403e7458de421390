/**
 * Typed errors of the platform clients (YouTube now; TikTok and Instagram reuse them). Activities
 * turn them into Temporal failures: `retryable: false` → `ApplicationFailure.nonRetryable`,
 * `retryAfterMs` → `nextRetryDelay`, `code === 'auth_revoked'` → mark the channel `error`.
 * Messages never carry access or refresh tokens: clients redact them before constructing one.
 */

export type PlatformErrorCode =
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

const RETRYABLE: Readonly<Record<PlatformErrorCode, boolean>> = {
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

export interface PlatformErrorOptions {
  statusCode?: number;
  retryAfterMs?: number;
  /** The provider's own reason string, e.g. `quotaExceeded` or `invalid_grant`. */
  providerReason?: string;
}

export class PlatformError extends Error {
  readonly retryable: boolean;
  readonly statusCode?: number;
  readonly retryAfterMs?: number;
  readonly providerReason?: string;

  constructor(
    readonly platform: string,
    readonly code: PlatformErrorCode,
    message: string,
    options: PlatformErrorOptions = {},
  ) {
    super(message);
    this.name = 'PlatformError';
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

export function isPlatformError(error: unknown): error is PlatformError {
  return error instanceof PlatformError;
}
