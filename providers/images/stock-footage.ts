import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runLimited, withSlot, type ConcurrencySlot } from '../concurrency';
import { ProviderError } from '../errors';
import { readBody, recordFailedCall, sendRequest, type ProviderLabel } from '../http';
import { estimateSpeechSeconds } from '../script/text';
import type { CallOptions, ImageProvider, Language, ProviderUsage, SceneImage, SceneImageRequest, TemplateLook } from '../types';
import {
  chooseVideoFile,
  DEFAULT_DOWNLOAD_TIMEOUT_MS,
  DEFAULT_MAX_CLIP_BYTES,
  DEFAULT_MAX_PICTURE_BYTES,
  downloadClip,
  downloadPicture,
  fitPictures,
  scenePicturePath,
} from './fit';
import { broaderQuery, DEFAULT_PEXELS_BASE_URL, PEXELS_LOCALES, pexelsFailure, readPexelsPhotos, readPexelsVideos, sceneQuery } from './pexels';
import { DEFAULT_PIXABAY_BASE_URL, PIXABAY_LANGS, pixabayFailure, readPixabayPhotos, readPixabayVideos } from './pixabay';

/**
 * Scene media from stock libraries: a clip where one fits, a photo where no clip does, the
 * fallback provider's card where nothing does. Each scene searches its keywords (else the longest
 * words of its text, `sceneQuery`), in this order: Pexels videos, Pixabay videos, Pexels photos,
 * Pixabay photos — every source whose key is configured —, then the same with the broader query
 * (`broaderQuery`). A clip fits when one of its renditions keeps at least half of its picture once
 * cropped to the frame (`chooseVideoFile`); among fitting clips the first as long as the scene is
 * taken, else the longest (the renderer loops it). No clip or photo is used twice in one call.
 * Clips are kept as downloaded (`scene-NN.mp4`: the renderer cuts, loops, scales and crops them),
 * photos fitted to the frame (`scene-NN.png`). Authors are credited ("Video by … on Pexels").
 *
 * A source that fails (HTTP error, unreadable answer) is recorded and not asked again in the call;
 * the call fails with that error only when every source failed. A download that fails is recorded
 * and its scene gets the fallback's card. Without a fallback, a scene nothing is found for fails the
 * call (`not_found`).
 */

export const DEFAULT_STOCK_TIMEOUT_MS = 15_000;
export const DEFAULT_STOCK_PER_PAGE = 15;

export interface StockFootageOptions {
  pexels?: { apiKey: string; baseUrl?: string };
  pixabay?: { apiKey: string; baseUrl?: string };
  /** Results asked per search (Pexels allows 1–80, Pixabay 3–200). */
  perPage?: number;
  timeoutMs?: number;
  downloadTimeoutMs?: number;
  maxClipBytes?: number;
  maxPictureBytes?: number;
  parallelDownloads?: number;
  /** Makes the media of scenes no source has anything for (the local scene cards in production). */
  fallback?: ImageProvider;
  slot?: ConcurrencySlot;
  ffmpegPath?: string;
  ffmpegTimeoutMs?: number;
}

type StockSource = 'pexels' | 'pixabay';
type FootageKind = 'video' | 'image';

/** A clip (with the rendition chosen for the frame) or a photo a search found. */
interface Footage {
  source: StockSource;
  kind: FootageKind;
  id: number;
  author: string;
  url: string;
  durationSec: number;
}

interface Searcher {
  source: StockSource;
  kind: FootageKind;
  search(query: string, context: SearchContext): Promise<Footage[]>;
}

interface SearchContext {
  look: TemplateLook;
  language: Language;
  signal?: AbortSignal;
}

const SOURCE_NAMES: Readonly<Record<StockSource, string>> = { pexels: 'Pexels', pixabay: 'Pixabay' };

/** The frame's orientation as Pexels names it. */
function orientationOf(look: TemplateLook): 'portrait' | 'landscape' | 'square' {
  if (look.width === look.height) return 'square';
  return look.height > look.width ? 'portrait' : 'landscape';
}

/** The credit a scene's description owes its author. */
function creditOf(footage: Footage): string {
  const what = footage.kind === 'video' ? 'Video' : 'Photo';
  const where = SOURCE_NAMES[footage.source];
  return footage.author ? `${what} by ${footage.author} on ${where}` : `${what} from ${where}`;
}

const keyOf = (footage: Footage): string => `${footage.source}:${footage.kind}:${footage.id}`;

