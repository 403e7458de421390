import { ProviderError } from '../errors';
import { httpFailure, parseRetryAfterMs, readLimited, recordFailedCall, redactSecrets, sendRequest, type ProviderLabel } from '../http';
import { cleanText } from '../script/text';
import type { CallOptions, ProviderUsage } from '../types';
import type { ResolvedSourceSettings } from './types';

/**
 * The requests one fetch makes to one outside service: deadline and cancellation, a size cap,
 * the answer decoded in its declared charset (Korean feeds still come in EUC-KR), errors mapped
 * to `ProviderError`s with the keys redacted, each failed exchange reported to `onFailedCall`,
 * and the usage of all of them added up into one `ProviderUsage`.
 */

/** What the answer of a request is read into; a thrown plain `Error` becomes `invalid_response`. */
export type AnswerReader<T> = (text: string, response: Response) => T;

/** Google's reasons that mean the daily quota is gone (no retry helps) or a short-term rate limit. */
const QUOTA_REASONS = new Set(['quotaExceeded', 'dailyLimitExceeded']);
const RATE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

/** What a request is about, for error messages, and the provider's quota units it costs (YouTube), counted whether it succeeds or not. */
export interface RequestNote {
  /** e.g. a symbol, a keyword, an API method; never a key. */
  context?: string;
  units?: number;
}

const XML_ACCEPT = 'application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The provider's own message and reason in an error answer: Google `{error: {message, errors:
 * [{reason}], status}}`, NCBI `{error: "..."}`, Yahoo `{chart|finance: {error: {code, description}}}`,
 * or the text of an HTML or plain page.
 */
export function providerError(text: string): { message: string; reason?: string } {
  let body: unknown;
  try {
    body = JSON.parse(text) as unknown;
  } catch {
    return { message: cleanText(text.slice(0, 4000)).replace(/\s+/g, ' ').slice(0, 300) };
  }
  if (!isRecord(body)) return { message: String(body).slice(0, 300) };
  const { error } = body;
  if (typeof error === 'string') return { message: error };
  if (isRecord(error)) {
    const first = Array.isArray(error.errors) && isRecord(error.errors[0]) ? error.errors[0] : undefined;
    const reason = typeof first?.reason === 'string' ? first.reason : typeof error.status === 'string' ? error.status : undefined;
    return { message: typeof error.message === 'string' ? error.message : JSON.stringify(error).slice(0, 300), ...(reason ? { reason } : {}) };
  }
  for (const wrapper of [body.chart, body.finance]) {
    const inner = isRecord(wrapper) && isRecord(wrapper.error) ? wrapper.error : undefined;
    if (inner) {
      const message = typeof inner.description === 'string' ? inner.description : JSON.stringify(inner).slice(0, 300);
      return { message, ...(typeof inner.code === 'string' ? { reason: inner.code } : {}) };
    }
  }
  return { message: typeof body.message === 'string' ? body.message : JSON.stringify(body).slice(0, 300) };
}

