import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { runFfmpeg } from '../../providers/ffmpeg/runner';
import { readAll, sendJson, serveLocally } from './http';

/**
 * A loopback server speaking Creatomate's render API (`POST /v2/renders`, `GET /v2/renders/{id}`,
 * and v1's array answer): it checks the Bearer key and the template, records every request with
 * its modifications, and really renders: a render is `planned` when created, `rendering` at the
 * first poll and, at the second, the fake fetches the image and voice URLs of the modifications,
 * makes an H.264/AAC MP4 (and a JPEG snapshot) with ffmpeg and answers `succeeded` with URLs of
 * those files on this server. `publish` serves local files from here, so Creatomate's fetching of
 * inputs is real too. `state.next` queues errors, malformed answers and failed or cancelled renders.
 */

export type CreatomateKnob =
  | { kind: 'error'; status: number; hint: string; retryAfterSec?: number; echoKey?: boolean }
  /** A 2xx answer whose render object has no id. */
  | { kind: 'malformed' }
  /** The create answers an array of renders, as v1 does. */
  | { kind: 'array' }
  /** The render created or polled by this request ends `failed` with this message. */
  | { kind: 'failRender'; message: string }
  /** The render created or polled by this request ends `cancelled`. */
  | { kind: 'cancelRender' };

export interface CreatomateRecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body?: Record<string, unknown>;
}

export type FakeRenderStatus = 'planned' | 'rendering' | 'succeeded' | 'failed' | 'cancelled';

export interface FakeRender {
  id: string;
  status: FakeRenderStatus;
  fate: { status: 'succeeded' } | { status: 'failed'; message: string } | { status: 'cancelled' };
  body: Record<string, unknown>;
  polls: number;
  errorMessage?: string;
  output?: { videoPath: string; snapshotPath: string; width: number; height: number; durationSec: number; sizeBytes: number };
}

export class FakeCreatomateState {
  readonly apiKey = `ck_fake_${randomBytes(16).toString('hex')}`;
  readonly templateId = randomUUID();
  /** API requests, in order. */
  readonly requests: CreatomateRecordedRequest[] = [];
  /** Downloads of outputs and inputs (with their headers: no API key may reach them). */
  readonly fileRequests: { path: string; headers: IncomingHttpHeaders }[] = [];
  readonly renders = new Map<string, FakeRender>();
  /** What the next API requests get, in order; the normal behaviour once it is empty. */
  readonly next: CreatomateKnob[] = [];
  /** Whether finished renders carry a `snapshot_url` (the template has a snapshot time). */
  snapshots = true;
  /** The template's frame size and rate, used when the create has no `max_width`/`max_height`. */
  template = { width: 360, height: 640, frameRate: 25 };

  reset(): void {
    this.requests.length = 0;
    this.fileRequests.length = 0;
    this.renders.clear();
    this.next.length = 0;
    this.snapshots = true;
  }

  /** The create requests. */
  get creates(): CreatomateRecordedRequest[] {
    return this.requests.filter((request) => request.method === 'POST');
  }
}

function sendHint(res: ServerResponse, status: number, hint: string, headers: Record<string, string> = {}): void {
  sendJson(res, status, { hint }, headers);
}

interface TimedInput {
  url: string;
  durationSec: number;
}

function even(value: number): number {
  return Math.max(2, Math.round(value / 2) * 2);
}

/** The scene images of the modifications (`Image-1`, `Image-2`, … with `.duration`), in order. */
function sceneInputs(modifications: Record<string, unknown>): TimedInput[] {
  const scenes: TimedInput[] = [];
  for (let index = 1; typeof modifications[`Image-${index}`] === 'string'; index += 1) {
    scenes.push({ url: modifications[`Image-${index}`] as string, durationSec: Number(modifications[`Image-${index}.duration`] ?? 2) });
  }
  return scenes;
}

