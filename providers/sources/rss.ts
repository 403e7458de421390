import { XMLParser, XMLValidator } from 'fast-xml-parser';
import type { RssSourceConfig } from '../../db/models/json';
import { PermanentProviderError } from '../errors';
import type { CallOptions } from '../types';
import { FetchSession } from './http';
import { compactJson, hashedKey, isAfter, matchesKeywords, maxItemsOf, newestFirst, parseDate, plainLine, plainText, sinceOf } from './items';
import { resolveSourceSettings, type ResolvedSourceSettings, type SourceFetcher, type SourceFetchRequest, type SourceFetchResult, type SourceItem, type SourceSettings } from './types';

/**
 * RSS 2.0 and Atom feeds (`source_type` 'rss', `{feed_url, filter_keywords?}`): the entries newer
 * than `since` whose title or summary holds one of the filter keywords, HTML stripped and
 * entities decoded. The parser is shared with the Google News search of keyword sources.
 */

/** One entry of a feed, before it becomes an item. */
export interface FeedEntry {
  /** RSS `guid` or Atom `id`. */
  id?: string;
  title: string;
  link?: string;
  publishedAt?: Date;
  /** Plain text. */
  summary: string;
  author?: string;
  categories: string[];
  /** RSS `<source>`: the publisher of an aggregated item (Google News). */
  source?: string;
}

export interface ParsedFeed {
  format: 'rss' | 'atom';
  title: string;
  entries: FeedEntry[];
}

const ARRAY_PATHS = new Set(['rss.channel.item', 'rss.channel.item.category', 'feed.entry', 'feed.entry.link', 'feed.entry.category']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  isArray: (_name, jpath) => ARRAY_PATHS.has(String(jpath)),
  // Atom xhtml stays markup (in order) and is read as HTML, like escaped html content.
  stopNodes: ['feed.entry.title[type=xhtml]', 'feed.entry.summary[type=xhtml]', 'feed.entry.content[type=xhtml]'],
});

type Node = Record<string, unknown>;

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The text of an element: its value, its `#text`, or the text of its children. */
function nodeText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return value.map(nodeText).join(' ');
  if (!isNode(value)) return '';
  return Object.entries(value)
    .filter(([name]) => !name.startsWith('@_'))
    .map(([, child]) => nodeText(child))
    .join(' ');
}

function attribute(value: unknown, name: string): string | undefined {
  const found = isNode(value) ? value[`@_${name}`] : undefined;
  return typeof found === 'string' ? found : undefined;
}

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function optional(text: string): string | undefined {
  const trimmed = text.trim();
  return trimmed === '' ? undefined : trimmed;
}

