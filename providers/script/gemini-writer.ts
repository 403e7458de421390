import { ProviderError } from '../errors';
import type { ProviderLabel } from '../http';
import type { LlmAnswer, LlmPrompt, TokenPrices } from '../llm/exchange';
import { generateJson, geminiEndpoint, toGeminiSchema, type GeminiEndpoint } from '../llm/gemini';
import type { CallOptions, ScriptRequest, ScriptResult, ScriptWriter } from '../types';
import { SCRIPT_JSON_SCHEMA } from './prompt';
import { askForScript, DEFAULT_SCRIPT_TEMPERATURE, DEFAULT_SCRIPT_TIMEOUT_MS, type RemoteWriterOptions } from './remote-writer';

/**
 * Script writing with Google Gemini `generateContent` and structured JSON output
 * (`responseMimeType: application/json` + `responseSchema`). Failures are `ProviderError`s of
 * provider 'gemini': 429 `rate_limited` (Retry-After or the RetryInfo `retryDelay`), 5xx
 * `server_error`, other 4xx non-retryable with Gemini's message, a safety block `forbidden`
 * (non-retryable, providerReason = the block or finish reason), an invalid script twice
 * `bad_request` (providerReason `invalid_script`).
 */

/** Finish reasons meaning the answer was withheld for its content; no retry changes that. */
const BLOCKING_FINISH_REASONS = new Set(['SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII', 'RECITATION', 'IMAGE_SAFETY']);

interface GeminiAnswer {
  candidates?: {
    content?: { parts?: { text?: unknown }[] };
    finishReason?: string;
    safetyRatings?: { category?: string; probability?: string; blocked?: boolean }[];
  }[];
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string };
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; totalTokenCount?: number };
}

export class GeminiScriptWriter implements ScriptWriter {
  readonly name = 'gemini-writer';
  readonly model: string;
  private readonly endpoint: GeminiEndpoint;
  private readonly prices: TokenPrices;
  private readonly temperature: number;
  private readonly label: ProviderLabel = { provider: 'gemini', operation: 'Gemini generateContent' };

  constructor(options: RemoteWriterOptions) {
    const { apiKey, baseUrl, model } = options;
    this.endpoint = geminiEndpoint('GeminiScriptWriter', { apiKey, baseUrl, model, timeoutMs: options.timeoutMs ?? DEFAULT_SCRIPT_TIMEOUT_MS });
    this.model = model;
    this.prices = options.prices;
    this.temperature = options.temperature ?? DEFAULT_SCRIPT_TEMPERATURE;
  }

  write(request: ScriptRequest, options: CallOptions = {}): Promise<ScriptResult> {
    const writer = {
      model: this.model,
      prices: this.prices,
      secrets: [this.endpoint.apiKey],
      parameters: { provider: 'gemini', temperature: this.temperature, responseMimeType: 'application/json', responseSchema: 'autoclip_script' },
    };
    return askForScript(this.label, writer, request, options, (prompt) => this.generate(prompt, options.signal));
  }

  private async generate(prompt: LlmPrompt, signal?: AbortSignal): Promise<LlmAnswer> {
    const generation = { temperature: this.temperature, responseSchema: toGeminiSchema(SCRIPT_JSON_SCHEMA) };
    const { answer, statusCode } = await generateJson<GeminiAnswer>(this.label, this.endpoint, prompt, generation, signal);
    const { candidates, promptFeedback, usageMetadata } = answer;
    if (promptFeedback?.blockReason) {
      const detail = promptFeedback.blockReasonMessage ? `: ${promptFeedback.blockReasonMessage}` : '';
      throw new ProviderError('gemini', 'forbidden', `Gemini blocked the prompt (${promptFeedback.blockReason})${detail}`, {
        statusCode,
        providerReason: promptFeedback.blockReason,
      });
    }
    const candidate = candidates?.[0];
    const finishReason = candidate?.finishReason;
    if (finishReason && BLOCKING_FINISH_REASONS.has(finishReason)) {
      const blocked = (candidate?.safetyRatings ?? []).filter((r) => r.blocked || r.probability === 'HIGH' || r.probability === 'MEDIUM');
      const categories = blocked.map((r) => `${r.category ?? '?'}=${r.probability ?? '?'}`).join(', ');
      throw new ProviderError('gemini', 'forbidden', `Gemini withheld the answer (finishReason ${finishReason}${categories ? `: ${categories}` : ''})`, {
        statusCode,
        providerReason: finishReason,
      });
    }
    const text = (candidate?.content?.parts ?? []).map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
    return {
      // An empty or cut answer (MAX_TOKENS) fails the script checks and is retried once.
      text,
      inputTokens: usageMetadata?.promptTokenCount ?? 0,
      outputTokens: usageMetadata?.candidatesTokenCount ?? 0,
      statusCode,
      rawOutput: JSON.stringify(answer),
    };
  }
}
