import { readAll, sendJson, serveLocally } from './http';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFfmpeg } from '../../providers/ffmpeg/runner';

/**
 * A loopback Pexels: `GET /v1/search` and `GET /videos/search` (check the `Authorization` key,
 * answer real photo and video objects with rate-limit headers; video searches keep the videos of
 * the `orientation` asked) and the links they hand out: real JPEGs made with ffmpeg once per server
 * start (800×1200 for `src.portrait`, 1880×1300 for the other sizes), a different picture per
 * photo, and real H.264 MP4 clips, two renditions per video (`sd` and `hd`, twice as large), one
 * solid colour per video (`state.videos[].color`) and as long as its `duration`. Every request is
 * recorded; `state.next` (searches), `state.nextPicture` and `state.nextClip` (downloads) queue
 * errors and broken answers.
 */

export interface PictureSpec {
  name: string;
  width: number;
  height: number;
  format: 'jpg' | 'png';
}

/** A colour per number, far apart on the colour wheel for neighbouring numbers. */
function paletteColor(n: number, lightness: number): string {
  const hue = (n * 137.508) % 360;
  const chroma = (1 - Math.abs(2 * lightness - 1)) * 0.8;
  const x = chroma * (1 - Math.abs(((hue / 60) % 2) - 1));
  const [r, g, b] = hue < 60 ? [chroma, x, 0] : hue < 120 ? [x, chroma, 0] : hue < 180 ? [0, chroma, x] : hue < 240 ? [0, x, chroma] : hue < 300 ? [x, 0, chroma] : [chroma, 0, x];
  const m = lightness - chroma / 2;
  return `0x${[r, g, b].map((c) => Math.round((c + m) * 255).toString(16).padStart(2, '0')).join('')}`;
}

