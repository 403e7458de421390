import { httpFailure, parseDurationMs, parseRetryAfterMs, readBody, sendRequest, type ProviderLabel } from '../http';
import { PlatformError } from '../platforms/errors';
import type { CallOptions, ScriptRequest, ScriptResult, ScriptWriter } from '../types';
import {
  DEFAULT_SCRIPT_TEMPERATURE,
  DEFAULT_SCRIPT_TIMEOUT_MS,
  SCRIPT_JSON_SCHEMA,
  writeWithOneRetry,
  type AttemptAnswer,
  type RemoteWriterOptions,
  type ScriptPrompt,
  type TokenPrices,
} from './prompt';

/**
 * Script writing with an OpenAI-compatible Chat Completions server (OpenAI, Ollama, vLLM,
 * gateways: the base URL is configurable, the key optional) and `response_format: json_schema`
 * in strict mode. Failures are `PlatformError`s of platform 'openai': 429 `rate_limited`
 * (retry-after, retry-after-ms or x-ratelimit-reset-*), 5xx `server_error`, other 4xx
 * non-retryable with the server's message, a refusal or content filter `forbidden`, an invalid
 * script twice `bad_request` (providerReason `invalid_script`).
 */

export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com';
export const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';

interface ChatAnswer {
  choices?: { message?: { content?: unknown; refusal?: unknown }; finish_reason?: string }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
}

interface OpenAiErrorBody {
  error?: { message?: string; type?: string; code?: string | number | null };
}

export class OpenAiScriptWriter implements ScriptWriter {
  readonly name = 'openai-writer';
  readonly model: string;
  private readonly apiKey: string | undefined;
  private readonly baseUrl: string;
  private readonly prices: TokenPrices;
  private readonly timeoutMs: number;
  private readonly temperature: number;
  private readonly label: ProviderLabel = { platform: 'openai', operation: 'OpenAI chat.completions' };

  constructor(options: RemoteWriterOptions) {
    this.apiKey = options.apiKey || undefined;
    // Accept a base given with or without the /v1 suffix.
    this.baseUrl = options.baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
    this.model = options.model;
    this.prices = options.prices;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS;
    this.temperature = options.temperature ?? DEFAULT_SCRIPT_TEMPERATURE;
  }

  write(request: ScriptRequest, options: CallOptions = {}): Promise<ScriptResult> {
    const writer = {
      model: this.model,
      prices: this.prices,
      secrets: [this.apiKey],
      parameters: { provider: 'openai', baseUrl: this.baseUrl, temperature: this.temperature, response_format: 'json_schema:autoclip_script (strict)' },
    };
    return writeWithOneRetry(this.label, writer, request, options, (prompt) => this.complete(prompt, options.signal));
  }

  private async complete(prompt: ScriptPrompt, signal?: AbortSignal): Promise<AttemptAnswer> {
    const body = {
      model: this.model,
      messages: [
        { role: 'system', content: prompt.system },
        { role: 'user', content: prompt.user },
      ],
      temperature: this.temperature,
      response_format: { type: 'json_schema', json_schema: { name: 'autoclip_script', schema: SCRIPT_JSON_SCHEMA, strict: true } },
    };
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const secrets = [this.apiKey];
    const response = await sendRequest(this.label, `${this.baseUrl}/v1/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body) }, this.timeoutMs, secrets, signal);
    const answer = await readBody(response, 1_000_000);
    if (!response.ok) throw this.failure(response, answer);
    if (!answer || typeof answer !== 'object') {
      throw new PlatformError('openai', 'invalid_response', 'OpenAI chat.completions: the answer is not a JSON object', { statusCode: response.status });
    }
    const { choices, usage } = answer as ChatAnswer;
    const choice = choices?.[0];
    const refusal = choice?.message?.refusal;
    if (typeof refusal === 'string' && refusal !== '') {
      throw new PlatformError('openai', 'forbidden', `OpenAI chat.completions: the model refused (${refusal.slice(0, 500)})`, {
        statusCode: response.status,
        providerReason: 'refusal',
      });
    }
    if (choice?.finish_reason === 'content_filter') {
      throw new PlatformError('openai', 'forbidden', 'OpenAI chat.completions: the answer was withheld by the content filter (finish_reason content_filter)', {
        statusCode: response.status,
        providerReason: 'content_filter',
      });
    }
    const content = choice?.message?.content;
    return {
      // Missing or cut content (finish_reason "length") fails the script checks and is retried once.
      text: typeof content === 'string' ? content : '',
      inputTokens: usage?.prompt_tokens ?? 0,
      outputTokens: usage?.completion_tokens ?? 0,
      statusCode: response.status,
      rawOutput: JSON.stringify(answer),
    };
  }

  private failure(response: Response, body: unknown): PlatformError {
    const error = (body as OpenAiErrorBody | undefined)?.error;
    const message = error?.message ?? (typeof body === 'string' ? body.slice(0, 500) : response.statusText);
    const header = (name: string): string | null => response.headers.get(name);
    const retryAfterMsHeader = Number(header('retry-after-ms'));
    const waits = [
      parseRetryAfterMs(header('retry-after')),
      Number.isFinite(retryAfterMsHeader) && retryAfterMsHeader > 0 ? Math.round(retryAfterMsHeader) : undefined,
    ].filter((ms): ms is number => ms !== undefined);
    if (waits.length === 0 && response.status === 429) {
      // Without Retry-After, the rate-limit reset hints tell when the window opens again.
      for (const name of ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']) {
        const ms = parseDurationMs(header(name));
        if (ms !== undefined) waits.push(ms);
      }
    }
    const reason = error?.code ?? error?.type;
    return httpFailure(this.label, response.status, message, {
      retryAfterMs: waits.length > 0 ? Math.max(...waits) : undefined,
      providerReason: reason === null || reason === undefined ? undefined : String(reason),
      secrets: [this.apiKey],
    });
  }
}
