import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runLimited, withSlot, type ConcurrencySlot } from '../concurrency';
import { ProviderError } from '../errors';
import { httpFailure, parseRetryAfterMs, readBody, recordFailedCall, sendRequest, type ProviderLabel } from '../http';
import type { CallOptions, ImageProvider, Language, ProviderUsage, SceneImage, SceneImageRequest } from '../types';
import { DEFAULT_DOWNLOAD_TIMEOUT_MS, DEFAULT_MAX_PICTURE_BYTES, downloadPicture, fitPictures, isHttpUrl, scenePicturePath, type VideoFile } from './fit';

/**
 * Scene images from Pexels stock photos: one portrait search per scene (its keywords, else the
 * longest words of its text), a photo no other scene of the content uses, downloaded and fitted
 * to the template's frame. A scene nothing is found for gets one broader search, then the
 * fallback provider's image (the local scene cards in production). Failures are `ProviderError`s
 * of provider 'pexels': 429 `rate_limited` (Retry-After, else X-Ratelimit-Reset), 5xx
 * `server_error`, other 4xx non-retryable with Pexels' message, an unreadable answer or a
 * download that is no picture `invalid_response`.
 */

export const DEFAULT_PEXELS_BASE_URL = 'https://api.pexels.com';
export const DEFAULT_PEXELS_TIMEOUT_MS = 15_000;
export const DEFAULT_PEXELS_PER_PAGE = 15;

export interface PexelsImageOptions {
  apiKey: string;
  baseUrl?: string;
  /** Photos asked per search (Pexels allows 1–80); more room for distinct photos per query. */
  perPage?: number;
  /** Deadline of one search. */
  timeoutMs?: number;
  /** Deadline of one photo download, body included. */
  downloadTimeoutMs?: number;
  maxDownloadBytes?: number;
  /** Photos downloaded at once. */
  parallelDownloads?: number;
  /** Pexels is free; a price makes searches count in cost estimates. */
  pricePerSearchUsd?: number;
  /** Makes the images of scenes Pexels has no photo for; without it such a scene fails the call. */
  fallback?: ImageProvider;
  slot?: ConcurrencySlot;
  ffmpegPath?: string;
  ffmpegTimeoutMs?: number;
}

export interface PexelsPhoto {
  id: number;
  photographer: string;
  /** The picture to download: `src.portrait` (for portrait frames), else `src.large2x`, else `src.original`. */
  url: string;
}

interface SearchAnswer {
  photos?: unknown;
}

/** Pexels search locales for the content languages, so Korean keywords find Korean-tagged photos. */
export const PEXELS_LOCALES: Readonly<Record<Language, string>> = {
  ko: 'ko-KR',
  en: 'en-US',
  ja: 'ja-JP',
  zh: 'zh-CN',
  es: 'es-ES',
  fr: 'fr-FR',
  de: 'de-DE',
  pt: 'pt-BR',
  hi: 'hi-IN',
  ar: 'ar-SA',
};

const ENGLISH_STOPWORDS = new Set(
  'about after again also and are because been before but can could does for from has have here how into its just more most not now our out over should that the their them then there these they this those through too very was were what when where which while who why will with would you your'.split(' '),
);

function cleanKeyword(keyword: string): string {
  return keyword.normalize('NFC').replace(/[^\p{L}\p{N}]+/gu, ' ').trim().replace(/\s+/g, ' ');
}

/**
 * The search words of a scene: its first three keywords, else its four longest distinct words
 * (two letters or more, English function words left out), longest first.
 */
export function sceneQuery(scene: { text: string; keywords: string[] }): string {
  const keywords = scene.keywords.map(cleanKeyword).filter((keyword) => keyword !== '');
  if (keywords.length > 0) return keywords.slice(0, 3).join(' ').slice(0, 100);
  const seen = new Set<string>();
  const words: string[] = [];
  for (const word of scene.text.normalize('NFC').split(/[^\p{L}\p{N}]+/u)) {
    const key = word.toLowerCase();
    if ([...word].length < 2 || ENGLISH_STOPWORDS.has(key) || seen.has(key)) continue;
    seen.add(key);
    words.push(word);
  }
  return words
    .map((word, order) => ({ word, order }))
    .sort((a, b) => [...b.word].length - [...a.word].length || a.order - b.order)
    .slice(0, 4)
    .map(({ word }) => word)
    .join(' ')
    .slice(0, 100);
}

