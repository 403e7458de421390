import type { ProviderError } from '../errors';
import { httpFailure, parseDurationMs, parseRetryAfterMs, type ProviderLabel } from '../http';

/**
 * What the clients of OpenAI-compatible servers (chat completions, moderations, images) share:
 * the base URL, the request headers and the reading of an error answer.
 */

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com';

/** The rate-limit reset hints read when a 429 gives no Retry-After. */
const OPENAI_RESET_HEADERS: readonly string[] = ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens'];

interface OpenAiErrorBody {
  error?: { message?: string; type?: string; code?: string | number | null };
}

/** The base URL without trailing slashes or /v1 suffix (both spellings are accepted); OpenAI's by default. */
export function openAiBaseUrl(baseUrl: string | undefined): string {
  return (baseUrl ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** JSON request headers, with the bearer key when there is one (local servers need none). */
export function openAiHeaders(apiKey: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  return { 'content-type': 'application/json', ...extra, ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}) };
}

/** The server's message of an error answer (its text when it is no JSON) and its code, else its type. */
export function openAiError(response: Response, body: unknown): { message: string; providerReason?: string } {
  const error = (body as OpenAiErrorBody | undefined)?.error;
  const message = error?.message ?? (typeof body === 'string' ? body.slice(0, 500) : response.statusText);
  const reason = error?.code ?? error?.type;
  return reason === null || reason === undefined ? { message } : { message, providerReason: String(reason) };
}

/**
 * The wait an error answer asks for: the longer of Retry-After and retry-after-ms, else on a 429
 * the longest of the rate-limit reset hints, which tell when the window opens again.
 */
function openAiRetryAfterMs(response: Response, resetHeaders: readonly string[] = OPENAI_RESET_HEADERS): number | undefined {
  const header = (name: string): string | null => response.headers.get(name);
  const retryAfterMsHeader = Number(header('retry-after-ms'));
  const waits = [
    parseRetryAfterMs(header('retry-after')),
    Number.isFinite(retryAfterMsHeader) && retryAfterMsHeader > 0 ? Math.round(retryAfterMsHeader) : undefined,
  ].filter((ms): ms is number => ms !== undefined);
  if (waits.length === 0 && response.status === 429) {
    for (const name of resetHeaders) {
      const ms = parseDurationMs(header(name));
      if (ms !== undefined) waits.push(ms);
    }
  }
  return waits.length > 0 ? Math.max(...waits) : undefined;
}

/** The `ProviderError` of a non-2xx answer of an OpenAI-compatible server, the key redacted. */
export function openAiFailure(
  label: ProviderLabel,
  response: Response,
  body: unknown,
  secrets: readonly (string | undefined)[],
  resetHeaders: readonly string[] = OPENAI_RESET_HEADERS,
): ProviderError {
  const { message, providerReason } = openAiError(response, body);
  return httpFailure(label, response.status, message, { retryAfterMs: openAiRetryAfterMs(response, resetHeaders), providerReason, secrets });
}
