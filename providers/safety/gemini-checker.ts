import { ProviderError } from '../errors';
import { recordFailedCall, redactSecrets, type ProviderLabel } from '../http';
import { estimateCostUsd, promptText, type LlmPrompt, type TokenPrices } from '../llm/exchange';
import { DEFAULT_GEMINI_BASE_URL, DEFAULT_GEMINI_MODEL, generateJson, geminiEndpoint, toGeminiSchema, type GeminiEndpoint } from '../llm/gemini';
import { truncate } from '../script/text';
import type { CallOptions, SafetyChecker, SafetyFlag, SafetyRequest, SafetyResult } from '../types';
import { combineSafety, safetyText, type RemoteSafetyFindings } from './combine';
import { LocalSafetyChecker } from './local-checker';

/**
 * The safety check with Google Gemini on top of the local rules: one `generateContent` call asks
 * for a short JSON review of the script (issues by category and severity), and Gemini's own
 * safety signals are read beside it. Each reviewed category becomes a flag of its severity, each
 * MEDIUM or HIGH safety rating (of the prompt or of the answer) a medium or high flag; a blocked
 * prompt or an answer withheld for safety is a high-severity flag with the score 0 — a rejection,
 * not an error. The flags are folded into the local result by ./combine.ts. Failures are
 * `ProviderError`s of provider 'gemini', mapped like the Gemini script writer's; an unreadable
 * review is a retryable `invalid_response`.
 */

export const DEFAULT_SAFETY_REVIEW_TIMEOUT_MS = 60_000;

/** What the review may name; anything else is read as `other`. */
const REVIEW_CATEGORIES = [
  'medical_claim',
  'financial_claim',
  'misinformation',
  'hate',
  'harassment',
  'violence',
  'sexual',
  'self_harm',
  'dangerous',
  'personal_data',
  'clickbait',
  'other',
] as const;

const SEVERITIES: readonly SafetyFlag['severity'][] = ['low', 'medium', 'high'];

/** The review's shape as a JSON schema (sent in Gemini's dialect). */
const SAFETY_REVIEW_SCHEMA = {
  type: 'object',
  properties: {
    issues: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          category: { type: 'string', enum: [...REVIEW_CATEGORIES] },
          severity: { type: 'string', enum: [...SEVERITIES] },
          message: { type: 'string', description: 'One sentence in English' },
          excerpt: { type: 'string', description: 'The words of the script concerned, quoted exactly, at most 80 characters' },
        },
        required: ['category', 'severity', 'message'],
      },
    },
  },
  required: ['issues'],
} as const;

/** Finish reasons meaning the answer was withheld for what the text says. */
const REJECTING_FINISH_REASONS = new Set(['SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII']);

const PROBABILITY_RANK: Readonly<Record<string, number>> = { NEGLIGIBLE: 0, LOW: 1, MEDIUM: 2, HIGH: 3 };
const MAX_REVIEW_ISSUES = 20;

export interface GeminiSafetyCheckerOptions {
  apiKey: string;
  /** Google's by default. */
  baseUrl?: string;
  model?: string;
  prices: TokenPrices;
  /** Deadline of the HTTP request (connect + answer). */
  timeoutMs?: number;
  /** The rules run before the remote check; the built-in table by default. */
  local?: SafetyChecker;
}

interface SafetyRating {
  category?: string;
  probability?: string;
  blocked?: boolean;
}

interface GeminiAnswer {
  candidates?: { content?: { parts?: { text?: unknown }[] }; finishReason?: string; safetyRatings?: SafetyRating[] }[];
  promptFeedback?: { blockReason?: string; blockReasonMessage?: string; safetyRatings?: SafetyRating[] };
  usageMetadata?: { promptTokenCount?: number; candidatesTokenCount?: number; thoughtsTokenCount?: number };
}

/** The review prompt: the instructions, then the title and the spoken text. */
function buildSafetyReviewPrompt(request: SafetyRequest): LlmPrompt {
  const language = request.language === 'ko' ? 'Korean' : 'English';
  const system = [
    `You review the scripts of short videos for a ${request.vertical} channel before they are published. The script is in ${language}.`,
    'List every problem a careful editor would stop: health or money claims that could hurt viewers, misinformation, hate, harassment,',
    'violence, sexual content, self-harm, dangerous instructions, personal data, excessive clickbait.',
    'severity: high = must not be published, medium = must be edited, low = minor. Answer only with JSON {"issues": [...]};',
    'an empty list when the script is fine. Do not report style or grammar.',
  ].join('\n');
  return { system, user: safetyText(request) };
}

