import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { readAll, sendJson, serveLocally } from './http';
import { clipColor, makeClips, makePictures, type ClipKnob } from './pexels-server';

/**
 * A loopback Pixabay: `GET /api/videos/` and `GET /api/` (check the `key` query parameter, answer
 * real hits with Pixabay's rate-limit headers; errors as plain text "[ERROR 400] …" with their
 * status) and the links they hand out: real H.264 MP4 clips made with ffmpeg once per server start,
 * three renditions per video (`tiny`, `small` and `medium`, each twice the size of the one before;
 * `large` left empty as Pixabay does for small originals), one solid colour per video
 * (`state.videos[].color`), and real JPEGs for `largeImageURL`. Video searches have no orientation
 * filter (the API has none): they answer landscape and portrait clips alike; photo searches keep the
 * `orientation` asked. Every request is recorded; `state.next` queues errors for searches,
 * `state.nextClip` for clip downloads.
 */

export type PixabayKnob = { kind: 'error'; status: number; message: string; resetInSec?: number } | { kind: 'noHitsList' };

export interface FakePixabayVideo {
  id: number;
  user: string;
  orientation: 'portrait' | 'landscape';
  /** The `tiny` rendition's size. */
  width: number;
  height: number;
  duration: number;
  color: string;
}

export interface FakePixabayPhoto {
  id: number;
  user: string;
  orientation: 'vertical' | 'horizontal';
}

export interface PixabayRecordedRequest {
  kind: 'videoSearch' | 'photoSearch' | 'clip' | 'picture' | 'other';
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
}

const USERS = ['Pexels-free', 'Seo-yun Park', 'Mikes-Photography', 'Engin_Akyurt', 'Couleur'];
const RENDITIONS = [
  ['tiny', 1],
  ['small', 2],
  ['medium', 4],
] as const;

export class FakePixabayState {
  readonly apiKey = `${randomBytes(12).toString('hex')}-pixabay`;
  /** Landscape and portrait clips in turn, landscape first; durations 2, 4, 1, 3, 2, 4 s. */
  readonly videos: FakePixabayVideo[] = Array.from({ length: 6 }, (_, i) => {
    const orientation = i % 2 === 0 ? ('landscape' as const) : ('portrait' as const);
    return {
      id: 3_000_200 + i * 13,
      user: USERS[i % USERS.length] as string,
      orientation,
      width: orientation === 'portrait' ? 90 : 160,
      height: orientation === 'portrait' ? 160 : 90,
      duration: [2, 4, 1, 3, 2, 4][i] as number,
      color: clipColor(i + 20),
    };
  });
  readonly photos: FakePixabayPhoto[] = Array.from({ length: 6 }, (_, i) => ({
    id: 4_000_300 + i * 17,
    user: USERS[(i + 1) % USERS.length] as string,
    orientation: i % 2 === 0 ? 'vertical' : 'horizontal',
  }));
  readonly requests: PixabayRecordedRequest[] = [];
  readonly next: PixabayKnob[] = [];
  readonly nextClip: ClipKnob[] = [];
  readonly noVideoResults = new Set<string>();
  readonly noPhotoResults = new Set<string>();

  of(kind: PixabayRecordedRequest['kind']): PixabayRecordedRequest[] {
    return this.requests.filter((request) => request.kind === kind);
  }

  reset(): void {
    this.requests.length = 0;
    this.next.length = 0;
    this.nextClip.length = 0;
    this.noVideoResults.clear();
    this.noPhotoResults.clear();
  }
}

