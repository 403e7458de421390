import { sendJson, serveLocally } from './http';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/**
 * One loopback server for every data source client: static RSS 2.0 and Atom feeds (one in
 * EUC-KR, one HTML page that is no feed), Google News' RSS search, PubMed E-utilities
 * esearch/esummary (JSON), Yahoo Finance's chart endpoint and the YouTube Data API reads
 * (channels, playlistItems, videos, with an API key and quota counting). It records every request;
 * tests queue failures in `state.next` (an HTTP error in each provider's own shape, with
 * Retry-After, a malformed answer, no answer), each taken by the first request whose path matches.
 *
 * Base URLs for the clients: feeds `${baseUrl}/feeds/...`, googleNewsUrl and yahooFinanceUrl and
 * youtubeApiUrl `${baseUrl}`, pubmedUrl `${baseUrl}/entrez/eutils`.
 */

export type FeedsKnob =
  | {
      kind: 'error';
      status: number;
      message: string;
      /** Google's `errors[0].reason`, Yahoo's `error.code`. */
      reason?: string;
      retryAfterSec?: number;
      /** Puts the API key the request carried into the message, to prove clients redact it. */
      echoKey?: boolean;
      /** Only a request whose path contains this takes the knob. */
      match?: string;
    }
  /** A cut-off answer in the route's format (XML or JSON), with status 200. */
  | { kind: 'malformed'; match?: string }
  /** No answer at all (the client's deadline or cancellation must end the request). */
  | { kind: 'stall'; match?: string };

export interface FeedsRecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
}

export interface FakeNewsArticle {
  guid: string;
  title: string;
  publisher: string;
  link: string;
  /** ISO 8601. */
  published: string;
  language: 'ko' | 'en';
}

export interface FakePubMedArticle {
  pmid: string;
  title: string;
  journal: string;
  authors: string[];
  pubdate: string;
  /** YYYY/MM/DD: the publication date esearch sorts by. */
  sortpubdate: string;
  /** YYYY/MM/DD: when the article entered PubMed (datetype=edat). */
  edat: string;
  doi?: string;
}

export interface FakeTradingDay {
  date: string;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
}

export interface FakeChart {
  name: string;
  currency: string;
  exchange: string;
  timezone: string;
  gmtoffset: number;
  /** Regular session, local "HH:MM". */
  opens: string;
  closes: string;
  previousClose: number;
  /** Oldest first; the last one is the current trading period. */
  days: FakeTradingDay[];
}

export interface FakeVideo {
  id: string;
  title: string;
  description: string;
  publishedAt: string;
  /** ISO 8601 duration. */
  duration: string;
  live?: 'none' | 'upcoming' | 'live';
  tags?: string[];
}

export interface FakeChannel {
  id: string;
  handle: string;
  title: string;
  uploads: string;
  /** Newest first, as the uploads playlist lists them. */
  videos: FakeVideo[];
}

/** RSS 2.0 with Korean titles, CDATA and escaped HTML, entities, an entry without guid and one without date. */
export const RSS_FEED = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>테크 뉴스 &amp; 건강</title>
  <link>https://news.example.com/</link>
  <description>Fake feed</description>
  <item>
    <title>AI 반도체 수출 &amp; 전망</title>
    <link>https://news.example.com/articles/3</link>
    <guid isPermaLink="false">news-3</guid>
    <pubDate>Mon, 10 Mar 2025 09:00:00 +0900</pubDate>
    <dc:creator>김기자</dc:creator>
    <category>기술</category>
    <category>AI</category>
    <description><![CDATA[<p>삼성전자와 <b>SK하이닉스</b>의 AI 메모리&nbsp;수출이 늘었다&hellip;</p><script>alert(1)</script>]]></description>
  </item>
  <item>
    <title>Seniors &amp;amp; health: walking 30 minutes</title>
    <link>https://news.example.com/articles/2</link>
    <guid>https://news.example.com/articles/2</guid>
    <pubDate>Sun, 09 Mar 2025 08:00:00 GMT</pubDate>
    <description>&lt;p&gt;Daily &lt;i&gt;walks&lt;/i&gt; protect knees &amp;amp; hearts &amp;#8212; a new study.&lt;/p&gt;</description>
  </item>
  <item>
    <title>시니어 건강 체크리스트</title>
    <link>https://news.example.com/articles/1</link>
    <pubDate>Sat, 08 Mar 2025 07:30:00 GMT</pubDate>
    <content:encoded><![CDATA[<ul><li>혈압</li><li>혈당</li></ul>]]></content:encoded>
  </item>
  <item>
    <title>Editor's note</title>
    <guid isPermaLink="false">note-1</guid>
    <description>No date on this one.</description>
  </item>
