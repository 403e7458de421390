import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { Op } from 'sequelize';
import { createPublishActivities, metricsRefreshInterval } from '../../activities/publish';
import { EMPTY_SCRIPT, type Platform, type UploadMetrics } from '../../db/models';
import type { AppContext } from '../../control/app-context';
import { createInstagramClient, createTikTokClient, createYouTubeClient } from '../../providers';
import { refreshUploadMetrics } from '../../workflows/refresh-upload-metrics';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { startPlatformFakes, type ChannelTokens, type PlatformFakes } from '../support/platform-channels';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('metricsRefreshInterval', () => {
  it('reads young uploads often and old ones weekly', () => {
    assert.equal(metricsRefreshInterval(0), HOUR);
    assert.equal(metricsRefreshInterval(DAY - 1), HOUR);
    assert.equal(metricsRefreshInterval(DAY), 6 * HOUR);
    assert.equal(metricsRefreshInterval(7 * DAY - 1), 6 * HOUR);
    assert.equal(metricsRefreshInterval(7 * DAY), DAY);
    assert.equal(metricsRefreshInterval(30 * DAY - 1), DAY);
    assert.equal(metricsRefreshInterval(30 * DAY), 7 * DAY);
    assert.equal(metricsRefreshInterval(400 * DAY), 7 * DAY);
  });
});

interface Seeded {
  uploadId: string;
  contentId: string;
  videoId: string;
  due: boolean;
}

