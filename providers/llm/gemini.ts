import { ProviderError } from '../errors';
import { httpFailure, parseDurationMs, parseRetryAfterMs, readBody, sendRequest, type ProviderLabel } from '../http';
import type { LlmPrompt } from './exchange';

/**
 * The Gemini `generateContent` exchange the script writer and the safety review share: one
 * request for a JSON answer of a given schema (in Gemini's dialect), and the reading of an error
 * answer (429 waits for Retry-After or the RetryInfo `retryDelay`, the providerReason is Gemini's
 * status).
 */

export const DEFAULT_GEMINI_BASE_URL = 'https://generativelanguage.googleapis.com';
export const DEFAULT_GEMINI_MODEL = 'gemini-2.5-flash';

export interface GeminiEndpoint {
  baseUrl: string;
  model: string;
  apiKey: string;
  /** Deadline of the HTTP request (connect + answer). */
  timeoutMs: number;
}

/** The endpoint a client (named in the error) is configured with; a key is required. */
export function geminiEndpoint(client: string, options: Omit<GeminiEndpoint, 'apiKey'> & { apiKey?: string }): GeminiEndpoint {
  const { apiKey, baseUrl } = options;
  if (!apiKey) throw new Error(`${client} needs an API key (GEMINI_API_KEY)`);
  return { ...options, apiKey, baseUrl: baseUrl.replace(/\/+$/, '') };
}

type JsonSchema = { [key: string]: unknown };

/**
 * A JSON schema in Gemini's `responseSchema` dialect (an OpenAPI subset): upper-case type names,
 * no `additionalProperties`, and `propertyOrdering` so the fields come in a stable order.
 */
export function toGeminiSchema(schema: JsonSchema): JsonSchema {
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

export interface JsonGeneration {
  temperature: number;
  /** A schema in Gemini's dialect (see `toGeminiSchema`). */
  responseSchema: unknown;
}

interface GeminiErrorBody {
  error?: { code?: number; message?: string; status?: string; details?: { '@type'?: string; retryDelay?: string }[] };
}

/**
 * One `generateContent` call asking for JSON. Resolves with the answer object (its reading is the
 * caller's) and the HTTP status; a non-2xx answer is the `ProviderError` of its status, an answer
 * that is no JSON object `invalid_response`.
 */
export async function generateJson<T extends object>(
  label: ProviderLabel,
  endpoint: GeminiEndpoint,
  prompt: LlmPrompt,
  generation: JsonGeneration,
  signal?: AbortSignal,
): Promise<{ answer: T; statusCode: number }> {
  const url = `${endpoint.baseUrl}/v1beta/models/${encodeURIComponent(endpoint.model)}:generateContent`;
  const body = {
    systemInstruction: { parts: [{ text: prompt.system }] },
    contents: [{ role: 'user', parts: [{ text: prompt.user }] }],
    generationConfig: { temperature: generation.temperature, responseMimeType: 'application/json', responseSchema: generation.responseSchema },
  };
  const response = await sendRequest(
    label,
    url,
    { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': endpoint.apiKey }, body: JSON.stringify(body) },
    endpoint.timeoutMs,
    [endpoint.apiKey],
    signal,
  );
  const answer = await readBody(response, 1_000_000);
  if (!response.ok) throw geminiFailure(label, response, answer, endpoint.apiKey);
  if (!answer || typeof answer !== 'object') {
    throw new ProviderError(label.provider, 'invalid_response', `${label.operation}: the answer is not a JSON object`, { statusCode: response.status });
  }
  return { answer: answer as T, statusCode: response.status };
}

/** The `ProviderError` of a non-2xx answer, with Gemini's message and status, the key redacted. */
function geminiFailure(label: ProviderLabel, response: Response, body: unknown, apiKey: string): ProviderError {
  const error = (body as GeminiErrorBody | undefined)?.error;
  const message = error?.message ?? (typeof body === 'string' ? body.slice(0, 500) : response.statusText);
  const retryInfo = error?.details?.find((d) => d['@type']?.endsWith('google.rpc.RetryInfo'));
  const waits = [parseRetryAfterMs(response.headers.get('retry-after')), parseDurationMs(retryInfo?.retryDelay)].filter((ms): ms is number => ms !== undefined);
  return httpFailure(label, response.status, message, {
    retryAfterMs: waits.length > 0 ? Math.max(...waits) : undefined,
    providerReason: error?.status,
    secrets: [apiKey],
  });
}