async function fetchInput(url: string, path: string): Promise<void> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Source ${url} could not be downloaded (HTTP ${response.status}).`);
  await writeFile(path, Buffer.from(await response.arrayBuffer()));
}

/** Renders what a template of scene images and a voice would give: the images in turn, with the voice. */
async function produce(render: FakeRender, dir: string, template: FakeCreatomateState['template']): Promise<NonNullable<FakeRender['output']>> {
  const modifications = (render.body.modifications ?? {}) as Record<string, unknown>;
  const scenes = sceneInputs(modifications);
  const voiceUrl = modifications.Voiceover;
  if (scenes.length === 0) throw new Error('The template has no image element to fill (Image-1 is missing).');
  if (typeof voiceUrl !== 'string') throw new Error('The Voiceover element has no source.');
  const width = even(Number(render.body.max_width ?? template.width));
  const height = even(Number(render.body.max_height ?? template.height));
  const fps = template.frameRate;
  const workDir = join(dir, render.id);
  await mkdir(workDir, { recursive: true });
  const imagePaths = scenes.map((_, index) => join(workDir, `image-${index + 1}`));
  const voicePath = join(workDir, 'voice');
  await Promise.all([...scenes.map((scene, index) => fetchInput(scene.url, imagePaths[index] as string)), fetchInput(voiceUrl, voicePath)]);

  const durationSec = scenes.reduce((sum, scene) => sum + scene.durationSec, 0);
  const inputs = scenes.flatMap((scene, index) => ['-loop', '1', '-framerate', String(fps), '-t', scene.durationSec.toFixed(3), '-i', imagePaths[index] as string]);
  const fit = `scale=${width}:${height}:force_original_aspect_ratio=decrease,pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p`;
  const graph = `${scenes.map((_, index) => `[${index}:v]${fit}[v${index}]`).join(';')};${scenes.map((_, index) => `[v${index}]`).join('')}concat=n=${scenes.length}:v=1:a=0[v]`;
  const videoPath = join(dir, `${render.id}.mp4`);
  await runFfmpeg([
    ...inputs,
    '-i', voicePath,
    '-filter_complex', graph,
    '-map', '[v]', '-map', `${scenes.length}:a:0`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-r', String(fps), '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '96k', '-af', 'apad',
    '-t', durationSec.toFixed(3), '-movflags', '+faststart', videoPath,
  ]);
  const snapshotPath = join(dir, `${render.id}.jpg`);
  await runFfmpeg(['-ss', Math.min(0.5, durationSec / 2).toFixed(3), '-i', videoPath, '-frames:v', '1', '-q:v', '4', '-update', '1', snapshotPath]);
  await rm(workDir, { recursive: true, force: true });
  return { videoPath, snapshotPath, width, height, durationSec, sizeBytes: (await stat(videoPath)).size };
}

export async function startFakeCreatomate(): Promise<{
  baseUrl: string;
  state: FakeCreatomateState;
  /** Serves a local file from this server and returns its URL (the renderer's `publish` in tests). */
  publish(localPath: string, contentType: string): Promise<string>;
  close(): Promise<void>;
}> {
  const state = new FakeCreatomateState();
  const dir = await mkdtemp(join(tmpdir(), 'fake-creatomate-'));
  const published = new Map<string, { path: string; contentType: string }>();
  let baseUrl = '';

  function renderObject(render: FakeRender): Record<string, unknown> {
    const { body, output } = render;
    const done = render.status === 'succeeded' && output;
    return {
      id: render.id,
      status: render.status,
      url: `${baseUrl}/files/${render.id}.mp4`,
      ...(done && state.snapshots ? { snapshot_url: `${baseUrl}/files/${render.id}.jpg` } : {}),
      ...(render.errorMessage ? { error_message: render.errorMessage } : {}),
      template_id: state.templateId,
      template_name: 'AutoClip vertical short',
      template_tags: [],
      output_format: 'mp4',
      render_scale: 1,
      ...(done ? { width: output.width, height: output.height, frame_rate: state.template.frameRate, duration: output.durationSec, file_size: output.sizeBytes } : {}),
      modifications: body.modifications ?? {},
      ...(body.webhook_url !== undefined ? { webhook_url: body.webhook_url } : {}),
      ...(body.metadata !== undefined ? { metadata: body.metadata } : {}),
    };
  }

  function applyFate(render: FakeRender, knob: CreatomateKnob | undefined): void {
    if (knob?.kind === 'failRender') render.fate = { status: 'failed', message: knob.message };
    if (knob?.kind === 'cancelRender') render.fate = { status: 'cancelled' };
  }

  /** One poll moves a render on: planned → rendering → its fate (rendered for real on success). */
  async function advance(render: FakeRender): Promise<void> {
    render.polls += 1;
    if (render.status === 'planned') {
      render.status = 'rendering';
      return;
    }
    if (render.status !== 'rendering') return;
    if (render.fate.status === 'failed') {
      render.status = 'failed';
      render.errorMessage = render.fate.message;
    } else if (render.fate.status === 'cancelled') {
      render.status = 'cancelled';
    } else {
      try {
        render.output = await produce(render, dir, state.template);
        render.status = 'succeeded';
      } catch (error) {
        render.status = 'failed';
        render.errorMessage = (error as Error).message.split('\n')[0];
      }
    }
  }

  async function serveFile(res: ServerResponse, path: string, contentType: string): Promise<void> {
    const { size } = await stat(path);
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': size });
    createReadStream(path).pipe(res);
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readAll(req);
    const path = new URL(req.url ?? '/', 'http://fake').pathname;
    const method = req.method ?? 'GET';

    const input = /^\/inputs\/([\w.-]+)$/.exec(path);
    const file = /^\/files\/([\w-]+)\.(mp4|jpg)$/.exec(path);
    if (method === 'GET' && (input || file)) {
      state.fileRequests.push({ path, headers: req.headers });
      if (input) {
        const entry = published.get(input[1] as string);
        return entry ? serveFile(res, entry.path, entry.contentType) : sendHint(res, 404, 'Not found');
      }
      const output = state.renders.get(file?.[1] as string)?.output;
      if (!output) return sendHint(res, 404, 'The file is not available (yet).');
      return file?.[2] === 'mp4' ? serveFile(res, output.videoPath, 'video/mp4') : serveFile(res, output.snapshotPath, 'image/jpeg');
    }

    const create = /^\/(v1|v2)\/renders$/.exec(path);
    const poll = /^\/(v1|v2)\/renders\/([^/]+)$/.exec(path);
    if (!(create && method === 'POST') && !(poll && method === 'GET')) return sendHint(res, 404, `No route for ${method} ${path}`);

    let body: Record<string, unknown> | undefined;
    if (method === 'POST') {
      try {
        body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
      } catch {
        state.requests.push({ method, path, headers: req.headers });
        return sendHint(res, 400, 'The request body is not valid JSON.');
      }
    }
    state.requests.push({ method, path, headers: req.headers, ...(body ? { body } : {}) });
    if (req.headers.authorization !== `Bearer ${state.apiKey}`) return sendHint(res, 401, 'The API key is invalid. Please check the key in your project settings.');

    const knob = state.next.shift();
    if (knob?.kind === 'error') {
      const headers: Record<string, string> = knob.retryAfterSec !== undefined ? { 'Retry-After': String(knob.retryAfterSec) } : {};
      return sendHint(res, knob.status, knob.echoKey ? `${knob.hint} (key ${state.apiKey})` : knob.hint, headers);
    }
    if (knob?.kind === 'malformed') return sendJson(res, create ? 202 : 200, { status: 'planned', url: 42 });

    if (create && body) {
      if (body.template_id !== state.templateId) return sendHint(res, 400, `The template with ID ${String(body.template_id)} was not found.`);
      if (body.modifications !== undefined && (typeof body.modifications !== 'object' || body.modifications === null || Array.isArray(body.modifications))) {
        return sendHint(res, 400, 'modifications must be an object.');
      }
      const render: FakeRender = { id: randomUUID(), status: 'planned', fate: { status: 'succeeded' }, body, polls: 0 };
      applyFate(render, knob);
      state.renders.set(render.id, render);
      const answer = renderObject(render);
      return sendJson(res, 202, create[1] === 'v1' || knob?.kind === 'array' ? [answer] : answer);
    }

    const render = state.renders.get(decodeURIComponent(poll?.[2] as string));
    if (!render) return sendHint(res, 404, 'The render was not found.');
    applyFate(render, knob);
    await advance(render);
    return sendJson(res, 200, renderObject(render));
  }

  const server = await serveLocally(route, (res, error) => sendHint(res, 500, String(error)));
  baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    publish: (localPath, contentType) => {
      const name = `${randomUUID()}${extname(localPath)}`;
      published.set(name, { path: localPath, contentType });
      return Promise.resolve(`${baseUrl}/inputs/${name}`);
    },
    close: async () => {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
