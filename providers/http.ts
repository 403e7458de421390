import { SpanKind, SpanStatusCode, trace, type Attributes } from '@opentelemetry/api';
import { ProviderError, type ProviderErrorCode } from './errors';
import type { CallOptions, ProviderUsage } from './types';

/**
 * Small helpers shared by the HTTP clients of outside services: per-request deadlines combined
 * with the caller's cancellation, a trace span per request, Retry-After parsing, tolerant and
 * bounded body reading and secret redaction.
 */

/** The caller's signal (cancellation) and a per-request deadline, as one signal for `fetch`. */
export function requestSignal(timeoutMs: number, callerSignal?: AbortSignal): AbortSignal {
  const deadline = AbortSignal.timeout(timeoutMs);
  return callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline;
}

/** True when an error comes from an aborted or timed-out request rather than from the network. */
export function isAbortOrTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/**
 * Milliseconds to wait according to a `Retry-After` header (delta-seconds or an HTTP date);
 * undefined when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The body as JSON when it parses, else as text (providers answer HTML on some gateway errors). */
export async function readBody(response: Response, maxChars = 65_536): Promise<unknown> {
  const text = (await response.text()).slice(0, maxChars);
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Frees the connection of a response whose body is not needed. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

export interface ReadLimits {
  maxBytes: number;
  /** The request's deadline, for the message when the body stops arriving in time. */
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * The whole body of a response, refused as `invalid_response` past `maxBytes`. The request's
 * deadline covers the body too: a body that stops arriving is a retryable `network_error`.
 */
export async function readLimited(label: ProviderLabel, response: Response, limits: ReadLimits): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  const tooLarge = (): ProviderError =>
    new ProviderError(label.provider, 'invalid_response', `${label.operation}: the answer is larger than ${limits.maxBytes} bytes`, { statusCode: response.status });
  if (declared > limits.maxBytes) {
    await discardBody(response);
    throw tooLarge();
  }
  const reader = response.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limits.maxBytes) {
        await reader.cancel().catch(() => undefined);
        throw tooLarge();
      }
      parts.push(value);
    }
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    if (limits.signal?.aborted) throw limits.signal.reason;
    const detail = isAbortOrTimeout(error) ? `no complete answer within ${limits.timeoutMs} ms` : 'the connection broke off';
    throw new ProviderError(label.provider, 'network_error', `${label.operation}: ${detail}`, { statusCode: response.status });
  }
  return Buffer.concat(parts, total);
}

/** Replaces every occurrence of the given secrets (tokens, keys) so a message can be logged or stored. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) result = result.split(secret).join('[redacted]');
  }
  return result;
}

/** Resolves after `ms`, or rejects at once with the signal's reason when it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Milliseconds of a duration such as "17s", "0.5s", "6m0s", "20ms" or "1h2m3s"; undefined when unreadable. */
export function parseDurationMs(value: string | null | undefined): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (!/^(\d+(\.\d+)?(h|ms|m|s))+$/.test(text)) return undefined;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const match of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s)/g)) total += Number(match[1]) * (units[match[2] as string] as number);
  return Math.round(total);
}

export interface ProviderLabel {
  /** `ProviderError.provider` and `ProviderUsage.service`, e.g. 'gemini', 'elevenlabs', 'tiktok'. */
  provider: string;
  /** Human name used in messages, e.g. "Gemini generateContent". */
  operation: string;
}

const tracer = trace.getTracer('autoclip-providers');

/**
 * The attributes of a provider call's span: who and what was called, and where, never the URL
 * (query strings carry keys) nor a header.
 */
function callAttributes(label: ProviderLabel, method: string, url: string, secrets: readonly (string | undefined)[]): Attributes {
  const { hostname, port, protocol } = new URL(url);
  return {
    'autoclip.provider': label.provider,
    'autoclip.provider.operation': redactSecrets(label.operation, secrets),
    'http.request.method': method,
    'server.address': hostname,
    'server.port': port ? Number(port) : protocol === 'https:' ? 443 : 80,
  };
}