</channel>
</rss>`;

/** Atom 1.0: html and xhtml content, alternate and self links, published/updated dates. */
export const ATOM_FEED = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title type="text">개발 블로그</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2025-03-10T12:00:00Z</updated>
  <entry>
    <title type="html">쿠버네티스 &lt;b&gt;1.32&lt;/b&gt; 릴리스</title>
    <link rel="self" href="https://blog.example.com/api/posts/2"/>
    <link rel="alternate" type="text/html" href="https://blog.example.com/posts/2"/>
    <id>tag:blog.example.com,2025:post-2</id>
    <published>2025-03-10T10:00:00+09:00</published>
    <updated>2025-03-10T11:00:00+09:00</updated>
    <author><name>Lee</name></author>
    <category term="devops"/>
    <summary type="html">&lt;p&gt;새 기능 &amp;amp; 변경 사항&lt;/p&gt;</summary>
  </entry>
  <entry>
    <title>Rust for AI services</title>
    <link href="https://blog.example.com/posts/1"/>
    <id>tag:blog.example.com,2025:post-1</id>
    <updated>2025-03-05T09:00:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>Memory safety <em>without</em> a garbage collector.</p></div></content>
  </entry>
</feed>`;

/** "경제 뉴스" and "코스피 상승" in EUC-KR, declared in the XML declaration only. */
function eucKrFeed(): Buffer {
  const economyNews = Buffer.from([0xb0, 0xe6, 0xc1, 0xa6, 0x20, 0xb4, 0xba, 0xbd, 0xba]);
  const kospiUp = Buffer.from([0xc4, 0xda, 0xbd, 0xba, 0xc7, 0xc7, 0x20, 0xbb, 0xf3, 0xbd, 0xc2]);
  return Buffer.concat([
    Buffer.from('<?xml version="1.0" encoding="EUC-KR"?>\n<rss version="2.0"><channel><title>'),
    economyNews,
    Buffer.from('</title><item><title>'),
    kospiUp,
    Buffer.from('</title><link>https://economy.example.kr/1</link><guid>eco-1</guid><pubDate>Mon, 10 Mar 2025 06:00:00 GMT</pubDate><description>'),
    kospiUp,
    Buffer.from('</description></item></channel></rss>'),
  ]);
}

const HTML_PAGE = '<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><p>This is a web page.</p></body></html>';

export const FAKE_NEWS: readonly FakeNewsArticle[] = [
  { guid: 'CBMiK2h0dHBzOi8vbmV3cy5leGFtcGxlLmtyL2hlYWx0aC8x', title: '시니어 건강 걷기 열풍 - 건강일보', publisher: '건강일보', link: 'https://news.google.com/rss/articles/CBMiK2h0dHBzOi8vbmV3cy5leGFtcGxlLmtyL2hlYWx0aC8x?oc=5', published: '2025-03-10T01:00:00Z', language: 'ko' },
  { guid: 'CBMiK2h0dHBzOi8vbmV3cy5leGFtcGxlLmtyL2hlYWx0aC8y', title: '건강 검진 시니어 혜택 확대 - 한국뉴스', publisher: '한국뉴스', link: 'https://news.google.com/rss/articles/CBMiK2h0dHBzOi8vbmV3cy5leGFtcGxlLmtyL2hlYWx0aC8y?oc=5', published: '2025-03-08T03:00:00Z', language: 'ko' },
  { guid: 'CBMiJGh0dHBzOi8vbmV3cy5leGFtcGxlLmNvbS9zZW5pb3JzLzE', title: 'Seniors and health: new guidelines - Example Times', publisher: 'Example Times', link: 'https://news.google.com/rss/articles/CBMiJGh0dHBzOi8vbmV3cy5leGFtcGxlLmNvbS9zZW5pb3JzLzE?oc=5', published: '2025-03-09T12:00:00Z', language: 'en' },
];