export class GeminiSafetyChecker implements SafetyChecker {
  readonly name = 'gemini-safety';
  readonly model: string;
  private readonly endpoint: GeminiEndpoint;
  private readonly prices: TokenPrices;
  private readonly local: SafetyChecker;
  private readonly label: ProviderLabel = { provider: 'gemini', operation: 'Gemini safety review' };

  constructor(options: GeminiSafetyCheckerOptions) {
    this.endpoint = geminiEndpoint('GeminiSafetyChecker', {
      apiKey: options.apiKey,
      baseUrl: options.baseUrl ?? DEFAULT_GEMINI_BASE_URL,
      model: options.model ?? DEFAULT_GEMINI_MODEL,
      timeoutMs: options.timeoutMs ?? DEFAULT_SAFETY_REVIEW_TIMEOUT_MS,
    });
    this.model = this.endpoint.model;
    this.prices = options.prices;
    this.local = options.local ?? new LocalSafetyChecker();
  }

  async check(request: SafetyRequest, options: CallOptions = {}): Promise<SafetyResult> {
    options.signal?.throwIfAborted();
    const startedAt = performance.now();
    const local = await this.local.check(request, { signal: options.signal });
    const prompt = buildSafetyReviewPrompt(request);
    const callStartedAt = performance.now();
    const failed = async (error: unknown, spent: { inputUnits: number; outputUnits: number } = { inputUnits: 0, outputUnits: 0 }): Promise<never> => {
      throw await recordFailedCall(
        options,
        { service: 'gemini', operation: 'safety_check', model: this.model, ...spent, estimatedCostUsd: estimateCostUsd(spent.inputUnits, spent.outputUnits, this.prices), startedAt: callStartedAt },
        error,
      );
    };
    const generation = { temperature: 0, responseSchema: toGeminiSchema(SAFETY_REVIEW_SCHEMA) };
    const { answer, statusCode } = await generateJson<GeminiAnswer>(this.label, this.endpoint, prompt, generation, options.signal).catch(failed);
    const inputUnits = answer.usageMetadata?.promptTokenCount ?? 0;
    // Thinking tokens are billed as output.
    const outputUnits = (answer.usageMetadata?.candidatesTokenCount ?? 0) + (answer.usageMetadata?.thoughtsTokenCount ?? 0);
    let findings: RemoteSafetyFindings;
    try {
      findings = this.findingsOf(answer, statusCode);
    } catch (error) {
      return failed(error, { inputUnits, outputUnits });
    }
    const combined = combineSafety(local, findings);
    options.onProgress?.(100);
    const secrets = [this.endpoint.apiKey];
    return {
      ...combined,
      usage: {
        service: 'gemini',
        operation: 'safety_check',
        inputUnits,
        outputUnits,
        durationMs: Math.round(performance.now() - startedAt),
        estimatedCostUsd: estimateCostUsd(inputUnits, outputUnits, this.prices),
        statusCode,
        model: this.model,
      },
      exchange: {
        model: this.model,
        prompt: redactSecrets(promptText(prompt), secrets),
        parameters: {
          provider: 'gemini',
          temperature: 0,
          responseMimeType: 'application/json',
          responseSchema: 'autoclip_safety_review',
          rejected: findings.rejected,
          local: { checker: this.local.name, score: local.score, flags: local.flags.length },
        },
        rawOutput: redactSecrets(JSON.stringify(answer), secrets),
      },
    };
  }