/** The clip to take: the first as long as the scene, else the longest; for photos the first. */
function pick(found: readonly Footage[], used: ReadonlySet<string>, sceneSec: number): Footage | undefined {
  const fresh = found.filter((footage) => !used.has(keyOf(footage)));
  if (fresh[0]?.kind !== 'video') return fresh[0];
  return fresh.find((clip) => clip.durationSec >= sceneSec) ?? fresh.reduce<Footage | undefined>((best, clip) => (!best || clip.durationSec > best.durationSec ? clip : best), undefined);
}

interface Spent {
  searches: number;
  downloads: number;
}

export class StockFootageProvider implements ImageProvider {
  readonly name = 'stock';
  private readonly searchers: Searcher[];
  private readonly secrets: string[];
  private readonly perPage: number;
  private readonly timeoutMs: number;

  constructor(private readonly options: StockFootageOptions) {
    const { pexels, pixabay } = options;
    if (!pexels?.apiKey && !pixabay?.apiKey) throw new Error('StockFootageProvider needs a Pexels or a Pixabay API key (PEXELS_API_KEY, PIXABAY_API_KEY)');
    this.secrets = [pexels?.apiKey, pixabay?.apiKey].filter((key): key is string => Boolean(key));
    this.perPage = Math.round(options.perPage ?? DEFAULT_STOCK_PER_PAGE);
    this.timeoutMs = options.timeoutMs ?? DEFAULT_STOCK_TIMEOUT_MS;
    const pexelsSearch = pexels?.apiKey ? this.pexelsSearchers(pexels.apiKey, pexels.baseUrl ?? DEFAULT_PEXELS_BASE_URL) : undefined;
    const pixabaySearch = pixabay?.apiKey ? this.pixabaySearchers(pixabay.apiKey, pixabay.baseUrl ?? DEFAULT_PIXABAY_BASE_URL) : undefined;
    this.searchers = [pexelsSearch?.video, pixabaySearch?.video, pexelsSearch?.image, pixabaySearch?.image].filter((searcher): searcher is Searcher => Boolean(searcher));
  }

