import { readAll, sendJson, serveLocally } from './http';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/**
 * A loopback server speaking Gemini's `generateContent` (structured JSON output): it checks the
 * key header and the generation config, records every request, and answers a valid script unless
 * a test queued something else through `state.next` (an invalid answer, an HTTP error with
 * Retry-After or RetryInfo, a safety block). Safety reviews (a response schema with an `issues`
 * list) get `state.review` with `state.safetyRatings` and take their knobs from `state.reviewNext`,
 * so one server serves a script writer and a safety checker side by side.
 */

export type GeminiKnob =
  | { kind: 'invalidJson' }
  /** Well-formed JSON whose script misses its hook. */
  | { kind: 'invalidScript' }
  | { kind: 'error'; status: number; message: string; grpcStatus?: string; retryAfterSec?: number; retryDelay?: string; echoKey?: boolean }
  /** The candidate is withheld: finishReason SAFETY with a HIGH rating. */
  | { kind: 'safetyFinish' }
  /** The prompt itself is blocked: promptFeedback.blockReason. */
  | { kind: 'promptBlocked'; reason?: string }
  /** The usual answer with these ratings on the candidate and, when given, on the prompt. */
  | { kind: 'rated'; ratings: GeminiSafetyRating[]; promptRatings?: GeminiSafetyRating[] };

export interface GeminiSafetyRating {
  category: string;
  probability: 'NEGLIGIBLE' | 'LOW' | 'MEDIUM' | 'HIGH';
  blocked?: boolean;
}

export interface GeminiRecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** The text of the user turn. */
  userText: string;
}

export const VALID_SCRIPT_ANSWER = {
  title: 'Five habits that protect your knees',
  description: 'Simple daily habits for healthy knees after sixty.',
  tags: ['health', 'knees', 'seniors'],
  hook: 'Your knees carry you every day. Here is how to thank them.',
  body: ['Walk for twenty minutes every morning on level ground.', 'Strengthen the thigh muscles with slow chair squats.', 'Keep a healthy weight: every kilo counts twice for the knees.'],
  cta: 'Follow for more simple health tips. This is not medical advice.',
};

/** A safety review that finds nothing. */
export const CLEAN_REVIEW_ANSWER = { issues: [] };

const NEGLIGIBLE_RATINGS: GeminiSafetyRating[] = [
  { category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'NEGLIGIBLE' },
  { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'NEGLIGIBLE' },
  { category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
  { category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' },
];

export class FakeGeminiState {
  readonly apiKey = `AIzaFake-${randomBytes(12).toString('hex')}`;
  readonly model = 'gemini-fake-flash';
  readonly requests: GeminiRecordedRequest[] = [];
  /** What the next requests get, in order; a valid script once it is empty. */
  readonly next: GeminiKnob[] = [];
  promptTokens = 1200;
  candidatesTokens = 400;
  answer: Record<string, unknown> = VALID_SCRIPT_ANSWER;
  /** What the next safety reviews get, in order; `review` once it is empty. */
  readonly reviewNext: GeminiKnob[] = [];
  review: Record<string, unknown> = CLEAN_REVIEW_ANSWER;
  /** The candidate's ratings of a safety review. */
  safetyRatings: GeminiSafetyRating[] = NEGLIGIBLE_RATINGS;

  reset(): void {
    this.requests.length = 0;
    this.next.length = 0;
    this.answer = VALID_SCRIPT_ANSWER;
    this.reviewNext.length = 0;
    this.review = CLEAN_REVIEW_ANSWER;
    this.safetyRatings = NEGLIGIBLE_RATINGS;
  }
}

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function sendError(res: ServerResponse, status: number, message: string, options: { grpcStatus?: string; retryAfterSec?: number; retryDelay?: string } = {}): void {
  const details = options.retryDelay ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: options.retryDelay }] : undefined;
  const headers: Record<string, string> = options.retryAfterSec !== undefined ? { 'retry-after': String(options.retryAfterSec) } : {};
  sendJson(res, status, { error: { code: status, message, status: options.grpcStatus ?? STATUS_NAMES[status] ?? 'UNKNOWN', ...(details ? { details } : {}) } }, headers);
}

