import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { cronProblem } from '../../api/routes/data-sources';
import type { ApiHarness, ApiResponse } from '../support/api';
import { closeChecked, createProjectApi } from '../support/project-api';
import { rawRow, roleMatrix, type Account, type Actor } from '../support/tenants';

const CONFIGS = {
  rss: { feed_url: 'https://news.example.com/feed.xml', filter_keywords: ['AI', '기술'] },
  keyword: { keywords: ['건강', '시니어'], sources: ['google_news', 'pubmed'] },
  api: { api_type: 'yahoo_finance', symbols: ['AAPL', 'GOOGL', '^KS11', '005930.KS'], data_type: 'daily_summary' },
  youtube_channel: { channel_id: 'UC_x5XG1OV2P6uZZ5FSM9Ttw', extract_mode: 'highlights', min_duration: 60, max_age_days: 30 },
} as const;

describe('data source routes', () => {
  let api: ApiHarness;
  let as: Record<Actor, Account>;
  let projectId: string;

  before(async () => {
    ({ api, as, projectId } = await createProjectApi('Feeds'));
  });
  after(() => closeChecked(api));

  const add = async (member: Account, overrides: Record<string, unknown> = {}): Promise<ApiResponse> =>
    api.request('POST', `/projects/${projectId}/data-sources`, { token: member.token, body: { name: 'Feed', source_type: 'rss', config: CONFIGS.rss, schedule_cron: '0 9 * * *', ...overrides } });
  const fresh = async (): Promise<string> => {
    const res = await add(as.owner);
    assert.equal(res.status, 201, res.text);
    return res.body.data_source.id;
  };

  it('adds each kind of source, lists, reads, changes and deletes them', async () => {
    const made: Record<string, string> = {};
    for (const [sourceType, config] of Object.entries(CONFIGS)) {
      const res = await add(as.admin, { name: `${sourceType} source`, source_type: sourceType, config });
      assert.equal(res.status, 201, `${sourceType}: ${res.text}`);
      assert.deepEqual(res.body.data_source.config, config);
      assert.equal(res.body.data_source.is_active, true);
      assert.equal(res.body.data_source.last_fetched_at, null);
      made[sourceType] = res.body.data_source.id;
    }
    const source = (await api.request('GET', `/data-sources/${made.rss}`, { token: as.viewer.token })).body.data_source;
    assert.deepEqual(Object.keys(source).sort(), ['config', 'created_at', 'id', 'is_active', 'last_fetched_at', 'name', 'project_id', 'schedule', 'schedule_cron', 'source_type', 'updated_at']);
    assert.equal(source.schedule_cron, '0 9 * * *');

    const listed = await api.request('GET', `/projects/${projectId}/data-sources`, { token: as.viewer.token });
    assert.equal(listed.status, 200);
    for (const id of Object.values(made)) assert.ok(listed.body.items.some((s: { id: string }) => s.id === id));

    const paused = await api.request('PATCH', `/data-sources/${made.rss}`, { token: as.admin.token, body: { is_active: false, schedule_cron: '*/30  8-18 * * MON-FRI', config: { feed_url: 'http://blog.example.org/rss' } } });
    assert.equal(paused.status, 200, paused.text);
    assert.equal(paused.body.data_source.is_active, false);
    assert.equal(paused.body.data_source.schedule_cron, '*/30 8-18 * * MON-FRI');
    assert.deepEqual(paused.body.data_source.config, { feed_url: 'http://blog.example.org/rss' });
    const unscheduled = await api.request('PATCH', `/data-sources/${made.rss}`, { token: as.admin.token, body: { schedule_cron: null } });
    assert.equal(unscheduled.body.data_source.schedule_cron, null);

    const retyped = await api.request('PATCH', `/data-sources/${made.rss}`, { token: as.owner.token, body: { source_type: 'keyword', config: CONFIGS.keyword } });
    assert.equal(retyped.status, 200, retyped.text);
    assert.equal(retyped.body.data_source.source_type, 'keyword');

    assert.equal((await api.request('DELETE', `/data-sources/${made.api}`, { token: as.admin.token })).status, 204);
    assert.equal((await api.request('GET', `/data-sources/${made.api}`, { token: as.admin.token })).status, 404);
  });

  it('checks each config against its source type and names the failing config fields', async () => {
    const cases: [string, string, unknown, string[]][] = [
      ['rss scheme', 'rss', { feed_url: 'javascript:alert(1)' }, ['body.config.feed_url']],
      ['rss ftp and keywords', 'rss', { feed_url: 'ftp://example.com/feed', filter_keywords: [''] }, ['body.config.feed_url', 'body.config.filter_keywords.0']],
      ['rss missing url', 'rss', { filter_keywords: ['AI'] }, ['body.config.feed_url']],
      ['keyword empty', 'keyword', { keywords: [], sources: ['google_news'] }, ['body.config.keywords']],
      ['keyword unknown source', 'keyword', { keywords: ['a'], sources: ['bing', 'google_news'] }, ['body.config.sources.0']],
      ['keyword duplicate source', 'keyword', { keywords: ['a'], sources: ['pubmed', 'pubmed'] }, ['body.config.sources.1']],
      ['api missing', 'api', { api_type: 'yahoo_finance' }, ['body.config.data_type', 'body.config.symbols']],
      ['api unknown', 'api', { api_type: 'alpha_vantage', symbols: ['AAPL'], data_type: 'intraday' }, ['body.config.api_type', 'body.config.data_type']],
      ['api bad symbols', 'api', { api_type: 'Yahoo Finance', symbols: ['AAPL; DROP'], data_type: 'daily_summary' }, ['body.config.api_type', 'body.config.symbols.0']],
      ['youtube', 'youtube_channel', { channel_id: 'not a channel', extract_mode: 'everything', min_duration: -1, max_age_days: 0 }, [
        'body.config.channel_id', 'body.config.extract_mode', 'body.config.max_age_days', 'body.config.min_duration',
      ]],
      ['another type’s config', 'youtube_channel', CONFIGS.rss, ['body.config.channel_id', 'body.config.extract_mode', 'body.config.feed_url', 'body.config.filter_keywords']],
      ['not an object', 'rss', 'https://news.example.com/feed.xml', ['body.config']],
    ];
    const before = await api.ctx.models.DataSource.count({ where: { project_id: projectId } });
    for (const [label, sourceType, config, fields] of cases) {
      const res = await add(as.owner, { source_type: sourceType, config });
      assert.equal(res.status, 400, `${label}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, label);
    }
    assert.equal(await api.ctx.models.DataSource.count({ where: { project_id: projectId } }), before);

    // A PATCH's config is checked against the stored type, or the new one it comes with.
    const id = await fresh();
    const row = await rawRow(api, 'data_sources', id);
    for (const [label, body, fields] of [
      ['config of another type', { config: CONFIGS.keyword }, ['body.config.feed_url', 'body.config.keywords', 'body.config.sources']],
      ['new type, old config', { source_type: 'api', config: CONFIGS.rss }, ['body.config.api_type', 'body.config.data_type', 'body.config.feed_url', 'body.config.filter_keywords', 'body.config.symbols']],
      ['new type without config', { source_type: 'keyword' }, ['body.config']],
      ['fixed fields', { project_id: projectId, last_fetched_at: '2030-01-01T00:00:00Z' }, ['body.last_fetched_at', 'body.project_id']],
      ['empty', {}, ['body']],
    ] as [string, unknown, string[]][]) {
      const res = await api.request('PATCH', `/data-sources/${id}`, { token: as.owner.token, body });
      assert.equal(res.status, 400, `${label}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, label);
    }
    assert.deepEqual(await rawRow(api, 'data_sources', id), row);
  });

  it('accepts five-field cron expressions only', async () => {
    const valid = ['0 9 * * *', '*/15 * * * *', '0 0 1 JAN *', '30 8 * * mon-fri', '0 0,12 1-15/2 */3 0', '59 23 31 12 7', '5,10-20/5 * * * SUN'];
    const invalid = ['', '* * * *', '* * * * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 8', '*/0 * * * *', '5-1 * * * *', '1-2-3 * * * *', '1,,2 * * * *', '@daily', 'a b c d e', '* * * * MON/2/3', '0 9 * * * ; rm -rf /'];
    for (const expression of valid) assert.equal(cronProblem(expression), undefined, expression);
    for (const expression of invalid) assert.ok(cronProblem(expression), expression);
    for (const expression of valid.slice(0, 3)) assert.equal((await add(as.owner, { schedule_cron: expression })).status, 201, expression);
    for (const expression of [...invalid.slice(1, 4), 'x'.repeat(51)]) {
      const res = await add(as.owner, { schedule_cron: expression });
      assert.equal(res.status, 400, expression);
      assert.deepEqual(Object.keys(res.body.error.details), ['body.schedule_cron']);
    }
  });

  it('validates the other fields and stores odd strings verbatim', async () => {
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['missing', { name: undefined, source_type: undefined, config: undefined }, ['body.config', 'body.name', 'body.source_type']],
      ['wrong types', { name: 5, is_active: 'on', schedule_cron: 900 }, ['body.is_active', 'body.name', 'body.schedule_cron']],
      ['unknown type', { source_type: 'twitter' }, ['body.source_type']],
      ['unknown fields', { project_id: projectId, last_fetched_at: null }, ['body.last_fetched_at', 'body.project_id']],
      ['huge', { name: '가'.repeat(101) }, ['body.name']],
    ];
    for (const [label, overrides, fields] of cases) {
      const res = await add(as.owner, overrides);
      assert.equal(res.status, 400, `${label}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, label);
    }
    const odd = { name: "<script>x</script>' OR '1'='1 📰", config: { keywords: ["'; DROP TABLE data_sources; --", '<img onerror=alert(1)>', '시니어 🧓'], sources: ['pubmed'] }, source_type: 'keyword' };
    const created = await add(as.owner, odd);
    assert.equal(created.status, 201, created.text);
    const got = await api.request('GET', `/data-sources/${created.body.data_source.id}`, { token: as.viewer.token });
    assert.equal(got.body.data_source.name, odd.name);
    assert.deepEqual(got.body.data_source.config, odd.config);
  });

  it('lets only admins and owners add, change and delete sources; viewers read; strangers get 404', async () => {
    const count = () => api.ctx.models.DataSource.count({ where: { project_id: projectId } });
    await roleMatrix(as, { owner: 201, admin: 201, editor: 403, viewer: 403, outsider: 404, other: 404 }, async () => projectId, count, (m) => add(m));
    const snapshot = (id: string) => rawRow(api, 'data_sources', id);
    await roleMatrix(as, { owner: 200, admin: 200, editor: 403, viewer: 403, outsider: 404, other: 404 }, fresh, snapshot, (m, id) =>
      api.request('PATCH', `/data-sources/${id}`, { token: m.token, body: { name: 'changed', is_active: false } }),
    );
    await roleMatrix(as, { owner: 204, admin: 204, editor: 403, viewer: 403, outsider: 404, other: 404 }, fresh, snapshot, (m, id) =>
      api.request('DELETE', `/data-sources/${id}`, { token: m.token }),
    );
    await roleMatrix(as, { owner: 200, admin: 200, editor: 200, viewer: 200, outsider: 404, other: 404 }, fresh, snapshot, (m, id) =>
      api.request('GET', `/data-sources/${id}`, { token: m.token }),
    );
    await roleMatrix(as, { owner: 200, admin: 200, editor: 200, viewer: 200, outsider: 404, other: 404 }, async () => projectId, count, (m) =>
      api.request('GET', `/projects/${projectId}/data-sources`, { token: m.token }),
    );
  });

  it('isolates tenants: a second organization’s token gets 404 on every data source route and changes nothing', async () => {
    const id = await fresh();
    const row = await rawRow(api, 'data_sources', id);
    const total = await api.ctx.models.DataSource.count();
    for (const [method, path, body] of [
      ['GET', `/data-sources/${id}`],
      ['PATCH', `/data-sources/${id}`, { name: 'stolen' }],
      ['DELETE', `/data-sources/${id}`],
      ['GET', `/projects/${projectId}/data-sources`],
      ['POST', `/projects/${projectId}/data-sources`, { name: 'planted', source_type: 'rss', config: CONFIGS.rss }],
    ] as [string, string, unknown?][]) {
      const res = await api.request(method, path, { token: as.other.token, body });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.message, path.startsWith('/data-sources') ? 'no such data source' : 'no such project');
    }
    assert.deepEqual(await rawRow(api, 'data_sources', id), row);
    assert.equal(await api.ctx.models.DataSource.count(), total);
  });
});