  async createSceneImages(request: SceneImageRequest, options: CallOptions = {}): Promise<{ images: SceneImage[]; usage: ProviderUsage }> {
    const startedAt = performance.now();
    const { look, scenes, outDir, language } = request;
    const spent: Spent = { searches: 0, downloads: 0 };
    await mkdir(outDir, { recursive: true });
    const workDir = await mkdtemp(join(outDir, '.stock-'));
    try {
      const context: SearchContext = { look, language, signal: options.signal };
      const results = new Map<string, Promise<Footage[]>>();
      const down = new Set<StockSource>();
      const searchOnce = async (searcher: Searcher, query: string): Promise<Footage[]> => {
        if (down.has(searcher.source)) return [];
        const key = `${searcher.source}:${searcher.kind}:${query.toLowerCase()}`;
        let found = results.get(key);
        if (!found) {
          found = this.search(searcher, query, context, spent, options);
          results.set(key, found);
        }
        try {
          return await found;
        } catch (error) {
          if (options.signal?.aborted) throw error;
          down.add(searcher.source);
          if (this.searchers.every((each) => down.has(each.source))) throw error;
          return [];
        }
      };

      const used = new Set<string>();
      const picks: { index: number; footage: Footage }[] = [];
      const missing: SceneImageRequest['scenes'] = [];
      for (const [position, scene] of scenes.entries()) {
        // The media step makes the pictures while the speech is made, so a scene's length is
        // usually not known yet: it is then estimated from its text.
        const sceneSec = scene.durationSec ?? estimateSpeechSeconds(scene.text, language);
        const query = sceneQuery(scene);
        let footage: Footage | undefined;
        for (const q of [query, query === '' ? undefined : broaderQuery(query, scenes)]) {
          if (!q) continue;
          for (const searcher of this.searchers) {
            footage = pick(await searchOnce(searcher, q), used, sceneSec);
            if (footage) break;
          }
          if (footage) break;
        }
        if (footage) {
          used.add(keyOf(footage));
          picks.push({ index: scene.index, footage });
        } else {
          missing.push(scene);
        }
        options.onProgress?.(Math.floor(((position + 1) / scenes.length) * 40));
      }

      let finished = 0;
      const downloaded = await runLimited(picks, Math.max(1, this.options.parallelDownloads ?? 4), options.signal, async ({ index, footage }, _, signal) => {
        const path = await this.download(footage, footage.kind === 'video' ? join(outDir, `scene-${String(index).padStart(2, '0')}.mp4`) : join(workDir, `scene-${index}`), spent, options, signal);
        finished += 1;
        options.onProgress?.(40 + Math.floor((finished / picks.length) * 50));
        return path;
      });
      const images: SceneImage[] = [];
      const photos: { input: string; output: string }[] = [];
      picks.forEach(({ index, footage }, i) => {
        const path = downloaded[i];
        const scene = scenes.find((each) => each.index === index);
        if (path === undefined) {
          if (scene) missing.push(scene);
          return;
        }
        const output = footage.kind === 'video' ? path : scenePicturePath(outDir, index);
        if (footage.kind === 'image') photos.push({ input: path, output });
        images.push({ index, path: output, kind: footage.kind, source: 'stock', credit: creditOf(footage) });
      });
      await fitPictures(photos, look.width, look.height, { signal: options.signal, timeoutMs: this.options.ffmpegTimeoutMs, ffmpegPath: this.options.ffmpegPath });
      if (missing.length > 0) {
        if (!this.options.fallback) {
          throw new ProviderError('stock', 'not_found', `no stock clip or photo for scene(s) ${missing.map((scene) => scene.index).join(', ')} and no fallback is configured`);
        }
        const fallback = await this.options.fallback.createSceneImages({ ...request, scenes: missing }, { ...options, onProgress: undefined });
        images.push(...fallback.images);
      }
      options.onProgress?.(100);
      const order = new Map(scenes.map((scene, position) => [scene.index, position]));
      images.sort((a, b) => (order.get(a.index) ?? 0) - (order.get(b.index) ?? 0));
      return { images, usage: { ...this.spentUsage(spent, 'footage_search'), durationMs: Math.round(performance.now() - startedAt), statusCode: 200 } };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private spentUsage(spent: Spent, operation: string): Omit<ProviderUsage, 'durationMs'> {
    return { service: 'stock', operation, inputUnits: spent.searches, outputUnits: spent.downloads, estimatedCostUsd: 0 };
  }

  private async search(searcher: Searcher, query: string, context: SearchContext, spent: Spent, options: CallOptions): Promise<Footage[]> {
    const startedAt = performance.now();
    try {
      const found = await withSlot(this.options.slot, options.signal, () => searcher.search(query, context));
      spent.searches += 1;
      return found;
    } catch (error) {
      if (options.signal?.aborted) throw error;
      throw await recordFailedCall(options, { ...this.spentUsage(spent, `${searcher.source}_${searcher.kind}_search`), startedAt }, error);
    }
  }

  /** The downloaded file, or undefined when the download failed (recorded) and the scene is left to the fallback. */
  private async download(footage: Footage, path: string, spent: Spent, options: CallOptions, signal: AbortSignal): Promise<string | undefined> {
    const startedAt = performance.now();
    const label: ProviderLabel = { provider: footage.source, operation: `${SOURCE_NAMES[footage.source]} ${footage.kind === 'video' ? 'clip' : 'photo'} download` };
    const limits = {
      timeoutMs: this.options.downloadTimeoutMs ?? DEFAULT_DOWNLOAD_TIMEOUT_MS,
      secrets: this.secrets,
      signal,
    };
    try {
      const file = await withSlot(this.options.slot, signal, () =>
        footage.kind === 'video'
          ? downloadClip(label, footage.url, path, { ...limits, maxBytes: this.options.maxClipBytes ?? DEFAULT_MAX_CLIP_BYTES })
          : downloadPicture(label, footage.url, path, { ...limits, maxBytes: this.options.maxPictureBytes ?? DEFAULT_MAX_PICTURE_BYTES }),
      );
      spent.downloads += 1;
      return file;
    } catch (error) {
      if (signal.aborted) throw error;
      await recordFailedCall(options, { ...this.spentUsage(spent, `${footage.source}_${footage.kind}_download`), startedAt }, error);
      if (!this.options.fallback) throw error;
      return undefined;
    }
  }

  /** GET with the key in `headers` or the URL, the answer read as JSON; a non-2xx answer becomes the source's `ProviderError`. */
  private async getJson(label: ProviderLabel, url: string, headers: Record<string, string>, failure: (response: Response, body: unknown) => ProviderError, signal?: AbortSignal): Promise<{ body: unknown; status: number }> {
    const response = await sendRequest(label, url, { method: 'GET', headers: { accept: 'application/json', ...headers } }, this.timeoutMs, this.secrets, signal);
    const body = await readBody(response, 4_000_000);
    if (!response.ok) throw failure(response, body);
    return { body, status: response.status };
  }

  private pexelsSearchers(apiKey: string, baseUrl: string): { video: Searcher; image: Searcher } {
    const base = baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
    const perPage = String(Math.min(80, Math.max(1, this.perPage)));
    const get = (label: ProviderLabel, url: string, signal?: AbortSignal) => this.getJson(label, url, { authorization: apiKey }, (response, body) => pexelsFailure(label, response, body, apiKey), signal);
    const videoLabel: ProviderLabel = { provider: 'pexels', operation: 'Pexels video search' };
    const photoLabel: ProviderLabel = { provider: 'pexels', operation: 'Pexels photo search' };
    return {
      video: {
        source: 'pexels',
        kind: 'video',
        search: async (query, { look, language, signal }) => {
          const longSide = Math.max(look.width, look.height);
          const size = longSide > 1920 ? 'large' : longSide > 1280 ? 'medium' : 'small';
          const params = new URLSearchParams({ query, orientation: orientationOf(look), size, per_page: perPage, locale: PEXELS_LOCALES[language] });
          const { body, status } = await get(videoLabel, `${base}/videos/search?${params.toString()}`, signal);
          return readPexelsVideos(body, status).flatMap((video) => {
            const file = chooseVideoFile(video.files, look);
            return file ? [{ source: 'pexels' as const, kind: 'video' as const, id: video.id, author: video.user, url: file.url, durationSec: video.durationSec }] : [];
          });
        },
      },
      image: {
        source: 'pexels',
        kind: 'image',
        search: async (query, { look, language, signal }) => {
          const orientation = orientationOf(look);
          const params = new URLSearchParams({ query, orientation, per_page: perPage, locale: PEXELS_LOCALES[language] });
          const { body, status } = await get(photoLabel, `${base}/v1/search?${params.toString()}`, signal);
          return readPexelsPhotos(body, status, orientation === 'portrait').map((photo) => ({ source: 'pexels' as const, kind: 'image' as const, id: photo.id, author: photo.photographer, url: photo.url, durationSec: 0 }));
        },
      },
    };
  }

  private pixabaySearchers(apiKey: string, baseUrl: string): { video: Searcher; image: Searcher } {
    const base = baseUrl.replace(/\/+$/, '').replace(/\/api$/, '');
    const perPage = String(Math.min(200, Math.max(3, this.perPage)));
    const get = (label: ProviderLabel, url: string, signal?: AbortSignal) => this.getJson(label, url, {}, (response, body) => pixabayFailure(label, response, body, apiKey), signal);
    const params = (query: string, language: Language, extra: Record<string, string>): string => {
      const lang = PIXABAY_LANGS[language];
      return new URLSearchParams({ key: apiKey, q: query, per_page: perPage, safesearch: 'true', ...(lang ? { lang } : {}), ...extra }).toString();
    };
    const videoLabel: ProviderLabel = { provider: 'pixabay', operation: 'Pixabay video search' };
    const photoLabel: ProviderLabel = { provider: 'pixabay', operation: 'Pixabay photo search' };
    return {
      video: {
        source: 'pixabay',
        kind: 'video',
        search: async (query, { look, language, signal }) => {
          const { body, status } = await get(videoLabel, `${base}/api/videos/?${params(query, language, {})}`, signal);
          return readPixabayVideos(body, status).flatMap((video) => {
            const file = chooseVideoFile(video.files, look);
            return file ? [{ source: 'pixabay' as const, kind: 'video' as const, id: video.id, author: video.user, url: file.url, durationSec: video.durationSec }] : [];
          });
        },
      },
      image: {
        source: 'pixabay',
        kind: 'image',
        search: async (query, { look, language, signal }) => {
          const orientation = orientationOf(look);
          const extra: Record<string, string> = { image_type: 'photo', ...(orientation === 'square' ? {} : { orientation: orientation === 'portrait' ? 'vertical' : 'horizontal' }) };
          const { body, status } = await get(photoLabel, `${base}/api/?${params(query, language, extra)}`, signal);
          return readPixabayPhotos(body, status).map((photo) => ({ source: 'pixabay' as const, kind: 'image' as const, id: photo.id, author: photo.user, url: photo.url, durationSec: 0 }));
        },
      },
    };
  }
}