export async function startFakePixabay(): Promise<{ baseUrl: string; state: FakePixabayState; close(): Promise<void> }> {
  const state = new FakePixabayState();
  const clips = await makeClips(
    state.videos.flatMap((video) =>
      RENDITIONS.map(([name, scale]) => ({ name: `${video.id}-${name}`, width: video.width * scale, height: video.height * scale, durationSec: video.duration, color: video.color })),
    ),
  );
  const pictures = await makePictures(
    state.photos.map((photo) => ({ name: String(photo.id), width: photo.orientation === 'vertical' ? 600 : 900, height: photo.orientation === 'vertical' ? 900 : 600, format: 'jpg' as const })),
  );
  let baseUrl = '';
  let remaining = 100;

  const rateHeaders = (): Record<string, string> => ({ 'X-RateLimit-Limit': '100', 'X-RateLimit-Remaining': String(Math.max(0, remaining)), 'X-RateLimit-Reset': '42' });

  function videoHit(video: FakePixabayVideo): Record<string, unknown> {
    const videos: Record<string, unknown> = { large: { url: '', width: 0, height: 0, size: 0, thumbnail: '' } };
    for (const [name, scale] of RENDITIONS) {
      const width = video.width * scale;
      const height = video.height * scale;
      videos[name] = { url: `${baseUrl}/video/2026/01/0${scale}/${video.id}_${name}.mp4`, width, height, size: (clips.get(`${video.id}-${name}`) as Buffer).length, thumbnail: '' };
    }
    return { id: video.id, pageURL: `https://pixabay.com/videos/id-${video.id}/`, type: 'film', tags: 'stock, clip', duration: video.duration, videos, views: 10, downloads: 5, likes: 1, comments: 0, user_id: video.id % 997, user: video.user, userImageURL: '' };
  }

  function photoHit(photo: FakePixabayPhoto): Record<string, unknown> {
    const vertical = photo.orientation === 'vertical';
    return {
      id: photo.id,
      pageURL: `https://pixabay.com/photos/id-${photo.id}/`,
      type: 'photo',
      tags: 'stock, photo',
      previewURL: `${baseUrl}/photo/${photo.id}_150.jpg`,
      webformatURL: `${baseUrl}/get/${photo.id}_640.jpg`,
      largeImageURL: `${baseUrl}/get/${photo.id}_1280.jpg`,
      imageWidth: vertical ? 3000 : 4500,
      imageHeight: vertical ? 4500 : 3000,
      user_id: photo.id % 991,
      user: photo.user,
    };
  }

  function search(res: ServerResponse, kind: 'videoSearch' | 'photoSearch', query: Record<string, string>): void {
    remaining -= 1;
    if (query.key !== state.apiKey) return void (res.writeHead(400, { 'Content-Type': 'text/plain' }), res.end('[ERROR 400] "key" is invalid.'));
    const knob = state.next.shift();
    if (knob?.kind === 'error') {
      res.writeHead(knob.status, { 'Content-Type': 'text/plain', ...rateHeaders(), ...(knob.resetInSec !== undefined ? { 'X-RateLimit-Reset': String(knob.resetInSec) } : {}) });
      return void res.end(knob.message);
    }
    const perPage = Math.min(200, Math.max(3, Number(query.per_page ?? 20) || 20));
    if (knob?.kind === 'noHitsList') return sendJson(res, 200, { total: 0, totalHits: 0 }, rateHeaders());
    const q = (query.q ?? '').toLowerCase();
    if (kind === 'videoSearch') {
      const found = state.noVideoResults.has(q) ? [] : state.videos;
      return sendJson(res, 200, { total: found.length * 10, totalHits: found.length, hits: found.slice(0, perPage).map(videoHit) }, rateHeaders());
    }
    const found = state.noPhotoResults.has(q) || query.image_type !== 'photo' ? [] : state.photos.filter((photo) => !query.orientation || query.orientation === 'all' || photo.orientation === query.orientation);
    sendJson(res, 200, { total: found.length * 10, totalHits: found.length, hits: found.slice(0, perPage).map(photoHit) }, rateHeaders());
  }

  function clip(res: ServerResponse, name: string): void {
    const bytes = clips.get(name);
    if (!bytes) return sendJson(res, 404, { error: 'Not Found' });
    const knob = state.nextClip.shift();
    if (knob?.kind === 'error') return void (res.writeHead(knob.status, { 'Content-Type': 'text/plain' }), res.end(knob.message));
    if (knob?.kind === 'notVideo') return void (res.writeHead(200, { 'Content-Type': 'text/html' }), res.end('<html>blocked</html>'));
    res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': bytes.length });
    res.end(bytes);
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const query = Object.fromEntries(url.searchParams);
    const clipMatch = /^\/video\/\d+\/\d+\/\d+\/(\d+)_(tiny|small|medium)\.mp4$/.exec(url.pathname);
    const pictureMatch = /^\/get\/(\d+)_1280\.jpg$/.exec(url.pathname);
    const kind = url.pathname === '/api/videos/' ? 'videoSearch' : url.pathname === '/api/' ? 'photoSearch' : clipMatch ? 'clip' : pictureMatch ? 'picture' : 'other';
    state.requests.push({ kind, path: req.url ?? '', query, headers: req.headers });
    if (req.method !== 'GET') return sendJson(res, 405, { error: 'Method Not Allowed' });
    if (kind === 'videoSearch' || kind === 'photoSearch') return search(res, kind, query);
    if (kind === 'clip') return clip(res, `${clipMatch?.[1]}-${clipMatch?.[2]}`);
    const picture = pictureMatch ? pictures.get(pictureMatch[1] as string) : undefined;
    if (!picture) return sendJson(res, 404, { error: 'Not Found' });
    res.writeHead(200, { 'Content-Type': 'image/jpeg', 'Content-Length': picture.length });
    res.end(picture);
  }

  const server = await serveLocally(
    async (req, res) => {
      await readAll(req);
      route(req, res);
    },
    (res, error) => sendJson(res, 500, { error: String(error) }),
  );
  baseUrl = server.baseUrl;
  return { baseUrl, state, close: server.close };
}