function usage(state: FakeGeminiState): Record<string, number> {
  return { promptTokenCount: state.promptTokens, candidatesTokenCount: state.candidatesTokens, totalTokenCount: state.promptTokens + state.candidatesTokens };
}

function candidate(text: string, finishReason = 'STOP', safetyRatings: GeminiSafetyRating[] = [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'NEGLIGIBLE' }]): Record<string, unknown> {
  return { content: { role: 'model', parts: [{ text }] }, finishReason, index: 0, safetyRatings };
}

export async function startFakeGemini(): Promise<{ baseUrl: string; state: FakeGeminiState; close(): Promise<void> }> {
  const state = new FakeGeminiState();

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readAll(req);
    const text = raw.toString('utf8');
    const match = /^\/v1beta\/models\/([^/:]+):generateContent$/.exec(new URL(req.url ?? '/', 'http://fake').pathname);
    if (req.method !== 'POST' || !match) return sendError(res, 404, `Method not found: ${req.method} ${req.url}`);
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return sendError(res, 400, 'Invalid JSON payload received.');
    }
    const contents = body.contents as { role?: string; parts?: { text?: string }[] }[] | undefined;
    const userText = (contents?.[0]?.parts ?? []).map((p) => p.text ?? '').join('');
    state.requests.push({ path: req.url ?? '', headers: req.headers, body, userText });

    const key = req.headers['x-goog-api-key'];
    if (key !== state.apiKey) return sendError(res, 400, `API key not valid. Please pass a valid API key. (got ${String(key)})`);
    if (decodeURIComponent(match[1] as string) !== state.model) return sendError(res, 404, `models/${match[1]} is not found for API version v1beta`);
    const config = body.generationConfig as { responseMimeType?: string; responseSchema?: { properties?: Record<string, unknown> } } | undefined;
    if (!contents?.length || userText === '') return sendError(res, 400, '* GenerateContentRequest.contents: contents is not specified');
    if (config?.responseSchema && config.responseMimeType !== 'application/json') {
      return sendError(res, 400, 'responseSchema requires responseMimeType application/json');
    }

    const review = config?.responseSchema?.properties?.issues !== undefined;
    const answer = review ? state.review : state.answer;
    const ratings = review ? state.safetyRatings : undefined;
    const knob = (review ? state.reviewNext : state.next).shift();
    switch (knob?.kind) {
      case 'error':
        return sendError(res, knob.status, knob.echoKey ? `${knob.message} (key ${state.apiKey})` : knob.message, knob);
      case 'invalidJson':
        return sendJson(res, 200, { candidates: [candidate('{"title": "Cut off", "hook": "Your kn')], usageMetadata: usage(state) });
      case 'invalidScript': {
        // A script without its hook, a review without its issues.
        const incomplete: Record<string, unknown> = { ...answer };
        delete incomplete[review ? 'issues' : 'hook'];
        return sendJson(res, 200, { candidates: [candidate(JSON.stringify(incomplete))], usageMetadata: usage(state) });
      }
      case 'safetyFinish':
        return sendJson(res, 200, {
          candidates: [{ finishReason: 'SAFETY', index: 0, safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }] }],
          usageMetadata: { promptTokenCount: state.promptTokens, totalTokenCount: state.promptTokens },
        });
      case 'promptBlocked':
        return sendJson(res, 200, { promptFeedback: { blockReason: knob.reason ?? 'SAFETY' }, usageMetadata: { promptTokenCount: state.promptTokens } });
      case 'rated':
        return sendJson(res, 200, {
          candidates: [candidate(JSON.stringify(answer), 'STOP', knob.ratings)],
          ...(knob.promptRatings ? { promptFeedback: { safetyRatings: knob.promptRatings } } : {}),
          usageMetadata: usage(state),
          modelVersion: state.model,
        });
      default:
        return sendJson(res, 200, { candidates: [candidate(JSON.stringify(answer), 'STOP', ratings)], usageMetadata: usage(state), modelVersion: state.model });
    }
  }

  const server = await serveLocally(route, (res, error) => sendError(res, 500, String(error)));
  const baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    close: server.close,
  };
}