/** The charset of an answer: the Content-Type header, else an XML declaration, else UTF-8. */
function decode(bytes: Uint8Array, contentType: string | null): string {
  const declared = /charset\s*=\s*"?([\w.:-]+)/i.exec(contentType ?? '')?.[1];
  const head = Buffer.from(bytes.subarray(0, 256)).toString('latin1');
  const label = declared ?? /^\s*<\?xml[^>]*\bencoding\s*=\s*["']([\w.:-]+)["']/i.exec(head)?.[1] ?? 'utf-8';
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

export class FetchSession {
  private readonly label: ProviderLabel;
  private readonly secrets: readonly (string | undefined)[];
  private durationMs = 0;
  private units = 0;
  private statusCode?: number;

  constructor(
    readonly service: string,
    operation: string,
    private readonly settings: ResolvedSourceSettings,
    private readonly options: CallOptions,
    secrets: readonly (string | undefined)[] = [],
  ) {
    this.label = { provider: service, operation };
    this.secrets = secrets;
  }

  /** GETs a feed (RSS or Atom) and reads it with `read`. */
  getXml<T>(url: string, read: AnswerReader<T>, request: RequestNote = {}): Promise<T> {
    return this.get(url, XML_ACCEPT, request, read);
  }

  /** GETs a JSON answer and reads it with `read`. */
  getJson<T>(url: string, read: (body: Record<string, unknown>, response: Response) => T, request: RequestNote = {}): Promise<T> {
    return this.get(url, 'application/json', request, (text, response) => {
      let body: unknown;
      try {
        body = JSON.parse(text) as unknown;
      } catch {
        throw new Error(`the answer is not JSON (${text.length === 0 ? 'empty' : JSON.stringify(text.slice(0, 60))})`);
      }
      if (!isRecord(body)) throw new Error('the answer is not a JSON object');
      return read(body, response);
    });
  }

  /** The fetch's usage of this service: every request so far, `outputUnits` items kept. */
  usage(outputUnits: number): ProviderUsage {
    return {
      service: this.service,
      operation: 'fetch_items',
      inputUnits: this.units,
      outputUnits,
      durationMs: Math.round(this.durationMs),
      estimatedCostUsd: 0,
      ...(this.statusCode !== undefined ? { statusCode: this.statusCode } : {}),
    };
  }

  /** A non-retryable error about an answer that was readable but refused the request (HTTP 200 with an error inside). */
  refused(message: string, reason?: string): ProviderError {
    return new ProviderError(this.service, 'bad_request', redactSecrets(`${this.label.operation}: ${message}`, this.secrets).slice(0, 1000), {
      ...(reason ? { providerReason: reason } : {}),
      ...(this.statusCode !== undefined ? { statusCode: this.statusCode } : {}),
    });
  }

  private async get<T>(url: string, accept: string, request: RequestNote, read: AnswerReader<T>): Promise<T> {
    const startedAt = performance.now();
    this.units += request.units ?? 0;
    const label = request.context ? { ...this.label, operation: `${this.label.operation} (${request.context})` } : this.label;
    try {
      const response = await sendRequest(
        label,
        url,
        { headers: { Accept: accept, 'User-Agent': this.settings.userAgent } },
        this.settings.timeoutMs,
        this.secrets,
        this.options.signal,
      );
      this.statusCode = response.status;
      const text = await this.readText(label, response);
      if (!response.ok) throw this.failure(label, response, text);
      try {
        return read(text, response);
      } catch (error) {
        if (error instanceof ProviderError) throw error;
        const detail = error instanceof Error ? error.message : String(error);
        throw new ProviderError(this.service, 'invalid_response', redactSecrets(`${label.operation}: ${detail}`, this.secrets).slice(0, 1000), {
          statusCode: response.status,
        });
      }
    } catch (error) {
      throw await recordFailedCall(this.options, { service: this.service, operation: 'fetch_items', startedAt, inputUnits: this.units }, error);
    } finally {
      this.durationMs += performance.now() - startedAt;
    }
  }

  /** The body, at most `maxResponseBytes`, decoded in its charset. */
  private async readText(label: ProviderLabel, response: Response): Promise<string> {
    const limits = { maxBytes: this.settings.maxResponseBytes, timeoutMs: this.settings.timeoutMs, signal: this.options.signal };
    return decode(await readLimited(label, response, limits), response.headers.get('content-type'));
  }

  private failure(label: ProviderLabel, response: Response, text: string): ProviderError {
    const { message, reason } = providerError(text);
    const error = httpFailure(label, response.status, message || response.statusText, {
      retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after')),
      ...(reason ? { providerReason: reason } : {}),
      secrets: this.secrets,
    });
    if (response.status !== 403 || !reason || !(QUOTA_REASONS.has(reason) || RATE_REASONS.has(reason))) return error;
    return new ProviderError(this.service, QUOTA_REASONS.has(reason) ? 'quota_exceeded' : 'rate_limited', error.message, {
      statusCode: response.status,
      providerReason: reason,
      ...(error.retryAfterMs !== undefined ? { retryAfterMs: error.retryAfterMs } : {}),
    });
  }
}