/**
 * A broader search for a scene whose query found nothing: its first word alone, or for a
 * one-word query the keyword most scenes of the content share; undefined when there is none.
 */
export function broaderQuery(query: string, scenes: readonly { keywords: string[] }[]): string | undefined {
  const words = query.split(' ').filter((word) => word !== '');
  if (words.length > 1) return words[0];
  const counts = new Map<string, number>();
  for (const scene of scenes) {
    for (const keyword of new Set(scene.keywords.map(cleanKeyword))) {
      if (keyword !== '' && keyword.toLowerCase() !== query.toLowerCase()) counts.set(keyword, (counts.get(keyword) ?? 0) + 1);
    }
  }
  let best: string | undefined;
  for (const [keyword, count] of counts) if (best === undefined || count > (counts.get(best) ?? 0)) best = keyword;
  return best;
}

/** The usable photos of a search answer; an answer without a photo list, or with photos none of which is usable, is `invalid_response`. */
export function readPexelsPhotos(body: unknown, statusCode: number, portrait = true): PexelsPhoto[] {
  const invalid = (why: string): ProviderError => new ProviderError('pexels', 'invalid_response', `Pexels photo search: ${why}`, { statusCode });
  if (!body || typeof body !== 'object') throw invalid('the answer is not a JSON object');
  const { photos } = body as SearchAnswer;
  if (!Array.isArray(photos)) throw invalid('the answer has no photos list');
  const usable: PexelsPhoto[] = [];
  for (const photo of photos as { id?: unknown; photographer?: unknown; src?: Record<string, unknown> }[]) {
    const url = [portrait ? photo?.src?.portrait : undefined, photo?.src?.large2x, photo?.src?.original].find(isHttpUrl);
    if (typeof photo?.id !== 'number' || !url) continue;
    usable.push({ id: photo.id, photographer: typeof photo.photographer === 'string' ? photo.photographer.trim() : '', url });
  }
  if (photos.length > 0 && usable.length === 0) throw invalid('no photo of the answer has an id and a picture link');
  return usable;
}

export interface PexelsVideo {
  id: number;
  /** The videographer (`user.name`). */
  user: string;
  durationSec: number;
  /** Its MP4 renditions (`video_files` of type video/mp4). */
  files: VideoFile[];
}

/** The videos of a search answer with at least one MP4 rendition; an answer without a videos list, or with none usable, is `invalid_response`. */
export function readPexelsVideos(body: unknown, statusCode: number): PexelsVideo[] {
  const invalid = (why: string): ProviderError => new ProviderError('pexels', 'invalid_response', `Pexels video search: ${why}`, { statusCode });
  if (!body || typeof body !== 'object') throw invalid('the answer is not a JSON object');
  const { videos } = body as { videos?: unknown };
  if (!Array.isArray(videos)) throw invalid('the answer has no videos list');
  const usable: PexelsVideo[] = [];
  for (const video of videos as { id?: unknown; duration?: unknown; user?: { name?: unknown }; video_files?: unknown }[]) {
    const files = (Array.isArray(video?.video_files) ? (video.video_files as Record<string, unknown>[]) : []).flatMap((file) =>
      file?.file_type === 'video/mp4' && isHttpUrl(file.link) && typeof file.width === 'number' && typeof file.height === 'number'
        ? [{ url: file.link, width: file.width, height: file.height }]
        : [],
    );
    if (typeof video?.id !== 'number' || files.length === 0) continue;
    usable.push({
      id: video.id,
      user: typeof video.user?.name === 'string' ? video.user.name.trim() : '',
      durationSec: typeof video.duration === 'number' ? video.duration : 0,
      files,
    });
  }
  if (videos.length > 0 && usable.length === 0) throw invalid('no video of the answer has an id and an MP4 file');
  return usable;
}

