import { readAll, sendJson, serveLocally } from './http';
import { makePictures } from './pexels-server';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/**
 * A loopback OpenAI-compatible Images API: `POST /v1/images/generations` checks the Bearer key
 * (when one is set) and the body (`model`, `prompt`, `size` among the model's sizes, `n: 1`),
 * records every request, and answers a real PNG of the asked size, a different one each time
 * (made with ffmpeg once per server start), as `b64_json` or as a link it serves itself under
 * `/files/` (signed like a blob-storage link, no key needed). `state.next` queues errors and
 * broken answers for the generations, `state.nextFile` for the linked files.
 */

export type OpenAiImagesKnob =
  | { kind: 'error'; status: number; message: string; type?: string; code?: string; retryAfterSec?: number; resetRequests?: string; echoKey?: boolean }
  /** 200 with JSON cut off in the middle. */
  | { kind: 'malformed' }
  /** 200 with an empty `data` list. */
  | { kind: 'noData' }
  /** 200 whose `b64_json` decodes to text, not a picture. */
  | { kind: 'notPicture' }
  /** This answer gives a link instead of base64. */
  | { kind: 'url' }
  /** No answer at all. */
  | { kind: 'hang' };

export type OpenAiImagesFileKnob = { kind: 'error'; status: number; message: string } | { kind: 'notPicture' } | { kind: 'stall' };

export interface OpenAiImagesRecordedRequest {
  kind: 'generation' | 'file' | 'other';
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The JSON body of a generation request. */
  body?: Record<string, unknown>;
}

const PICTURES_PER_SIZE = 8;

export class FakeOpenAiImagesState {
  /** The key the server requires; undefined lets every request in (a local server). */
  apiKey: string | undefined = `sk-fake-img-${randomBytes(16).toString('hex')}`;
  readonly model = 'gpt-image-fake';
  readonly sizes = ['1024x1024', '1024x1536', '1536x1024'] as const;
  /** How answers carry the picture unless a knob says otherwise. */
  answerWith: 'b64_json' | 'url' = 'b64_json';
  readonly requests: OpenAiImagesRecordedRequest[] = [];
  readonly next: OpenAiImagesKnob[] = [];
  readonly nextFile: OpenAiImagesFileKnob[] = [];
  /** Pictures handed out since the start: each answer is the next picture of its size. */
  made = 0;

  get generations(): OpenAiImagesRecordedRequest[] {
    return this.requests.filter((request) => request.kind === 'generation');
  }

  reset(): void {
    this.requests.length = 0;
    this.next.length = 0;
    this.nextFile.length = 0;
    this.answerWith = 'b64_json';
  }
}

function sendError(res: ServerResponse, status: number, message: string, options: { type?: string; code?: string; headers?: Record<string, string> } = {}): void {
  sendJson(res, status, { error: { message, type: options.type ?? 'invalid_request_error', param: null, code: options.code ?? null } }, options.headers);
}

