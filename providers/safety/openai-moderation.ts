import { ProviderError } from '../errors';
import { readBody, recordFailedCall, redactSecrets, sendRequest, type ProviderLabel } from '../http';
import { openAiBaseUrl, openAiFailure, openAiHeaders } from '../llm/openai';
import type { CallOptions, SafetyChecker, SafetyFlag, SafetyRequest, SafetyResult } from '../types';
import { combineSafety, safetyText, severityForRisk, type RiskThresholds } from './combine';
import { LocalSafetyChecker } from './local-checker';

/**
 * The safety check with OpenAI's moderation endpoint (`POST /v1/moderations`) on top of the local
 * rules. Each category whose weighted score reaches a threshold becomes a flag of the severity of
 * that score; a category OpenAI marks as flagged is a high-severity flag, and an answer flagged as
 * a whole always carries one. The flags are folded into the local result by ./combine.ts.
 * Failures are `ProviderError`s of provider 'openai', mapped like the OpenAI script writer's.
 */

export const DEFAULT_MODERATION_MODEL = 'omni-moderation-latest';
export const DEFAULT_MODERATION_TIMEOUT_MS = 30_000;

/** Category scores (0–1) from which a category is a low, medium or high-severity flag. */
export const DEFAULT_MODERATION_THRESHOLDS: RiskThresholds = { low: 0.3, medium: 0.5, high: 0.8 };

/** Categories whose scores count more: the threatening, the instructive and anything about minors. */
export const DEFAULT_MODERATION_WEIGHTS: Readonly<Record<string, number>> = {
  'sexual/minors': 2,
  'self-harm/instructions': 1.5,
  'self-harm/intent': 1.5,
  'hate/threatening': 1.5,
  'harassment/threatening': 1.5,
  'illicit/violent': 1.5,
};

export interface OpenAiModerationOptions {
  /** Optional for OpenAI-compatible gateways that need none. */
  apiKey?: string;
  /** With or without the /v1 suffix; OpenAI's by default. */
  baseUrl?: string;
  model?: string;
  /** Deadline of the HTTP request (connect + answer). */
  timeoutMs?: number;
  thresholds?: RiskThresholds;
  /** Multipliers of category scores (capped at 1) before the thresholds; 1 for unlisted categories. */
  weights?: Readonly<Record<string, number>>;
  /** USD per million input units (tokens when the server reports them, else characters); OpenAI's moderation is free. */
  pricePerMUnitsUsd?: number;
  /** The rules run before the remote check; the built-in table by default. */
  local?: SafetyChecker;
}

interface ModerationAnswer {
  model?: unknown;
  results?: { flagged?: unknown; categories?: Record<string, unknown>; category_scores?: Record<string, unknown> }[];
  usage?: { prompt_tokens?: unknown; total_tokens?: unknown };
}

/** `moderation_self_harm_intent` for `self-harm/intent`. */
function flagCode(category: string): string {
  return `moderation_${category.toLowerCase().replace(/[^a-z0-9]+/g, '_')}`;
}

export class OpenAiModerationChecker implements SafetyChecker {
  readonly name = 'openai-moderation';
  readonly model: string;
  private readonly apiKey: string | undefined;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly thresholds: RiskThresholds;
  private readonly weights: Readonly<Record<string, number>>;
  private readonly pricePerMUnitsUsd: number;
  private readonly local: SafetyChecker;
  private readonly label: ProviderLabel = { provider: 'openai', operation: 'OpenAI moderations' };

  constructor(options: OpenAiModerationOptions = {}) {
    this.apiKey = options.apiKey || undefined;
    this.baseUrl = openAiBaseUrl(options.baseUrl);
    this.model = options.model ?? DEFAULT_MODERATION_MODEL;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_MODERATION_TIMEOUT_MS;
    this.thresholds = options.thresholds ?? DEFAULT_MODERATION_THRESHOLDS;
    this.weights = options.weights ?? DEFAULT_MODERATION_WEIGHTS;
    this.pricePerMUnitsUsd = options.pricePerMUnitsUsd ?? 0;
    this.local = options.local ?? new LocalSafetyChecker();
  }

