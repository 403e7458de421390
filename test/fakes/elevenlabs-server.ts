import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFfmpeg } from '../../providers/ffmpeg/runner';
import { readAll, sendJson, serveLocally } from './http';

/**
 * A loopback server speaking ElevenLabs `POST /v1/text-to-speech/{voice_id}/with-timestamps`: it
 * checks the `xi-api-key` header, the output format and the text, records every request, and
 * answers real MP3 audio (a tone made with ffmpeg, as long as the text takes to speak at
 * `state.secondsPerCharacter`) with an alignment timing every character of the text — unless a
 * test queued something else through `state.next` (an ElevenLabs error with Retry-After, an
 * answer missing its audio or timings, arrays of different lengths, bytes that are no audio).
 */

export type ElevenLabsKnob =
  /** The usual answer, to let a request through before a knob meant for a later one. */
  | { kind: 'speak' }
  | { kind: 'error'; status: number; detailStatus: string; message: string; retryAfterSec?: number; echoKey?: boolean }
  | { kind: 'notJson' }
  | { kind: 'missingAudio' }
  | { kind: 'missingAlignment' }
  /** One fewer end time than characters. */
  | { kind: 'unevenAlignment' }
  /** Valid base64 of bytes that are no MP3. */
  | { kind: 'undecodableAudio' };

export interface ElevenLabsRecordedRequest {
  voiceId: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

export class FakeElevenLabsState {
  readonly apiKey = `sk_fake_${randomBytes(16).toString('hex')}`;
  readonly requests: ElevenLabsRecordedRequest[] = [];
  /** What the next requests get, in order; real speech once it is empty. */
  readonly next: ElevenLabsKnob[] = [];
  /** Speaking time of each character of the text. */
  secondsPerCharacter = 0.06;
  /** Silence before the first and after the last character. */
  leadSec = 0.1;
  tailSec = 0.15;
  /** The model's character limit per request (max_character_limit_exceeded past it). */
  maxCharacters = 10_000;
  /** Delay before each answer, to hold requests open. */
  delayMs = 0;
  /** Requests being answered right now, and the most at once. */
  inFlight = 0;
  maxInFlight = 0;

  reset(): void {
    this.requests.length = 0;
    this.next.length = 0;
    this.secondsPerCharacter = 0.06;
    this.maxCharacters = 10_000;
    this.delayMs = 0;
    this.maxInFlight = 0;
  }
}

/** Character timings as ElevenLabs gives them: every character of the text, in order. */
export function fakeAlignment(text: string, state: Pick<FakeElevenLabsState, 'secondsPerCharacter' | 'leadSec'>): Record<string, unknown> {
  const characters = [...text];
  const round = (value: number): number => Math.round(value * 1000) / 1000;
  return {
    characters,
    character_start_times_seconds: characters.map((_, i) => round(state.leadSec + i * state.secondsPerCharacter)),
    character_end_times_seconds: characters.map((_, i) => round(state.leadSec + (i + 1) * state.secondsPerCharacter)),
  };
}

function sendError(res: ServerResponse, status: number, detailStatus: string, message: string, retryAfterSec?: number): void {
  sendJson(res, status, { detail: { status: detailStatus, message } }, retryAfterSec !== undefined ? { 'retry-after': String(retryAfterSec) } : {});
}

export async function startFakeElevenLabs(): Promise<{ baseUrl: string; state: FakeElevenLabsState; close(): Promise<void> }> {
  const state = new FakeElevenLabsState();
  const audioDir = await mkdtemp(join(tmpdir(), 'fake-elevenlabs-'));
  const tones = new Map<string, Promise<Buffer>>();

  /** A mono MP3 tone of the given length, made once per length and format. */
  function tone(durationSec: number, sampleRate: number, kbps: number): Promise<Buffer> {
    const key = `${durationSec.toFixed(3)}-${sampleRate}-${kbps}`;
    let made = tones.get(key);
    if (!made) {
      const path = join(audioDir, `${key}.mp3`);
      const source = `sine=frequency=220:sample_rate=${sampleRate}:duration=${durationSec.toFixed(3)}`;
      made = runFfmpeg(['-f', 'lavfi', '-i', source, '-ac', '1', '-c:a', 'libmp3lame', '-b:a', `${kbps}k`, path]).then(() => readFile(path));
      tones.set(key, made);
    }
    return made;
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readAll(req);
    const url = new URL(req.url ?? '/', 'http://fake');
    const match = /^\/v1\/text-to-speech\/([^/]+)\/with-timestamps$/.exec(url.pathname);
    if (req.method !== 'POST' || !match) return sendJson(res, 404, { detail: 'Not Found' });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      return sendJson(res, 422, { detail: [{ loc: ['body'], msg: 'JSON decode error', type: 'json_invalid' }] });
    }
    state.requests.push({ voiceId: decodeURIComponent(match[1] as string), query: Object.fromEntries(url.searchParams), headers: req.headers, body });

    if (req.headers['xi-api-key'] !== state.apiKey) return sendError(res, 401, 'invalid_api_key', 'Invalid API key');
    const format = /^mp3_(\d+)_(\d+)$/.exec(url.searchParams.get('output_format') ?? 'mp3_44100_128');
    if (!format) return sendError(res, 400, 'invalid_output_format', `This fake answers MP3 only, not ${url.searchParams.get('output_format')}`);
    const text = body.text;
    if (typeof text !== 'string' || text.trim() === '') return sendJson(res, 422, { detail: [{ loc: ['body', 'text'], msg: 'Field required', type: 'missing' }] });
    const length = [...text].length;
    if (length > state.maxCharacters) {
      return sendError(res, 400, 'max_character_limit_exceeded', `This request's text has ${length} characters and exceeds the character limit of ${state.maxCharacters} characters.`);
    }

    state.inFlight += 1;
    state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
    try {
      if (state.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
      const knob = state.next.shift();
      if (knob?.kind === 'error') {
        return sendError(res, knob.status, knob.detailStatus, knob.echoKey ? `${knob.message} (key ${state.apiKey})` : knob.message, knob.retryAfterSec);
      }
      if (knob?.kind === 'notJson') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>upstream hiccup</body></html>');
        return;
      }
      const alignment = fakeAlignment(text, state);
      const durationSec = state.leadSec + length * state.secondsPerCharacter + state.tailSec;
      const audio = knob?.kind === 'undecodableAudio' ? randomBytes(4096) : await tone(durationSec, Number(format[1]), Number(format[2]));
      const answer: Record<string, unknown> = { audio_base64: audio.toString('base64'), alignment, normalized_alignment: alignment };
      if (knob?.kind === 'missingAudio') delete answer.audio_base64;
      if (knob?.kind === 'missingAlignment') {
        delete answer.alignment;
        delete answer.normalized_alignment;
      }
      if (knob?.kind === 'unevenAlignment') {
        answer.alignment = { ...alignment, character_end_times_seconds: (alignment.character_end_times_seconds as number[]).slice(1) };
      }
      sendJson(res, 200, answer);
    } finally {
      state.inFlight -= 1;
    }
  }

  const server = await serveLocally(route, (res, error) => sendError(res, 500, 'internal_error', String(error)));
  const baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    close: async () => {
      await server.close();
      await rm(audioDir, { recursive: true, force: true });
    },
  };
}