/** Milliseconds until an `X-Ratelimit-Reset` (a UNIX time in seconds; a small number is read as seconds from now). */
function resetDelayMs(value: string | null, now = Date.now()): number | undefined {
  const seconds = Number(value ?? '');
  if (!value || !Number.isFinite(seconds) || seconds < 0) return undefined;
  return seconds >= 1e9 ? Math.max(0, Math.round(seconds * 1000 - now)) : Math.round(seconds * 1000);
}

/** The `ProviderError` of a failed Pexels answer: 429 waits for Retry-After, else X-Ratelimit-Reset. */
export function pexelsFailure(label: ProviderLabel, response: Response, body: unknown, apiKey: string): ProviderError {
  const error = (body as { error?: unknown } | undefined)?.error;
  const message = typeof error === 'string' ? error : typeof body === 'string' ? body.slice(0, 500) : response.statusText;
  const retryAfterMs =
    parseRetryAfterMs(response.headers.get('retry-after')) ?? (response.status === 429 ? resetDelayMs(response.headers.get('x-ratelimit-reset')) : undefined);
  return httpFailure(label, response.status, message, { retryAfterMs, secrets: [apiKey] });
}

/** What one call has spent so far, so a failed exchange is recorded with it. */
interface Spent {
  searches: number;
  images: number;
}

export class PexelsImageProvider implements ImageProvider {
  readonly name = 'pexels';
  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly perPage: number;
  private readonly timeoutMs: number;
  private readonly downloadTimeoutMs: number;
  private readonly maxDownloadBytes: number;
  private readonly parallelDownloads: number;
  private readonly pricePerSearchUsd: number;
  private readonly search: ProviderLabel = { provider: 'pexels', operation: 'Pexels photo search' };
  private readonly download: ProviderLabel = { provider: 'pexels', operation: 'Pexels photo download' };