export const FAKE_ARTICLES: readonly FakePubMedArticle[] = [
  { pmid: '40000003', title: 'Walking and <i>cognitive</i> health in seniors: a cohort study.', journal: 'Journal of Aging Research', authors: ['Kim J', 'Park S', 'Lee H'], pubdate: '2025 Mar 9', sortpubdate: '2025/03/09', edat: '2025/03/10', doi: '10.1000/jar.2025.3' },
  { pmid: '40000002', title: 'Sleep quality among seniors.', journal: 'Sleep Medicine', authors: ['Choi Y'], pubdate: '2025 Mar', sortpubdate: '2025/03/01', edat: '2025/03/07' },
  { pmid: '40000001', title: 'Health literacy of older adults.', journal: 'Public Health', authors: ['Smith A', 'Jones B'], pubdate: '2025 Feb 20', sortpubdate: '2025/02/20', edat: '2025/02/25' },
];

export const FAKE_CHARTS: Readonly<Record<string, FakeChart>> = {
  AAPL: {
    name: 'Apple Inc.',
    currency: 'USD',
    exchange: 'NasdaqGS',
    timezone: 'EST',
    gmtoffset: -18_000,
    opens: '09:30',
    closes: '16:00',
    previousClose: 236.0,
    days: [
      { date: '2025-03-04', open: 237.7, high: 240.07, low: 234.68, close: 235.93, volume: 53_798_100 },
      { date: '2025-03-05', open: 235.42, high: 236.55, low: 229.23, close: 235.74, volume: 47_227_600 },
      { date: '2025-03-06', open: 234.44, high: 237.86, low: 233.16, close: 235.33, volume: 45_170_400 },
      { date: '2025-03-07', open: 235.11, high: 241.37, low: 234.76, close: 239.07, volume: 46_273_600 },
    ],
  },
  '005930.KS': {
    name: '삼성전자',
    currency: 'KRW',
    exchange: 'KSE',
    timezone: 'KST',
    gmtoffset: 32_400,
    opens: '09:00',
    closes: '15:30',
    previousClose: 54_500,
    days: [
      { date: '2025-03-05', open: 54_600, high: 55_300, low: 54_200, close: 55_000, volume: 14_000_000 },
      { date: '2025-03-06', open: 55_200, high: 56_000, low: 55_000, close: 55_800, volume: 15_500_000 },
      { date: '2025-03-07', open: 55_500, high: 55_900, low: 54_800, close: 55_100, volume: 12_300_000 },
    ],
  },
};

export const FAKE_CHANNEL: FakeChannel = {
  id: 'UCfakeChannel0000000000A',
  handle: '@autoclipdemo',
  title: '오토클립 데모',
  uploads: 'UUfakeChannel0000000000A',
  videos: [
    { id: 'vidUpcoming1', title: '라이브 예정', description: 'Soon.', publishedAt: '2025-03-10T09:00:00Z', duration: 'P0D', live: 'upcoming' },
    { id: 'vidLong00001', title: '시니어를 위한 AI 활용법', description: '스마트폰으로 AI 쓰는 법.\nhttps://example.com', publishedAt: '2025-03-09T10:00:00Z', duration: 'PT12M30S', tags: ['AI', '시니어'] },
    { id: 'vidShort0001', title: '30초 건강 팁', description: '#shorts', publishedAt: '2025-03-08T10:00:00Z', duration: 'PT45S' },
    { id: 'vidHour00001', title: 'Market deep dive', description: 'One hour on markets.', publishedAt: '2025-03-01T10:00:00Z', duration: 'PT1H2M3S' },
    { id: 'vidOld000001', title: '작년 영상', description: 'Old.', publishedAt: '2024-12-01T10:00:00Z', duration: 'PT5M' },
  ],
};

