import { readAll, sendJson, serveLocally } from './http';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { VALID_SCRIPT_ANSWER } from './gemini-server';

/**
 * A loopback OpenAI-compatible Chat Completions server (`POST /v1/chat/completions`) with
 * `response_format: json_schema`: it checks the Bearer key when one is set, records every request,
 * and answers a valid script unless a test queued something else through `state.next`. It also
 * moderates (`POST /v1/moderations`): benign scores unless a test queued a knob in
 * `state.moderationNext` (chosen scores, an HTTP error, an unreadable answer).
 */

export type OpenAiKnob =
  | { kind: 'invalidJson' }
  /** Well-formed JSON whose body is empty. */
  | { kind: 'invalidScript' }
  | { kind: 'error'; status: number; message: string; type?: string; code?: string; retryAfterSec?: number; resetHeader?: string; echoKey?: boolean }
  | { kind: 'refusal'; text: string }
  | { kind: 'contentFilter' };

export type ModerationKnob =
  /** A truncated JSON body. */
  | { kind: 'invalidJson' }
  | Extract<OpenAiKnob, { kind: 'error' }>
  /** These category scores over the benign ones; categories at or above 0.5 are marked, and `flagged` follows them unless given. */
  | { kind: 'scores'; scores: Partial<Record<ModerationCategory, number>>; flagged?: boolean };

/** The categories of omni-moderation. */
export const MODERATION_CATEGORIES = [
  'harassment',
  'harassment/threatening',
  'hate',
  'hate/threatening',
  'illicit',
  'illicit/violent',
  'self-harm',
  'self-harm/instructions',
  'self-harm/intent',
  'sexual',
  'sexual/minors',
  'violence',
  'violence/graphic',
] as const;

export type ModerationCategory = (typeof MODERATION_CATEGORIES)[number];

const MODERATION_FLAG_AT = 0.5;

export interface OpenAiRecordedRequest {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** The content of the user message. */
  userText: string;
}

export class FakeOpenAiState {
  /** The key the server requires; undefined lets every request in (a local Ollama/vLLM). */
  apiKey: string | undefined = `sk-fake-${randomBytes(16).toString('hex')}`;
  readonly model = 'gpt-fake-mini';
  readonly requests: OpenAiRecordedRequest[] = [];
  readonly next: OpenAiKnob[] = [];
  promptTokens = 900;
  completionTokens = 300;
  answer: Record<string, unknown> = VALID_SCRIPT_ANSWER;
  readonly moderationModel = 'omni-moderation-latest';
  /** What the next moderation requests get, in order; benign scores once it is empty. */
  readonly moderationNext: ModerationKnob[] = [];

  reset(): void {
    this.requests.length = 0;
    this.next.length = 0;
    this.answer = VALID_SCRIPT_ANSWER;
    this.moderationNext.length = 0;
  }
}

/** One omni-moderation result: benign scores, overridden by a knob's. */
function moderationResult(scores: Partial<Record<ModerationCategory, number>>, flagged?: boolean): Record<string, unknown> {
  const categoryScores = Object.fromEntries(MODERATION_CATEGORIES.map((name, index) => [name, scores[name] ?? 0.00001 * (index + 1)]));
  const categories = Object.fromEntries(MODERATION_CATEGORIES.map((name) => [name, (categoryScores[name] as number) >= MODERATION_FLAG_AT]));
  const appliedTypes = Object.fromEntries(MODERATION_CATEGORIES.map((name) => [name, ['text']]));
  return { flagged: flagged ?? Object.values(categories).some(Boolean), categories, category_scores: categoryScores, category_applied_input_types: appliedTypes };
}

function sendError(res: ServerResponse, status: number, message: string, options: { type?: string; code?: string; headers?: Record<string, string> } = {}): void {
  sendJson(res, status, { error: { message, type: options.type ?? 'invalid_request_error', param: null, code: options.code ?? null } }, options.headers);
}