/**
 * `fetch` with the per-request deadline; network failures become retryable `network_error`s. Each
 * call is a client span (a no-op unless tracing is on) from the request until its answer's headers.
 */
export async function sendRequest(label: ProviderLabel, url: string, init: RequestInit, timeoutMs: number, secrets: readonly (string | undefined)[], signal?: AbortSignal): Promise<Response> {
  const method = init.method ?? 'GET';
  return tracer.startActiveSpan(`${method} ${label.provider}`, { kind: SpanKind.CLIENT }, async (span) => {
    if (span.isRecording()) span.setAttributes(callAttributes(label, method, url, secrets));
    try {
      const response = await fetch(url, { ...init, signal: requestSignal(timeoutMs, signal) });
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 400) span.setStatus({ code: SpanStatusCode.ERROR });
      return response;
    } catch (error) {
      if (signal?.aborted) {
        span.setStatus({ code: SpanStatusCode.ERROR, message: 'cancelled' });
        throw signal.reason;
      }
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      const detail = isAbortOrTimeout(error) ? `no answer within ${timeoutMs} ms` : String(cause?.code ?? cause?.message ?? (error as Error).message);
      const failure = new ProviderError(label.provider, 'network_error', redactSecrets(`${label.operation}: request failed (${detail})`, secrets));
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
      throw failure;
    } finally {
      span.end();
    }
  });
}

/** The error code of a non-2xx HTTP status. */
export function codeForStatus(status: number): ProviderErrorCode {
  if (status === 429) return 'rate_limited';
  if (status >= 500 || status === 408) return 'server_error';
  if (status === 401) return 'unauthorized';
  if (status === 403) return 'forbidden';
  if (status === 404) return 'not_found';
  return 'bad_request';
}

/**
 * The `ProviderError` of a failed answer, with the provider's message and the key redacted; its
 * code is the status's unless the provider's own error code says more.
 */
export function httpFailure(
  label: ProviderLabel,
  status: number,
  message: string,
  options: {
    retryAfterMs?: number;
    providerReason?: string;
    /** How the reason reads in the message; the reason itself by default. */
    shownReason?: string;
    code?: ProviderErrorCode;
    secrets: readonly (string | undefined)[];
  },
): ProviderError {
  const shown = options.shownReason ?? options.providerReason;
  const text = `${label.operation} failed with HTTP ${status}${shown ? ` (${shown})` : ''}: ${message || 'no message'}`;
  return new ProviderError(label.provider, options.code ?? codeForStatus(status), redactSecrets(text, options.secrets).slice(0, 1000), {
    statusCode: status,
    ...(options.retryAfterMs !== undefined ? { retryAfterMs: options.retryAfterMs } : {}),
    ...(options.providerReason ? { providerReason: options.providerReason } : {}),
  });
}

/**
 * Reports a failed exchange with a provider through `options.onFailedCall`, so the attempt is
 * recorded in `api_usages` with its status and error even though no result carries it. The error
 * is returned unchanged for the caller to throw.
 */
export async function recordFailedCall(
  options: CallOptions | undefined,
  usage: Pick<ProviderUsage, 'service' | 'operation'> & Partial<ProviderUsage> & { startedAt: number },
  error: unknown,
): Promise<unknown> {
  if (!options?.onFailedCall) return error;
  const { startedAt, ...rest } = usage;
  const statusCode = rest.statusCode ?? (error instanceof ProviderError ? error.statusCode : undefined);
  await options.onFailedCall(
    {
      inputUnits: 0,
      outputUnits: 0,
      estimatedCostUsd: 0,
      ...rest,
      durationMs: Math.round(performance.now() - startedAt),
      ...(statusCode !== undefined ? { statusCode } : {}),
    },
    error instanceof Error ? error.message : String(error),
  );
  return error;
}
