import { recordFailedCall, redactSecrets, type ProviderLabel } from '../http';
import { PlatformError } from '../platforms/errors';
import type { AiExchange, CallOptions, Script, ScriptRequest, ScriptResult } from '../types';
import { FORMAT_PLANS } from './local-writer';
import { cleanText, graphemeLength, truncate } from './text';
import { SCRIPT_LIMITS, ScriptValidationError, validateScript } from './validate';

/**
 * What the remote script writers (Gemini, OpenAI-compatible) share: the prompt, the JSON schema of
 * the answer, the checks of an answer, the one in-process retry with the validation error, the
 * mapping of HTTP failures to `PlatformError` and the cost estimate.
 */

/** USD per million tokens of the configured model. */
export interface TokenPrices {
  inputPerMTokUsd: number;
  outputPerMTokUsd: number;
}

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

/** The answer's shape as a JSON schema (OpenAI strict mode: every property required, no extras). */
export const SCRIPT_JSON_SCHEMA = {
  type: 'object',
  properties: {
    title: { type: 'string', description: `Video title, at most ${SCRIPT_LIMITS.titleMaxChars} characters` },
    description: { type: 'string', description: `Video description, at most ${SCRIPT_LIMITS.descriptionMaxChars} characters` },
    tags: { type: 'array', items: { type: 'string' }, description: `At most ${SCRIPT_LIMITS.maxTags} tags without '#'` },
    hook: { type: 'string', description: 'The opening line that grabs attention' },
    body: { type: 'array', items: { type: 'string' }, description: 'The spoken sections, one paragraph each' },
    cta: { type: 'string', description: 'The closing call to action' },
  },
  required: ['title', 'description', 'tags', 'hook', 'body', 'cta'],
  additionalProperties: false,
} as const;

type JsonSchema = { [key: string]: unknown };

/**
 * The same schema in Gemini's `responseSchema` dialect (an OpenAPI subset): upper-case type
 * names, no `additionalProperties`, and `propertyOrdering` so the fields come in a stable order.
 */
export function toGeminiSchema(schema: JsonSchema = SCRIPT_JSON_SCHEMA): JsonSchema {
  const result: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'additionalProperties') continue;
    if (key === 'type' && typeof value === 'string') result.type = value.toUpperCase();
    else if (key === 'items') result.items = toGeminiSchema(value as JsonSchema);
    else if (key === 'properties') {
      const properties = value as Record<string, JsonSchema>;
      result.properties = Object.fromEntries(Object.entries(properties).map(([name, sub]) => [name, toGeminiSchema(sub)]));
      result.propertyOrdering = Object.keys(properties);
    } else result[key] = value;
  }
  return result;
}

const LANGUAGE_NAMES = { en: 'English', ko: 'Korean' } as const;
const SOURCE_MAX_CHARS = 8000;

export interface ScriptPrompt {
  system: string;
  user: string;
}

/** System instruction and user message for a request; `previousError` is added on the retry. */
function buildScriptPrompt(request: ScriptRequest, previousError?: string): ScriptPrompt {
  const plan = FORMAT_PLANS[request.format];
  const language = LANGUAGE_NAMES[request.language];
  const system = [
    `You write scripts for ${request.format}-form vertical videos (${plan.seconds[0]}–${plan.seconds[1]} seconds spoken), read aloud by a narrator.`,
    `Write everything in ${language}. Vertical: ${request.vertical}. Tone: ${request.tone}.`,
    `Answer only with a JSON object with the fields title, description, tags, hook, body and cta.`,
    `hook: one or two sentences, at most ${SCRIPT_LIMITS.hookMaxChars} characters.`,
    `body: ${plan.sections} sections (between ${SCRIPT_LIMITS.minSections} and ${SCRIPT_LIMITS.maxSections}), each a paragraph of at most ${plan.sectionMaxChars[request.language]} characters.`,
    `cta: a closing call to action, at most ${SCRIPT_LIMITS.ctaMaxChars} characters.`,
    `title: at most ${SCRIPT_LIMITS.titleMaxChars} characters. description: at most ${SCRIPT_LIMITS.descriptionMaxChars} characters.`,
    `tags: 3 to ${SCRIPT_LIMITS.maxTags} single-word tags, each at most ${SCRIPT_LIMITS.tagMaxChars} characters, without '#'.`,
    'Plain spoken text only: no markdown, no emojis, no stage directions. Do not invent facts that the source does not support;',
    'health and finance content must not give personal medical or investment advice.',
  ].join('\n');
  const lines: string[] = [];
  if (request.title) lines.push(`Title (use it as is): ${cleanText(request.title)}`);
  if (request.topic) lines.push(`Topic: ${cleanText(request.topic)}`);
  if (request.sourceData) lines.push(`Source item (JSON):\n${truncate(JSON.stringify(request.sourceData), SOURCE_MAX_CHARS)}`);
  if (lines.length === 0) lines.push(`Topic: a useful, current subject for the ${request.vertical} vertical.`);
  lines.push('Write the script now.');
  if (previousError) {
    lines.push(`Your previous answer was rejected: ${previousError}. Answer again with a corrected JSON object that follows every rule.`);
  }
  return { system, user: lines.join('\n\n') };
}

/** The prompt as stored in `ai_outputs`. */
export function promptText(prompt: ScriptPrompt): string {
  return `[system]\n${prompt.system}\n\n[user]\n${prompt.user}`;
}

/** Why an answer was not a usable script; the writers retry once with this message. */
class ScriptAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScriptAnswerError';
  }
}

