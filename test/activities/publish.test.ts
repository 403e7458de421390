import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { contentMediaKeys } from '../../activities/media-keys';
import { disclosesSyntheticMedia } from '../../activities/publish';
import { EMPTY_SCRIPT, type MediaAsset, type MediaAssetSource, type Platform, type UploadSettings } from '../../db/models';
import type { AppContext } from '../../control/app-context';
import { SecretBox } from '../../lib/secrets';
import { publishToChannel, type PublishResult } from '../../workflows/publish-to-channel';
import { createPipelineHarness, createTenant, jobRows, type PipelineHarness, type Tenant } from '../support/pipeline';
import { startPlatformFakes, type ChannelTokens, type PlatformFakes } from '../support/platform-channels';

const VIDEO = randomBytes(300 * 1024);

/** JSON of a workflow history with its payloads (base64 in protobuf JSON) decoded, so they can be searched. */
function historyText(history: unknown): string {
  return JSON.stringify(history).replace(/"data":"([A-Za-z0-9+/=]*)"/g, (_match, data: string) => `"data":${JSON.stringify(Buffer.from(data, 'base64').toString('utf8'))}`);
}

/** A content's scene pictures, one per source. */
function pictures(...sources: MediaAssetSource[]): MediaAsset[] {
  return sources.map((source, i) => ({ type: 'image', url: `s3://autoclip/scene-${i}.png`, source, timestamp: i * 5, duration: 5 }));
}

describe('disclosesSyntheticMedia', () => {
  const VOICE = 's3://autoclip/audio/voice.m4a';

  it('declares by default when the voice or one picture was generated, or no picture is recorded', () => {
    const unset = { style_preset: {} };
    assert.equal(disclosesSyntheticMedia(unset, { audio_url: VOICE, media_assets: pictures('stock', 'stock') }), true, 'the voice is synthetic');
    assert.equal(disclosesSyntheticMedia(unset, { audio_url: null, media_assets: pictures('stock', 'generated') }), true, 'one generated picture');
    assert.equal(disclosesSyntheticMedia(unset, { audio_url: null, media_assets: [] }), true, 'nothing recorded');
    assert.equal(disclosesSyntheticMedia(unset, { audio_url: null, media_assets: pictures('stock', 'user', 'stock') }), false, 'no voice, no generated picture');
    assert.equal(disclosesSyntheticMedia({ style_preset: { disclose_synthetic_media: 'no' } }, { audio_url: VOICE, media_assets: [] }), true, 'a non-boolean is not a choice');
  });

  it('follows the project when it sets style_preset.disclose_synthetic_media', () => {
    assert.equal(disclosesSyntheticMedia({ style_preset: { disclose_synthetic_media: false } }, { audio_url: VOICE, media_assets: pictures('generated') }), false);
    assert.equal(disclosesSyntheticMedia({ style_preset: { disclose_synthetic_media: true } }, { audio_url: null, media_assets: pictures('stock') }), true);
  });
});