  /** The flags of the review and of the safety signals; throws `invalid_response` on an unreadable review. */
  private findingsOf(answer: GeminiAnswer, statusCode: number): RemoteSafetyFindings {
    const { candidates, promptFeedback } = answer;
    const candidate = candidates?.[0];
    const ratingFlags = flagsOfRatings([...(promptFeedback?.safetyRatings ?? []), ...(candidate?.safetyRatings ?? [])]);
    if (promptFeedback?.blockReason) {
      const detail = promptFeedback.blockReasonMessage ? `: ${promptFeedback.blockReasonMessage}` : '';
      const blocked: SafetyFlag = { code: 'gemini_blocked', severity: 'high', message: `Gemini blocked the text (${promptFeedback.blockReason})${detail}` };
      return { flags: [blocked, ...ratingFlags], rejected: true };
    }
    const finishReason = candidate?.finishReason;
    if (finishReason && REJECTING_FINISH_REASONS.has(finishReason)) {
      const withheld: SafetyFlag = { code: 'gemini_blocked', severity: 'high', message: `Gemini withheld its review of the text (finishReason ${finishReason})` };
      return { flags: [withheld, ...ratingFlags], rejected: true };
    }
    const text = (candidate?.content?.parts ?? []).map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
    return { flags: [...flagsOfReview(text, finishReason, statusCode), ...ratingFlags], rejected: false };
  }
}

function ratingRank(rating: SafetyRating): number {
  return rating.blocked ? 4 : (PROBABILITY_RANK[rating.probability ?? ''] ?? 0);
}

/** One flag per harm category rated MEDIUM or HIGH (or blocked), at its highest rating. */
function flagsOfRatings(ratings: readonly SafetyRating[]): SafetyFlag[] {
  const worst = new Map<string, SafetyRating>();
  for (const rating of ratings) {
    const category = rating.category ?? 'HARM_CATEGORY_UNSPECIFIED';
    const seen = worst.get(category);
    if (!seen || ratingRank(rating) > ratingRank(seen)) worst.set(category, rating);
  }
  const flags: SafetyFlag[] = [];
  for (const [category, rating] of worst) {
    const severity = rating.blocked || rating.probability === 'HIGH' ? 'high' : rating.probability === 'MEDIUM' ? 'medium' : undefined;
    if (!severity) continue;
    const name = category.replace(/^HARM_CATEGORY_/, '').toLowerCase();
    flags.push({ code: `gemini_${name}`, severity, message: `Gemini rated ${category} ${rating.probability ?? 'unknown'}${rating.blocked ? ' (blocked)' : ''}` });
  }
  return flags;
}

function invalidReview(problem: string, finishReason: string | undefined, statusCode: number): ProviderError {
  const finish = finishReason && finishReason !== 'STOP' ? ` (finishReason ${finishReason})` : '';
  return new ProviderError('gemini', 'invalid_response', `Gemini safety review: ${problem}${finish}`, { statusCode });
}

/** One flag per reviewed category, at the highest severity found, quoting the first excerpt. */
function flagsOfReview(text: string, finishReason: string | undefined, statusCode: number): SafetyFlag[] {
  let value: unknown;
  try {
    value = JSON.parse(text.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1'));
  } catch (error) {
    throw invalidReview(`the answer is not valid JSON (${(error as Error).message})`, finishReason, statusCode);
  }
  const issues = (value as { issues?: unknown } | null)?.issues;
  if (!Array.isArray(issues)) throw invalidReview('the answer has no "issues" list', finishReason, statusCode);
  const byCategory = new Map<string, { flag: SafetyFlag; count: number }>();
  for (const [index, issue] of issues.slice(0, MAX_REVIEW_ISSUES).entries()) {
    const { category, severity, message, excerpt } = (issue ?? {}) as Record<string, unknown>;
    if (typeof severity !== 'string' || !SEVERITIES.includes(severity as SafetyFlag['severity']) || typeof message !== 'string' || message.trim() === '') {
      throw invalidReview(`issues[${index}] needs a severity (low, medium, high) and a message`, finishReason, statusCode);
    }
    const name = (REVIEW_CATEGORIES as readonly unknown[]).includes(category) ? (category as string) : 'other';
    const flag: SafetyFlag = {
      code: `gemini_review_${name}`,
      severity: severity as SafetyFlag['severity'],
      message: `Gemini review: ${truncate(message.trim(), 300)}`,
      ...(typeof excerpt === 'string' && excerpt.trim() !== '' ? { excerpt: truncate(excerpt.trim(), 120) } : {}),
    };
    const seen = byCategory.get(name);
    if (!seen) byCategory.set(name, { flag, count: 1 });
    else {
      seen.count += 1;
      if (SEVERITIES.indexOf(flag.severity) > SEVERITIES.indexOf(seen.flag.severity)) seen.flag = flag;
    }
  }
  return [...byCategory.values()].map(({ flag, count }) => (count > 1 ? { ...flag, message: `${flag.message} (${count} issues)` } : flag));
}
