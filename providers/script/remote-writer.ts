import type { ProviderLabel } from '../http';
import { askWithOneRetry, InvalidAnswerError, type LlmAnswer, type LlmCaller, type LlmPrompt, type TokenPrices } from '../llm/exchange';
import type { CallOptions, Script, ScriptRequest, ScriptResult } from '../types';
import { buildScriptPrompt } from './prompt';
import { cleanText, graphemeLength, truncate } from './text';
import { SCRIPT_LIMITS, ScriptValidationError, validateScript } from './validate';

/**
 * What the remote script writers (Gemini, OpenAI-compatible) share: their options, the reading
 * and checking of a model's answer, and the exchange that asks once more with the validation
 * error when an answer is no usable script.
 */

export interface RemoteWriterOptions {
  apiKey?: string;
  baseUrl: string;
  model: string;
  prices: TokenPrices;
  /** Deadline of one HTTP request (connect + answer). */
  timeoutMs?: number;
  temperature?: number;
}

export const DEFAULT_SCRIPT_TIMEOUT_MS = 60_000;
export const DEFAULT_SCRIPT_TEMPERATURE = 0.8;

function field(value: unknown, name: string, maxChars: number): string {
  if (typeof value !== 'string') throw new InvalidAnswerError(`${name} must be a string`);
  const text = value.trim();
  if (text === '') throw new InvalidAnswerError(`${name} must not be empty`);
  const length = graphemeLength(text);
  if (length > maxChars) throw new InvalidAnswerError(`${name} has ${length} characters, more than ${maxChars}`);
  return text;
}

interface ParsedScriptAnswer {
  script: Script;
  title: string;
  description: string;
  tags: string[];
}

/** Parses and checks a model's JSON text; throws `InvalidAnswerError` naming the first problem. */
function parseScriptAnswer(text: string, request: ScriptRequest): ParsedScriptAnswer {
  let value: unknown;
  try {
    // Some compatible servers wrap the JSON in a markdown fence despite the schema.
    value = JSON.parse(text.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1'));
  } catch (error) {
    throw new InvalidAnswerError(`the answer is not valid JSON (${(error as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new InvalidAnswerError('the answer must be a JSON object');
  const answer = value as Record<string, unknown>;
  // Accept the script either flat (the schema) or nested under "script".
  const scriptSource = answer.script && typeof answer.script === 'object' ? answer.script : answer;
  let script: Script;
  try {
    script = validateScript(scriptSource);
  } catch (error) {
    if (error instanceof ScriptValidationError) throw new InvalidAnswerError(error.message.replace(/^Invalid script: /, ''));
    throw error;
  }
  const title = request.title ? truncate(cleanText(request.title), SCRIPT_LIMITS.titleMaxChars) : field(answer.title, 'title', SCRIPT_LIMITS.titleMaxChars);
  const description = field(answer.description, 'description', SCRIPT_LIMITS.descriptionMaxChars);
  if (!Array.isArray(answer.tags)) throw new InvalidAnswerError('tags must be an array of strings');
  if (answer.tags.length > SCRIPT_LIMITS.maxTags) throw new InvalidAnswerError(`tags has ${answer.tags.length} entries, more than ${SCRIPT_LIMITS.maxTags}`);
  const tags = answer.tags.map((tag, index) => field(typeof tag === 'string' ? tag.replace(/^#+/, '') : tag, `tags[${index}]`, SCRIPT_LIMITS.tagMaxChars));
  return { script, title, description, tags };
}

/**
 * A script from the model: `attempt` is one HTTP exchange with the writer's server. A second
 * invalid answer fails with a non-retryable `bad_request` (providerReason `invalid_script`).
 */
export async function askForScript(
  label: ProviderLabel,
  caller: LlmCaller,
  request: ScriptRequest,
  options: CallOptions,
  attempt: (prompt: LlmPrompt) => Promise<LlmAnswer>,
): Promise<ScriptResult> {
  const task = {
    operation: 'script_generation',
    what: 'script',
    prompt: (previousError?: string) => buildScriptPrompt(request, previousError),
    read: (text: string) => parseScriptAnswer(text, request),
  };
  const { value, usage, exchange } = await askWithOneRetry(label, caller, task, options, attempt);
  return { ...value, usage, exchange };
}