  async check(request: SafetyRequest, options: CallOptions = {}): Promise<SafetyResult> {
    options.signal?.throwIfAborted();
    const startedAt = performance.now();
    const local = await this.local.check(request, { signal: options.signal });
    const input = safetyText(request);
    const callStartedAt = performance.now();
    const { answer, statusCode } = await this.moderate(input, options.signal).catch(async (error: unknown) => {
      throw await recordFailedCall(options, { service: 'openai', operation: 'moderation', model: this.model, startedAt: callStartedAt }, error);
    });
    const { flags, flagged } = this.flagsOf(answer);
    const combined = combineSafety(local, { flags, rejected: false });
    const reportedTokens = Number(answer.usage?.prompt_tokens ?? answer.usage?.total_tokens);
    const inputUnit = Number.isFinite(reportedTokens) && reportedTokens > 0 ? 'tokens' : 'characters';
    const inputUnits = inputUnit === 'tokens' ? reportedTokens : input.length;
    options.onProgress?.(100);
    const secrets = [this.apiKey];
    return {
      ...combined,
      usage: {
        service: 'openai',
        operation: 'moderation',
        inputUnits,
        outputUnits: 0,
        durationMs: Math.round(performance.now() - startedAt),
        estimatedCostUsd: Math.round(((inputUnits * this.pricePerMUnitsUsd) / 1_000_000) * 1e8) / 1e8,
        statusCode,
        model: this.model,
      },
      exchange: {
        model: this.model,
        prompt: redactSecrets(input, secrets),
        parameters: {
          provider: 'openai',
          endpoint: 'moderations',
          baseUrl: this.baseUrl,
          ...(typeof answer.model === 'string' ? { answeredModel: answer.model } : {}),
          flagged,
          inputUnit,
          thresholds: this.thresholds,
          weights: this.weights,
          local: { checker: this.local.name, score: local.score, flags: local.flags.length },
        },
        rawOutput: redactSecrets(JSON.stringify(answer), secrets),
      },
    };
  }

  private async moderate(input: string, signal?: AbortSignal): Promise<{ answer: ModerationAnswer; statusCode: number }> {
    const secrets = [this.apiKey];
    const init = { method: 'POST', headers: openAiHeaders(this.apiKey), body: JSON.stringify({ model: this.model, input }) };
    const response = await sendRequest(this.label, `${this.baseUrl}/v1/moderations`, init, this.timeoutMs, secrets, signal);
    const answer = await readBody(response, 1_000_000);
    if (!response.ok) throw openAiFailure(this.label, response, answer, secrets);
    const result = (answer as ModerationAnswer | undefined)?.results?.[0];
    const scores = result?.category_scores;
    const readable =
      typeof result?.flagged === 'boolean' &&
      scores !== null && typeof scores === 'object' &&
      Object.values(scores).every((score) => typeof score === 'number' && score >= 0 && score <= 1);
    if (!readable) {
      throw new ProviderError('openai', 'invalid_response', 'OpenAI moderations: the answer has no readable results[0] (flagged, category_scores)', { statusCode: response.status });
    }
    return { answer: answer as ModerationAnswer, statusCode: response.status };
  }

  /** One flag per category at or above the thresholds, the riskiest first. */
  private flagsOf(answer: ModerationAnswer): { flags: SafetyFlag[]; flagged: boolean } {
    const result = answer.results?.[0];
    const flagged = result?.flagged === true;
    const categories = result?.categories ?? {};
    const scored = Object.entries((result?.category_scores ?? {}) as Record<string, number>)
      .map(([category, score]) => ({ category, score, risk: Math.min(1, score * (this.weights[category] ?? 1)), marked: categories[category] === true }))
      .sort((a, b) => b.risk - a.risk);
    const flags: SafetyFlag[] = [];
    for (const { category, score, risk, marked } of scored) {
      const severity = marked ? 'high' : severityForRisk(risk, this.thresholds);
      if (!severity) continue;
      flags.push({ code: flagCode(category), severity, message: `OpenAI moderation: ${category} scored ${score.toFixed(2)}${marked ? ' (flagged)' : ''}` });
    }
    if (flagged && !flags.some((flag) => flag.severity === 'high')) {
      flags.push({ code: 'moderation_flagged', severity: 'high', message: 'OpenAI moderation flagged the text' });
    }
    return { flags, flagged };
  }
}