function sendKnobError(res: ServerResponse, knob: Extract<OpenAiKnob, { kind: 'error' }>, apiKey: string | undefined): void {
  const headers: Record<string, string> = {};
  if (knob.retryAfterSec !== undefined) headers['retry-after'] = String(knob.retryAfterSec);
  if (knob.resetHeader) headers['x-ratelimit-reset-requests'] = knob.resetHeader;
  const message = knob.echoKey ? `${knob.message} (key ${apiKey ?? ''})` : knob.message;
  sendError(res, knob.status, message, { type: knob.type, code: knob.code, headers });
}

export async function startFakeOpenAi(): Promise<{ baseUrl: string; state: FakeOpenAiState; close(): Promise<void> }> {
  const state = new FakeOpenAiState();

  function completion(body: Record<string, unknown>, message: Record<string, unknown>, finishReason = 'stop'): Record<string, unknown> {
    return {
      id: `chatcmpl-${randomBytes(8).toString('hex')}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', refusal: null, ...message }, finish_reason: finishReason }],
      usage: { prompt_tokens: state.promptTokens, completion_tokens: state.completionTokens, total_tokens: state.promptTokens + state.completionTokens },
    };
  }

  function moderate(res: ServerResponse, body: Record<string, unknown>): void {
    const input = body.input;
    const texts = typeof input === 'string' ? [input] : Array.isArray(input) && input.every((item) => typeof item === 'string') ? (input as string[]) : [];
    if (texts.length === 0 || texts.some((text) => text === '')) return sendError(res, 400, "'input' must be a non-empty string or array of strings.");
    if (body.model !== undefined && body.model !== state.moderationModel) {
      return sendError(res, 404, `The model \`${String(body.model)}\` does not exist or you do not have access to it.`, { code: 'model_not_found' });
    }
    const knob = state.moderationNext.shift();
    if (knob?.kind === 'error') return sendKnobError(res, knob, state.apiKey);
    if (knob?.kind === 'invalidJson') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"id": "modr-');
      return;
    }
    const results = texts.map(() => (knob?.kind === 'scores' ? moderationResult(knob.scores, knob.flagged) : moderationResult({})));
    sendJson(res, 200, { id: `modr-${randomBytes(8).toString('hex')}`, model: 'omni-moderation-2024-09-26', results });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readAll(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/moderations')) {
      return sendError(res, 404, `Unknown request URL: ${req.method} ${req.url}`);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return sendError(res, 400, 'We could not parse the JSON body of your request.');
    }
    const messages = (body.messages ?? []) as { role?: string; content?: string }[];
    const userText = path === '/v1/moderations' ? String(body.input ?? '') : messages.filter((m) => m.role === 'user').map((m) => m.content ?? '').join('\n');
    state.requests.push({ path: req.url ?? '', headers: req.headers, body, userText });

    if (state.apiKey !== undefined) {
      const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (key !== state.apiKey) return sendError(res, 401, `Incorrect API key provided: ${key ?? '(none)'}.`, { code: 'invalid_api_key' });
    }
    if (path === '/v1/moderations') return moderate(res, body);
    if (body.model !== state.model) return sendError(res, 404, `The model \`${String(body.model)}\` does not exist or you do not have access to it.`, { code: 'model_not_found' });
    const format = body.response_format as { type?: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean } } | undefined;
    if (format?.type === 'json_schema' && (!format.json_schema?.name || !format.json_schema.schema)) {
      return sendError(res, 400, "Missing required parameter: 'response_format.json_schema'.");
    }

    const knob = state.next.shift();
    switch (knob?.kind) {
      case 'error':
        return sendKnobError(res, knob, state.apiKey);
      case 'invalidJson':
        return sendJson(res, 200, completion(body, { content: 'Sure! Here is your script: {"hook": ' }, 'stop'));
      case 'invalidScript':
        return sendJson(res, 200, completion(body, { content: JSON.stringify({ ...state.answer, body: [] }) }));
      case 'refusal':
        return sendJson(res, 200, completion(body, { content: null, refusal: knob.text }));
      case 'contentFilter':
        return sendJson(res, 200, completion(body, { content: null }, 'content_filter'));
      default:
        return sendJson(res, 200, completion(body, { content: JSON.stringify(state.answer) }));
    }
  }

  const server = await serveLocally(route, (res, error) => sendError(res, 500, String(error), { type: 'server_error' }));
  const baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    close: server.close,
  };
}
