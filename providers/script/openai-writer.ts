import { ProviderError } from '../errors';
import { readBody, sendRequest, type ProviderLabel } from '../http';
import type { LlmAnswer, LlmPrompt, TokenPrices } from '../llm/exchange';
import { openAiBaseUrl, openAiFailure, openAiHeaders } from '../llm/openai';
import type { CallOptions, ScriptRequest, ScriptResult, ScriptWriter } from '../types';
import { SCRIPT_JSON_SCHEMA } from './prompt';
import { askForScript, DEFAULT_SCRIPT_TEMPERATURE, DEFAULT_SCRIPT_TIMEOUT_MS, type RemoteWriterOptions } from './remote-writer';

/**
 * Script writing with an OpenAI-compatible Chat Completions server (OpenAI, Ollama, vLLM,
 * gateways: the base URL is configurable, the key optional) and `response_format: json_schema`
 * in strict mode. Failures are `ProviderError`s of provider 'openai': 429 `rate_limited`
 * (retry-after, retry-after-ms or x-ratelimit-reset-*), 5xx `server_error`, other 4xx
 * non-retryable with the server's message, a refusal or content filter `forbidden`, an invalid
 * script twice `bad_request` (providerReason `invalid_script`).
 */

interface ChatAnswer {
  choices?: { message?: { content?: unknown; refusal?: unknown }; finish_reason?: string }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number };
}

export class OpenAiScriptWriter implements ScriptWriter {
  readonly name = 'openai-writer';
  readonly model: string;
  private readonly apiKey: string | undefined;
  private readonly baseUrl: string;
  private readonly prices: TokenPrices;
  private readonly timeoutMs: number;
  private readonly temperature: number;
  private readonly label: ProviderLabel = { provider: 'openai', operation: 'OpenAI chat.completions' };

  constructor(options: RemoteWriterOptions) {
    this.apiKey = options.apiKey || undefined;
    this.baseUrl = openAiBaseUrl(options.baseUrl);
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
    return askForScript(this.label, writer, request, options, (prompt) => this.complete(prompt, options.signal));
  }

  private async complete(prompt: LlmPrompt, signal?: AbortSignal): Promise<LlmAnswer> {
    const body = {
      model: this.model,
      messages: [
        { role: 'system', content: prompt.system },
        { role: 'user', content: prompt.user },
      ],
      temperature: this.temperature,
      response_format: { type: 'json_schema', json_schema: { name: 'autoclip_script', schema: SCRIPT_JSON_SCHEMA, strict: true } },
    };
    const secrets = [this.apiKey];
    const init = { method: 'POST', headers: openAiHeaders(this.apiKey), body: JSON.stringify(body) };
    const response = await sendRequest(this.label, `${this.baseUrl}/v1/chat/completions`, init, this.timeoutMs, secrets, signal);
    const answer = await readBody(response, 1_000_000);
    if (!response.ok) throw openAiFailure(this.label, response, answer, secrets);
    if (!answer || typeof answer !== 'object') {
      throw new ProviderError('openai', 'invalid_response', 'OpenAI chat.completions: the answer is not a JSON object', { statusCode: response.status });
    }
    const { choices, usage } = answer as ChatAnswer;
    const choice = choices?.[0];
    const refusal = choice?.message?.refusal;
    if (typeof refusal === 'string' && refusal !== '') {
      throw new ProviderError('openai', 'forbidden', `OpenAI chat.completions: the model refused (${refusal.slice(0, 500)})`, {
        statusCode: response.status,
        providerReason: 'refusal',
      });
    }
    if (choice?.finish_reason === 'content_filter') {
      throw new ProviderError('openai', 'forbidden', 'OpenAI chat.completions: the answer was withheld by the content filter (finish_reason content_filter)', {
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
}