export class FakeFeedsState {
  readonly youtubeApiKey = `AIzaFakeFeeds-${randomBytes(12).toString('hex')}`;
  /** When set, E-utilities requests must carry it as `api_key`. */
  pubmedApiKey: string | undefined;
  readonly requests: FeedsRecordedRequest[] = [];
  /** Failures answered by the next matching requests, in order. */
  readonly next: FeedsKnob[] = [];
  /** Extra or replaced documents served as they are, by path. */
  readonly documents = new Map<string, { contentType: string; body: string | Buffer }>();
  news: FakeNewsArticle[] = [...FAKE_NEWS];
  articles: FakePubMedArticle[] = [...FAKE_ARTICLES];
  charts: Record<string, FakeChart> = { ...FAKE_CHARTS };
  channel: FakeChannel = FAKE_CHANNEL;
  /** Most playlist items per page, whatever maxResults asks (to test paging). */
  pageSize = 50;
  /** YouTube quota units spent (one per list call with a valid key). */
  quotaUsed = 0;

  reset(): void {
    this.requests.length = 0;
    this.next.length = 0;
    this.documents.clear();
    this.pubmedApiKey = undefined;
    this.news = [...FAKE_NEWS];
    this.articles = [...FAKE_ARTICLES];
    this.charts = { ...FAKE_CHARTS };
    this.channel = FAKE_CHANNEL;
    this.pageSize = 50;
    this.quotaUsed = 0;
  }

  /** Requests whose path contains `part`. */
  requestsTo(part: string): FeedsRecordedRequest[] {
    return this.requests.filter((request) => request.path.includes(part));
  }
}

type Family = 'feed' | 'pubmed' | 'yahoo' | 'youtube';

function familyOf(path: string): Family {
  if (path.startsWith('/entrez/')) return 'pubmed';
  if (path.startsWith('/v8/finance/')) return 'yahoo';
  if (path.startsWith('/youtube/')) return 'youtube';
  return 'feed';
}

const STATUS_NAMES: Record<number, string> = { 400: 'INVALID_ARGUMENT', 403: 'PERMISSION_DENIED', 404: 'NOT_FOUND', 429: 'RESOURCE_EXHAUSTED', 500: 'INTERNAL', 503: 'UNAVAILABLE' };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function sendText(res: ServerResponse, status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': bytes.length, ...headers });
  res.end(bytes);
}

/** An error in the shape the provider of `family` answers it. */
function sendError(res: ServerResponse, family: Family, status: number, message: string, options: { reason?: string; retryAfterSec?: number; key?: string } = {}): void {
  const headers: Record<string, string> = options.retryAfterSec !== undefined ? { 'Retry-After': String(options.retryAfterSec) } : {};
  switch (family) {
    case 'youtube':
      return sendJson(
        res,
        status,
        { error: { code: status, message, errors: [{ message, domain: 'youtube.api', reason: options.reason ?? 'backendError' }], status: STATUS_NAMES[status] ?? 'UNKNOWN' } },
        headers,
      );
    case 'pubmed':
      return sendJson(res, status, status === 429 ? { error: message, 'api-key': options.key ?? '127.0.0.1', count: '4', limit: '3' } : { error: message }, headers);
    case 'yahoo':
      if (status === 429) return sendText(res, status, 'text/plain', message, headers);
      return sendJson(res, status, { chart: { result: null, error: { code: options.reason ?? 'Bad Request', description: message } } }, headers);
    default:
      return sendText(res, status, 'text/html; charset=UTF-8', `<html><head><title>Error ${status}</title></head><body><h1>${escapeXml(message)}</h1></body></html>`, headers);
  }
}

function rfc822(iso: string): string {
  return new Date(iso).toUTCString();
}

function googleNewsFeed(query: string, language: 'ko' | 'en', articles: readonly FakeNewsArticle[]): string {
  const wanted = query.toLowerCase();
  const items = articles
    .filter((article) => article.language === language && article.title.toLowerCase().includes(wanted))
    .map(
      (article) => `<item><title>${escapeXml(article.title)}</title><link>${escapeXml(article.link)}</link><guid isPermaLink="false">${article.guid}</guid>` +
        `<pubDate>${rfc822(article.published)}</pubDate>` +
        `<description>${escapeXml(`<a href="${article.link}" target="_blank">${article.title}</a>&nbsp;&nbsp;<font color="#6f6f6f">${article.publisher}</font>`)}</description>` +
        `<source url="https://${encodeURIComponent(article.publisher)}.example">${escapeXml(article.publisher)}</source></item>`,
    )
    .join('');
  return `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><generator>NFE/5.0</generator>` +
    `<title>"${escapeXml(query)}" - Google News</title><link>https://news.google.com/search?q=${encodeURIComponent(query)}</link><language>${language}</language>` +
    `<description>Google News</description>${items}</channel></rss>`;
}