function httpUrl(text: string | undefined): string | undefined {
  if (!text) return undefined;
  try {
    const url = new URL(text.trim());
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

function categories(values: unknown[]): string[] {
  return values
    .map((value) => plainLine(attribute(value, 'term') ?? attribute(value, 'label') ?? nodeText(value), 60))
    .filter((name) => name !== '')
    .slice(0, 10);
}

function rssEntry(item: Node): FeedEntry {
  const guid = optional(nodeText(item.guid));
  const permalink = attribute(item.guid, 'isPermaLink') !== 'false' ? httpUrl(guid) : undefined;
  const description = nodeText(item.description);
  const summary = plainText(optional(description) ? description : nodeText(item['content:encoded']));
  return {
    id: guid,
    // RSS 2.0 requires a title or a description, not both.
    title: plainLine(nodeText(item.title)) || plainLine(summary, 100),
    link: httpUrl(nodeText(item.link)) ?? permalink,
    publishedAt: parseDate(optional(nodeText(item.pubDate ?? item['dc:date']))),
    summary,
    author: optional(plainLine(nodeText(item['dc:creator'] ?? item.author), 100)),
    categories: categories(list(item.category)),
    source: optional(plainLine(nodeText(item.source), 100)),
  };
}

function atomLink(links: unknown[]): string | undefined {
  const alternate = links.find((link) => (attribute(link, 'rel') ?? 'alternate') === 'alternate') ?? links[0];
  return httpUrl(attribute(alternate, 'href') ?? nodeText(alternate));
}

function atomEntry(entry: Node): FeedEntry {
  const summaryText = nodeText(entry.summary);
  const summary = plainText(optional(summaryText) ? summaryText : nodeText(entry.content));
  const author = list(entry.author)[0];
  return {
    id: optional(nodeText(entry.id)),
    title: plainLine(nodeText(entry.title)) || plainLine(summary, 100),
    link: atomLink(list(entry.link)),
    publishedAt: parseDate(optional(nodeText(entry.published ?? entry.updated))),
    summary,
    author: optional(plainLine(nodeText(isNode(author) ? author.name : author), 100)),
    categories: categories(list(entry.category)),
  };
}

/** Reads an RSS 2.0 or Atom document; throws a plain `Error` naming the problem when it is neither. */
export function parseFeed(xml: string): ParsedFeed {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`the feed is not well-formed XML (${valid.err.msg} at line ${valid.err.line}, column ${valid.err.col})`);
  const document = parser.parse(xml) as Node;
  const rss = isNode(document.rss) ? document.rss : undefined;
  if (rss) {
    const channel = isNode(rss.channel) ? rss.channel : undefined;
    if (!channel) throw new Error('the RSS document has no <channel>');
    return { format: 'rss', title: plainLine(nodeText(channel.title)), entries: list(channel.item).filter(isNode).map(rssEntry) };
  }
  if (isNode(document.feed)) {
    return { format: 'atom', title: plainLine(nodeText(document.feed.title)), entries: list(document.feed.entry).filter(isNode).map(atomEntry) };
  }
  const root = Object.keys(document).find((name) => !name.startsWith('?'));
  throw new Error(`the answer is not an RSS 2.0 or Atom feed (root element ${root ? `<${root}>` : 'missing'})`);
}

/** The durable id of an entry: its guid or id, else its link, else its title and date. */
function entryId(entry: FeedEntry): string {
  return entry.id ?? entry.link ?? `${entry.title}\n${entry.publishedAt?.toISOString() ?? ''}`;
}

export class RssFetcher implements SourceFetcher {
  readonly sourceType = 'rss' as const;
  private readonly settings: ResolvedSourceSettings;

  constructor(
    private readonly config: RssSourceConfig,
    settings: SourceSettings = {},
  ) {
    if (typeof config.feed_url !== 'string' || !/^https?:\/\//i.test(config.feed_url)) {
      throw new PermanentProviderError(`an rss source needs an http(s) feed_url, got ${JSON.stringify(config.feed_url)}`);
    }
    this.settings = resolveSourceSettings(settings);
  }

  async fetch(request: SourceFetchRequest = {}, options: CallOptions = {}): Promise<SourceFetchResult> {
    options.signal?.throwIfAborted();
    const since = sinceOf(request);
    const session = new FetchSession('rss', 'RSS feed', this.settings, options);
    const feed = await session.getXml(this.config.feed_url, (text) => parseFeed(text));
    const fresh = feed.entries.filter(
      (entry) => entry.title !== '' && isAfter(entry.publishedAt, since) && matchesKeywords(`${entry.title}\n${entry.summary}`, this.config.filter_keywords),
    );
    const items = newestFirst(
      fresh.map((entry) => feedItem('rss', entry, { feed_url: this.config.feed_url, feed_title: feed.title || undefined })),
      maxItemsOf(request),
    );
    options.onProgress?.(100);
    return { items, usage: [session.usage(items.length)] };
  }
}

/** A feed entry as an item under `namespace` ('rss', 'google_news'); `extra` joins its data. */
export function feedItem(namespace: string, entry: FeedEntry, extra: Record<string, string | undefined>): SourceItem {
  const publishedAt = entry.publishedAt?.toISOString();
  return {
    key: hashedKey(namespace, entryId(entry)),
    title: entry.title,
    ...(entry.link ? { url: entry.link } : {}),
    ...(publishedAt ? { publishedAt } : {}),
    summary: entry.summary,
    data: compactJson({
      source: namespace,
      title: entry.title,
      summary: entry.summary,
      link: entry.link,
      guid: entry.id,
      published_at: publishedAt,
      author: entry.author,
      publisher: entry.source,
      categories: entry.categories,
      ...extra,
    }),
  };
}
