import { createHash } from 'node:crypto';
import type { JsonObject, JsonValue } from '../../db/models/json';
import { PermanentProviderError } from '../errors';
import { cleanText, truncate } from '../script/text';
import { DEFAULT_MAX_ITEMS, MAX_ITEMS_LIMIT, type SourceFetchRequest, type SourceItem } from './types';

/** Helpers every source client shares: item keys, plain text, the `since` bound and the final selection. */

const MAX_TITLE_CHARS = 300;
const MAX_SUMMARY_CHARS = 2000;

/** A durable key from a namespace and the provider's own id (a guid, a link): the id's SHA-256, shortened. */
export function hashedKey(namespace: string, id: string): string {
  return `${namespace}:${createHash('sha256').update(id.trim()).digest('hex').slice(0, 32)}`;
}

/**
 * Inline elements go without a trace, so "<b>SK하이닉스</b>의" keeps its particle attached;
 * `cleanText` then turns the remaining (block) tags into breaks.
 */
const INLINE_TAGS = /<\/?(a|abbr|b|bdi|cite|code|em|font|i|mark|q|s|small|span|strong|sub|sup|u)\b[^>]*>/gi;

/** One line of plain text (titles): HTML stripped, entities decoded, bounded. */
export function plainLine(value: string, max = MAX_TITLE_CHARS): string {
  return truncate(cleanText(value.replace(INLINE_TAGS, '')).replace(/\s+/g, ' '), max);
}

/** Plain text keeping line breaks (summaries): HTML stripped, entities decoded, bounded. */
export function plainText(value: string, max = MAX_SUMMARY_CHARS): string {
  return truncate(cleanText(value.replace(INLINE_TAGS, '')), max);
}

/** A date from an RFC 822, ISO 8601 or similar string; undefined when unreadable. */
export function parseDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const time = Date.parse(value.trim());
  return Number.isNaN(time) ? undefined : new Date(time);
}

/** The request's `since` as a date; a value that is not one is the caller's error. */
export function sinceOf(request: SourceFetchRequest): Date | undefined {
  if (request.since === undefined || request.since === null) return undefined;
  const since = request.since instanceof Date ? request.since : new Date(request.since);
  if (Number.isNaN(since.getTime())) throw new PermanentProviderError(`since is not a date: ${String(request.since)}`);
  return since;
}

export function maxItemsOf(request: SourceFetchRequest): number {
  const max = request.maxItems ?? DEFAULT_MAX_ITEMS;
  return Math.max(1, Math.min(MAX_ITEMS_LIMIT, Math.floor(max)));
}

/** True when an item dated `publishedAt` is new after `since` (undated items always are). */
export function isAfter(publishedAt: Date | undefined, since: Date | undefined): boolean {
  return !since || !publishedAt || publishedAt.getTime() > since.getTime();
}

/**
 * True when the text holds one of the keywords, ignoring case (no keywords: every text). A keyword
 * starting with a Latin letter or digit must start a word ("ai" is not found in "daily", "senior"
 * is in "seniors"); Korean keywords match anywhere, since particles attach to the word.
 */
export function matchesKeywords(text: string, keywords: readonly string[] | undefined): boolean {
  const patterns = (keywords ?? [])
    .map((keyword) => keyword.normalize('NFC').trim())
    .filter((keyword) => keyword !== '')
    .map((keyword) => {
      const escaped = keyword.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return new RegExp(/^[\p{Script=Latin}\d]/u.test(keyword) ? `(?<![\\p{Script=Latin}\\d])${escaped}` : escaped, 'iu');
    });
  if (patterns.length === 0) return true;
  const haystack = text.normalize('NFC');
  return patterns.some((pattern) => pattern.test(haystack));
}

/** The first item of each key, newest first (undated last, in their order), at most `max`. */
export function newestFirst(items: readonly SourceItem[], max: number): SourceItem[] {
  const seen = new Set<string>();
  const unique = items.filter((item) => !seen.has(item.key) && seen.add(item.key));
  const time = (item: SourceItem): number => (item.publishedAt ? Date.parse(item.publishedAt) : -Infinity);
  return unique
    .map((item, index) => ({ item, index }))
    .sort((a, b) => time(b.item) - time(a.item) || a.index - b.index)
    .map(({ item }) => item)
    .slice(0, max);
}

/** A JSON object without its undefined and empty values, so `source_data` stays small. */
export function compactJson(fields: Record<string, JsonValue | undefined>): JsonObject {
  const result: JsonObject = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    result[name] = value;
  }
  return result;
}
