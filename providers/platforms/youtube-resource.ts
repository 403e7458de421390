import { ProviderError } from '../errors';

/**
 * The `snippet` and `status` parts of a YouTube video resource, cleaned to YouTube's published
 * limits (title ≤ 100 characters, description ≤ 5000 bytes, tags ≤ 500 characters, no angle
 * brackets) so that an upload does not fail late on a detail.
 */

export type YouTubePrivacyStatus = 'private' | 'unlisted' | 'public';

export interface YouTubeVideoMetadata {
  title: string;
  description?: string;
  tags?: string[];
  /** YouTube's numeric category; 22 (People & Blogs) when absent. */
  categoryId?: string;
  privacyStatus: YouTubePrivacyStatus;
  /** Scheduled publication; YouTube accepts it only on private videos. */
  publishAt?: Date | string;
  /** Declared explicitly on every upload: YouTube refuses or restricts uploads that leave it unset. */
  madeForKids: boolean;
  /** YouTube's altered or synthetic content disclosure (`status.containsSyntheticMedia`), declared on every upload. */
  containsSyntheticMedia: boolean;
  /** BCP-47 language of the title, description and speech, e.g. `ko`. */
  language?: string;
}

export interface YouTubeVideoResource {
  snippet: {
    title: string;
    description: string;
    tags: string[];
    categoryId: string;
    defaultLanguage?: string;
    defaultAudioLanguage?: string;
  };
  status: { privacyStatus: YouTubePrivacyStatus; selfDeclaredMadeForKids: boolean; containsSyntheticMedia: boolean; publishAt?: string };
}

const TITLE_MAX_CHARS = 100;
/** YouTube's longest description, in UTF-8 bytes. */
export const YOUTUBE_DESCRIPTION_MAX_BYTES = 5000;
const TAGS_MAX_CHARS = 500;
const DEFAULT_CATEGORY_ID = '22';

function clean(text: string): string {
  return text.replace(/[<>]/g, '').replace(/(?![\n\r\t])\p{Cc}/gu, '');
}

function truncateCodePoints(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : points.slice(0, max).join('');
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let result = '';
  for (const point of text) {
    bytes += Buffer.byteLength(point);
    if (bytes > maxBytes) break;
    result += point;
  }
  return result;
}

/** Keeps tags in order while their total stays within YouTube's limit (a tag with a space counts its quotes). */
function fitTags(tags: readonly string[]): string[] {
  const seen = new Set<string>();
  const kept: string[] = [];
  let length = 0;
  for (const raw of tags) {
    const tag = clean(raw).replace(/,/g, ' ').replace(/\s+/g, ' ').trim();
    const key = tag.toLowerCase();
    if (tag === '' || seen.has(key)) continue;
    const cost = Array.from(tag).length + (tag.includes(' ') ? 2 : 0) + (kept.length > 0 ? 1 : 0);
    if (length + cost > TAGS_MAX_CHARS) break;
    seen.add(key);
    kept.push(tag);
    length += cost;
  }
  return kept;
}

export function buildVideoResource(metadata: YouTubeVideoMetadata): YouTubeVideoResource {
  const title = truncateCodePoints(clean(metadata.title).replace(/\s+/g, ' ').trim(), TITLE_MAX_CHARS).trim();
  if (title === '') throw new ProviderError('youtube', 'bad_request', 'YouTube upload: the title is empty');
  let publishAt: string | undefined;
  if (metadata.publishAt !== undefined) {
    if (metadata.privacyStatus !== 'private') {
      throw new ProviderError('youtube', 'bad_request', 'YouTube upload: publishAt requires privacyStatus "private"');
    }
    const at = new Date(metadata.publishAt);
    if (Number.isNaN(at.getTime())) throw new ProviderError('youtube', 'bad_request', 'YouTube upload: publishAt is not a valid date');
    publishAt = at.toISOString();
  }
  const snippet: YouTubeVideoResource['snippet'] = {
    title,
    description: truncateUtf8(clean(metadata.description ?? ''), YOUTUBE_DESCRIPTION_MAX_BYTES),
    tags: fitTags(metadata.tags ?? []),
    categoryId: metadata.categoryId ?? DEFAULT_CATEGORY_ID,
  };
  if (metadata.language) {
    snippet.defaultLanguage = metadata.language;
    snippet.defaultAudioLanguage = metadata.language;
  }
  const status: YouTubeVideoResource['status'] = {
    privacyStatus: metadata.privacyStatus,
    selfDeclaredMadeForKids: metadata.madeForKids,
    containsSyntheticMedia: metadata.containsSyntheticMedia,
  };
  if (publishAt) status.publishAt = publishAt;
  return { snippet, status };
}
