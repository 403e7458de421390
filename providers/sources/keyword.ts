import type { KeywordSourceConfig } from '../../db/models/json';
import { PermanentProviderError } from '../errors';
import type { CallOptions, Language } from '../types';
import { FetchSession } from './http';
import { compactJson, isAfter, maxItemsOf, newestFirst, plainLine, sinceOf } from './items';
import { feedItem, parseFeed, type FeedEntry } from './rss';
import { resolveSourceSettings, type ResolvedSourceSettings, type SourceFetcher, type SourceFetchRequest, type SourceFetchResult, type SourceItem, type SourceSettings } from './types';

/**
 * Keyword sources (`{keywords, sources}`): each keyword searched in Google News (its RSS search,
 * in the project's language edition) and in PubMed (E-utilities esearch, newest first, then
 * esummary for the articles). Items found by several keywords or searches are kept once.
 */

export const KEYWORD_SERVICES = ['google_news', 'pubmed'] as const;
export type KeywordService = (typeof KEYWORD_SERVICES)[number];

/** Google News editions: `hl`, `gl` and `ceid` of the RSS search. */
const NEWS_EDITIONS: Readonly<Record<Language, string>> = {
  ko: 'hl=ko&gl=KR&ceid=KR:ko',
  en: 'hl=en-US&gl=US&ceid=US:en',
  ja: 'hl=ja&gl=JP&ceid=JP:ja',
  zh: 'hl=zh-CN&gl=CN&ceid=CN:zh-Hans',
  es: 'hl=es-419&gl=US&ceid=US:es-419',
  fr: 'hl=fr&gl=FR&ceid=FR:fr',
  de: 'hl=de&gl=DE&ceid=DE:de',
  pt: 'hl=pt-BR&gl=BR&ceid=BR:pt-419',
  hi: 'hl=hi&gl=IN&ceid=IN:hi',
  ar: 'hl=ar&gl=EG&ceid=EG:ar',
};

/** PMIDs summarized per fetch: one esummary request. */
const MAX_SUMMARIZED = 200;

/** NCBI asks callers to name their tool. */
const NCBI_TOOL = 'autoclip';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isService(name: string): name is KeywordService {
  return (KEYWORD_SERVICES as readonly string[]).includes(name);
}

/** `YYYY/MM/DD` in UTC, the date format of E-utilities. */
function entrezDate(date: Date): string {
  return date.toISOString().slice(0, 10).replace(/-/g, '/');
}

/** "2024/01/05 00:00" (esummary `sortpubdate`) as a UTC date. */
function sortPubDate(value: unknown): Date | undefined {
  const match = typeof value === 'string' ? /^(\d{4})\/(\d{2})\/(\d{2})/.exec(value) : null;
  return match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
}

/** The PMIDs of several searches taken in turn, so every keyword is represented, without repeats. */
function interleave(lists: readonly string[][], max: number): string[] {
  const result = new Set<string>();
  for (let index = 0; result.size < max && lists.some((list) => index < list.length); index += 1) {
    for (const list of lists) {
      const id = list[index];
      if (id !== undefined && result.size < max) result.add(id);
    }
  }
  return [...result];
}

export class KeywordFetcher implements SourceFetcher {
  readonly sourceType = 'keyword' as const;
  private readonly settings: ResolvedSourceSettings;
  private readonly keywords: string[];
  private readonly services: KeywordService[];

  constructor(config: KeywordSourceConfig, settings: SourceSettings = {}) {
    this.settings = resolveSourceSettings(settings);
    const keywords = Array.isArray(config.keywords) ? config.keywords : [];
    this.keywords = [...new Set(keywords.filter((keyword): keyword is string => typeof keyword === 'string').map((keyword) => keyword.trim()).filter((keyword) => keyword !== ''))];
    if (this.keywords.length === 0) throw new PermanentProviderError('a keyword source needs at least one keyword');
    const sources = [...new Set(Array.isArray(config.sources) ? config.sources : [])];
    const unsupported = sources.filter((source) => !isService(source));
    if (unsupported.length > 0) {
      throw new PermanentProviderError(`keyword sources ${unsupported.join(', ')} are not supported (supported: ${KEYWORD_SERVICES.join(', ')})`);
    }
    this.services = sources.filter(isService);
    if (this.services.length === 0) throw new PermanentProviderError('a keyword source needs at least one of google_news, pubmed');
  }

  async fetch(request: SourceFetchRequest = {}, options: CallOptions = {}): Promise<SourceFetchResult> {
    options.signal?.throwIfAborted();
    const since = sinceOf(request);
    const max = maxItemsOf(request);
    const steps = this.services.length * this.keywords.length + (this.services.includes('pubmed') ? 1 : 0);
    let done = 0;
    const step = (): void => options.onProgress?.(Math.round((++done / steps) * 100));

    const sessions: FetchSession[] = [];
    const found: SourceItem[] = [];
    for (const service of this.services) {
      if (service === 'google_news') {
        const session = new FetchSession('google_news', 'Google News search', this.settings, options);
        sessions.push(session);
        found.push(...(await this.searchNews(session, request.language ?? 'ko', since, step)));
      } else {
        const session = new FetchSession('pubmed', 'PubMed E-utilities', this.settings, options, [this.settings.pubmedApiKey]);
        sessions.push(session);
        found.push(...(await this.searchPubMed(session, since, request.now ?? new Date(), max, step)));
      }
    }
    const items = newestFirst(found, max);
    return { items, usage: sessions.map((session) => session.usage(items.filter((item) => item.data.source === session.service).length)) };
  }