function entrezDate(text: string | undefined): string | undefined {
  if (!text) return undefined;
  const [year, month = '01', day = '01'] = text.split('/');
  return `${year}/${month.padStart(2, '0')}/${day.padStart(2, '0')}`;
}

function esearch(query: Record<string, string>, articles: readonly FakePubMedArticle[]): Record<string, unknown> {
  const term = (query.term ?? '').trim();
  if (term === '') return { esearchresult: { ERROR: 'Empty term and query_key - nothing todo' } };
  const words = term.toLowerCase().split(/\s+/);
  const min = query.datetype === 'edat' ? entrezDate(query.mindate) : undefined;
  const max = query.datetype === 'edat' ? entrezDate(query.maxdate) : undefined;
  const found = articles
    .filter((article) => words.every((word) => article.title.toLowerCase().includes(word)))
    .filter((article) => (!min || article.edat >= min) && (!max || article.edat <= max))
    .sort((a, b) => (query.sort === 'pub_date' ? b.sortpubdate.localeCompare(a.sortpubdate) : 0));
  const retmax = Number(query.retmax ?? 20);
  return {
    header: { type: 'esearch', version: '0.3' },
    esearchresult: { count: String(found.length), retmax: String(Math.min(retmax, found.length)), retstart: '0', idlist: found.slice(0, retmax).map((article) => article.pmid), translationset: [], querytranslation: term },
  };
}

function esummary(query: Record<string, string>, articles: readonly FakePubMedArticle[]): Record<string, unknown> {
  const ids = (query.id ?? '').split(',').filter((id) => id !== '');
  const result: Record<string, unknown> = { uids: ids };
  for (const id of ids) {
    const article = articles.find((candidate) => candidate.pmid === id);
    result[id] = article
      ? {
          uid: id,
          pubdate: article.pubdate,
          epubdate: '',
          source: article.journal.split(' ').map((word) => word.slice(0, 4)).join(' '),
          authors: article.authors.map((name) => ({ name, authtype: 'Author', clusterid: '' })),
          lastauthor: article.authors.at(-1) ?? '',
          title: article.title,
          sorttitle: article.title.toLowerCase(),
          fulljournalname: article.journal,
          articleids: [{ idtype: 'pubmed', idtypen: 1, value: id }, ...(article.doi ? [{ idtype: 'doi', idtypen: 3, value: article.doi }] : [])],
          pubtype: ['Journal Article'],
          sortpubdate: `${article.sortpubdate} 00:00`,
        }
      : { uid: id, error: 'cannot get document summary' };
  }
  return { header: { type: 'esummary', version: '0.3' }, result };
}

function localSeconds(date: string, time: string, gmtoffset: number): number {
  const [hours, minutes] = time.split(':').map(Number) as [number, number];
  return Date.parse(`${date}T00:00:00Z`) / 1000 + hours * 3600 + minutes * 60 - gmtoffset;
}

function chartAnswer(symbol: string, chart: FakeChart): Record<string, unknown> {
  const current = chart.days.at(-1);
  const period = (date: string): Record<string, unknown> => ({
    timezone: chart.timezone,
    start: localSeconds(date, chart.opens, chart.gmtoffset),
    end: localSeconds(date, chart.closes, chart.gmtoffset),
    gmtoffset: chart.gmtoffset,
  });
  return {
    chart: {
      result: [
        {
          meta: {
            currency: chart.currency,
            symbol,
            exchangeName: chart.exchange.slice(0, 3).toUpperCase(),
            fullExchangeName: chart.exchange,
            instrumentType: 'EQUITY',
            gmtoffset: chart.gmtoffset,
            timezone: chart.timezone,
            regularMarketPrice: current?.close,
            longName: chart.name,
            shortName: chart.name,
            chartPreviousClose: chart.previousClose,
            priceHint: 2,
            ...(current ? { currentTradingPeriod: { regular: period(current.date) } } : {}),
            dataGranularity: '1d',
            range: '5d',
          },
          timestamp: chart.days.map((day) => localSeconds(day.date, chart.opens, chart.gmtoffset)),
          indicators: {
            quote: [
              {
                open: chart.days.map((day) => day.open),
                high: chart.days.map((day) => day.high),
                low: chart.days.map((day) => day.low),
                close: chart.days.map((day) => day.close),
                volume: chart.days.map((day) => day.volume),
              },
            ],
            adjclose: [{ adjclose: chart.days.map((day) => day.close) }],
          },
        },
      ],
      error: null,
    },
  };
}

