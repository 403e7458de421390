import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QueryTypes } from 'sequelize';
import type { AppContext } from '../../control/app-context';
import type { RunningWorkers } from '../../worker';
import { ingestDataSource, type IngestDataSourceResult } from '../../workflows/ingest-data-source';
import { produceContentWorkflowId } from '../../workflows/produce-content';
import { ProjectIdKey } from '../../workflows/search-attributes';
import { RSS_FEED, startFakeFeeds } from '../fakes/feeds-server';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';

/** The fake's feed with `extra` items added at its top (the newest). */
function feedWith(extra: { guid: string; title: string }[]): string {
  const items = extra
    .map(({ guid, title }) => `<item><title>${title}</title><link>https://news.example.com/${guid}</link><guid isPermaLink="false">${guid}</guid><pubDate>${new Date().toUTCString()}</pubDate></item>`)
    .join('');
  return RSS_FEED.replace('<description>Fake feed</description>', `<description>Fake feed</description>${items}`);
}

describe('ingestDataSource: items become contents exactly once', () => {
  let h: PipelineHarness;
  let feeds: Awaited<ReturnType<typeof startFakeFeeds>>;
  let ctx: AppContext;
  let workers: RunningWorkers;
  let tenant: Tenant;
  let sourceId: string;

  before(async () => {
    h = await createPipelineHarness();
    feeds = await startFakeFeeds();
    ctx = h.isolated('ingest');
    workers = await h.startWorkers(ctx, ['orchestration']);
    tenant = await createTenant(h, { credits: 0 });
    const source = await ctx.models.DataSource.create({
      project_id: tenant.projectId,
      name: 'Tech news',
      source_type: 'rss',
      config: { feed_url: `${feeds.baseUrl}/feeds/news.rss` },
      schedule_cron: null,
      last_fetched_at: null,
    });
    sourceId = source.id;
  });

  after(async () => {
    await workers?.shutdown();
    await feeds?.close();
    await h?.close();
  });

  const run = (label: string): Promise<IngestDataSourceResult> =>
    ctx.temporal.workflow.execute(ingestDataSource, {
      taskQueue: ctx.config.temporal.taskQueue,
      workflowId: `ingest-${sourceId}-${label}`,
      args: [{ dataSourceId: sourceId }],
    });

  const sourceContents = (): Promise<{ id: string; title: string; status: string; source_type: string; source_url: string | null; item_key: string }[]> =>
    ctx.sequelize.query(
      `SELECT c.id, c.title, c.status, c.source_type, c.source_url, i.item_key
         FROM contents c JOIN data_source_items i ON i.content_id = c.id
        WHERE i.data_source_id = :sourceId ORDER BY c.created_at, c.id`,
      { replacements: { sourceId }, type: QueryTypes.SELECT },
    );

  const projectContentCount = async (): Promise<number> => ctx.models.Content.count({ where: { project_id: tenant.projectId } });

  it('turns every item into one draft, and a second run creates nothing', async () => {
    const first = await run('first');
    assert.equal(first.status, 'collected');
    assert.equal(first.fetched, 4);
    assert.equal(first.created.length, 4);
    assert.deepEqual(first.started, [], 'no credits: nothing is produced');
    assert.deepEqual([...first.waiting].sort(), [...first.created].sort(), 'every new item waits as a draft');

    const contents = await sourceContents();
    assert.equal(contents.length, 4);
    assert.ok(contents.every((c) => c.status === 'draft' && c.source_type === 'rss'));
    assert.ok(contents.some((c) => c.title === 'AI 반도체 수출 & 전망' && c.source_url === 'https://news.example.com/articles/3'));
    const source = await ctx.models.DataSource.findByPk(sourceId, { rejectOnEmpty: true });
    assert.ok(source.last_fetched_at, 'last_fetched_at is set');

    const second = await run('second');
    assert.equal(second.created.length, 0, 'nothing is produced twice');
    assert.equal(await projectContentCount(), 4);
  });

  it('creates each new item once when two runs overlap', async () => {
    feeds.state.documents.set('/feeds/news.rss', {
      contentType: 'application/rss+xml',
      body: feedWith([
        { guid: 'news-4', title: '양자 컴퓨터 상용화' },
        { guid: 'news-5', title: '로봇 요양 도우미' },
      ]),
    });
    const [a, b] = await Promise.all([run('overlap-a'), run('overlap-b')]);
    assert.equal(a.created.length + b.created.length, 2, `created ${JSON.stringify([a.created, b.created])}`);
    assert.equal(new Set([...a.created, ...b.created]).size, 2);
    const contents = await sourceContents();
    assert.equal(contents.length, 6);
    assert.equal(new Set(contents.map((c) => c.item_key)).size, 6, 'one content per item key');
    assert.equal(await projectContentCount(), 6);
  });

  it('starts productions within the remaining credits, oldest drafts first', async () => {
    await ctx.models.Subscription.update({ credits_remaining: 2 }, { where: { id: tenant.subscriptionId } });
    const result = await run('credits');
    assert.equal(result.created.length, 0);
    assert.equal(result.started.length, 2);
    assert.equal(result.waiting.length, 4);
    const oldest = (await sourceContents()).slice(0, 2).map((c) => c.id);
    assert.deepEqual(result.started, oldest);
    for (const contentId of result.started) {
      const handle = ctx.temporal.workflow.getHandle(produceContentWorkflowId(contentId));
      const described = await handle.describe();
      assert.equal(described.typedSearchAttributes.get(ProjectIdKey), tenant.projectId);
      await handle.terminate('the test only checks the production started');
    }
  });

  it('skips a paused or deleted source without fetching', async () => {
    const before = feeds.state.requests.length;
    await ctx.models.DataSource.update({ is_active: false }, { where: { id: sourceId } });
    assert.equal((await run('paused')).status, 'inactive');
    await ctx.models.DataSource.destroy({ where: { id: sourceId } });
    assert.equal((await run('deleted')).status, 'missing');
    assert.equal(feeds.state.requests.length, before);
  });

  it('records each fetch in api_usages for the project owner', async () => {
    const rows = await ctx.sequelize.query<{ service: string; operation: string; organization_id: string; content_id: string | null }>(
      "SELECT service, operation, organization_id, content_id FROM api_usages WHERE organization_id = :org AND operation = 'fetch_items'",
      { replacements: { org: tenant.organizationId }, type: QueryTypes.SELECT },
    );
    assert.equal(rows.length, 5, 'one usage row per fetch: first, second, two overlapping, credits');
    assert.ok(rows.every((r) => r.service === 'rss' && r.content_id === null));
  });
});
