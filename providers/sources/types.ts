import type { DataSourceType } from '../../db/models/enums';
import type { JsonObject } from '../../db/models/json';
import type { CallOptions, Language, ProviderUsage } from '../types';

/**
 * What the clients of the data sources (seed §3.6.1) have in common: one fetcher per data source,
 * bound to its `config`, returning the new items of one run. Items carry a durable key so a caller
 * can skip what an earlier run already turned into a content.
 */

/** One new thing a data source produced: a feed entry, a news or PubMed article, a day's quote, a video. */
export interface SourceItem {
  /**
   * Stable across runs and fetchers: `rss:<hash of guid/id/link>`, `google_news:<hash>`,
   * `pubmed:<PMID>`, `yahoo_finance:<SYMBOL>:<YYYY-MM-DD>`, `youtube:<video id>`.
   */
  key: string;
  title: string;
  url?: string;
  /** ISO 8601 (a string, so items cross Temporal payloads unchanged). */
  publishedAt?: string;
  /** Plain text: HTML stripped, entities decoded. */
  summary: string;
  /** Small JSON for `contents.source_data`, in the shapes the script writer reads. */
  data: JsonObject;
}

export interface SourceFetchRequest {
  /** Only items published after this (the source's `last_fetched_at`); items without a date are kept. */
  since?: Date | string | null;
  /** Newest items kept. Default 20, at most 100. */
  maxItems?: number;
  /** The project's language: the Google News edition searched. Default 'ko'. */
  language?: Language;
  /** The current time (for `max_age_days` and unfinished trading days). Default now. */
  now?: Date;
}

export interface SourceFetchResult {
  /** Newest first, without duplicate keys. */
  items: SourceItem[];
  /** One record per outside service the fetch used (operation 'fetch_items'). */
  usage: ProviderUsage[];
}

export interface SourceFetcher {
  readonly sourceType: DataSourceType;
  fetch(request?: SourceFetchRequest, options?: CallOptions): Promise<SourceFetchResult>;
}

export interface SourceEndpoints {
  /** Google News; `/rss/search` is appended. */
  googleNewsUrl: string;
  /** NCBI E-utilities; `/esearch.fcgi` and `/esummary.fcgi` are appended. */
  pubmedUrl: string;
  /** Yahoo Finance; `/v8/finance/chart/{symbol}` is appended. */
  yahooFinanceUrl: string;
  /** Google APIs; `/youtube/v3/...` is appended (the same base as YOUTUBE_API_URL). */
  youtubeApiUrl: string;
}

const SOURCE_DEFAULT_ENDPOINTS: Readonly<SourceEndpoints> = {
  googleNewsUrl: 'https://news.google.com',
  pubmedUrl: 'https://eutils.ncbi.nlm.nih.gov/entrez/eutils',
  yahooFinanceUrl: 'https://query1.finance.yahoo.com',
  youtubeApiUrl: 'https://www.googleapis.com',
};

export interface SourceSettings {
  endpoints?: Partial<SourceEndpoints>;
  /** YouTube Data API key; required by youtube_channel sources. */
  youtubeApiKey?: string;
  /** NCBI API key (optional: 10 requests/s instead of 3). */
  pubmedApiKey?: string;
  /** Deadline of each request. Default 15 s. */
  timeoutMs?: number;
  /** Largest answer read. Default 5 MiB. */
  maxResponseBytes?: number;
  /** Pages of 50 uploads read per YouTube fetch when no date bound stops earlier. Default 2. */
  youtubeMaxPages?: number;
  userAgent?: string;
}

/** The settings with every default applied, as the fetchers use them. */
export interface ResolvedSourceSettings {
  endpoints: SourceEndpoints;
  youtubeApiKey?: string;
  pubmedApiKey?: string;
  timeoutMs: number;
  maxResponseBytes: number;
  youtubeMaxPages: number;
  userAgent: string;
}

export const DEFAULT_MAX_ITEMS = 20;
export const MAX_ITEMS_LIMIT = 100;

export function resolveSourceSettings(settings: SourceSettings = {}): ResolvedSourceSettings {
  const endpoints: SourceEndpoints = { ...SOURCE_DEFAULT_ENDPOINTS };
  for (const key of Object.keys(endpoints) as (keyof SourceEndpoints)[]) {
    const given = settings.endpoints?.[key];
    if (given) endpoints[key] = given.replace(/\/+$/, '');
  }
  return {
    endpoints,
    youtubeApiKey: settings.youtubeApiKey || undefined,
    pubmedApiKey: settings.pubmedApiKey || undefined,
    timeoutMs: settings.timeoutMs ?? 15_000,
    maxResponseBytes: settings.maxResponseBytes ?? 5 * 1024 * 1024,
    youtubeMaxPages: settings.youtubeMaxPages ?? 2,
    userAgent: settings.userAgent ?? 'Mozilla/5.0 (compatible; AutoClip/0.1)',
  };
}
