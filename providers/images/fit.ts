import { open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ProviderError } from '../errors';
import { commandArgs, type FfmpegCommand } from '../ffmpeg/command';
import { probe, runFfmpeg } from '../ffmpeg/runner';
import { httpFailure, isAbortOrTimeout, parseRetryAfterMs, readBody, readLimited, redactSecrets, sendRequest, type ProviderLabel } from '../http';

/**
 * What the remote image providers share: bounded, timed downloads of pictures and clips, a check
 * that the bytes really are a picture or a video, one ffmpeg run that fits every picture to the
 * template's frame (scaled to cover it, centre-cropped, PNG), and the choice of a clip's file for
 * the frame (the renderer fits clips itself).
 */

export const DEFAULT_DOWNLOAD_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_PICTURE_BYTES = 25 * 1024 * 1024;
export const DEFAULT_MAX_CLIP_BYTES = 200 * 1024 * 1024;

/** One rendition of a stock clip. */
export interface VideoFile {
  url: string;
  width: number;
  height: number;
}

/** The share of a `width`×`height` picture that stays visible once scaled to cover the frame and cropped (1 = same shape). */
export function coverFraction(width: number, height: number, frame: { width: number; height: number }): number {
  const aspect = width / height;
  const frameAspect = frame.width / frame.height;
  return Math.min(aspect / frameAspect, frameAspect / aspect);
}

/**
 * The rendition to download for the frame: the smallest one that covers the frame without being
 * scaled up, else the largest; renditions whose shape loses more than half of the picture to the
 * crop are not taken. Undefined when none fits.
 */
export function chooseVideoFile(files: readonly VideoFile[], frame: { width: number; height: number }): VideoFile | undefined {
  const fitting = files.filter((file) => file.width > 0 && file.height > 0 && coverFraction(file.width, file.height, frame) >= 0.5);
  const scale = (file: VideoFile): number => Math.max(frame.width / file.width, frame.height / file.height);
  const bySize = [...fitting].sort((a, b) => a.width * a.height - b.width * b.height);
  return bySize.find((file) => scale(file) <= 1) ?? bySize.at(-1);
}

type PictureKind = 'jpeg' | 'png' | 'webp';

/** The picture format the first bytes announce, or undefined when they are not a picture ffmpeg reads. */
function pictureKind(bytes: Uint8Array): PictureKind | undefined {
  const starts = (signature: number[], offset = 0): boolean => signature.every((byte, i) => bytes[offset + i] === byte);
  if (starts([0xff, 0xd8, 0xff])) return 'jpeg';
  if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (starts([0x52, 0x49, 0x46, 0x46]) && starts([0x57, 0x45, 0x42, 0x50], 8)) return 'webp';
  return undefined;
}

/** The PNG a scene's picture is written to, named like the local scene cards. */
export function scenePicturePath(outDir: string, index: number): string {
  return join(outDir, `scene-${String(index).padStart(2, '0')}.png`);
}

/** Where a URL points, without its query (signed links carry credentials there). */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return 'an unreadable URL';
  }
}