function playlistItem(channel: FakeChannel, video: FakeVideo, position: number): Record<string, unknown> {
  return {
    kind: 'youtube#playlistItem',
    etag: `etag-${video.id}`,
    id: `PLI-${video.id}`,
    snippet: {
      publishedAt: video.publishedAt,
      channelId: channel.id,
      title: video.title,
      description: video.description,
      channelTitle: channel.title,
      playlistId: channel.uploads,
      position,
      resourceId: { kind: 'youtube#video', videoId: video.id },
      videoOwnerChannelTitle: channel.title,
      videoOwnerChannelId: channel.id,
    },
    contentDetails: { videoId: video.id, videoPublishedAt: video.publishedAt },
  };
}

function videoResource(channel: FakeChannel, video: FakeVideo): Record<string, unknown> {
  return {
    kind: 'youtube#video',
    etag: `etag-${video.id}`,
    id: video.id,
    snippet: {
      publishedAt: video.publishedAt,
      channelId: channel.id,
      title: video.title,
      description: video.description,
      channelTitle: channel.title,
      ...(video.tags ? { tags: video.tags } : {}),
      categoryId: '27',
      liveBroadcastContent: video.live ?? 'none',
    },
    contentDetails: { duration: video.duration, dimension: '2d', definition: 'hd', caption: 'false', licensedContent: false, projection: 'rectangular' },
  };
}