function field(value: unknown, name: string, maxChars: number): string {
  if (typeof value !== 'string') throw new ScriptAnswerError(`${name} must be a string`);
  const text = value.trim();
  if (text === '') throw new ScriptAnswerError(`${name} must not be empty`);
  const length = graphemeLength(text);
  if (length > maxChars) throw new ScriptAnswerError(`${name} has ${length} characters, more than ${maxChars}`);
  return text;
}

interface ParsedScriptAnswer {
  script: Script;
  title: string;
  description: string;
  tags: string[];
}

/** Parses and checks a model's JSON text; throws `ScriptAnswerError` naming the first problem. */
function parseScriptAnswer(text: string, request: ScriptRequest): ParsedScriptAnswer {
  let value: unknown;
  try {
    // Some compatible servers wrap the JSON in a markdown fence despite the schema.
    value = JSON.parse(text.trim().replace(/^```(?:json)?\s*([\s\S]*?)\s*```$/, '$1'));
  } catch (error) {
    throw new ScriptAnswerError(`the answer is not valid JSON (${(error as Error).message})`);
  }
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ScriptAnswerError('the answer must be a JSON object');
  const answer = value as Record<string, unknown>;
  // Accept the script either flat (the schema) or nested under "script".
  const scriptSource = answer.script && typeof answer.script === 'object' ? answer.script : answer;
  let script: Script;
  try {
    script = validateScript(scriptSource);
  } catch (error) {
    if (error instanceof ScriptValidationError) throw new ScriptAnswerError(error.message.replace(/^Invalid script: /, ''));
    throw error;
  }
  const title = request.title ? truncate(cleanText(request.title), SCRIPT_LIMITS.titleMaxChars) : field(answer.title, 'title', SCRIPT_LIMITS.titleMaxChars);
  const description = field(answer.description, 'description', SCRIPT_LIMITS.descriptionMaxChars);
  if (!Array.isArray(answer.tags)) throw new ScriptAnswerError('tags must be an array of strings');
  if (answer.tags.length > SCRIPT_LIMITS.maxTags) throw new ScriptAnswerError(`tags has ${answer.tags.length} entries, more than ${SCRIPT_LIMITS.maxTags}`);
  const tags = answer.tags.map((tag, index) => field(typeof tag === 'string' ? tag.replace(/^#+/, '') : tag, `tags[${index}]`, SCRIPT_LIMITS.tagMaxChars));
  return { script, title, description, tags };
}

export function estimateCostUsd(inputTokens: number, outputTokens: number, prices: TokenPrices): number {
  const cost = (inputTokens * prices.inputPerMTokUsd + outputTokens * prices.outputPerMTokUsd) / 1_000_000;
  return Math.round(cost * 1e8) / 1e8;
}


// ---- the attempt loop ----------------------------------------------------------------------------

/** One successful HTTP exchange with the model: the JSON text it answered and what it cost. */
export interface AttemptAnswer {
  text: string;
  inputTokens: number;
  outputTokens: number;
  statusCode: number;
  rawOutput: string;
}

/**
 * Asks the model, checks the answer, and on an invalid one asks once more with the validation
 * error in the prompt. A second invalid answer fails with a non-retryable `bad_request`
 * (providerReason `invalid_script`): the activity retrying the same prompt would not help.
 * Provider failures (`PlatformError`) propagate from `attempt` unchanged.
 */
export async function writeWithOneRetry(
  label: ProviderLabel,
  writer: { model: string; prices: TokenPrices; secrets: readonly (string | undefined)[]; parameters: Record<string, unknown> },
  request: ScriptRequest,
  options: CallOptions,
  attempt: (prompt: ScriptPrompt) => Promise<AttemptAnswer>,
): Promise<ScriptResult> {
  options.signal?.throwIfAborted();
  const startedAt = performance.now();
  let inputTokens = 0;
  let outputTokens = 0;
  let previousError: string | undefined;
  for (let round = 1; round <= 2; round += 1) {
    const prompt = buildScriptPrompt(request, previousError);
    const callStartedAt = performance.now();
    const answer = await attempt(prompt).catch(async (error: unknown) => {
      throw await recordFailedCall(options, { service: label.platform, operation: 'script_generation', model: writer.model, startedAt: callStartedAt }, error);
    });
    inputTokens += answer.inputTokens;
    outputTokens += answer.outputTokens;
    let parsed: ParsedScriptAnswer;
    try {
      parsed = parseScriptAnswer(answer.text, request);
    } catch (error) {
      if (!(error instanceof ScriptAnswerError)) throw error;
      previousError = error.message;
      options.onProgress?.(50);
      continue;
    }
    options.onProgress?.(100);
    const exchange: AiExchange = {
      model: writer.model,
      prompt: redactSecrets(promptText(prompt), writer.secrets),
      parameters: { ...writer.parameters, attempts: round, ...(round > 1 ? { previousError } : {}) },
      rawOutput: redactSecrets(answer.rawOutput, writer.secrets),
    };
    return {
      ...parsed,
      usage: {
        service: label.platform,
        operation: 'script_generation',
        inputUnits: inputTokens,
        outputUnits: outputTokens,
        durationMs: Math.round(performance.now() - startedAt),
        estimatedCostUsd: estimateCostUsd(inputTokens, outputTokens, writer.prices),
        statusCode: answer.statusCode,
        model: writer.model,
      },
      exchange,
    };
  }
  throw new PlatformError(
    label.platform,
    'bad_request',
    redactSecrets(`${label.operation}: the model answered an invalid script twice (${previousError ?? 'unknown problem'})`, writer.secrets).slice(0, 1000),
    { providerReason: 'invalid_script' },
  );
}