/** True for an absolute http(s) URL. */
export function isHttpUrl(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * Writes picture bytes to `pathWithoutExtension` plus the extension of their format; bytes that
 * are no picture (`source` names where they came from) are `invalid_response`.
 */
export async function savePicture(label: ProviderLabel, bytes: Uint8Array, pathWithoutExtension: string, source = 'the answer', statusCode?: number): Promise<string> {
  const kind = pictureKind(bytes);
  if (!kind) {
    const message = `${label.operation}: ${source} is not a JPEG, PNG or WebP picture (${bytes.byteLength} bytes)`;
    throw new ProviderError(label.provider, 'invalid_response', message, statusCode === undefined ? {} : { statusCode });
  }
  const path = `${pathWithoutExtension}.${kind === 'jpeg' ? 'jpg' : kind}`;
  await writeFile(path, bytes);
  return path;
}

export interface DownloadOptions {
  timeoutMs: number;
  maxBytes: number;
  /** Keys that must not appear in any message. */
  secrets: readonly (string | undefined)[];
  signal?: AbortSignal;
}

/**
 * Downloads one picture (no credentials are sent: picture links are public or signed) and saves
 * it. Failures are `ProviderError`s of the label's platform: HTTP errors by status (429 with its
 * Retry-After), a body too large or not a picture `invalid_response`, no answer in time `network_error`.
 */
export async function downloadPicture(label: ProviderLabel, url: string, pathWithoutExtension: string, options: DownloadOptions): Promise<string> {
  const { timeoutMs, maxBytes, secrets, signal } = options;
  const response = await sendRequest(label, url, { method: 'GET', headers: { accept: 'image/*' } }, timeoutMs, secrets, signal);
  if (!response.ok) {
    const body = await readBody(response, 500);
    const message = `${describeUrl(url)}: ${typeof body === 'string' ? body : JSON.stringify(body ?? response.statusText)}`;
    throw httpFailure(label, response.status, message, { retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after')), secrets });
  }
  const bytes = await readLimited(label, response, { maxBytes, timeoutMs, signal });
  const source = `${describeUrl(url)} (${response.headers.get('content-type') ?? 'no content type'})`;
  return savePicture(label, bytes, pathWithoutExtension, redactSecrets(source, secrets), response.status);
}

/** True when the first bytes are an ISO media file (MP4, MOV): a `ftyp` box first. */
function isIsoMedia(bytes: Uint8Array): boolean {
  return bytes.byteLength >= 8 && String.fromCharCode(...bytes.subarray(4, 8)) === 'ftyp';
}

/**
 * Downloads one clip to `path`, streamed to the file (a clip is never held whole in memory), and
 * checks it: an MP4 (`ftyp` first) whose video stream ffprobe reads. Failures are `ProviderError`s
 * of the label's platform, like `downloadPicture`'s; a partly written file is removed.
 */
export async function downloadClip(label: ProviderLabel, url: string, path: string, options: DownloadOptions): Promise<string> {
  const { timeoutMs, maxBytes, secrets, signal } = options;
  const response = await sendRequest(label, url, { method: 'GET', headers: { accept: 'video/mp4' } }, timeoutMs, secrets, signal);
  if (!response.ok) {
    const body = await readBody(response, 500);
    const message = `${describeUrl(url)}: ${typeof body === 'string' ? body : JSON.stringify(body ?? response.statusText)}`;
    throw httpFailure(label, response.status, message, { retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after')), secrets });
  }
  const invalid = (why: string): ProviderError => new ProviderError(label.provider, 'invalid_response', redactSecrets(`${label.operation}: ${why}`, secrets), { statusCode: response.status });
  const source = `${describeUrl(url)} (${response.headers.get('content-type') ?? 'no content type'})`;
  if (Number(response.headers.get('content-length') ?? 0) > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw invalid(`the answer is larger than ${maxBytes} bytes`);
  }
  const file = await open(path, 'w');
  try {
    const reader = response.body?.getReader();
    let total = 0;
    let head = new Uint8Array(0);
    try {
      for (;;) {
        const { done, value } = reader ? await reader.read() : { done: true, value: undefined };
        if (done) break;
        total += value.byteLength;
        if (total > maxBytes) {
          await reader?.cancel().catch(() => undefined);
          throw invalid(`the answer is larger than ${maxBytes} bytes`);
        }
        if (head.byteLength < 8) {
          head = Buffer.concat([head, value.subarray(0, 8)]);
          if (head.byteLength >= 8 && !isIsoMedia(head)) {
            await reader?.cancel().catch(() => undefined);
            throw invalid(`${source} is not an MP4 video`);
          }
        }
        await file.write(value);
      }
    } catch (error) {
      if (error instanceof ProviderError) throw error;
      if (signal?.aborted) throw signal.reason;
      const detail = isAbortOrTimeout(error) ? `no complete answer within ${timeoutMs} ms` : 'the connection broke off';
      throw new ProviderError(label.provider, 'network_error', `${label.operation}: ${detail}`, { statusCode: response.status });
    }
    if (!isIsoMedia(head)) throw invalid(`${source} is not an MP4 video (${total} bytes)`);
  } catch (error) {
    await file.close();
    await rm(path, { force: true });
    throw error;
  }
  await file.close();
  const info = await probe(path, { signal }).catch((error: unknown) => {
    if (signal?.aborted) throw error;
    return undefined;
  });
  if (!info?.streams.some((stream) => stream.type === 'video')) {
    await rm(path, { force: true });
    throw invalid(`${source} has no video stream ffprobe reads`);
  }
  return path;
}

export interface FitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  ffmpegPath?: string;
}

/**
 * Fits every picture to exactly `width`×`height` in one ffmpeg run: scaled to cover the frame,
 * centre-cropped, square pixels, RGB PNG.
 */
export async function fitPictures(pictures: readonly { input: string; output: string }[], width: number, height: number, options: FitOptions = {}): Promise<void> {
  if (pictures.length === 0) return;
  const command: FfmpegCommand = {
    inputs: pictures.map((picture) => ['-i', picture.input]),
    filterGraph: pictures
      .map((_, i) => `[${i}:v]scale=${width}:${height}:force_original_aspect_ratio=increase:flags=lanczos,crop=${width}:${height},setsar=1,format=rgb24[fit${i}]`)
      .join(';'),
    outputArgs: pictures.flatMap((picture, i) => ['-map', `[fit${i}]`, '-frames:v', '1', '-update', '1', picture.output]),
  };
  await runFfmpeg(commandArgs(command), options);
}