/** Real pictures (a diagonal two-colour gradient, distinct per spec), made by one ffmpeg run. */
export async function makePictures(specs: readonly PictureSpec[]): Promise<Map<string, Buffer>> {
  const dir = await mkdtemp(join(tmpdir(), 'autoclip-fake-pictures-'));
  try {
    const args: string[] = [];
    specs.forEach(({ width, height }, i) => {
      args.push('-f', 'lavfi', '-i', `gradients=s=${width}x${height}:c0=${paletteColor(i, 0.35)}:c1=${paletteColor(i + 0.5, 0.7)}:x0=0:y0=0:x1=${width - 1}:y1=${height - 1}:n=2:seed=0:r=1:d=1`);
    });
    specs.forEach(({ name, format }, i) => {
      args.push('-map', `${i}:v`, '-frames:v', '1', '-update', '1', ...(format === 'jpg' ? ['-q:v', '4', '-pix_fmt', 'yuvj420p'] : ['-pix_fmt', 'rgb24']), join(dir, `${name}.${format}`));
    });
    await runFfmpeg(args);
    const pictures = new Map<string, Buffer>();
    for (const { name, format } of specs) pictures.set(name, await readFile(join(dir, `${name}.${format}`)));
    return pictures;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export interface ClipSpec {
  name: string;
  width: number;
  height: number;
  durationSec: number;
  /** An ffmpeg colour, 0xRRGGBB. */
  color: string;
}

/** Real MP4 clips (H.264, 10 fps, one solid colour each), made by one ffmpeg run. */
export async function makeClips(specs: readonly ClipSpec[]): Promise<Map<string, Buffer>> {
  const dir = await mkdtemp(join(tmpdir(), 'autoclip-fake-clips-'));
  try {
    const args: string[] = [];
    for (const { width, height, durationSec, color } of specs) args.push('-f', 'lavfi', '-i', `color=c=${color}:s=${width}x${height}:r=10:d=${durationSec}`);
    specs.forEach(({ name }, i) => {
      args.push('-map', `${i}:v`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', join(dir, `${name}.mp4`));
    });
    await runFfmpeg(args);
    const clips = new Map<string, Buffer>();
    for (const { name } of specs) clips.set(name, await readFile(join(dir, `${name}.mp4`)));
    return clips;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A colour per number (see paletteColor), as ffmpeg writes it. */
export function clipColor(n: number): string {
  return paletteColor(n, 0.5);
}

export type PexelsKnob =
  | { kind: 'error'; status: number; message: string; retryAfterSec?: number; resetInSec?: number; echoKey?: boolean }
  /** 200 with JSON cut off in the middle. */
  | { kind: 'malformed' }
  /** 200 with a JSON object that has no photos list. */
  | { kind: 'noPhotosList' }
  /** 200 with no photos. */
  | { kind: 'empty' };

export type PexelsPictureKnob =
  | { kind: 'error'; status: number; message: string; retryAfterSec?: number }
  /** 200 with an HTML page. */
  | { kind: 'notPicture' }
  /** Headers and the first bytes, then nothing more. */
  | { kind: 'stall' }
  /** A JPEG-looking body of that many bytes, chunked (no Content-Length). */
  | { kind: 'large'; bytes: number };

export type ClipKnob =
  | { kind: 'error'; status: number; message: string }
  /** 200 with an HTML page. */
  | { kind: 'notVideo' };

export interface FakePexelsVideo {
  id: number;
  user: string;
  orientation: 'portrait' | 'landscape' | 'square';
  /** The `sd` rendition's size; `hd` is twice as large. */
  width: number;
  height: number;
  duration: number;
  color: string;
}

const SIZES = { portrait: [180, 320], landscape: [320, 180], square: [240, 240] } as const;

export interface FakePexelsPhoto {
  id: number;
  photographer: string;
  alt: string;
}

export interface PexelsRecordedRequest {
  kind: 'search' | 'videoSearch' | 'picture' | 'clip' | 'other';
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
}

const PHOTOGRAPHERS = ['Ana Lima', 'Kim Min-jun', 'Jonas Weber', 'Priya Nair', 'Lee Seo-yeon', 'Tom Fisk'];

export class FakePexelsState {
  readonly apiKey = `pexels-fake-${randomBytes(16).toString('hex')}`;
  readonly photos: FakePexelsPhoto[] = Array.from({ length: 12 }, (_, i) => ({
    id: 1_000_100 + i * 7,
    photographer: PHOTOGRAPHERS[i % PHOTOGRAPHERS.length] as string,
    alt: `Stock photo number ${i + 1}`,
  }));
  /** Portrait videos first (durations 1, 2, 3, 4, 1, 2 s), then two landscape and two square ones. */
  readonly videos: FakePexelsVideo[] = (['portrait', 'portrait', 'portrait', 'portrait', 'portrait', 'portrait', 'landscape', 'landscape', 'square', 'square'] as const).map((orientation, i) => ({
    id: 2_000_100 + i * 11,
    user: PHOTOGRAPHERS[(i + 2) % PHOTOGRAPHERS.length] as string,
    orientation,
    width: SIZES[orientation][0],
    height: SIZES[orientation][1],
    duration: (i % 4) + 1,
    color: clipColor(i),
  }));
  readonly requests: PexelsRecordedRequest[] = [];
  /** What the next clip downloads get, in order; the clip once it is empty. */
  readonly nextClip: ClipKnob[] = [];
  /** Video queries (compared in lower case) that find nothing. */
  readonly noVideoResults = new Set<string>();
  /** What the next searches get, in order; photos for the query once it is empty. */
  readonly next: PexelsKnob[] = [];
  /** What the next photo downloads get, in order; the photo once it is empty. */
  readonly nextPicture: PexelsPictureKnob[] = [];
  /** Queries (compared in lower case) that find nothing. */
  readonly noResults = new Set<string>();
  /** Leaves `src.portrait` out of the answers, so clients take `src.large2x`. */
  omitPortrait = false;
  remaining = 20_000;

  get searches(): PexelsRecordedRequest[] {
    return this.requests.filter((request) => request.kind === 'search');
  }

  get downloads(): PexelsRecordedRequest[] {
    return this.requests.filter((request) => request.kind === 'picture');
  }

  get videoSearches(): PexelsRecordedRequest[] {
    return this.requests.filter((request) => request.kind === 'videoSearch');
  }

  get clipDownloads(): PexelsRecordedRequest[] {
    return this.requests.filter((request) => request.kind === 'clip');
  }

  reset(): void {
    this.requests.length = 0;
    this.nextClip.length = 0;
    this.noVideoResults.clear();
    this.next.length = 0;
    this.nextPicture.length = 0;
    this.noResults.clear();
    this.omitPortrait = false;
  }
}

function queryHash(query: string): number {
  let hash = 0;
  for (const char of query.toLowerCase()) hash = (hash * 31 + (char.codePointAt(0) ?? 0)) >>> 0;
  return hash;
}

export async function startFakePexels(): Promise<{ baseUrl: string; state: FakePexelsState; close(): Promise<void> }> {
  const state = new FakePexelsState();
  const pictures = await makePictures(
    state.photos.flatMap((photo) => [
      { name: `${photo.id}-portrait`, width: 800, height: 1200, format: 'jpg' as const },
      { name: `${photo.id}-large`, width: 1880, height: 1300, format: 'jpg' as const },
    ]),
  );
  const clips = await makeClips(
    state.videos.flatMap((video) => [
      { name: `${video.id}-sd`, width: video.width, height: video.height, durationSec: video.duration, color: video.color },
      { name: `${video.id}-hd`, width: video.width * 2, height: video.height * 2, durationSec: video.duration, color: video.color },
    ]),
  );
  let baseUrl = '';

  function rateHeaders(): Record<string, string> {
    return {
      'X-Ratelimit-Limit': '20000',
      'X-Ratelimit-Remaining': String(state.remaining),
      'X-Ratelimit-Reset': String(Math.floor(Date.now() / 1000) + 30 * 86_400),
    };
  }

  function photoObject(photo: FakePexelsPhoto): Record<string, unknown> {
    const file = `${baseUrl}/photos/${photo.id}/pexels-photo-${photo.id}.jpeg`;
    const src: Record<string, string> = {
      original: file,
      large2x: `${file}?auto=compress&cs=tinysrgb&dpr=2&h=650&w=940`,
      large: `${file}?auto=compress&cs=tinysrgb&h=650&w=940`,
      medium: `${file}?auto=compress&cs=tinysrgb&h=350`,
      small: `${file}?auto=compress&cs=tinysrgb&h=130`,
      portrait: `${file}?auto=compress&cs=tinysrgb&fit=crop&h=1200&w=800`,
      landscape: `${file}?auto=compress&cs=tinysrgb&fit=crop&h=627&w=1200`,
      tiny: `${file}?auto=compress&cs=tinysrgb&dpr=1&fit=crop&h=200&w=280`,
    };
    if (state.omitPortrait) delete src.portrait;
    return {
      id: photo.id,
      width: 3000,
      height: 4500,
      url: `https://www.pexels.com/photo/${photo.id}/`,
      photographer: photo.photographer,
      photographer_url: `https://www.pexels.com/@${photo.photographer.toLowerCase().replace(/\s+/g, '-')}`,
      photographer_id: photo.id % 1000,
      avg_color: '#7E8C99',
      src,
      liked: false,
      alt: photo.alt,
    };
  }

  function videoObject(video: FakePexelsVideo): Record<string, unknown> {
    const file = (quality: 'sd' | 'hd', scale: number, id: number) => ({
      id,
      quality,
      file_type: 'video/mp4',
      width: video.width * scale,
      height: video.height * scale,
      fps: 10,
      link: `${baseUrl}/video-files/${video.id}/${video.id}-${quality}_${video.width * scale}_${video.height * scale}_10fps.mp4`,
      size: (clips.get(`${video.id}-${quality}`) as Buffer).length,
    });
    return {
      id: video.id,
      width: video.width * 2,
      height: video.height * 2,
      duration: video.duration,
      url: `https://www.pexels.com/video/${video.id}/`,
      image: `${baseUrl}/videos/${video.id}/pictures/preview-0.jpg`,
      user: { id: video.id % 1000, name: video.user, url: `https://www.pexels.com/@${video.user.toLowerCase().replace(/\s+/g, '-')}` },
      video_files: [file('hd', 2, video.id * 10 + 1), file('sd', 1, video.id * 10 + 2), { id: video.id * 10 + 3, quality: 'hls', file_type: 'video/hls', width: null, height: null, link: `${baseUrl}/hls/${video.id}.m3u8` }],
      video_pictures: [],
    };
  }

  function videoSearch(res: ServerResponse, query: Record<string, string>): void {
    state.remaining -= 1;
    const knob = state.next.shift();
    const perPage = Math.min(80, Math.max(1, Number(query.per_page ?? 15) || 15));
    const text = query.query ?? '';
    if (knob?.kind === 'error') {
      const headers: Record<string, string> = { ...rateHeaders() };
      if (knob.retryAfterSec !== undefined) headers['Retry-After'] = String(knob.retryAfterSec);
      if (knob.resetInSec !== undefined) headers['X-Ratelimit-Reset'] = String(Math.floor(Date.now() / 1000) + knob.resetInSec);
      return sendJson(res, knob.status, { error: knob.message }, headers);
    }
    const orientation = query.orientation;
    const found = knob?.kind === 'empty' || text.trim() === '' || state.noVideoResults.has(text.toLowerCase()) ? [] : state.videos.filter((video) => !orientation || video.orientation === orientation);
    const videos = found.slice(0, perPage);
    sendJson(res, 200, { page: 1, per_page: perPage, videos: videos.map(videoObject), total_results: found.length * 30, url: `https://www.pexels.com/search/videos/${encodeURIComponent(text)}/` }, rateHeaders());
  }

  function clip(res: ServerResponse, name: string): void {
    const bytes = clips.get(name);
    if (!bytes) return sendJson(res, 404, { error: 'Not Found' });
    const knob = state.nextClip.shift();
    if (knob?.kind === 'error') {
      res.writeHead(knob.status, { 'Content-Type': 'text/plain' });
      return void res.end(knob.message);
    }
    if (knob?.kind === 'notVideo') {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return void res.end('<!DOCTYPE html><html><body>Access denied</body></html>');
    }
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': bytes.length });
    res.end(bytes);
  }

  function search(res: ServerResponse, query: Record<string, string>): void {
    state.remaining -= 1;
    const knob = state.next.shift();
    const perPage = Math.min(80, Math.max(1, Number(query.per_page ?? 15) || 15));
    const text = query.query ?? '';
    switch (knob?.kind) {
      case 'error': {
        const headers: Record<string, string> = { ...rateHeaders() };
        if (knob.retryAfterSec !== undefined) headers['Retry-After'] = String(knob.retryAfterSec);
        if (knob.resetInSec !== undefined) headers['X-Ratelimit-Reset'] = String(Math.floor(Date.now() / 1000) + knob.resetInSec);
        if (knob.status === 429) headers['X-Ratelimit-Remaining'] = '0';
        return sendJson(res, knob.status, { error: knob.echoKey ? `${knob.message} (key ${state.apiKey})` : knob.message }, headers);
      }
      case 'malformed':
        res.writeHead(200, { 'Content-Type': 'application/json', ...rateHeaders() });
        return void res.end('{"page":1,"per_page":15,"photos":[{"id":1,"src":{"portr');
      case 'noPhotosList':
        return sendJson(res, 200, { page: 1, per_page: perPage, total_results: 0 }, rateHeaders());
      default:
        break;
    }
    const found = knob?.kind === 'empty' || text.trim() === '' || state.noResults.has(text.toLowerCase()) ? [] : state.photos;
    const start = found.length > 0 ? queryHash(text) % found.length : 0;
    const photos = [...found.slice(start), ...found.slice(0, start)].slice(0, perPage);
    sendJson(res, 200, { page: 1, per_page: perPage, photos: photos.map(photoObject), total_results: found.length * 40 }, rateHeaders());
  }

  function picture(res: ServerResponse, id: number, query: Record<string, string>): void {
    const bytes = pictures.get(`${id}-${query.fit === 'crop' && query.h === '1200' ? 'portrait' : 'large'}`);
    if (!bytes) return sendJson(res, 404, { error: 'Not Found' });
    const knob = state.nextPicture.shift();
    switch (knob?.kind) {
      case 'error':
        res.writeHead(knob.status, { 'Content-Type': 'text/plain', ...(knob.retryAfterSec !== undefined ? { 'Retry-After': String(knob.retryAfterSec) } : {}) });
        return void res.end(knob.message);
      case 'notPicture':
        res.writeHead(200, { 'Content-Type': 'text/html' });
        return void res.end('<!DOCTYPE html><html><body>Access denied</body></html>');
      case 'stall':
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': bytes.length });
        return void res.write(bytes.subarray(0, 1024));
      case 'large': {
        res.writeHead(200, { 'Content-Type': 'image/jpeg' });
        res.write(bytes.subarray(0, 3));
        const chunk = Buffer.alloc(64 * 1024);
        for (let sent = 3; sent < knob.bytes; sent += chunk.length) res.write(chunk.subarray(0, Math.min(chunk.length, knob.bytes - sent)));
        return void res.end();
      }
      default:
        res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': bytes.length });
        res.end(bytes);
    }
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const photoMatch = /^\/photos\/(\d+)\/pexels-photo-\d+\.jpeg$/.exec(url.pathname);
    const clipMatch = /^\/video-files\/(\d+)\/\d+-(sd|hd)_\d+_\d+_10fps\.mp4$/.exec(url.pathname);
    const kind = url.pathname === '/v1/search' ? 'search' : url.pathname === '/videos/search' ? 'videoSearch' : photoMatch ? 'picture' : clipMatch ? 'clip' : 'other';
    state.requests.push({ kind, method: req.method ?? '', path: req.url ?? '', query, headers: req.headers });
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'Method Not Allowed' });
    if (kind === 'picture') return picture(res, Number(photoMatch?.[1]), query);
    if (kind === 'clip') return clip(res, `${clipMatch?.[1]}-${clipMatch?.[2]}`);
    if (kind === 'other') return sendJson(res, 404, { error: 'Not Found' });
    if (req.headers.authorization !== state.apiKey) return sendJson(res, 401, { error: 'Unauthorized: the API key is missing or not valid' });
    if (kind === 'videoSearch') return videoSearch(res, query);
    search(res, query);
  }

  const server = await serveLocally(
    async (req, res) => {
      await readAll(req);
      route(req, res);
    },
    (res, error) => sendJson(res, 500, { error: String(error) }),
  );
  baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    close: server.close,
  };
}