export async function startFakeFeeds(): Promise<{ baseUrl: string; state: FakeFeedsState; close(): Promise<void> }> {
  const state = new FakeFeedsState();

  function youtube(res: ServerResponse, path: string, query: Record<string, string>): void {
    if (query.key !== state.youtubeApiKey) {
      return sendError(res, 'youtube', 400, 'API key not valid. Please pass a valid API key.', { reason: 'badRequest' });
    }
    state.quotaUsed += 1;
    const { channel } = state;
    const parts = (query.part ?? '').split(',');
    const list = (kind: string, items: unknown[], extra: Record<string, unknown> = {}): void =>
      sendJson(res, 200, { kind: `youtube#${kind}ListResponse`, etag: 'etag-list', ...extra, pageInfo: { totalResults: items.length, resultsPerPage: items.length }, ...(items.length > 0 ? { items } : {}) });
    if (path === '/youtube/v3/channels') {
      if (!parts.includes('contentDetails')) return sendError(res, 'youtube', 400, "'part' must include contentDetails", { reason: 'invalidPart' });
      const found = query.id === channel.id || query.forHandle?.toLowerCase() === channel.handle.toLowerCase();
      return list('channel', found ? [{ kind: 'youtube#channel', etag: 'etag-channel', id: channel.id, contentDetails: { relatedPlaylists: { likes: '', uploads: channel.uploads } } }] : []);
    }
    if (path === '/youtube/v3/playlistItems') {
      if (query.playlistId !== channel.uploads) {
        return sendError(res, 'youtube', 404, "The playlist identified with the request's <code>playlistId</code> parameter cannot be found.", { reason: 'playlistNotFound' });
      }
      const start = query.pageToken ? Number(query.pageToken.replace('page-', '')) : 0;
      const size = Math.min(Number(query.maxResults ?? 5), 50, state.pageSize);
      const page = channel.videos.slice(start, start + size);
      const next = start + size < channel.videos.length ? { nextPageToken: `page-${start + size}` } : {};
      return list('playlistItem', page.map((video, index) => playlistItem(channel, video, start + index)), next);
    }
    if (path === '/youtube/v3/videos') {
      const ids = (query.id ?? '').split(',');
      if (ids.length > 50) return sendError(res, 'youtube', 400, 'The request specifies too many video ids.', { reason: 'invalidFilters' });
      return list('video', channel.videos.filter((video) => ids.includes(video.id)).map((video) => videoResource(channel, video)));
    }
    return sendError(res, 'youtube', 404, `Not Found: ${path}`, { reason: 'notFound' });
  }

  function route(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    const path = url.pathname;
    const query = Object.fromEntries(url.searchParams);
    const family = familyOf(path);
    state.requests.push({ method: req.method ?? 'GET', path, query, headers: req.headers });
    if (req.method !== 'GET') return sendError(res, family, 405, `${req.method} is not allowed`);

    const index = state.next.findIndex((knob) => !knob.match || path.includes(knob.match));
    const knob = index >= 0 ? state.next.splice(index, 1)[0] : undefined;
    const key = query.key ?? query.api_key;
    if (knob?.kind === 'error') {
      return sendError(res, family, knob.status, knob.echoKey ? `${knob.message} (key ${String(key)})` : knob.message, { ...knob, ...(key ? { key } : {}) });
    }
    if (knob?.kind === 'stall') return;
    if (knob?.kind === 'malformed') {
      return family === 'feed'
        ? sendText(res, 200, 'application/rss+xml; charset=UTF-8', '<?xml version="1.0"?><rss version="2.0"><channel><title>Broken</title><item><title>Cut off')
        : sendText(res, 200, 'application/json; charset=UTF-8', '{"items": [{"id": "cut');
    }

    const document = state.documents.get(path);
    if (document) return sendText(res, 200, document.contentType, document.body);
    switch (path) {
      case '/feeds/news.rss':
        return sendText(res, 200, 'application/rss+xml; charset=UTF-8', RSS_FEED);
      case '/feeds/blog.atom':
        return sendText(res, 200, 'application/atom+xml', ATOM_FEED);
      case '/feeds/euc-kr.rss':
        return sendText(res, 200, 'text/xml', eucKrFeed());
      case '/feeds/page.html':
        return sendText(res, 200, 'text/html; charset=UTF-8', HTML_PAGE);
      case '/rss/search': {
        const language = query.hl === 'ko' ? 'ko' : query.hl === 'en-US' ? 'en' : undefined;
        const edition = language === 'ko' ? 'KR:ko' : 'US:en';
        if (!language || query.gl !== edition.split(':')[0] || query.ceid !== edition) return sendError(res, 'feed', 400, `Unsupported edition hl=${query.hl} gl=${query.gl} ceid=${query.ceid}`);
        return sendText(res, 200, 'application/xml; charset=utf-8', googleNewsFeed(query.q ?? '', language, state.news));
      }
      case '/entrez/eutils/esearch.fcgi':
      case '/entrez/eutils/esummary.fcgi': {
        if (state.pubmedApiKey && query.api_key !== state.pubmedApiKey) return sendError(res, 'pubmed', 400, 'API key invalid');
        if (query.db !== 'pubmed' || query.retmode !== 'json') return sendError(res, 'pubmed', 400, `unsupported db=${query.db} retmode=${query.retmode}`);
        return sendJson(res, 200, path.endsWith('esearch.fcgi') ? esearch(query, state.articles) : esummary(query, state.articles));
      }
      default:
        break;
    }
    if (family === 'yahoo') {
      const symbol = decodeURIComponent(path.slice('/v8/finance/chart/'.length));
      if (query.range !== '5d' || query.interval !== '1d') return sendError(res, 'yahoo', 400, `Invalid input - range=${query.range} interval=${query.interval}`);
      const chart = state.charts[symbol];
      if (!chart) return sendError(res, 'yahoo', 404, 'No data found, symbol may be delisted', { reason: 'Not Found' });
      return sendJson(res, 200, chartAnswer(symbol, chart));
    }
    if (family === 'youtube') return youtube(res, path, query);
    return sendError(res, family, 404, `Not Found: ${path}`);
  }

  const server = await serveLocally(route, (res, error) => sendText(res, 500, 'text/plain', String(error)));
  const baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    close: server.close,
  };
}
