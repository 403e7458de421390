import { ProviderError } from '../errors';
import { recordFailedCall, redactSecrets, type ProviderLabel } from '../http';
import type { AiExchange, CallOptions, ProviderUsage } from '../types';

/**
 * What every exchange with a language model shares, whichever server answers (Gemini,
 * OpenAI-compatible): the prompt's parts and how it is stored, the token prices and the cost
 * estimate, and the attempt loop that asks once more when the answer cannot be used.
 */

export interface LlmPrompt {
  system: string;
  user: string;
}

/** The prompt as stored in `ai_outputs`. */
export function promptText(prompt: LlmPrompt): string {
  return `[system]\n${prompt.system}\n\n[user]\n${prompt.user}`;
}

/** USD per million tokens of the configured model. */
export interface TokenPrices {
  inputPerMTokUsd: number;
  outputPerMTokUsd: number;
}

export function estimateCostUsd(inputTokens: number, outputTokens: number, prices: TokenPrices): number {
  const cost = (inputTokens * prices.inputPerMTokUsd + outputTokens * prices.outputPerMTokUsd) / 1_000_000;
  return Math.round(cost * 1e8) / 1e8;
}

/** One successful HTTP exchange with the model: the JSON text it answered and what it cost. */
export interface LlmAnswer {
  text: string;
  inputTokens: number;
  outputTokens: number;
  statusCode: number;
  rawOutput: string;
}

/** Why an answer cannot be used; the loop asks once more with this message in the prompt. */
export class InvalidAnswerError extends Error {
  override readonly name = 'InvalidAnswerError';
}

/** The model asked and what the exchange is stored with. */
export interface LlmCaller {
  model: string;
  prices: TokenPrices;
  secrets: readonly (string | undefined)[];
  /** The request's parameters, stored with the exchange. */
  parameters: Record<string, unknown>;
}

/** What is asked for and how its answer is read. */
export interface LlmTask<T> {
  /** `ProviderUsage.operation`, e.g. 'script_generation'. */
  operation: string;
  /** Names the answer in the error of a second invalid one, and its reason (`invalid_<what>`). */
  what: string;
  /** The prompt; `previousError` is set on the second round. */
  prompt(previousError?: string): LlmPrompt;
  /** Reads the answer's text; throws `InvalidAnswerError` naming the first problem. */
  read(text: string): T;
}

/**
 * Asks the model, reads the answer, and on an invalid one asks once more with the reason in the
 * prompt. A second invalid answer fails with a non-retryable `bad_request` (providerReason
 * `invalid_<what>`): the activity retrying the same prompt would not help. Provider failures
 * (`ProviderError`) propagate from `attempt` unchanged, each reported as a failed call.
 */
export async function askWithOneRetry<T>(
  label: ProviderLabel,
  caller: LlmCaller,
  task: LlmTask<T>,
  options: CallOptions,
  attempt: (prompt: LlmPrompt) => Promise<LlmAnswer>,
): Promise<{ value: T; usage: ProviderUsage; exchange: AiExchange }> {
  options.signal?.throwIfAborted();
  const startedAt = performance.now();
  let inputTokens = 0;
  let outputTokens = 0;
  let previousError: string | undefined;
  for (let round = 1; round <= 2; round += 1) {
    const prompt = task.prompt(previousError);
    const callStartedAt = performance.now();
    const answer = await attempt(prompt).catch(async (error: unknown) => {
      throw await recordFailedCall(options, { service: label.provider, operation: task.operation, model: caller.model, startedAt: callStartedAt }, error);
    });
    inputTokens += answer.inputTokens;
    outputTokens += answer.outputTokens;
    let value: T;
    try {
      value = task.read(answer.text);
    } catch (error) {
      if (!(error instanceof InvalidAnswerError)) throw error;
      previousError = error.message;
      options.onProgress?.(50);
      continue;
    }
    options.onProgress?.(100);
    return {
      value,
      usage: {
        service: label.provider,
        operation: task.operation,
        inputUnits: inputTokens,
        outputUnits: outputTokens,
        durationMs: Math.round(performance.now() - startedAt),
        estimatedCostUsd: estimateCostUsd(inputTokens, outputTokens, caller.prices),
        statusCode: answer.statusCode,
        model: caller.model,
      },
      exchange: {
        model: caller.model,
        prompt: redactSecrets(promptText(prompt), caller.secrets),
        parameters: { ...caller.parameters, attempts: round, ...(round > 1 ? { previousError } : {}) },
        rawOutput: redactSecrets(answer.rawOutput, caller.secrets),
      },
    };
  }
  throw new ProviderError(
    label.provider,
    'bad_request',
    redactSecrets(`${label.operation}: the model answered an invalid ${task.what} twice (${previousError ?? 'unknown problem'})`, caller.secrets).slice(0, 1000),
    { providerReason: `invalid_${task.what}` },
  );
}