  private async searchNews(session: FetchSession, language: Language, since: Date | undefined, step: () => void): Promise<SourceItem[]> {
    const items: SourceItem[] = [];
    for (const keyword of this.keywords) {
      const url = `${this.settings.endpoints.googleNewsUrl}/rss/search?q=${encodeURIComponent(keyword)}&${NEWS_EDITIONS[language] ?? NEWS_EDITIONS.en}`;
      const feed = await session.getXml(url, (text) => parseFeed(text), { context: `"${keyword}"` });
      for (const entry of feed.entries) {
        if (entry.title !== '' && isAfter(entry.publishedAt, since)) items.push(feedItem('google_news', withoutPublisher(entry), { keyword }));
      }
      step();
    }
    return items;
  }

  private async searchPubMed(session: FetchSession, since: Date | undefined, now: Date, max: number, step: () => void): Promise<SourceItem[]> {
    const { pubmedUrl } = this.settings.endpoints;
    const auth: Record<string, string> = this.settings.pubmedApiKey ? { api_key: this.settings.pubmedApiKey } : {};
    const found: string[][] = [];
    const keywordOf = new Map<string, string>();
    for (const keyword of this.keywords) {
      const query = new URLSearchParams({
        db: 'pubmed',
        term: keyword,
        retmode: 'json',
        sort: 'pub_date',
        retmax: String(max),
        // Entrez dates are days: the day of `since` is searched again and its repeats dropped by key.
        ...(since ? { datetype: 'edat', mindate: entrezDate(since), maxdate: entrezDate(now) } : {}),
        tool: NCBI_TOOL,
        ...auth,
      });
      const ids = await session.getJson(`${pubmedUrl}/esearch.fcgi?${query.toString()}`, (body) => {
        const result = body.esearchresult;
        if (!isRecord(result)) throw new Error('the esearch answer has no esearchresult');
        if (typeof result.ERROR === 'string') throw session.refused(`esearch "${keyword}" was refused: ${result.ERROR}`);
        if (!Array.isArray(result.idlist)) throw new Error('the esearch answer has no idlist');
        return result.idlist.filter((id): id is string => typeof id === 'string' && /^\d{1,12}$/.test(id));
      }, { context: `esearch "${keyword}"` });
      for (const id of ids) if (!keywordOf.has(id)) keywordOf.set(id, keyword);
      found.push(ids);
      step();
    }
    const ids = interleave(found, MAX_SUMMARIZED);
    if (ids.length === 0) {
      step();
      return [];
    }
    const query = new URLSearchParams({ db: 'pubmed', id: ids.join(','), retmode: 'json', tool: NCBI_TOOL, ...auth });
    const items = await session.getJson(`${pubmedUrl}/esummary.fcgi?${query.toString()}`, (body) => {
      const result = body.result;
      if (!isRecord(result) || !Array.isArray(result.uids)) throw new Error('the esummary answer has no result.uids');
      return result.uids.flatMap((uid) => {
        const doc = typeof uid === 'string' ? result[uid] : undefined;
        return isRecord(doc) && doc.error === undefined ? [pubmedItem(uid as string, doc, keywordOf.get(uid as string))] : [];
      });
    }, { context: 'esummary' });
    step();
    return items;
  }
}

/** Google News titles end in " - Publisher"; the publisher is kept apart. */
function withoutPublisher(entry: FeedEntry): FeedEntry {
  const suffix = entry.source ? ` - ${entry.source}` : undefined;
  return suffix && entry.title.endsWith(suffix) && entry.title.length > suffix.length ? { ...entry, title: entry.title.slice(0, -suffix.length) } : entry;
}

function pubmedItem(pmid: string, doc: Record<string, unknown>, keyword: string | undefined): SourceItem {
  const text = (value: unknown, max = 300): string => (typeof value === 'string' ? plainLine(value, max) : '');
  const journal = text(doc.fulljournalname) || text(doc.source);
  const authors = (Array.isArray(doc.authors) ? doc.authors : [])
    .map((author) => (isRecord(author) ? text(author.name, 80) : ''))
    .filter((name) => name !== '')
    .slice(0, 6);
  const doi = (Array.isArray(doc.articleids) ? doc.articleids : []).find((id) => isRecord(id) && id.idtype === 'doi');
  const pubdate = text(doc.pubdate, 40);
  const title = text(doc.title) || `PubMed ${pmid}`;
  const summary = [journal, pubdate, authors.join(', ')].filter((part) => part !== '').join(' · ');
  const url = `https://pubmed.ncbi.nlm.nih.gov/${pmid}/`;
  const publishedAt = sortPubDate(doc.sortpubdate)?.toISOString();
  return {
    key: `pubmed:${pmid}`,
    title,
    url,
    ...(publishedAt ? { publishedAt } : {}),
    summary,
    data: compactJson({
      source: 'pubmed',
      keyword,
      pmid,
      title,
      summary,
      link: url,
      journal,
      authors,
      pubdate,
      published_at: publishedAt,
      doi: isRecord(doi) ? text(doi.value, 200) : undefined,
    }),
  };
}