describe('refreshDueMetrics on a real worker', () => {
  let h: PipelineHarness;
  let platforms: PlatformFakes;
  let tiktok: PlatformFakes['tiktok'];
  let instagram: PlatformFakes['instagram'];
  let ctx: AppContext;
  let tenant: Tenant;
  const channels = {} as Record<Platform, string>;
  const uploads = {} as Record<Platform, Seeded[]>;

  before(async () => {
    h = await createPipelineHarness();
    platforms = await startPlatformFakes(h, 'metrics');
    ({ tiktok, instagram, ctx } = platforms);
    tenant = await createTenant(h, { credits: 1 });

    const expired = new Date(Date.now() - MINUTE);
    channels.youtube = await connect('youtube', `UC${randomBytes(8).toString('hex')}`, { accessToken: 'ya29.expired-access', refreshToken: h.youtube.state.refreshToken, expiresAt: expired });
    channels.tiktok = await connect('tiktok', `-000${randomBytes(6).toString('hex')}`, { accessToken: 'act.expired-access', refreshToken: tiktok.state.refreshToken, expiresAt: expired });
    channels.instagram = await connect('instagram', instagram.state.userId, { accessToken: instagram.state.issueAccessToken(), expiresAt: new Date(Date.now() + 50 * DAY) });

    const youtubeId = (): string => randomBytes(8).toString('base64url').slice(0, 11);
    const tiktokId = (): string => `7${String(BigInt(`0x${randomBytes(8).toString('hex')}`) % 10n ** 18n).padStart(18, '0')}`;
    const graphId = (): string => String(17_900_000_000_000_000n + BigInt(`0x${randomBytes(6).toString('hex')}`));
    // [age since publication, since the last read (null: never read), due]
    const youtube: [number, number | null, boolean][] = [[2 * HOUR, 90 * MINUTE, true], [2 * HOUR, 30 * MINUTE, false], [3 * DAY, 7 * HOUR, true], [3 * DAY, 2 * HOUR, false]];
    const tiktokRows: [number, number | null, boolean][] = [[10 * DAY, 25 * HOUR, true], [10 * DAY, 12 * HOUR, false], [40 * DAY, null, true]];
    const instagramRows: [number, number | null, boolean][] = [[60 * DAY, 8 * DAY, true], [60 * DAY, 3 * DAY, false], [5 * HOUR, null, true]];
    uploads.youtube = [];
    for (const [age, since, due] of youtube) {
      const videoId = youtubeId();
      h.youtube.state.videos.set(videoId, { resource: {}, bytes: Buffer.alloc(0), statistics: { viewCount: 1200, likeCount: 80, commentCount: 9 } });
      uploads.youtube.push({ ...(await published('youtube', videoId, age, since)), videoId, due });
    }
    uploads.tiktok = [];
    for (const [age, since, due] of tiktokRows) {
      const videoId = tiktokId();
      tiktok.state.videos.set(videoId, { bytes: Buffer.alloc(0), statistics: { view_count: 5400, like_count: 310, comment_count: 12, share_count: 44 } });
      uploads.tiktok.push({ ...(await published('tiktok', videoId, age, since)), videoId, due });
    }
    // A private TikTok post has no public id: it is not asked about.
    uploads.tiktok.push({ ...(await published('tiktok', 'v_pub_file~v2-1.123456', 2 * DAY, null)), videoId: 'v_pub_file~v2-1.123456', due: true });
    uploads.instagram = [];
    for (const [age, since, due] of instagramRows) {
      const videoId = graphId();
      instagram.state.media.set(videoId, { id: videoId, containerId: graphId(), permalink: `https://www.instagram.com/reel/${videoId}/`, insights: { views: 900, likes: 70, comments: 5, shares: 3 } });
      uploads.instagram.push({ ...(await published('instagram', videoId, age, since)), videoId, due });
    }
  });

  after(async () => {
    await h?.close();
    await platforms?.close();
  });

  function connect(platform: Platform, channelId: string, tokens: ChannelTokens): Promise<string> {
    return platforms.connect({ projectId: tenant.projectId, platform, channelId }, tokens);
  }

  async function published(platform: Platform, videoId: string, ageMs: number, sinceMs: number | null): Promise<{ uploadId: string; contentId: string }> {
    const content = await h.ctx.models.Content.create({ project_id: tenant.projectId, title: `${platform} ${videoId}`, script: EMPTY_SCRIPT, source_type: 'manual', status: 'published' } as never);
    const upload = await h.ctx.models.ContentUpload.create({
      content_id: content.id,
      channel_id: channels[platform],
      status: 'published',
      platform_video_id: videoId,
      platform_url: `https://example.com/${videoId}`,
      scheduled_at: null,
      published_at: new Date(Date.now() - ageMs),
      metrics: sinceMs === null ? {} : { views: 1, likes: 0, comments: 0, last_updated: new Date(Date.now() - sinceMs).toISOString() },
      error_message: null,
    });
    return { uploadId: upload.id, contentId: content.id };
  }

  async function metricsOf(uploadId: string): Promise<UploadMetrics> {
    return (await h.ctx.models.ContentUpload.findByPk(uploadId))!.metrics;
  }

  /** Video ids each fake was asked about, in order. */
  function askedIds(): Record<Platform, string[]> {
    const youtube = h.youtube.state.requests
      .filter((r) => r.method === 'GET' && r.path.startsWith('/youtube/v3/videos'))
      .flatMap((r) => (new URL(r.path, 'http://x').searchParams.get('id') ?? '').split(','));
    const tiktokIds = tiktok.state.requests
      .filter((r) => r.path.startsWith('/v2/video/query/'))
      .flatMap((r) => (r.body as { filters: { video_ids: string[] } }).filters.video_ids);
    const instagramIds = instagram.state.requests.flatMap((r) => /^\/v[\d.]+\/(\d+)\/insights/.exec(r.path)?.[1] ?? []);
    return { youtube, tiktok: tiktokIds, instagram: instagramIds };
  }

  function clearRequests(): void {
    h.youtube.state.requests.length = 0;
    tiktok.state.requests.length = 0;
    instagram.state.requests.length = 0;
  }

  function runWorkflow(): Promise<{ refreshed: number; failedChannels: number }> {
    return ctx.temporal.workflow.execute(refreshUploadMetrics, { taskQueue: ctx.config.temporal.taskQueue, workflowId: `refresh-metrics-${randomBytes(4).toString('hex')}` });
  }

  it('reads only the due uploads, stores their counters and the refreshed tokens, and records the calls', async () => {
    const startedAt = Date.now();
    const result = await runWorkflow();
    assert.deepEqual(result, { refreshed: 6, failedChannels: 0 });

    const asked = askedIds();
    for (const platform of ['youtube', 'tiktok', 'instagram'] as const) {
      const expected = uploads[platform].filter((u) => u.due && /^[\w-]+$/.test(u.videoId)).map((u) => u.videoId);
      assert.deepEqual([...asked[platform]].sort(), [...expected].sort(), `${platform} is asked about its due videos only`);
    }

    for (const upload of [...uploads.youtube, ...uploads.tiktok, ...uploads.instagram]) {
      const metrics = await metricsOf(upload.uploadId);
      const read = Date.parse(metrics.last_updated ?? '');
      if (!upload.due) {
        assert.ok(read < startedAt, `${upload.videoId} was not due and is left alone`);
        assert.equal(metrics.views, 1);
      } else {
        assert.ok(read >= startedAt, `${upload.videoId} was read`);
      }
    }
    const [youtubeDue, tiktokDue, instagramDue] = [uploads.youtube[0]!, uploads.tiktok[0]!, uploads.instagram[0]!];
    assert.deepEqual({ ...(await metricsOf(youtubeDue.uploadId)), last_updated: undefined }, { views: 1200, likes: 80, comments: 9, last_updated: undefined });
    assert.deepEqual({ ...(await metricsOf(tiktokDue.uploadId)), last_updated: undefined }, { views: 5400, likes: 310, comments: 12, shares: 44, last_updated: undefined });
    assert.deepEqual({ ...(await metricsOf(instagramDue.uploadId)), last_updated: undefined }, { views: 900, likes: 70, comments: 5, shares: 3, last_updated: undefined });
    const privatePost = await metricsOf(uploads.tiktok[3]!.uploadId);
    assert.equal(privatePost.views, undefined, 'a private post has no counters to read');

    const youtubeChannel = await h.ctx.models.Channel.findByPk(channels.youtube);
    assert.ok(h.youtube.state.accessTokens.has(youtubeChannel?.readAccessToken(h.box) ?? ''), 'the refreshed YouTube token is stored');
    const tiktokChannel = await h.ctx.models.Channel.findByPk(channels.tiktok);
    assert.equal(tiktokChannel?.readRefreshToken(h.box), tiktok.state.refreshToken, 'the rotated TikTok refresh token is stored');

    const usages = await h.ctx.models.ApiUsage.findAll({ where: { organization_id: tenant.organizationId } });
    assert.ok(usages.every((u) => u.user_id === null && u.job_id === null));
    const ops = usages.map((u) => `${u.service}:${u.operation}`).sort();
    assert.deepEqual(ops, ['instagram:metrics', 'instagram:metrics', 'tiktok:metrics', 'tiktok:oauth_refresh', 'youtube:metrics', 'youtube:oauth_refresh']);
    const instagramContents = usages.filter((u) => u.service === 'instagram').map((u) => u.content_id).sort();
    assert.deepEqual(instagramContents, uploads.instagram.filter((u) => u.due).map((u) => u.contentId).sort(), 'a call about one video names its content');
    assert.ok(usages.filter((u) => u.service !== 'instagram').every((u) => u.content_id === null), 'a call about several videos names none');

    clearRequests();
    assert.deepEqual(await runWorkflow(), { refreshed: 0, failedChannels: 0 }, 'a second run right after finds nothing due');
    assert.deepEqual(askedIds(), { youtube: [], tiktok: [], instagram: [] });
  });

  it('skips a failing channel, puts a revoked one in error, and goes on with the others', async () => {
    const overdue = new Date(Date.now() - 30 * DAY).toISOString();
    const again = [uploads.youtube[0]!, uploads.tiktok[0]!, uploads.instagram[0]!];
    await h.ctx.models.ContentUpload.update({ metrics: { views: 1, likes: 0, comments: 0, last_updated: overdue } }, { where: { id: { [Op.in]: again.map((u) => u.uploadId) } } });
    tiktok.state.next.push({ on: 'query', status: 503, code: 'internal_error', message: 'The service is temporarily unavailable.' });
    instagram.state.revokeAccessTokens();
    clearRequests();
    const failedBefore = await h.ctx.models.ApiUsage.count({ where: { error_message: { [Op.ne]: null } } });

    assert.deepEqual(await runWorkflow(), { refreshed: 1, failedChannels: 2 });
    assert.equal((await metricsOf(uploads.youtube[0]!.uploadId)).views, 1200);
    assert.equal((await metricsOf(uploads.tiktok[0]!.uploadId)).last_updated, overdue, 'the failed channel waits for the next run');
    assert.equal((await h.ctx.models.Channel.findByPk(channels.tiktok))?.status, 'connected');
    assert.equal((await h.ctx.models.Channel.findByPk(channels.instagram))?.status, 'error', 'a revoked authorization needs a reconnect');
    assert.ok((await h.ctx.models.ApiUsage.count({ where: { error_message: { [Op.ne]: null } } })) > failedBefore, 'the failed exchanges are recorded');
    assert.ok(platforms.logs.lines.some((line) => line.includes('metrics refresh failed for a channel')));

    // The next run reads the skipped channel again; a channel in error is no longer read.
    clearRequests();
    assert.deepEqual(await runWorkflow(), { refreshed: 1, failedChannels: 0 });
    assert.equal((await metricsOf(uploads.tiktok[0]!.uploadId)).views, 5400);
    assert.deepEqual(askedIds().instagram, []);
  });

  it('reads at most `limit` uploads per run', async () => {
    const overdue = new Date(Date.now() - 30 * DAY).toISOString();
    await h.ctx.models.ContentUpload.update({ metrics: { last_updated: overdue } }, { where: { id: { [Op.in]: uploads.youtube.map((u) => u.uploadId) } } });
    await h.ctx.models.Channel.update({ status: 'disconnected' }, { where: { id: channels.tiktok } });
    const activities = createPublishActivities(ctx, { youtube: createYouTubeClient(ctx.config), tiktok: createTikTokClient(ctx.config), instagram: createInstagramClient(ctx.config) });
    const env = new MockActivityEnvironment();
    assert.deepEqual(await env.run(activities.refreshDueMetrics, { limit: 3 }), { refreshed: 3, failedChannels: 0 });
    assert.deepEqual(await env.run(activities.refreshDueMetrics, { limit: 3 }), { refreshed: 1, failedChannels: 0 });
    assert.deepEqual(await env.run(activities.refreshDueMetrics, { limit: 3 }), { refreshed: 0, failedChannels: 0 });
  });

  it('leaves no token in content_uploads, api_usages or log lines', async () => {
    const tokens = [...platforms.seeded, ...h.youtube.state.issuedTokens, ...tiktok.state.issuedTokens, ...instagram.state.issuedTokens, tiktok.state.clientSecret, h.youtube.state.clientSecret];
    const [uploadRows] = await h.ctx.sequelize.query('SELECT * FROM content_uploads');
    const [usageRows] = await h.ctx.sequelize.query('SELECT * FROM api_usages');
    const stored = JSON.stringify({ uploadRows, usageRows, logs: platforms.logs.lines });
    for (const token of tokens) assert.ok(!stored.includes(token), `a token leaked: ${token.slice(0, 8)}…`);
  });
});