  constructor(private readonly options: PexelsImageOptions) {
    if (!options.apiKey) throw new Error('PexelsImageProvider needs an API key (PEXELS_API_KEY)');
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? DEFAULT_PEXELS_BASE_URL).replace(/\/+$/, '').replace(/\/v1$/, '');
    this.perPage = Math.min(80, Math.max(1, Math.round(options.perPage ?? DEFAULT_PEXELS_PER_PAGE)));
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PEXELS_TIMEOUT_MS;
    this.downloadTimeoutMs = options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS;
    this.maxDownloadBytes = options.maxDownloadBytes ?? DEFAULT_MAX_PICTURE_BYTES;
    this.parallelDownloads = Math.max(1, options.parallelDownloads ?? 4);
    this.pricePerSearchUsd = options.pricePerSearchUsd ?? 0;
  }

  async createSceneImages(request: SceneImageRequest, options: CallOptions = {}): Promise<{ images: SceneImage[]; usage: ProviderUsage }> {
    const startedAt = performance.now();
    const { look, scenes, outDir, language } = request;
    const spent: Spent = { searches: 0, images: 0 };
    await mkdir(outDir, { recursive: true });
    const workDir = await mkdtemp(join(outDir, '.pexels-'));
    try {
      const results = new Map<string, PexelsPhoto[]>();
      const searchOnce = async (query: string): Promise<PexelsPhoto[]> => {
        const key = query.toLowerCase();
        let photos = results.get(key);
        if (!photos) {
          photos = await this.searchPhotos(query, PEXELS_LOCALES[language], spent, options);
          results.set(key, photos);
        }
        return photos;
      };
      const used = new Set<number>();
      const unused = (photos: PexelsPhoto[]): PexelsPhoto | undefined => photos.find((photo) => !used.has(photo.id));
      const picks: { index: number; photo: PexelsPhoto }[] = [];
      const missing: SceneImageRequest['scenes'] = [];
      for (const [position, scene] of scenes.entries()) {
        const query = sceneQuery(scene);
        let photo = query === '' ? undefined : unused(await searchOnce(query));
        const broader = photo ? undefined : broaderQuery(query, scenes);
        if (broader) photo = unused(await searchOnce(broader));
        if (photo) {
          used.add(photo.id);
          picks.push({ index: scene.index, photo });
        } else {
          missing.push(scene);
        }
        options.onProgress?.(Math.floor(((position + 1) / scenes.length) * 40));
      }
      if (missing.length > 0 && !this.options.fallback) {
        throw new ProviderError('pexels', 'not_found', `Pexels found no photo for scene(s) ${missing.map((scene) => scene.index).join(', ')} and no fallback is configured`);
      }

      let downloaded = 0;
      const files = await runLimited(picks, this.parallelDownloads, options.signal, async ({ index, photo }, _, signal) => {
        const path = await this.downloadPhoto(photo, join(workDir, `scene-${index}`), spent, options, signal);
        downloaded += 1;
        options.onProgress?.(40 + Math.floor((downloaded / picks.length) * 50));
        return path;
      });
      const images: SceneImage[] = picks.map(({ index, photo }) => ({
        index,
        path: scenePicturePath(outDir, index),
        source: 'stock',
        credit: photo.photographer ? `Photo by ${photo.photographer} on Pexels` : 'Photo from Pexels',
      }));
      await fitPictures(
        files.map((input, i) => ({ input, output: (images[i] as SceneImage).path })),
        look.width,
        look.height,
        { signal: options.signal, timeoutMs: this.options.ffmpegTimeoutMs, ffmpegPath: this.options.ffmpegPath },
      );
      if (missing.length > 0 && this.options.fallback) {
        const fallback = await this.options.fallback.createSceneImages({ ...request, scenes: missing }, { ...options, onProgress: undefined });
        images.push(...fallback.images);
      }
      options.onProgress?.(100);
      const order = new Map(scenes.map((scene, position) => [scene.index, position]));
      images.sort((a, b) => (order.get(a.index) ?? 0) - (order.get(b.index) ?? 0));
      return { images, usage: { ...this.spentUsage(spent), durationMs: Math.round(performance.now() - startedAt), statusCode: 200 } };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private spentUsage(spent: Spent): Omit<ProviderUsage, 'durationMs'> {
    return {
      service: 'pexels',
      operation: 'image_search',
      inputUnits: spent.searches,
      outputUnits: spent.images,
      estimatedCostUsd: Math.round(spent.searches * this.pricePerSearchUsd * 1e8) / 1e8,
    };
  }

  private async searchPhotos(query: string, locale: string, spent: Spent, options: CallOptions): Promise<PexelsPhoto[]> {
    const params = new URLSearchParams({ query, orientation: 'portrait', per_page: String(this.perPage), locale });
    const startedAt = performance.now();
    try {
      const photos = await withSlot(this.options.slot, options.signal, async () => {
        const response = await sendRequest(
          this.search,
          `${this.baseUrl}/v1/search?${params.toString()}`,
          { method: 'GET', headers: { authorization: this.apiKey, accept: 'application/json' } },
          this.timeoutMs,
          [this.apiKey],
          options.signal,
        );
        const body = await readBody(response, 4_000_000);
        if (!response.ok) throw pexelsFailure(this.search, response, body, this.apiKey);
        return readPexelsPhotos(body, response.status);
      });
      spent.searches += 1;
      return photos;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw await recordFailedCall(options, { ...this.spentUsage(spent), startedAt }, error);
    }
  }

  private async downloadPhoto(photo: PexelsPhoto, pathWithoutExtension: string, spent: Spent, options: CallOptions, signal: AbortSignal): Promise<string> {
    const startedAt = performance.now();
    try {
      const path = await withSlot(this.options.slot, signal, () =>
        downloadPicture(this.download, photo.url, pathWithoutExtension, {
          timeoutMs: this.downloadTimeoutMs,
          maxBytes: this.maxDownloadBytes,
          secrets: [this.apiKey],
          signal,
        }),
      );
      spent.images += 1;
      return path;
    } catch (error) {
      if (signal.aborted) throw error;
      throw await recordFailedCall(options, { ...this.spentUsage(spent), operation: 'image_download', startedAt }, error);
    }
  }
}