export async function startFakeOpenAiImages(): Promise<{ baseUrl: string; state: FakeOpenAiImagesState; close(): Promise<void> }> {
  const state = new FakeOpenAiImagesState();
  const specs = state.sizes.flatMap((size) => {
    const [width, height] = size.split('x').map(Number) as [number, number];
    return Array.from({ length: PICTURES_PER_SIZE }, (_, i) => ({ name: `${size}-${i}`, width, height, format: 'png' as const }));
  });
  const pictures = await makePictures(specs);
  /** Linked files by name, with the signature their link carries. */
  const files = new Map<string, { bytes: Buffer; sig: string }>();
  let baseUrl = '';

  function generate(req: IncomingMessage, res: ServerResponse, body: Record<string, unknown>): void {
    if (state.apiKey !== undefined) {
      const key = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
      if (key !== state.apiKey) {
        return sendError(res, 401, `Incorrect API key provided: ${String(key).slice(0, 6)}***. You can find your API key at https://platform.openai.com/account/api-keys.`, { code: 'invalid_api_key' });
      }
    }
    const { model, prompt, size, n } = body;
    if (model !== state.model) return sendError(res, 404, `The model '${String(model)}' does not exist`, { code: 'model_not_found' });
    if (typeof prompt !== 'string' || prompt.trim() === '') return sendError(res, 400, "Missing required parameter: 'prompt'.", { code: 'missing_required_parameter' });
    if (typeof size !== 'string' || !(state.sizes as readonly string[]).includes(size)) {
      return sendError(res, 400, `Invalid value: '${String(size)}'. Supported values are: ${state.sizes.map((s) => `'${s}'`).join(', ')}.`, { code: 'invalid_value' });
    }
    if (n !== undefined && n !== 1) return sendError(res, 400, 'This fake makes one image per request (n must be 1).', { code: 'invalid_value' });

    const knob = state.next.shift();
    switch (knob?.kind) {
      case 'error': {
        const headers: Record<string, string> = {};
        if (knob.retryAfterSec !== undefined) headers['retry-after'] = String(knob.retryAfterSec);
        if (knob.resetRequests !== undefined) headers['x-ratelimit-reset-requests'] = knob.resetRequests;
        const message = knob.echoKey ? `${knob.message} (key ${state.apiKey ?? 'none'})` : knob.message;
        return sendError(res, knob.status, message, { ...(knob.type ? { type: knob.type } : {}), ...(knob.code ? { code: knob.code } : {}), headers });
      }
      case 'malformed':
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return void res.end('{"created": 1700000000, "data": [{"b64_json": "iVBORw0KGgoAAAANSUhE');
      case 'noData':
        return sendJson(res, 200, { created: Math.floor(Date.now() / 1000), data: [] });
      case 'notPicture':
        return sendJson(res, 200, { created: Math.floor(Date.now() / 1000), data: [{ b64_json: Buffer.from('I am not a picture at all.').toString('base64') }] });
      case 'hang':
        return;
      default:
        break;
    }
    const bytes = pictures.get(`${size}-${state.made % PICTURES_PER_SIZE}`) as Buffer;
    state.made += 1;
    let item: Record<string, unknown>;
    if (knob?.kind === 'url' || state.answerWith === 'url') {
      const name = `img-${randomBytes(6).toString('hex')}.png`;
      const sig = randomBytes(12).toString('hex');
      files.set(name, { bytes, sig });
      item = { url: `${baseUrl}/files/${name}?se=2030-01-01T00%3A00%3A00Z&sp=r&sig=${sig}`, revised_prompt: prompt };
    } else {
      item = { b64_json: bytes.toString('base64') };
    }
    sendJson(res, 200, {
      created: Math.floor(Date.now() / 1000),
      data: [item],
      usage: { input_tokens: 40, output_tokens: 1056, total_tokens: 1096, input_tokens_details: { text_tokens: 40, image_tokens: 0 } },
    });
  }

  function file(res: ServerResponse, name: string, sig: string | null): void {
    const entry = files.get(name);
    if (!entry || entry.sig !== sig) {
      res.writeHead(403, { 'Content-Type': 'application/xml' });
      return void res.end('<?xml version="1.0"?><Error><Code>AuthenticationFailed</Code></Error>');
    }
    const knob = state.nextFile.shift();
    switch (knob?.kind) {
      case 'error':
        res.writeHead(knob.status, { 'Content-Type': 'text/plain' });
        return void res.end(knob.message);
      case 'notPicture':
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return void res.end('<html><body>The link expired</body></html>');
      case 'stall':
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': entry.bytes.length });
        return void res.write(entry.bytes.subarray(0, 1024));
      default:
        res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': entry.bytes.length });
        res.end(entry.bytes);
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readAll(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    const fileMatch = /^\/files\/([\w.-]+)$/.exec(url.pathname);
    if (req.method === 'POST' && url.pathname === '/v1/images/generations') {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        state.requests.push({ kind: 'generation', method: 'POST', path: req.url ?? '', headers: req.headers });
        return sendError(res, 400, 'We could not parse the JSON body of your request.');
      }
      state.requests.push({ kind: 'generation', method: 'POST', path: req.url ?? '', headers: req.headers, body });
      return generate(req, res, body);
    }
    if (req.method === 'GET' && fileMatch) {
      state.requests.push({ kind: 'file', method: 'GET', path: req.url ?? '', headers: req.headers });
      return file(res, fileMatch[1] as string, url.searchParams.get('sig'));
    }
    state.requests.push({ kind: 'other', method: req.method ?? '', path: req.url ?? '', headers: req.headers });
    sendError(res, 404, `Unknown request URL: ${req.method} ${req.url}`);
  }

  const server = await serveLocally(route, (res, error) => sendError(res, 500, String(error), { type: 'server_error' }));
  baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    close: server.close,
  };
}
