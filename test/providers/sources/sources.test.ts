import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { PermanentProviderError } from '../../../providers/errors';
import { FinanceFetcher } from '../../../providers/sources/finance';
import { createSourceFetcher, type SourceSettings } from '../../../providers/sources';
import { hashedKey, matchesKeywords } from '../../../providers/sources/items';
import { KeywordFetcher } from '../../../providers/sources/keyword';
import { RssFetcher } from '../../../providers/sources/rss';
import { parseIsoDurationSec, YouTubeChannelFetcher } from '../../../providers/sources/youtube-channel';
import { FAKE_CHANNEL, startFakeFeeds, type FakeFeedsState } from '../../fakes/feeds-server';
import { assertRateLimited, failureLog } from '../../support/provider-errors';

const PUBMED_KEY = 'ncbi-fake-key-5d41402abc4b2a76';

describe('data source clients against the fake feeds server', () => {
  let fake: Awaited<ReturnType<typeof startFakeFeeds>>;
  let state: FakeFeedsState;
  let settings: SourceSettings;
  const { errors, failedCalls, callOptions: recording, failed, assertNoKey } = failureLog('the fetch');

  before(async () => {
    fake = await startFakeFeeds();
    state = fake.state;
    settings = {
      endpoints: { googleNewsUrl: fake.baseUrl, pubmedUrl: `${fake.baseUrl}/entrez/eutils`, yahooFinanceUrl: fake.baseUrl, youtubeApiUrl: fake.baseUrl },
      youtubeApiKey: state.youtubeApiKey,
      pubmedApiKey: PUBMED_KEY,
      timeoutMs: 5000,
    };
  });

  after(async () => {
    await fake.close();
    assert.ok(errors.length > 10, 'the failure tests ran');
    assertNoKey([state.youtubeApiKey, PUBMED_KEY]);
  });

  beforeEach(() => {
    state.reset();
    failedCalls.length = 0;
  });

  function assertNonRetryable(error: unknown): void {
    const failure = toActivityFailure(error);
    assert.ok(failure instanceof ApplicationFailure);
    assert.equal(failure.nonRetryable, true);
  }

  describe('rss', () => {
    const rss = (path = '/feeds/news.rss', filter?: string[]): RssFetcher =>
      new RssFetcher({ feed_url: `${fake.baseUrl}${path}`, ...(filter ? { filter_keywords: filter } : {}) }, settings);

    it('reads RSS 2.0: Korean titles, HTML stripped, entities decoded, newest first, durable keys, usage', async () => {
      const result = await rss().fetch();
      assert.deepEqual(
        result.items.map((item) => item.title),
        ['AI 반도체 수출 & 전망', 'Seniors & health: walking 30 minutes', '시니어 건강 체크리스트', "Editor's note"],
      );
      const [first, second, third, fourth] = result.items as [(typeof result.items)[0], (typeof result.items)[0], (typeof result.items)[0], (typeof result.items)[0]];
      assert.equal(first.summary, '삼성전자와 SK하이닉스의 AI 메모리 수출이 늘었다…');
      assert.equal(first.url, 'https://news.example.com/articles/3');
      assert.equal(first.publishedAt, '2025-03-10T00:00:00.000Z');
      assert.equal(first.key, hashedKey('rss', 'news-3'));
      assert.match(first.key, /^rss:[0-9a-f]{32}$/);
      assert.deepEqual(first.data, {
        source: 'rss',
        title: 'AI 반도체 수출 & 전망',
        summary: '삼성전자와 SK하이닉스의 AI 메모리 수출이 늘었다…',
        link: 'https://news.example.com/articles/3',
        guid: 'news-3',
        published_at: '2025-03-10T00:00:00.000Z',
        author: '김기자',
        categories: ['기술', 'AI'],
        feed_url: `${fake.baseUrl}/feeds/news.rss`,
        feed_title: '테크 뉴스 & 건강',
      });
      assert.equal(second.summary, 'Daily walks protect knees & hearts — a new study.');
      assert.equal(second.key, hashedKey('rss', 'https://news.example.com/articles/2'));
      assert.equal(third.summary, '혈압\n혈당', 'content:encoded stands in for a missing description');
      assert.equal(third.key, hashedKey('rss', 'https://news.example.com/articles/1'), 'the link is the id without a guid');
      assert.equal(fourth.url, undefined);
      assert.equal(fourth.publishedAt, undefined);
      for (const item of result.items) assert.ok(!/[<>]|alert|&\w+;/.test(`${item.title} ${item.summary}`), `markup left in ${item.title}: ${item.summary}`);
      assert.deepEqual(JSON.parse(JSON.stringify(result.items)), result.items, 'items are plain JSON');

      assert.equal(result.usage.length, 1);
      const usage = result.usage[0]!;
      assert.deepEqual({ ...usage, durationMs: 0 }, { service: 'rss', operation: 'fetch_items', inputUnits: 0, outputUnits: 4, durationMs: 0, estimatedCostUsd: 0, statusCode: 200 });
      const sent = state.requests[0]!;
      assert.match(String(sent.headers.accept), /application\/rss\+xml/);
      assert.match(String(sent.headers['user-agent']), /AutoClip/);
    });

    it('keeps only entries whose title or summary holds a filter keyword, ignoring case; Korean keywords too', async () => {
      assert.deepEqual((await rss(undefined, ['ai']).fetch()).items.map((item) => item.title), ['AI 반도체 수출 & 전망'], '"ai" is not found inside "Daily"');
      assert.deepEqual((await rss(undefined, ['건강']).fetch()).items.map((item) => item.title), ['시니어 건강 체크리스트']);
      assert.deepEqual((await rss(undefined, ['HEARTS', '혈당']).fetch()).items.map((item) => item.title), ['Seniors & health: walking 30 minutes', '시니어 건강 체크리스트']);
      assert.equal((await rss(undefined, []).fetch()).items.length, 4, 'no keywords: every entry');
      assert.ok(matchesKeywords('Seniors walk', ['senior']) && matchesKeywords('건강이 최고', ['건강']) && !matchesKeywords('Daily news', ['AI']));
    });

    it('keeps entries newer than since (undated ones too) and at most maxItems', async () => {
      const since = await rss().fetch({ since: new Date('2025-03-08T12:00:00Z') });
      assert.deepEqual(since.items.map((item) => item.title), ['AI 반도체 수출 & 전망', 'Seniors & health: walking 30 minutes', "Editor's note"]);
      const asString = await rss().fetch({ since: '2025-03-08T12:00:00Z', maxItems: 2 });
      assert.deepEqual(asString.items.map((item) => item.title), ['AI 반도체 수출 & 전망', 'Seniors & health: walking 30 minutes']);
      assert.equal(asString.usage[0]!.outputUnits, 2);
    });

    it('reads Atom: html and xhtml content, the alternate link, published or updated dates', async () => {
      const { items } = await rss('/feeds/blog.atom').fetch();
      assert.equal(items.length, 2);
      assert.deepEqual(
        items.map(({ title, url, publishedAt, summary }) => ({ title, url, publishedAt, summary })),
        [
          { title: '쿠버네티스 1.32 릴리스', url: 'https://blog.example.com/posts/2', publishedAt: '2025-03-10T01:00:00.000Z', summary: '새 기능 & 변경 사항' },
          { title: 'Rust for AI services', url: 'https://blog.example.com/posts/1', publishedAt: '2025-03-05T09:00:00.000Z', summary: 'Memory safety without a garbage collector.' },
        ],
      );
      assert.equal(items[0]!.key, hashedKey('rss', 'tag:blog.example.com,2025:post-2'));
      assert.equal(items[0]!.data.author, 'Lee');
      assert.deepEqual(items[0]!.data.categories, ['devops']);
      assert.equal(items[0]!.data.feed_title, '개발 블로그');
    });

    it('decodes a feed in the charset its XML declaration names (EUC-KR)', async () => {
      const { items } = await rss('/feeds/euc-kr.rss').fetch();
      assert.equal(items[0]!.title, '코스피 상승');
      assert.equal(items[0]!.summary, '코스피 상승');
      assert.equal(items[0]!.data.feed_title, '경제 뉴스');
    });

    it('gives the same keys on every run and from every fetcher', async () => {
      const first = await rss().fetch();
      const second = await rss().fetch();
      assert.deepEqual(second.items.map((item) => item.key), first.items.map((item) => item.key));
      assert.equal(new Set(first.items.map((item) => item.key)).size, first.items.length);
    });

    it('rejects malformed XML and a page that is no feed as invalid_response, recording the failed call', async () => {
      state.next.push({ kind: 'malformed' });
      const broken = await failed(rss().fetch({}, recording));
      assert.equal(broken.code, 'invalid_response');
      assert.equal(broken.provider, 'rss');
      assert.match(broken.message, /not well-formed XML/);
      assert.equal(failedCalls.length, 1);
      assert.equal(failedCalls[0]!.usage.service, 'rss');
      assert.equal(failedCalls[0]!.usage.operation, 'fetch_items');
      assert.equal(failedCalls[0]!.usage.statusCode, 200);

      const page = await failed(rss('/feeds/page.html').fetch());
      assert.equal(page.code, 'invalid_response');
      assert.match(page.message, /not an RSS 2\.0 or Atom feed \(root element <html>\)/);
    });

    it('maps 429 with Retry-After to rate_limited and the activity next retry delay', async () => {
      state.next.push({ kind: 'error', status: 429, message: 'Slow down', retryAfterSec: 30 });
      const error = await failed(rss().fetch({}, recording));
      assertRateLimited(error, 30_000);
      assert.equal(failedCalls[0]!.usage.statusCode, 429);
    });

    it('maps 500 to a retryable server_error, and the next fetch succeeds', async () => {
      state.next.push({ kind: 'error', status: 500, message: 'Internal error' });
      const error = await failed(rss().fetch());
      assert.equal(error.code, 'server_error');
      assert.equal(error.retryable, true);
      assert.equal((await rss().fetch()).items.length, 4);
    });

    it("maps 400, 403 and 404 to non-retryable errors carrying the server's message", async () => {
      for (const [status, code] of [[400, 'bad_request'], [403, 'forbidden'], [404, 'not_found']] as const) {
        state.next.push({ kind: 'error', status, message: `Feed refused with status ${status}` });
        const error = await failed(rss().fetch());
        assert.equal(error.code, code);
        assert.equal(error.retryable, false);
        assert.equal(error.statusCode, status);
        assert.match(error.message, new RegExp(`HTTP ${status}.*Feed refused with status ${status}`));
        assertNonRetryable(error);
      }
    });

    it('ends a request without an answer at the deadline, and at once when cancelled', async () => {
      state.next.push({ kind: 'stall' });
      const slow = new RssFetcher({ feed_url: `${fake.baseUrl}/feeds/news.rss` }, { ...settings, timeoutMs: 200 });
      const error = await failed(slow.fetch());
      assert.equal(error.code, 'network_error');
      assert.equal(error.retryable, true);
      assert.match(error.message, /within 200 ms/);

      state.next.push({ kind: 'stall' });
      const controller = new AbortController();
      const pending = rss().fetch({}, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('cancelled by the workflow')), 50);
      await assert.rejects(pending, /cancelled by the workflow/);
    });
  });

  describe('keyword', () => {
    it('searches Google News (Korean edition) and PubMed for every keyword, once per item, with usage per service', async () => {
      const fetcher = new KeywordFetcher({ keywords: ['시니어', 'seniors'], sources: ['google_news', 'pubmed'] }, settings);
      const progress: number[] = [];
      const result = await fetcher.fetch({ language: 'ko' }, { onProgress: (percent) => progress.push(percent) });
      assert.deepEqual(
        result.items.map((item) => item.title),
        ['시니어 건강 걷기 열풍', 'Walking and cognitive health in seniors: a cohort study.', '건강 검진 시니어 혜택 확대', 'Sleep quality among seniors.'],
      );
      const news = result.items[0]!;
      assert.equal(news.key, hashedKey('google_news', 'CBMiK2h0dHBzOi8vbmV3cy5leGFtcGxlLmtyL2hlYWx0aC8x'));
      assert.equal(news.url, 'https://news.google.com/rss/articles/CBMiK2h0dHBzOi8vbmV3cy5leGFtcGxlLmtyL2hlYWx0aC8x?oc=5');
      assert.equal(news.publishedAt, '2025-03-10T01:00:00.000Z');
      assert.equal(news.data.source, 'google_news');
      assert.equal(news.data.publisher, '건강일보');
      assert.equal(news.data.keyword, '시니어');
      assert.ok(!/[<>]|&nbsp;/.test(news.summary));

      const article = result.items[1]!;
      assert.equal(article.key, 'pubmed:40000003');
      assert.equal(article.url, 'https://pubmed.ncbi.nlm.nih.gov/40000003/');
      assert.equal(article.publishedAt, '2025-03-09T00:00:00.000Z');
      assert.equal(article.summary, 'Journal of Aging Research · 2025 Mar 9 · Kim J, Park S, Lee H');
      assert.deepEqual(
        { ...article.data },
        {
          source: 'pubmed',
          keyword: 'seniors',
          pmid: '40000003',
          title: 'Walking and cognitive health in seniors: a cohort study.',
          summary: 'Journal of Aging Research · 2025 Mar 9 · Kim J, Park S, Lee H',
          link: 'https://pubmed.ncbi.nlm.nih.gov/40000003/',
          journal: 'Journal of Aging Research',
          authors: ['Kim J', 'Park S', 'Lee H'],
          pubdate: '2025 Mar 9',
          published_at: '2025-03-09T00:00:00.000Z',
          doi: '10.1000/jar.2025.3',
        },
      );

      const searches = state.requestsTo('/rss/search');
      assert.deepEqual(searches.map((request) => request.query), [
        { q: '시니어', hl: 'ko', gl: 'KR', ceid: 'KR:ko' },
        { q: 'seniors', hl: 'ko', gl: 'KR', ceid: 'KR:ko' },
      ]);
      const esearch = state.requestsTo('esearch.fcgi');
      assert.deepEqual(esearch[1]!.query, { db: 'pubmed', term: 'seniors', retmode: 'json', sort: 'pub_date', retmax: '20', tool: 'autoclip', api_key: PUBMED_KEY });
      assert.deepEqual(state.requestsTo('esummary.fcgi')[0]!.query, { db: 'pubmed', id: '40000003,40000002', retmode: 'json', tool: 'autoclip', api_key: PUBMED_KEY });

      assert.deepEqual(
        result.usage.map(({ service, operation, outputUnits, estimatedCostUsd }) => ({ service, operation, outputUnits, estimatedCostUsd })),
        [
          { service: 'google_news', operation: 'fetch_items', outputUnits: 2, estimatedCostUsd: 0 },
          { service: 'pubmed', operation: 'fetch_items', outputUnits: 2, estimatedCostUsd: 0 },
        ],
      );
      assert.equal(progress.at(-1), 100);
    });

    it('searches the en-US edition for other languages, without the publisher in the title', async () => {
      const { items } = await new KeywordFetcher({ keywords: ['seniors'], sources: ['google_news'] }, settings).fetch({ language: 'en' });
      assert.deepEqual(items.map((item) => [item.title, item.data.publisher]), [['Seniors and health: new guidelines', 'Example Times']]);
      assert.deepEqual(state.requestsTo('/rss/search')[0]!.query, { q: 'seniors', hl: 'en-US', gl: 'US', ceid: 'US:en' });
    });

    it('asks PubMed only for articles entered since the last fetch and drops older news', async () => {
      const fetcher = new KeywordFetcher({ keywords: ['시니어', 'seniors'], sources: ['google_news', 'pubmed'] }, settings);
      const result = await fetcher.fetch({ since: new Date('2025-03-09T00:00:00Z'), now: new Date('2025-03-11T00:00:00Z') });
      assert.deepEqual(result.items.map((item) => item.key), [hashedKey('google_news', 'CBMiK2h0dHBzOi8vbmV3cy5leGFtcGxlLmtyL2hlYWx0aC8x'), 'pubmed:40000003']);
      const query = state.requestsTo('esearch.fcgi')[0]!.query;
      assert.equal(query.datetype, 'edat');
      assert.equal(query.mindate, '2025/03/09');
      assert.equal(query.maxdate, '2025/03/11');
      const again = await fetcher.fetch({ since: new Date('2025-03-09T00:00:00Z'), now: new Date('2025-03-11T00:00:00Z') });
      assert.deepEqual(again.items.map((item) => item.key), result.items.map((item) => item.key), 'the same keys on the next run');
    });

    it('maps a PubMed 429 (with the key in its answer) to rate_limited without leaking the key', async () => {
      state.pubmedApiKey = PUBMED_KEY;
      state.next.push({ kind: 'error', status: 429, message: 'API rate limit exceeded', retryAfterSec: 2, echoKey: true, match: 'esearch' });
      const error = await failed(new KeywordFetcher({ keywords: ['seniors'], sources: ['pubmed'] }, settings).fetch({}, recording));
      assertRateLimited(error, 2000);
      assert.equal(error.provider, 'pubmed');
      assert.match(error.message, /esearch "seniors".*API rate limit exceeded \(key \[redacted\]\)/);
      assert.equal(failedCalls[0]!.usage.service, 'pubmed');
    });

    it('turns an esearch ERROR into a non-retryable bad_request, and malformed news into invalid_response', async () => {
      state.documents.set('/entrez/eutils/esearch.fcgi', { contentType: 'application/json', body: JSON.stringify({ esearchresult: { ERROR: 'Invalid query syntax' } }) });
      const refused = await failed(new KeywordFetcher({ keywords: ['seniors'], sources: ['pubmed'] }, settings).fetch());
      assert.equal(refused.code, 'bad_request');
      assert.equal(refused.retryable, false);
      assert.match(refused.message, /Invalid query syntax/);

      state.next.push({ kind: 'malformed', match: '/rss/search' });
      const broken = await failed(new KeywordFetcher({ keywords: ['시니어'], sources: ['google_news'] }, settings).fetch());
      assert.equal(broken.code, 'invalid_response');
      assert.equal(broken.provider, 'google_news');
    });

    it('maps a Google News 503 to a retryable server_error', async () => {
      state.next.push({ kind: 'error', status: 503, message: 'Service Unavailable', match: '/rss/search' });
      const error = await failed(new KeywordFetcher({ keywords: ['시니어'], sources: ['google_news'] }, settings).fetch());
      assert.equal(error.code, 'server_error');
      assert.equal(error.retryable, true);
    });

    it('refuses keyword sources it has no client for, permanently', () => {
      assert.throws(() => new KeywordFetcher({ keywords: ['AI'], sources: ['google_news', 'naver_news'] }, settings), (error: unknown) => {
        assert.ok(error instanceof PermanentProviderError);
        assert.match(error.message, /naver_news/);
        assertNonRetryable(error);
        return true;
      });
      assert.throws(() => new KeywordFetcher({ keywords: [' '], sources: ['pubmed'] }, settings), PermanentProviderError);
    });
  });

  describe('api (yahoo_finance daily_summary)', () => {
    const finance = (symbols = ['AAPL', '005930.KS']): FinanceFetcher => new FinanceFetcher({ api_type: 'yahoo_finance', symbols, data_type: 'daily_summary' }, settings);

    it('gives the last finished trading day of each symbol, with change against the previous close', async () => {
      const result = await finance().fetch({ now: new Date('2025-03-07T18:00:00Z') });
      assert.deepEqual(
        result.items.map((item) => [item.key, item.title, item.publishedAt]),
        [
          ['yahoo_finance:005930.KS:2025-03-07', '삼성전자 (005930.KS) 2025-03-07: 55,100 KRW (-1.25%)', '2025-03-07T06:30:00.000Z'],
          // AAPL's 7 March session is still open at 18:00 UTC: the 6th is its last finished day.
          ['yahoo_finance:AAPL:2025-03-06', 'Apple Inc. (AAPL) 2025-03-06: 235.33 USD (-0.17%)', '2025-03-06T21:00:00.000Z'],
        ],
      );
      const samsung = result.items[0]!;
      assert.equal(samsung.summary, 'Open 55,500, close 55,100 KRW, change -1.25%, volume 12,300,000');
      assert.equal(samsung.url, 'https://finance.yahoo.com/quote/005930.KS');
      assert.deepEqual(samsung.data.symbols, [
        { symbol: '005930.KS', name: '삼성전자', currency: 'KRW', exchange: 'KSE', open: 55_500, high: 55_900, low: 54_800, close: 55_100, previous_close: 55_800, change: -700, change_pct: -1.25, volume: 12_300_000 },
      ]);
      assert.equal(samsung.data.date, '2025-03-07');
      assert.deepEqual(state.requestsTo('/v8/finance/chart/').map((request) => [request.path, request.query]), [
        ['/v8/finance/chart/AAPL', { range: '5d', interval: '1d' }],
        ['/v8/finance/chart/005930.KS', { range: '5d', interval: '1d' }],
      ]);
      assert.deepEqual({ ...result.usage[0]!, durationMs: 0 }, { service: 'yahoo_finance', operation: 'fetch_items', inputUnits: 0, outputUnits: 2, durationMs: 0, estimatedCostUsd: 0, statusCode: 200 });
    });

    it('gives every day finished since the last fetch, with the same keys on every run', async () => {
      const request = { since: new Date('2025-03-05T22:00:00Z'), now: new Date('2025-03-07T22:00:00Z') };
      const first = await finance().fetch(request);
      assert.deepEqual(first.items.map((item) => item.key), [
        'yahoo_finance:AAPL:2025-03-07',
        'yahoo_finance:005930.KS:2025-03-07',
        'yahoo_finance:AAPL:2025-03-06',
        'yahoo_finance:005930.KS:2025-03-06',
      ]);
      assert.equal(first.items[0]!.title, 'Apple Inc. (AAPL) 2025-03-07: 239.07 USD (+1.59%)');
      const second = await finance().fetch(request);
      assert.deepEqual(second.items.map((item) => item.key), first.items.map((item) => item.key));
    });

    it("maps an unknown symbol to a non-retryable not_found carrying Yahoo's message and the symbol", async () => {
      const error = await failed(finance(['NOPE']).fetch());
      assert.equal(error.code, 'not_found');
      assert.equal(error.retryable, false);
      assert.match(error.message, /NOPE.*No data found, symbol may be delisted/);
      assertNonRetryable(error);
    });

    it('maps 429 with Retry-After to rate_limited, 500 to server_error then success, a malformed answer to invalid_response', async () => {
      state.next.push({ kind: 'error', status: 429, message: 'Too Many Requests', retryAfterSec: 5 });
      assertRateLimited(await failed(finance().fetch({}, recording)), 5000);
      assert.equal(failedCalls[0]!.usage.service, 'yahoo_finance');

      state.next.push({ kind: 'error', status: 500, message: 'Internal Server Error', match: '005930' });
      const server = await failed(finance().fetch());
      assert.equal(server.code, 'server_error');
      assert.equal(server.retryable, true);
      assert.equal((await finance().fetch({ now: new Date('2025-03-08T00:00:00Z') })).items.length, 2);

      state.next.push({ kind: 'malformed' });
      const broken = await failed(finance().fetch());
      assert.equal(broken.code, 'invalid_response');
      assert.match(broken.message, /not JSON/);
    });

    it('refuses an api_type, data_type or symbol list it cannot serve, permanently', () => {
      for (const config of [
        { api_type: 'alpha_vantage', symbols: ['AAPL'], data_type: 'daily_summary' },
        { api_type: 'yahoo_finance', symbols: ['AAPL'], data_type: 'intraday' },
        { api_type: 'yahoo_finance', data_type: 'daily_summary' },
      ]) {
        assert.throws(() => new FinanceFetcher(config, settings), (error: unknown) => {
          assert.ok(error instanceof PermanentProviderError);
          assertNonRetryable(error);
          return true;
        });
      }
    });
  });

  describe('youtube_channel', () => {
    const channel = (config: Partial<{ channel_id: string; min_duration: number; max_age_days: number }> = {}, key = state.youtubeApiKey): YouTubeChannelFetcher =>
      new YouTubeChannelFetcher({ channel_id: FAKE_CHANNEL.id, extract_mode: 'highlights', ...config }, { ...settings, youtubeApiKey: key });

    it('lists the uploads within max_age_days and at least min_duration, skipping live broadcasts; quota as input units', async () => {
      const result = await channel({ min_duration: 60, max_age_days: 30 }).fetch({ now: new Date('2025-03-10T12:00:00Z') });
      assert.deepEqual(result.items.map((item) => [item.key, item.title, item.publishedAt]), [
        ['youtube:vidLong00001', '시니어를 위한 AI 활용법', '2025-03-09T10:00:00.000Z'],
        ['youtube:vidHour00001', 'Market deep dive', '2025-03-01T10:00:00.000Z'],
      ]);
      const video = result.items[0]!;
      assert.equal(video.url, 'https://www.youtube.com/watch?v=vidLong00001');
      assert.equal(video.summary, '스마트폰으로 AI 쓰는 법.\nhttps://example.com');
      assert.deepEqual(video.data, {
        source: 'youtube_channel',
        kind: 'youtube#video',
        videoId: 'vidLong00001',
        channelId: FAKE_CHANNEL.id,
        channelTitle: '오토클립 데모',
        title: '시니어를 위한 AI 활용법',
        description: '스마트폰으로 AI 쓰는 법.\nhttps://example.com',
        link: 'https://www.youtube.com/watch?v=vidLong00001',
        published_at: '2025-03-09T10:00:00.000Z',
        duration_sec: 750,
        tags: ['AI', '시니어'],
        extract_mode: 'highlights',
      });
      assert.equal(result.items[1]!.data.duration_sec, 3723);

      assert.deepEqual(state.requests.map((request) => request.path), ['/youtube/v3/channels', '/youtube/v3/playlistItems', '/youtube/v3/videos']);
      assert.deepEqual(state.requests[0]!.query, { part: 'contentDetails', id: FAKE_CHANNEL.id, key: state.youtubeApiKey });
      assert.equal(state.requests[1]!.query.playlistId, FAKE_CHANNEL.uploads);
      assert.equal(state.requests[1]!.query.part, 'contentDetails,snippet');
      assert.equal(state.requests[2]!.query.id, 'vidUpcoming1,vidLong00001,vidShort0001,vidHour00001', 'the old upload is not looked up');
      assert.equal(state.requests[2]!.query.part, 'contentDetails,snippet');
      assert.deepEqual({ ...result.usage[0]!, durationMs: 0 }, { service: 'youtube', operation: 'fetch_items', inputUnits: 3, outputUnits: 2, durationMs: 0, estimatedCostUsd: 0, statusCode: 200 });
      assert.equal(state.quotaUsed, 3);
    });

    it('finds a channel by @handle and reads pages only until they reach back to since', async () => {
      state.pageSize = 2;
      const result = await channel({ channel_id: FAKE_CHANNEL.handle }).fetch({ since: '2025-03-05T00:00:00Z' });
      assert.deepEqual(result.items.map((item) => item.key), ['youtube:vidLong00001', 'youtube:vidShort0001']);
      assert.equal(state.requests[0]!.query.forHandle, FAKE_CHANNEL.handle);
      assert.deepEqual(state.requestsTo('playlistItems').map((request) => request.query.pageToken), [undefined, 'page-2']);
      assert.equal(result.usage[0]!.inputUnits, 4);
      const again = await channel({ channel_id: FAKE_CHANNEL.handle }).fetch({ since: '2025-03-05T00:00:00Z' });
      assert.deepEqual(again.items.map((item) => item.key), result.items.map((item) => item.key));
    });

    it('reads at most youtubeMaxPages pages when no date bounds the fetch', async () => {
      state.pageSize = 2;
      const result = await channel().fetch();
      assert.equal(state.requestsTo('playlistItems').length, 2);
      assert.deepEqual(result.items.map((item) => item.key), ['youtube:vidLong00001', 'youtube:vidShort0001', 'youtube:vidHour00001']);
    });

    it('maps quotaExceeded to a non-retryable quota_exceeded, recording the quota spent', async () => {
      state.next.push({
        kind: 'error',
        status: 403,
        reason: 'quotaExceeded',
        message: 'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.',
        match: '/videos',
      });
      const error = await failed(channel().fetch({}, recording));
      assert.equal(error.code, 'quota_exceeded');
      assert.equal(error.retryable, false);
      assert.equal(error.providerReason, 'quotaExceeded');
      assert.match(error.message, /videos\.list.*exceeded your <a/);
      assertNonRetryable(error);
      assert.equal(failedCalls.length, 1);
      assert.equal(failedCalls[0]!.usage.service, 'youtube');
      assert.equal(failedCalls[0]!.usage.inputUnits, 3);
      assert.equal(failedCalls[0]!.usage.statusCode, 403);
    });

    it('maps 429 and 500 to retryable errors (the next fetch succeeds), a bad key and an unknown channel to non-retryable ones, never showing the key', async () => {
      state.next.push({ kind: 'error', status: 429, reason: 'rateLimitExceeded', message: 'Too many requests', retryAfterSec: 9, match: 'playlistItems' });
      assertRateLimited(await failed(channel().fetch()), 9000);

      state.next.push({ kind: 'error', status: 500, reason: 'backendError', message: 'Backend Error', echoKey: true });
      const server = await failed(channel().fetch());
      assert.equal(server.code, 'server_error');
      assert.equal(server.retryable, true);
      assert.match(server.message, /\[redacted\]/);
      assert.equal((await channel().fetch()).items.length, 4);

      const badKey = await failed(channel({}, 'AIzaWrongKey-0123456789').fetch());
      assert.equal(badKey.code, 'bad_request');
      assert.equal(badKey.retryable, false);
      assert.match(badKey.message, /API key not valid/);
      assert.ok(!badKey.message.includes('AIzaWrongKey-0123456789'));

      const unknown = await failed(channel({ channel_id: 'UCunknownChannel00000000' }).fetch());
      assert.equal(unknown.code, 'not_found');
      assert.equal(unknown.retryable, false);
      assert.match(unknown.message, /UCunknownChannel00000000 was not found/);

      state.next.push({ kind: 'malformed', match: '/channels' });
      assert.equal((await failed(channel().fetch())).code, 'invalid_response');
    });

    it('needs an API key and a channel id or handle', () => {
      assert.throws(() => new YouTubeChannelFetcher({ channel_id: FAKE_CHANNEL.id, extract_mode: 'full' }, { ...settings, youtubeApiKey: undefined }), /YOUTUBE_API_KEY/);
      assert.throws(() => channel({ channel_id: 'not a channel' }), PermanentProviderError);
    });

    it('reads ISO 8601 durations', () => {
      assert.equal(parseIsoDurationSec('PT1H2M3S'), 3723);
      assert.equal(parseIsoDurationSec('PT45S'), 45);
      assert.equal(parseIsoDurationSec('P1DT2H'), 93_600);
      assert.equal(parseIsoDurationSec('P0D'), 0);
      assert.equal(parseIsoDurationSec('PT'), undefined);
      assert.equal(parseIsoDurationSec('1:02:03'), undefined);
    });
  });

  describe('createSourceFetcher', () => {
    it('chooses the client by source_type and refuses a type without one', () => {
      assert.ok(createSourceFetcher({ source_type: 'rss', config: { feed_url: 'https://example.com/feed' } }, settings) instanceof RssFetcher);
      assert.ok(createSourceFetcher({ source_type: 'keyword', config: { keywords: ['AI'], sources: ['google_news'] } }, settings) instanceof KeywordFetcher);
      assert.ok(createSourceFetcher({ source_type: 'api', config: { api_type: 'yahoo_finance', symbols: ['AAPL'], data_type: 'daily_summary' } }, settings) instanceof FinanceFetcher);
      const youtube = createSourceFetcher({ source_type: 'youtube_channel', config: { channel_id: FAKE_CHANNEL.id, extract_mode: 'summary' } }, settings);
      assert.ok(youtube instanceof YouTubeChannelFetcher);
      assert.equal(youtube.sourceType, 'youtube_channel');
      assert.throws(() => createSourceFetcher({ source_type: 'podcast', config: {} } as never, settings), PermanentProviderError);
    });
  });
});
