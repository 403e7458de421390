import { ProviderError } from '../errors';
import { httpFailure, parseRetryAfterMs, type ProviderLabel } from '../http';
import type { Language } from '../types';
import { isHttpUrl, type VideoFile } from './fit';

/**
 * The Pixabay API as the stock footage provider reads it: `GET {base}/api/videos/?key=&q=` (hits
 * with `videos.{large,medium,small,tiny}.{url,width,height}`, `duration`, `user`) and
 * `GET {base}/api/?key=&q=&image_type=photo&orientation=` (hits with `largeImageURL`, `user`). The
 * key travels in the query string, so every message is redacted of it. Errors are plain text
 * ("[ERROR 400] …") with the HTTP status; a 429 carries `X-RateLimit-Reset`, the seconds left in
 * the window.
 */

export const DEFAULT_PIXABAY_BASE_URL = 'https://pixabay.com';

export interface PixabayVideo {
  id: number;
  user: string;
  durationSec: number;
  files: VideoFile[];
}

export interface PixabayPhoto {
  id: number;
  user: string;
  url: string;
}

/** Pixabay's `lang` for the content languages it knows (it has no Hindi or Arabic: English is searched). */
export const PIXABAY_LANGS: Readonly<Partial<Record<Language, string>>> = {
  ko: 'ko',
  en: 'en',
  ja: 'ja',
  zh: 'zh',
  es: 'es',
  fr: 'fr',
  de: 'de',
  pt: 'pt',
};

const RENDITIONS = ['large', 'medium', 'small', 'tiny'] as const;

function hitsOf(body: unknown, statusCode: number, what: string): Record<string, unknown>[] {
  const invalid = (why: string): ProviderError => new ProviderError('pixabay', 'invalid_response', `Pixabay ${what} search: ${why}`, { statusCode });
  if (!body || typeof body !== 'object') throw invalid('the answer is not a JSON object');
  const { hits } = body as { hits?: unknown };
  if (!Array.isArray(hits)) throw invalid('the answer has no hits list');
  return hits.filter((hit): hit is Record<string, unknown> => Boolean(hit) && typeof hit === 'object');
}

const userOf = (hit: Record<string, unknown>): string => (typeof hit.user === 'string' ? hit.user.trim() : '');

/** The videos of an answer with at least one rendition (Pixabay leaves `url` empty for renditions it lacks). */
export function readPixabayVideos(body: unknown, statusCode: number): PixabayVideo[] {
  const hits = hitsOf(body, statusCode, 'video');
  const usable = hits.flatMap((hit) => {
    const videos = (hit.videos ?? {}) as Record<string, { url?: unknown; width?: unknown; height?: unknown } | undefined>;
    const files = RENDITIONS.flatMap((name) => {
      const file = videos[name];
      return file && isHttpUrl(file.url) && typeof file.width === 'number' && typeof file.height === 'number' ? [{ url: file.url, width: file.width, height: file.height }] : [];
    });
    if (typeof hit.id !== 'number' || files.length === 0) return [];
    return [{ id: hit.id, user: userOf(hit), durationSec: typeof hit.duration === 'number' ? hit.duration : 0, files }];
  });
  if (hits.length > 0 && usable.length === 0) throw new ProviderError('pixabay', 'invalid_response', 'Pixabay video search: no hit of the answer has an id and a video link', { statusCode });
  return usable;
}

/** The photos of an answer with a `largeImageURL`. */
export function readPixabayPhotos(body: unknown, statusCode: number): PixabayPhoto[] {
  const hits = hitsOf(body, statusCode, 'photo');
  const usable = hits.flatMap((hit) => (typeof hit.id === 'number' && isHttpUrl(hit.largeImageURL) ? [{ id: hit.id, user: userOf(hit), url: hit.largeImageURL }] : []));
  if (hits.length > 0 && usable.length === 0) throw new ProviderError('pixabay', 'invalid_response', 'Pixabay photo search: no hit of the answer has an id and a picture link', { statusCode });
  return usable;
}

/** The `ProviderError` of a failed Pixabay answer: its text, the key redacted; 429 waits for Retry-After, else X-RateLimit-Reset. */
export function pixabayFailure(label: ProviderLabel, response: Response, body: unknown, apiKey: string): ProviderError {
  const message = typeof body === 'string' ? body.slice(0, 500) : JSON.stringify(body ?? response.statusText).slice(0, 500);
  const reset = Number(response.headers.get('x-ratelimit-reset') ?? '');
  const retryAfterMs =
    parseRetryAfterMs(response.headers.get('retry-after')) ?? (response.status === 429 && Number.isFinite(reset) && reset > 0 ? Math.round(reset * 1000) : undefined);
  return httpFailure(label, response.status, message, { retryAfterMs, secrets: [apiKey] });
}