describe('publishToChannel on TikTok and Instagram', () => {
  let h: PipelineHarness;
  let platforms: PlatformFakes;
  let tiktok: PlatformFakes['tiktok'];
  let instagram: PlatformFakes['instagram'];
  let ctx: AppContext;
  let tenant: Tenant;
  const handles: WorkflowHandle[] = [];

  before(async () => {
    h = await createPipelineHarness();
    platforms = await startPlatformFakes(h, 'platforms');
    ({ tiktok, instagram, ctx } = platforms);
  });

  beforeEach(async () => {
    tenant = await createTenant(h, { credits: 5 });
    tiktok.state.reset();
    instagram.state.reset();
    tiktok.state.processingPolls = 0;
    instagram.state.processingPolls = 0;
  });

  after(async () => {
    await h?.close();
    await platforms?.close();
  });

  function connect(platform: Platform, tokens: ChannelTokens, settings: UploadSettings = {}): Promise<string> {
    const channelId = platform === 'instagram' ? instagram.state.userId : `-000${randomBytes(6).toString('hex')}`;
    return platforms.connect({ projectId: tenant.projectId, platform, channelId, settings }, tokens);
  }

  /** A rendered content, its video in S3 where the render puts it. */
  async function readyContent(title: string, media: { audio_url?: string; media_assets?: MediaAsset[] } = {}): Promise<string> {
    const content = await h.ctx.models.Content.create({
      ...media,
      project_id: tenant.projectId,
      title,
      description: 'AI가 만드는 숏폼 영상의 미래를 30초로 정리했습니다.',
      tags: ['AI', '숏폼', 'tech news'],
      script: EMPTY_SCRIPT,
      source_type: 'manual',
      status: 'ready',
      video_duration: 31.5,
    } as never);
    const key = contentMediaKeys({ organizationId: tenant.organizationId, userId: null, projectId: tenant.projectId }, content.id).video;
    await h.ctx.db.objects.put(key, VIDEO, 'video/mp4', VIDEO.length);
    return content.id;
  }

  async function publish(contentId: string, channelId: string): Promise<WorkflowHandle<typeof publishToChannel>> {
    const handle = await ctx.temporal.workflow.start(publishToChannel, {
      taskQueue: ctx.config.temporal.taskQueue,
      workflowId: `publish-${contentId}-${channelId}`,
      args: [{ contentId, channelId }],
    });
    handles.push(handle);
    return handle;
  }

  async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
    const err = await handle.result().then(
      () => assert.fail('the publication should have failed'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    const cause = err.cause?.cause;
    assert.ok(cause instanceof ApplicationFailure, String(err.cause));
    return cause;
  }

  async function usageOps(contentId: string): Promise<string[]> {
    const rows = await h.ctx.models.ApiUsage.findAll({ where: { content_id: contentId }, order: [['created_at', 'ASC']] });
    assert.ok(rows.every((r) => r.organization_id === tenant.organizationId), 'usage is billed to the owner');
    return rows.map((r) => `${r.service}:${r.operation}${r.error_message ? ':failed' : ''}`).sort();
  }

  async function uploadRow(contentId: string) {
    const upload = await h.ctx.models.ContentUpload.findOne({ where: { content_id: contentId } });
    assert.ok(upload);
    return upload;
  }

  function requestsTo(paths: { path: string }[], prefix: string): number {
    return paths.filter((r) => r.path.startsWith(prefix)).length;
  }

  it('publishes a ready content on TikTok and Instagram: rows published, tokens rotated and sealed, usage recorded once', async () => {
    tiktok.state.processingPolls = 1;
    instagram.state.processingPolls = 1;
    const tiktokChannel = await connect(
      'tiktok',
      { accessToken: 'act.expired-token-of-yesterday', refreshToken: tiktok.state.refreshToken, expiresAt: new Date(Date.now() - 60_000) },
      { default_visibility: 'public' },
    );
    const firstRefreshToken = tiktok.state.refreshToken;
    const igToken = instagram.state.issueAccessToken();
    const instagramChannel = await connect('instagram', { accessToken: igToken, expiresAt: new Date(Date.now() + 3 * 86_400_000) });
    const contentId = await readyContent('AI 숏폼 제작의 미래');

    const [onTikTok, onInstagram] = await Promise.all([publish(contentId, tiktokChannel), publish(contentId, instagramChannel)]);
    const [tt, ig]: [PublishResult, PublishResult] = await Promise.all([onTikTok.result(), onInstagram.result()]);

    const post = [...tiktok.state.posts.values()].find((p) => p.postId === tt.platformVideoId);
    assert.ok(post, 'the TikTok post exists');
    assert.deepEqual(post.data, VIDEO, 'TikTok received the rendered video');
    assert.equal(post.postInfo.privacy_level, 'PUBLIC_TO_EVERYONE');
    assert.equal(post.postInfo.is_aigc, true);
    assert.match(String(post.postInfo.title), /^AI 숏폼 제작의 미래\n\nAI가 만드는.*\n\n#AI #숏폼 #technews$/s);
    assert.equal(tt.url, `https://www.tiktok.com/@autoclip.fake/video/${tt.platformVideoId}`);

    const media = instagram.state.media.get(ig.platformVideoId);
    assert.ok(media, 'the reel exists');
    assert.deepEqual(media.bytes, VIDEO, 'Instagram fetched the rendered video from its presigned URL');
    assert.match(String(instagram.state.containers.get(media.containerId)?.params.caption), /^AI 숏폼 제작의 미래\n\n.*#AI #숏폼 #technews$/s);
    assert.equal(ig.url, media.permalink);

    for (const [channelId, result] of [[tiktokChannel, tt], [instagramChannel, ig]] as const) {
      const upload = await h.ctx.models.ContentUpload.findOne({ where: { content_id: contentId, channel_id: channelId } });
      assert.equal(upload?.status, 'published');
      assert.equal(upload?.platform_video_id, result.platformVideoId);
      assert.equal(upload?.platform_url, result.url);
      assert.ok(upload?.published_at);
      assert.equal(upload?.error_message, null);
    }
    assert.equal((await h.ctx.models.Content.findByPk(contentId))?.status, 'published');

    assert.equal(requestsTo(tiktok.state.requests, '/v2/oauth/token/'), 1, 'the expired TikTok token is refreshed once');
    assert.equal(requestsTo(instagram.state.requests, '/refresh_access_token'), 1, 'the Instagram token in its last week is refreshed once');
    const tiktokRow = await h.ctx.models.Channel.findByPk(tiktokChannel);
    assert.notEqual(tiktok.state.refreshToken, firstRefreshToken);
    assert.equal(tiktokRow?.readRefreshToken(h.box), tiktok.state.refreshToken, 'the rotated refresh token is stored');
    assert.ok(tiktok.state.accessTokens.has(tiktokRow?.readAccessToken(h.box) ?? ''));
    assert.ok((tiktokRow?.token_expires_at?.getTime() ?? 0) > Date.now() + 3_600_000);
    const instagramRow = await h.ctx.models.Channel.findByPk(instagramChannel);
    assert.equal(instagramRow?.readAccessToken(h.box), instagram.state.issuedTokens.at(-1));
    assert.ok((instagramRow?.token_expires_at?.getTime() ?? 0) > Date.now() + 50 * 86_400_000, 'the new long-lived token lasts about 60 days');
    for (const row of [tiktokRow!, instagramRow!]) {
      for (const column of ['access_token', 'refresh_token'] as const) {
        const sealed = row.getDataValue(column);
        if (sealed !== null) assert.ok(SecretBox.isSealed(sealed), `${row.platform} ${column} is sealed`);
      }
    }

    assert.deepEqual(await usageOps(contentId), ['instagram:oauth_refresh', 'instagram:upload', 'tiktok:oauth_refresh', 'tiktok:upload']);
    const jobs = await jobRows(h, contentId);
    assert.deepEqual(jobs.map((j) => [j.job_type, j.status, j.progress]), [['upload', 'completed', 100], ['upload', 'completed', 100]]);
  });

  it('declares synthetic media on YouTube, TikTok and Instagram for generated media by default, and not once the project sets false', async () => {
    const youtubeChannel = await connect('youtube', { accessToken: h.youtube.state.issueAccessToken(), refreshToken: h.youtube.state.refreshToken, expiresAt: new Date(Date.now() + 3_600_000) });
    const tiktokChannel = await connect('tiktok', { accessToken: tiktok.state.issueAccessToken(), refreshToken: tiktok.state.refreshToken, expiresAt: new Date(Date.now() + 86_400_000) });
    const instagramChannel = await connect('instagram', { accessToken: instagram.state.issueAccessToken(), expiresAt: new Date(Date.now() + 50 * 86_400_000) });
    const produced = { audio_url: 's3://autoclip/audio/voice.m4a', media_assets: pictures('generated', 'stock', 'generated') };

    /** What each platform was told about the content's media: YouTube's, TikTok's and Instagram's field. */
    async function declared(contentId: string): Promise<[boolean | undefined, unknown, boolean | undefined]> {
      const run = async (channelId: string): Promise<PublishResult> => (await publish(contentId, channelId)).result();
      const [yt, tt, ig] = await Promise.all([run(youtubeChannel), run(tiktokChannel), run(instagramChannel)]);
      const post = [...tiktok.state.posts.values()].find((p) => p.postId === tt.platformVideoId || p.publishId === tt.platformVideoId);
      const reel = instagram.state.media.get(ig.platformVideoId);
      assert.ok(post && reel);
      return [h.youtube.state.containsSyntheticMedia(yt.platformVideoId), post.postInfo.is_aigc, instagram.state.aiGeneratedOf(reel)];
    }

    assert.deepEqual(await declared(await readyContent('생성된 음성과 그림', produced)), [true, true, true], 'on by default');

    await h.ctx.models.Project.update({ style_preset: { disclose_synthetic_media: false } }, { where: { id: tenant.projectId } });
    assert.deepEqual(await declared(await readyContent('공개하지 않는 프로젝트', produced)), [false, false, false], 'off when the project says false');
  });

  it('refreshes once when TikTok refuses the access token mid-call, storing the rotated token at once and recording the refused call', async () => {
    const accessToken = tiktok.state.issueAccessToken();
    const channelId = await connect('tiktok', { accessToken, refreshToken: tiktok.state.refreshToken, expiresAt: new Date(Date.now() + 86_400_000) });
    tiktok.state.expireAccessTokens();
    const contentId = await readyContent('토큰 만료 뒤의 업로드');
    const result = await (await publish(contentId, channelId)).result();

    assert.equal(requestsTo(tiktok.state.requests, '/v2/oauth/token/'), 1);
    const channel = await h.ctx.models.Channel.findByPk(channelId);
    assert.equal(channel?.readRefreshToken(h.box), tiktok.state.refreshToken);
    assert.equal((await uploadRow(contentId)).platform_video_id, result.platformVideoId);
    assert.deepEqual(await usageOps(contentId), ['tiktok:oauth_refresh', 'tiktok:upload', 'tiktok:upload:failed']);
    const refused = await h.ctx.models.ApiUsage.findOne({ where: { content_id: contentId, service: 'tiktok', status_code: 401 } });
    assert.match(refused?.error_message ?? '', /access_token_invalid/);
  });

  it('fails non-retryably on a TikTok 403 and an Instagram 400, with the provider message on the upload and the job', async () => {
    const tiktokChannel = await connect('tiktok', { accessToken: tiktok.state.issueAccessToken(), refreshToken: tiktok.state.refreshToken, expiresAt: new Date(Date.now() + 86_400_000) });
    const instagramChannel = await connect('instagram', { accessToken: instagram.state.issueAccessToken(), expiresAt: new Date(Date.now() + 50 * 86_400_000) });
    tiktok.state.next.push({ on: 'init', status: 403, code: 'spam_risk_user_banned_from_posting', message: 'The user is banned from making new posts.' });
    instagram.state.next.push({ on: 'media', status: 400, code: 352, message: 'The video file you selected is in a format that we do not support.' });
    const first = await readyContent('금지된 게시');
    const second = await readyContent('지원하지 않는 형식');

    const cases = [
      { contentId: first, handle: await publish(first, tiktokChannel), message: /The user is banned from making new posts\./, type: 'forbidden' },
      { contentId: second, handle: await publish(second, instagramChannel), message: /format that we do not support/, type: 'bad_request' },
    ];
    for (const { contentId, handle, message, type } of cases) {
      const failure = await failureOf(handle);
      assert.equal(failure.nonRetryable, true);
      assert.equal(failure.type, type);
      assert.match(failure.message, message);
      const upload = await uploadRow(contentId);
      assert.equal(upload.status, 'failed');
      assert.match(upload.error_message ?? '', message);
      const [job] = await jobRows(h, contentId);
      assert.equal(job?.status, 'failed');
      assert.equal(job?.retry_count, 0, 'no retry of a refusal');
      assert.match(job?.error_message ?? '', message);
    }
    assert.equal((await h.ctx.models.Channel.findByPk(tiktokChannel))?.status, 'connected', 'a refused post leaves the channel connected');
  });

  it('puts a TikTok channel whose authorization was revoked in error', async () => {
    const channelId = await connect('tiktok', { accessToken: 'act.expired', refreshToken: tiktok.state.refreshToken, expiresAt: new Date(Date.now() - 1000) });
    tiktok.state.revokeRefreshToken();
    const contentId = await readyContent('연결이 끊긴 채널');
    const failure = await failureOf(await publish(contentId, channelId));
    assert.equal(failure.type, 'auth_revoked');
    assert.equal(failure.nonRetryable, true);
    assert.equal((await h.ctx.models.Channel.findByPk(channelId))?.status, 'error');
    assert.equal((await uploadRow(contentId)).status, 'failed');
    assert.deepEqual(await usageOps(contentId), ['tiktok:oauth_refresh:failed']);
  });

  it('leaves no token in content_jobs, content_uploads, api_usages, workflow logs, histories or log lines', async () => {
    const tokens = [...platforms.seeded, ...tiktok.state.issuedTokens, ...instagram.state.issuedTokens, tiktok.state.clientSecret];
    assert.ok(tokens.length > 8);
    const [jobs] = await h.ctx.sequelize.query('SELECT * FROM content_jobs');
    const [uploads] = await h.ctx.sequelize.query('SELECT * FROM content_uploads');
    const [usages] = await h.ctx.sequelize.query('SELECT * FROM api_usages');
    assert.ok(jobs.length > 0 && uploads.length > 0 && usages.length > 0);
    const workflowLogs = await h.ctx.db.mongo.models.WorkflowLog.find({ workflow_id: { $in: handles.map((handle) => handle.workflowId) } }).lean();
    const histories = (await Promise.all(handles.map((handle) => handle.fetchHistory()))).map(historyText);
    assert.ok(histories.some((history) => history.includes('platformVideoId')), 'the histories are read as text');
    const stored = JSON.stringify({ jobs, uploads, usages, workflowLogs, histories, logs: platforms.logs.lines });
    for (const token of tokens) assert.ok(!stored.includes(token), `a token leaked: ${token.slice(0, 8)}…`);
  });
});
