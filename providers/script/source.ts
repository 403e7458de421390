import { PermanentProviderError } from '../errors';
import type { Language } from '../types';
import { PHRASES, fill } from './phrases';
import { cleanText, splitSentences, truncate } from './text';

/**
 * Reads what a data source produced (seed §3.6.1: an RSS item, a finance summary, a keyword or
 * news item, a YouTube video) into one digest: a headline, candidate sentences, a link and
 * explicit keywords. Source data is untrusted: every string is bounded and cleaned here.
 */

export type SourceKind = 'topic' | 'article' | 'video' | 'news' | 'finance';

export interface SourceDigest {
  kind: SourceKind;
  headline: string;
  sentences: string[];
  /** True when `sentences` are already in order of importance (generated facts). */
  ranked: boolean;
  link?: string;
  keywords: string[];
}

/** Longest raw string read from source data; the rest of a hostile or huge field is ignored. */
const MAX_FIELD_CHARS = 20_000;
const MAX_LIST_ITEMS = 30;
const TEXT_FIELDS = ['summary', 'description', 'content', 'contentSnippet', 'snippet', 'text', 'body', 'abstract'];
const TITLE_FIELDS = ['title', 'headline', 'name'];

type Data = Record<string, unknown>;

function field(data: Data, names: readonly string[]): string {
  for (const name of names) {
    const value = data[name];
    if (typeof value === 'string' && value.trim() !== '') return cleanText(value.slice(0, MAX_FIELD_CHARS));
  }
  return '';
}

function stringList(value: unknown): string[] {
  const items = Array.isArray(value) ? value.slice(0, MAX_LIST_ITEMS) : [value];
  return items.flatMap((item) => {
    if (typeof item === 'string') return [cleanText(item.slice(0, 200))];
    const term = (item as { term?: unknown; name?: unknown } | null)?.term ?? (item as { name?: unknown } | null)?.name;
    return typeof term === 'string' ? [cleanText(term.slice(0, 200))] : [];
  }).filter((text) => text !== '');
}

function safeLink(data: Data): string | undefined {
  const raw = data.link ?? data.url ?? data.source_url;
  if (typeof raw !== 'string' || raw.length > 500) return undefined;
  try {
    const url = new URL(raw.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Data {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 });

function financeDigest(data: Data, symbols: unknown[], language: Language): SourceDigest {
  const text = PHRASES[language]?.finance;
  if (!text) throw new PermanentProviderError(`no finance wording in language "${language}"`);
  const rows = symbols.slice(0, MAX_LIST_ITEMS).flatMap((row) => {
    if (!isRecord(row) || typeof row.symbol !== 'string' || !/^[A-Za-z0-9.^=-]{1,15}$/.test(row.symbol)) return [];
    const close = Number(row.close ?? row.price);
    const change = Number(row.changePct ?? row.change_pct ?? row.changePercent);
    return Number.isFinite(close) ? [{ symbol: row.symbol.toUpperCase(), close, change: Number.isFinite(change) ? change : 0 }] : [];
  });
  const byMove = [...rows].sort((a, b) => Math.abs(b.change) - Math.abs(a.change) || a.symbol.localeCompare(b.symbol));
  const facts = byMove.map(({ symbol, close, change }) => {
    const pct = numberFormat.format(Math.abs(change));
    const direction = Math.abs(change) < 0.05 ? text.flat : fill(change > 0 ? text.up : text.down, { pct });
    return fill(text.fact, { symbol, close: numberFormat.format(close), direction });
  });
  const up = rows.filter((row) => row.change >= 0.05).length;
  const down = rows.filter((row) => row.change <= -0.05).length;
  // With many symbols the breadth of the market comes first; with few, each move speaks for itself.
  const sentences = rows.length > 3 ? [fill(text.summary, { up, down, count: rows.length }), ...facts] : facts;
  const named = field(data, TITLE_FIELDS);
  const listed = new Intl.ListFormat(language, { type: 'conjunction' }).format(byMove.slice(0, 3).map((row) => row.symbol));
  const headline = named || fill(text.headline, { symbols: listed });
  return { kind: 'finance', headline, sentences, ranked: true, link: safeLink(data), keywords: byMove.slice(0, 5).map((row) => row.symbol) };
}

/** A keyword source's result: several news items under one keyword. */
function newsDigest(data: Data, items: unknown[]): SourceDigest {
  const records = items.slice(0, MAX_LIST_ITEMS).filter(isRecord);
  const keywords = stringList(data.keywords ?? data.keyword ?? []);
  const sentences = records.flatMap((item) => {
    const title = field(item, TITLE_FIELDS);
    const first = splitSentences(field(item, TEXT_FIELDS)).slice(0, 2);
    return title ? [/[.!?。]$/.test(title) ? title : `${title}.`, ...first] : first;
  });
  const headline = field(data, TITLE_FIELDS) || keywords.join(', ') || (records[0] ? field(records[0], TITLE_FIELDS) : '');
  return { kind: 'news', headline, sentences, ranked: false, link: records[0] ? safeLink(records[0]) : undefined, keywords };
}

/** Every string value two levels deep, for source data of an unknown shape. */
function anyText(data: Data): string {
  const parts: string[] = [];
  for (const value of Object.values(data).slice(0, MAX_LIST_ITEMS)) {
    if (typeof value === 'string' && !/^https?:\/\//.test(value)) parts.push(value.slice(0, MAX_FIELD_CHARS));
    else if (isRecord(value)) parts.push(...Object.values(value).filter((v): v is string => typeof v === 'string').map((v) => v.slice(0, MAX_FIELD_CHARS)));
  }
  return cleanText(parts.join('\n').slice(0, MAX_FIELD_CHARS));
}

export function digestSource(sourceData: Data | undefined, topic: string, language: Language): SourceDigest {
  const digest = readSource(sourceData, topic, language);
  // Data without a title still has a subject: its first sentence.
  if (digest.headline === '' && digest.sentences[0]) digest.headline = truncate(digest.sentences[0], 80, '');
  return digest;
}

function readSource(sourceData: Data | undefined, topic: string, language: Language): SourceDigest {
  const cleanTopic = cleanText(topic.slice(0, MAX_FIELD_CHARS));
  if (!sourceData || Object.keys(sourceData).length === 0) {
    return { kind: 'topic', headline: cleanTopic, sentences: [], ranked: false, keywords: [] };
  }
  if (Array.isArray(sourceData.symbols) && sourceData.symbols.some(isRecord)) return financeDigest(sourceData, sourceData.symbols, language);
  if (Array.isArray(sourceData.items) && sourceData.items.some(isRecord)) return newsDigest(sourceData, sourceData.items);
  const headline = field(sourceData, TITLE_FIELDS) || cleanTopic;
  const body = field(sourceData, TEXT_FIELDS) || anyText(sourceData);
  const isVideo = typeof sourceData.videoId === 'string' || typeof sourceData.channelTitle === 'string' || sourceData.kind === 'youtube#video';
  return {
    kind: isVideo ? 'video' : 'article',
    headline,
    sentences: splitSentences(body),
    ranked: false,
    link: safeLink(sourceData) ?? (isVideo && typeof sourceData.videoId === 'string' && /^[\w-]{6,20}$/.test(sourceData.videoId) ? `https://www.youtube.com/watch?v=${sourceData.videoId}` : undefined),
    keywords: stringList(sourceData.keywords ?? sourceData.keyword ?? sourceData.categories ?? sourceData.tags ?? []),
  };
}
