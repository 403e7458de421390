import { createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { withSlot, type ConcurrencySlot } from '../concurrency';
import { PermanentProviderError, ProviderError } from '../errors';
import { probe, requireStream, runFfmpeg, type MediaInfo } from '../ffmpeg/runner';
import { httpFailure, parseRetryAfterMs, readBody, recordFailedCall, sendRequest, sleep, type ProviderLabel } from '../http';
import { toSrt } from '../captions';
import type { CallOptions, RenderRequest, RenderResult, RenderShot, Renderer } from '../types';

/**
 * Cloud rendering with Creatomate: a template designed in Creatomate's editor is filled through
 * `modifications` (each scene's first picture with its timing, the voice, the captions, the look's
 * colours), rendered by `POST /v2/renders` and awaited by polling `GET /v2/renders/{id}`; the MP4
 * and its snapshot are then copied into `outDir` (Creatomate deletes outputs after 30 days).
 * Creatomate fetches every input by URL, so local files go through the `publish` option first.
 *
 * The render id is handed to `onExternalJob` as soon as Creatomate accepts the render; an attempt
 * given `resumeExternalJobId` awaits that render instead of paying for a new one. Failures are
 * `ProviderError`s of provider 'creatomate': 429 `rate_limited` (Retry-After, else Creatomate's
 * 10-second rate window), 5xx `server_error`, other 4xx non-retryable with Creatomate's `hint`, a
 * render that ends `failed` or `cancelled` non-retryable with its `error_message`, an unreadable
 * render object or output `invalid_response`.
 */

export const DEFAULT_CREATOMATE_BASE_URL = 'https://api.creatomate.com';

/** Creatomate allows 30 API requests per 10 seconds per account; a 429 without Retry-After waits one window. */
const RATE_WINDOW_MS = 10_000;

/** Output pixels per credit: credits = width × height × fps × seconds / 100,000,000, at least 1 per video. */
const PIXELS_PER_CREDIT = 100_000_000;

/** The names of the template's elements that the renderer fills. */
export interface CreatomateElementNames {
  /** Scene images are `${imagePrefix}1` … `${imagePrefix}N`, each with its `time` and `duration`. */
  imagePrefix: string;
  /** The audio element of the voice. */
  voice: string;
  /** The text element whose `transcript_source` receives the cues as SRT. */
  subtitles: string;
  /** The shape behind the scenes, coloured with the look's background. */
  background: string;
  /** The audio element of the background music. */
  music: string;
}

export const DEFAULT_CREATOMATE_ELEMENTS: Readonly<CreatomateElementNames> = {
  imagePrefix: 'Image-',
  voice: 'Voiceover',
  subtitles: 'Subtitles',
  background: 'Background',
  music: 'Music',
};

export interface CreatomateRendererOptions {
  apiKey: string;
  /** The template whose elements `elements` names. */
  templateId: string;
  /** Makes a local file fetchable by Creatomate and returns its URL (in production: an S3 upload and a presigned GET). */
  publish: (localPath: string, contentType: string) => Promise<string>;
  /** USD per Creatomate credit, for `estimatedCostUsd`. */
  pricePerCreditUsd: number;
  /** Default https://api.creatomate.com. */
  baseUrl?: string;
  elements?: Partial<CreatomateElementNames>;
  /** Wait between two status polls. Default 3 s (well inside the 30 requests per 10 s). */
  pollIntervalMs?: number;
  /** Longest wait for one render to finish before a retryable failure (the retry resumes it). Default 30 min. */
  maxWaitMs?: number;
  /** Deadline of each API request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Deadline of each output download. Default 10 min. */
  downloadTimeoutMs?: number;
  /** Creatomate POSTs the finished render object there. */
  webhookUrl?: string;
  /** The `metadata` string Creatomate echoes in the render object and the webhook. */
  metadata?: (request: RenderRequest) => string;
  /** The account's render concurrency shared across workers: one slot from create to download. */
  slot?: ConcurrencySlot;
  ffmpegPath?: string;
  ffprobePath?: string;
}

export type CreatomateRenderStatus = 'planned' | 'waiting' | 'transcribing' | 'rendering' | 'succeeded' | 'failed' | 'cancelled';

const STATUSES = new Set<string>(['planned', 'waiting', 'transcribing', 'rendering', 'succeeded', 'failed', 'cancelled']);
const FINAL_STATUSES = new Set<CreatomateRenderStatus>(['succeeded', 'failed', 'cancelled']);

/** The fields of Creatomate's render object this client reads. */
export interface CreatomateRender {
  id: string;
  status: CreatomateRenderStatus;
  url?: string;
  snapshotUrl?: string;
  errorMessage?: string;
  frameRate?: number;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.m4a': 'audio/mp4',
  '.mp4': 'audio/mp4',
  '.aac': 'audio/aac',
  '.mp3': 'audio/mpeg',
  '.wav': 'audio/wav',
};

function contentTypeFor(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** A scene's first picture: the template's scene elements are images, so a scene of clips alone cannot fill one. */
function pictureOf(shots: readonly RenderShot[], scene: number): RenderShot {
  const picture = shots.find((shot) => shot.kind === 'image');
  if (!picture) throw new PermanentProviderError(`scene ${scene} has only clips; the Creatomate template's scene elements take pictures`);
  return picture;
}

/** Creatomate's credits for a video (see PIXELS_PER_CREDIT). */
export function creatomateCredits(width: number, height: number, fps: number, durationSec: number): number {
  return Math.max(1, (width * height * fps * durationSec) / PIXELS_PER_CREDIT);
}

/** Heartbeat percentage of a poll: Creatomate reports a status, not a percentage. */
function progressOf(status: CreatomateRenderStatus, renderingPolls: number): number {
  switch (status) {
    case 'planned':
      return 5;
    case 'waiting':
      return 10;
    case 'transcribing':
      return 15;
    case 'rendering':
      return Math.min(85, 20 + 5 * renderingPolls);
    default:
      return 90;
  }
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Creatomate's error bodies are `{hint, ...}`; gateways answer text. */
function providerMessage(body: unknown, fallback: string): string {
  if (typeof body === 'string') return body.slice(0, 500);
  const fields = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  return optionalString(fields.hint) ?? optionalString(fields.message) ?? optionalString(fields.error) ?? fallback;
}

export class CreatomateRenderer implements Renderer {
  readonly name = 'creatomate';
  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly elements: CreatomateElementNames;
  private readonly pollIntervalMs: number;
  private readonly maxWaitMs: number;
  private readonly requestTimeoutMs: number;
  private readonly downloadTimeoutMs: number;

  constructor(private readonly options: CreatomateRendererOptions) {
    if (!options.apiKey) throw new Error('CreatomateRenderer needs an API key');
    if (!options.templateId) throw new Error('CreatomateRenderer needs a template id');
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? DEFAULT_CREATOMATE_BASE_URL).replace(/\/+$/, '');
    this.elements = { ...DEFAULT_CREATOMATE_ELEMENTS, ...options.elements };
    this.pollIntervalMs = options.pollIntervalMs ?? 3000;
    this.maxWaitMs = options.maxWaitMs ?? 30 * 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.downloadTimeoutMs = options.downloadTimeoutMs ?? 10 * 60_000;
  }

  async render(request: RenderRequest, callOptions: CallOptions = {}): Promise<RenderResult> {
    if (request.scenes.length === 0) throw new PermanentProviderError('render request has no scenes');
    const body = request.resumeExternalJobId ? undefined : await this.buildBody(request);
    return withSlot(this.options.slot, callOptions.signal, async () => {
      const startedAt = performance.now();
      let render: CreatomateRender | undefined;
      if (request.resumeExternalJobId) {
        render = await this.fetchRender(request.resumeExternalJobId, callOptions).catch((error: unknown) => {
          // A render Creatomate no longer knows is started again; anything else fails this attempt.
          if (error instanceof ProviderError && error.code === 'not_found') return undefined;
          throw error;
        });
      }
      render ??= await this.createRender(body ?? (await this.buildBody(request)), callOptions);
      callOptions.onExternalJob?.(render.id);
      callOptions.onProgress?.(progressOf(render.status, 0));

      const done = await this.awaitRender(render, callOptions);
      if (done.status !== 'succeeded') {
        const reason = done.status === 'failed' ? `failed: ${done.errorMessage ?? 'no error message'}` : 'was cancelled';
        const error = new ProviderError('creatomate', 'bad_request', `Creatomate render ${done.id} ${reason}`.slice(0, 1000), { statusCode: 200, providerReason: `render_${done.status}` });
        throw await this.failedCall(callOptions, startedAt, error);
      }
      return this.collect(done, request, callOptions, startedAt);
    });
  }

  /** The create body: the template, the modifications, the frame size and the optional webhook. */
  private async buildBody(request: RenderRequest): Promise<Record<string, unknown>> {
    const names = this.elements;
    const publish = (path: string): Promise<string> => this.options.publish(path, contentTypeFor(path));
    const [imageUrls, voiceUrl, musicUrl] = await Promise.all([
      Promise.all(request.scenes.map((scene, index) => publish(pictureOf(scene.shots, index).path))),
      publish(request.audioPath),
      request.music ? publish(request.music.path) : Promise.resolve(undefined),
    ]);
    const modifications: Record<string, string | number> = {};
    request.scenes.forEach((scene, index) => {
      const name = `${names.imagePrefix}${index + 1}`;
      modifications[name] = imageUrls[index] as string;
      modifications[`${name}.time`] = scene.startSec;
      modifications[`${name}.duration`] = Math.max(0, scene.endSec - scene.startSec);
    });
    modifications[names.voice] = voiceUrl;
    const cues = request.design.captions?.cues ?? [];
    if (cues.length > 0) modifications[`${names.subtitles}.transcript_source`] = toSrt(cues);
    const { colors } = request.look;
    if (colors.text) modifications[`${names.subtitles}.fill_color`] = colors.text;
    modifications[`${names.subtitles}.transcript_color`] = colors.primary;
    modifications[`${names.background}.fill_color`] = colors.background ?? colors.secondary;
    if (musicUrl && request.music) {
      modifications[names.music] = musicUrl;
      modifications[`${names.music}.volume`] = `${Math.round(request.music.volume * 100)}%`;
    }
    const metadata = this.options.metadata?.(request);
    return {
      template_id: request.remoteTemplateId ?? this.options.templateId,
      modifications,
      max_width: request.look.width,
      max_height: request.look.height,
      ...(this.options.webhookUrl ? { webhook_url: this.options.webhookUrl } : {}),
      ...(metadata !== undefined ? { metadata } : {}),
    };
  }

  private async createRender(body: Record<string, unknown>, options: CallOptions): Promise<CreatomateRender> {
    const label = { provider: 'creatomate', operation: 'Creatomate create render' };
    const { status, answer } = await this.api(label, 'POST', '/v2/renders', body, options);
    // v2 answers one render object; v1 answered an array of them.
    const first = Array.isArray(answer) ? (answer[0] as unknown) : answer;
    return this.reported(options, () => this.parseRender(label, first, status));
  }

  private async fetchRender(id: string, options: CallOptions): Promise<CreatomateRender> {
    const label = { provider: 'creatomate', operation: 'Creatomate get render' };
    const { status, answer } = await this.api(label, 'GET', `/v2/renders/${encodeURIComponent(id)}`, undefined, options);
    return this.reported(options, () => this.parseRender(label, answer, status, id));
  }

  /** Polls until the render is final, reporting progress on every poll. */
  private async awaitRender(first: CreatomateRender, options: CallOptions): Promise<CreatomateRender> {
    const waitStartedAt = Date.now();
    let render = first;
    let renderingPolls = 0;
    while (!FINAL_STATUSES.has(render.status)) {
      if (Date.now() - waitStartedAt > this.maxWaitMs) {
        throw new ProviderError('creatomate', 'server_error', `Creatomate render ${render.id} is still ${render.status} after ${this.maxWaitMs} ms`);
      }
      await sleep(this.pollIntervalMs, options.signal);
      render = await this.fetchRender(render.id, options);
      if (render.status === 'rendering') renderingPolls += 1;
      options.onProgress?.(progressOf(render.status, renderingPolls));
    }
    return render;
  }

  /** Copies the outputs into `outDir`, checks the video and reports the real measures and cost. */
  private async collect(render: CreatomateRender, request: RenderRequest, options: CallOptions, startedAt: number): Promise<RenderResult> {
    const { signal } = options;
    await mkdir(request.outDir, { recursive: true });
    const videoPath = join(request.outDir, 'video.mp4');
    const thumbnailPath = join(request.outDir, 'thumbnail.jpg');
    await this.download(render.url as string, videoPath, 'video', options); // parseRender refuses a success without one
    const info = await this.checkVideo(render.id, videoPath, options, startedAt);
    const video = requireStream(info, 'video');
    options.onProgress?.(95);
    if (render.snapshotUrl) {
      await this.download(render.snapshotUrl, thumbnailPath, 'snapshot', options);
    } else {
      const atSec = Math.min(1, info.durationSec / 2);
      await runFfmpeg(['-ss', atSec.toFixed(3), '-i', videoPath, '-frames:v', '1', '-q:v', '3', '-update', '1', thumbnailPath], { signal, ffmpegPath: this.options.ffmpegPath });
    }
    const { size } = await stat(videoPath);
    const width = video.width ?? request.look.width;
    const height = video.height ?? request.look.height;
    const fps = video.frameRate ?? render.frameRate ?? request.fps;
    options.onProgress?.(100);
    return {
      videoPath,
      thumbnailPath,
      durationSec: info.durationSec,
      voiceStartSec: 0,
      width,
      height,
      sizeBytes: size,
      usage: {
        service: 'creatomate',
        operation: 'render',
        inputUnits: request.scenes.length,
        outputUnits: Math.ceil(info.durationSec),
        durationMs: Math.round(performance.now() - startedAt),
        estimatedCostUsd: creatomateCredits(width, height, fps, info.durationSec) * this.options.pricePerCreditUsd,
        statusCode: 200,
        model: request.remoteTemplateId ?? this.options.templateId,
      },
    };
  }

  /** The downloaded file must be a video with sound; anything else is an unreadable output. */
  private async checkVideo(id: string, path: string, options: CallOptions, startedAt: number): Promise<MediaInfo> {
    try {
      const info = await probe(path, { signal: options.signal, ffprobePath: this.options.ffprobePath });
      requireStream(info, 'video');
      requireStream(info, 'audio');
      if (!(info.durationSec > 0)) throw new Error('the video has no duration');
      return info;
    } catch (cause) {
      if (options.signal?.aborted) throw options.signal.reason;
      const detail = (cause as Error).message.split('\n')[0] ?? '';
      const error = new ProviderError('creatomate', 'invalid_response', `Creatomate render ${id}: the downloaded video is not playable (${detail})`, { statusCode: 200 });
      throw await this.failedCall(options, startedAt, error);
    }
  }

  /** Streams an output file to disk; the API key is never sent to the file host. */
  private async download(url: string, path: string, what: 'video' | 'snapshot', options: CallOptions): Promise<void> {
    const label = { provider: 'creatomate', operation: `Creatomate ${what} download` };
    const startedAt = performance.now();
    try {
      const response = await sendRequest(label, url, { method: 'GET' }, this.downloadTimeoutMs, [this.apiKey], options.signal);
      if (!response.ok || !response.body) throw this.failure(label, response, await readBody(response, 2000));
      await pipeline(Readable.fromWeb(response.body as NodeReadableStream<Uint8Array>), createWriteStream(path)).catch((error: unknown) => {
        if (options.signal?.aborted) throw options.signal.reason;
        throw new ProviderError('creatomate', 'network_error', `${label.operation}: the transfer broke off (${(error as Error).message})`, { statusCode: response.status });
      });
    } catch (error) {
      await rm(path, { force: true });
      throw await this.failedCall(options, startedAt, error);
    }
  }

  private async api(label: ProviderLabel, method: 'GET' | 'POST', path: string, body: unknown, options: CallOptions): Promise<{ status: number; answer: unknown }> {
    const startedAt = performance.now();
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${this.apiKey}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      const init: RequestInit = { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) };
      const response = await sendRequest(label, `${this.baseUrl}${path}`, init, this.requestTimeoutMs, [this.apiKey], options.signal);
      const answer = await readBody(response, 1_000_000);
      if (!response.ok) throw this.failure(label, response, answer);
      return { status: response.status, answer };
    } catch (error) {
      throw await this.failedCall(options, startedAt, error);
    }
  }

  /** Runs a check of an answer, recording its failure like a failed exchange. */
  private async reported<T>(options: CallOptions, check: () => T): Promise<T> {
    const startedAt = performance.now();
    try {
      return check();
    } catch (error) {
      throw await this.failedCall(options, startedAt, error);
    }
  }

  /** Records a failed exchange of this render in api_usages and returns the error to throw. */
  private failedCall(options: CallOptions, startedAt: number, error: unknown): Promise<unknown> {
    return recordFailedCall(options, { service: 'creatomate', operation: 'render', model: this.options.templateId, startedAt }, error);
  }

  private failure(label: ProviderLabel, response: Response, body: unknown): ProviderError {
    const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after')) ?? (response.status === 429 ? RATE_WINDOW_MS : undefined);
    return httpFailure(label, response.status, providerMessage(body, response.statusText), { retryAfterMs, secrets: [this.apiKey] });
  }

  private parseRender(label: ProviderLabel, value: unknown, statusCode: number, expectedId?: string): CreatomateRender {
    const malformed = (why: string): ProviderError => new ProviderError('creatomate', 'invalid_response', `${label.operation}: ${why}`, { statusCode });
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw malformed('the answer is not a render object');
    const raw = value as Record<string, unknown>;
    const id = optionalString(raw.id);
    if (!id) throw malformed('the render object has no id');
    if (expectedId !== undefined && id !== expectedId) throw malformed(`asked for render ${expectedId}, got ${id}`);
    if (typeof raw.status !== 'string' || !STATUSES.has(raw.status)) throw malformed(`render ${id} has an unknown status ${JSON.stringify(raw.status)}`);
    const status = raw.status as CreatomateRenderStatus;
    const url = optionalString(raw.url);
    if (status === 'succeeded' && !(url && /^https?:\/\//i.test(url))) throw malformed(`render ${id} succeeded without a download url`);
    const snapshotUrl = optionalString(raw.snapshot_url);
    const errorMessage = optionalString(raw.error_message);
    const frameRate = typeof raw.frame_rate === 'number' && raw.frame_rate > 0 ? raw.frame_rate : undefined;
    return { id, status, ...(url ? { url } : {}), ...(snapshotUrl ? { snapshotUrl } : {}), ...(errorMessage ? { errorMessage } : {}), ...(frameRate ? { frameRate } : {}) };
  }
}
