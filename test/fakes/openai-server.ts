import { readAll, sendJson } from './http';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { VALID_SCRIPT_ANSWER } from './gemini-server';

/**
 * A loopback OpenAI-compatible Chat Completions server (`POST /v1/chat/completions`) with
 * `response_format: json_schema`: it checks the Bearer key when one is set, records every request,
 * and answers a valid script unless a test queued something else through `state.next`.
 */

export type OpenAiKnob =
  | { kind: 'invalidJson' }
  /** Well-formed JSON whose body is empty. */
  | { kind: 'invalidScript' }
  | { kind: 'error'; status: number; message: string; type?: string; code?: string; retryAfterSec?: number; resetHeader?: string; echoKey?: boolean }
  | { kind: 'refusal'; text: string }
  | { kind: 'contentFilter' };

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

  reset(): void {
    this.requests.length = 0;
    this.next.length = 0;
    this.answer = VALID_SCRIPT_ANSWER;
  }
}

function sendError(res: ServerResponse, status: number, message: string, options: { type?: string; code?: string; headers?: Record<string, string> } = {}): void {
  sendJson(res, status, { error: { message, type: options.type ?? 'invalid_request_error', param: null, code: options.code ?? null } }, options.headers);
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

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readAll(req);
    if (req.method !== 'POST' || new URL(req.url ?? '/', 'http://fake').pathname !== '/v1/chat/completions') {
      return sendError(res, 404, `Unknown request URL: ${req.method} ${req.url}`);
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return sendError(res, 400, 'We could not parse the JSON body of your request.');
    }
    const messages = (body.messages ?? []) as { role?: string; content?: string }[];
    const userText = messages.filter((m) => m.role === 'user').map((m) => m.content ?? '').join('\n');
    state.requests.push({ path: req.url ?? '', headers: req.headers, body, userText });

    if (state.apiKey !== undefined) {
      const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (key !== state.apiKey) return sendError(res, 401, `Incorrect API key provided: ${key ?? '(none)'}.`, { code: 'invalid_api_key' });
    }
    if (body.model !== state.model) return sendError(res, 404, `The model \`${String(body.model)}\` does not exist or you do not have access to it.`, { code: 'model_not_found' });
    const format = body.response_format as { type?: string; json_schema?: { name?: string; schema?: unknown; strict?: boolean } } | undefined;
    if (format?.type === 'json_schema' && (!format.json_schema?.name || !format.json_schema.schema)) {
      return sendError(res, 400, "Missing required parameter: 'response_format.json_schema'.");
    }

    const knob = state.next.shift();
    switch (knob?.kind) {
      case 'error': {
        const headers: Record<string, string> = {};
        if (knob.retryAfterSec !== undefined) headers['retry-after'] = String(knob.retryAfterSec);
        if (knob.resetHeader) headers['x-ratelimit-reset-requests'] = knob.resetHeader;
        const message = knob.echoKey ? `${knob.message} (key ${state.apiKey ?? ''})` : knob.message;
        return sendError(res, knob.status, message, { type: knob.type, code: knob.code, headers });
      }
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

  const server = createServer((req, res) => {
    route(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendError(res, 500, String(error), { type: 'server_error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    state,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}
