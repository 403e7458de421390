import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { contentMediaKeys } from '../../activities/media-keys';
import { createPublishActivities, type PublishActivities } from '../../activities/publish';
import { recordingInterceptor } from '../../activities/recording';
import type { ContentFormat, ContentScript, MediaAsset } from '../../db/models';
import { InstagramClient } from '../../providers/platforms/instagram';
import { TikTokClient } from '../../providers/platforms/tiktok';
import { YouTubeClient } from '../../providers/platforms/youtube';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { captureLogs, type CapturedLogs } from '../support/platform-channels';

/**
 * What a YouTube upload carries beyond the video: the rendered captions as its caption track (added
 * once, and never at the cost of the upload) and, for mid and long videos, chapters in its
 * description. Each upload runs as the worker runs an attempt of uploadToChannel, recorded.
 */

const VIDEO = randomBytes(300 * 1024);
const VTT = 'WEBVTT\n\n00:00:02.000 --> 00:00:04.500\n고양이는 왜 골골 소리를 낼까요?\n\n00:00:04.500 --> 00:00:07.000\n행복할 때도, 아플 때도요.\n';

const SCRIPT: ContentScript = {
  hook: '고양이는 왜 골골 소리를 낼까요?',
  body: ['골골 소리는 후두의 근육이 1초에 수십 번 빠르게 떨리면서 나는 소리입니다', '과학자들은 골골 소리의 주파수를 측정했습니다', '사자와 호랑이는 골골 소리를 내지 못합니다'],
  cta: '더 많은 고양이 과학은 구독으로 만나요.',
  full_text: '',
};

/** The scenes of SCRIPT on a 3-minute video: intro 2 s, hook, three sections, call to action. */
const SCENES: MediaAsset[] = [
  [2, 10],
  [12, 58],
  [70, 55],
  [125, 48],
  [173, 4],
].map(([timestamp, duration], i) => ({ type: 'image', url: `s3://autoclip/scene-${i}.png`, source: 'generated', timestamp: timestamp!, duration: duration! }));

describe('YouTube uploads: caption track and chapters', () => {
  let h: PipelineHarness;
  let tenant: Tenant;
  let activities: PublishActivities;
  let logs: CapturedLogs;

  before(async () => {
    h = await createPipelineHarness();
    logs = captureLogs();
    tenant = await createTenant(h, { credits: 5 });
    const endpoints = { oauthUrl: h.youtube.baseUrl, uploadUrl: h.youtube.baseUrl, apiUrl: h.youtube.baseUrl };
    activities = createPublishActivities(h.ctx, {
      youtube: new YouTubeClient({ endpoints, requestTimeoutMs: 5000 }),
      tiktok: new TikTokClient({ baseUrl: 'http://127.0.0.1:1' }),
      instagram: new InstagramClient({ graphUrl: 'http://127.0.0.1:1', apiVersion: 'v23.0' }),
    });
  });

  beforeEach(async () => {
    await h.ctx.models.Project.update({ content_format: 'short' }, { where: { id: tenant.projectId } });
  });

  after(async () => {
    logs?.stop();
    await h?.close();
  });

  async function connectYouTube(): Promise<string> {
    const channel = h.ctx.models.Channel.build({ project_id: tenant.projectId, platform: 'youtube', channel_id: `UC${randomBytes(6).toString('hex')}`, channel_name: 'YouTube channel' } as never);
    await channel.save();
    channel.setTokens(h.box, { accessToken: h.youtube.state.issueAccessToken(), refreshToken: h.youtube.state.refreshToken, expiresAt: new Date(Date.now() + 3_600_000) });
    await channel.save();
    return channel.id;
  }

  /** A rendered content: its video in S3, and its WebVTT beside it unless `captions` is false. */
  async function readyContent(label: string, options: { captions?: boolean } = {}): Promise<{ contentId: string; title: string }> {
    const title = `${label} ${randomBytes(4).toString('hex')}`;
    const content = await h.ctx.models.Content.create({
      project_id: tenant.projectId,
      title,
      description: '고양이가 골골 소리를 내는 이유를 정리했습니다.',
      tags: ['고양이'],
      script: SCRIPT,
      media_assets: SCENES,
      source_type: 'manual',
      status: 'ready',
      video_duration: 181.5,
    } as never);
    const keys = contentMediaKeys({ organizationId: tenant.organizationId, userId: null, projectId: tenant.projectId }, content.id);
    await h.ctx.db.objects.put(keys.video, VIDEO, 'video/mp4', VIDEO.length);
    if (options.captions !== false) await h.ctx.db.objects.put(keys.captions, VTT, 'text/vtt');
    return { contentId: content.id, title };
  }

  interface Publication {
    contentId: string;
    channelId: string;
    uploadId: string;
    workflowId: string;
    runId: string;
  }

  async function prepare(contentId: string, channelId: string): Promise<Publication> {
    const workflowId = `publish-${contentId}-${channelId}`;
    const { uploadId } = await activities.preparePublication({ contentId, channelId, workflowId });
    return { contentId, channelId, uploadId, workflowId, runId: randomUUID() };
  }

  /** One attempt of uploadToChannel as the worker runs it, recorded by the interceptor. */
  function attempt(publication: Publication, number: number): Promise<{ uploadId: string; platformVideoId: string; url: string }> {
    const env = new MockActivityEnvironment(
      { attempt: number, activityType: 'uploadToChannel', workflowExecution: { workflowId: publication.workflowId, runId: publication.runId }, heartbeatTimeoutMs: 60_000 },
      { interceptors: [recordingInterceptor(h.ctx.db)] },
    );
    const { contentId, channelId, uploadId } = publication;
    return env.run(activities.uploadToChannel, { contentId, channelId, uploadId });
  }

  async function usageOps(contentId: string): Promise<string[]> {
    const rows = await h.ctx.models.ApiUsage.findAll({ where: { content_id: contentId }, order: [['created_at', 'ASC']] });
    return rows.map((r) => `${r.service}:${r.operation}${r.error_message ? ':failed' : ''}`).sort();
  }

  /** The caption requests YouTube received since `from`: inserts and lists. */
  function captionRequests(from: number): { inserts: number; lists: number } {
    const requests = h.youtube.state.requests.slice(from);
    return {
      inserts: requests.filter((r) => r.path.startsWith('/upload/youtube/v3/captions')).length,
      lists: requests.filter((r) => r.path.startsWith('/youtube/v3/captions')).length,
    };
  }

  function warnings(contentId: string, from: number): string[] {
    return logs.lines
      .slice(from)
      .map((line) => JSON.parse(line) as { level: number; msg: string; contentId?: string })
      .filter((line) => line.level === 40 && line.contentId === contentId)
      .map((line) => line.msg);
  }

  async function published(publication: Publication, videoId: string): Promise<void> {
    const row = await h.ctx.models.ContentUpload.findByPk(publication.uploadId, { rejectOnEmpty: true });
    assert.deepEqual([row.status, row.platform_video_id, row.error_message], ['published', videoId, null]);
    assert.equal((await h.ctx.models.Content.findByPk(publication.contentId))?.status, 'published');
  }

  it('adds the rendered WebVTT as the caption track in the project language, and a retried attempt finds it instead of adding another', async () => {
    const { contentId, title } = await readyContent('자막 트랙');
    const publication = await prepare(contentId, await connectYouTube());

    const first = await attempt(publication, 1);
    await published(publication, first.platformVideoId);
    assert.deepEqual(h.youtube.state.videosTitled(title), [first.platformVideoId]);
    const tracks = h.youtube.state.captionsOf(first.platformVideoId);
    assert.deepEqual(tracks.map((t) => [t.language, t.name, t.contentType, t.body]), [['ko', '한국어', 'text/vtt', VTT]]);
    assert.deepEqual(await usageOps(contentId), ['youtube:captions_insert', 'youtube:upload']);

    const from = h.youtube.state.requests.length;
    const again = await attempt(publication, 2);
    assert.deepEqual(again, first);
    assert.deepEqual(captionRequests(from), { inserts: 0, lists: 1 }, 'the retry asks YouTube and inserts nothing');
    assert.equal(h.youtube.state.captionsOf(first.platformVideoId).length, 1, 'one caption track');
    assert.equal(h.youtube.state.sessionsTitled(title), 1, 'the video is not sent again');
    assert.deepEqual(await usageOps(contentId), ['youtube:captions_insert', 'youtube:captions_list', 'youtube:upload']);
  });

  it('a caption track whose answer was lost is found by the retry, not inserted twice; the upload stands', async () => {
    const { contentId } = await readyContent('응답을 잃은 자막');
    const publication = await prepare(contentId, await connectYouTube());
    h.youtube.state.captionFailures.push({ status: 0, dropConnection: true });
    const lines = logs.lines.length;

    const first = await attempt(publication, 1);
    await published(publication, first.platformVideoId);
    assert.deepEqual(warnings(contentId, lines), ['the caption track was not added; the video stays published']);
    assert.deepEqual(await usageOps(contentId), ['youtube:captions_insert:failed', 'youtube:upload']);

    h.youtube.state.captionListFailures.push({ status: 503, reason: 'backendError', message: 'Backend Error' });
    const from = h.youtube.state.requests.length;
    assert.deepEqual(await attempt(publication, 2), first, 'a retry that cannot list the tracks still answers the video');
    assert.deepEqual(captionRequests(from), { inserts: 0, lists: 1 }, 'not knowing, it inserts nothing');
    await attempt(publication, 3);
    assert.deepEqual(captionRequests(from), { inserts: 0, lists: 2 });
    assert.equal(h.youtube.state.captionsOf(first.platformVideoId).length, 1, 'the track YouTube kept is the only one');
    assert.deepEqual(await usageOps(contentId), ['youtube:captions_insert:failed', 'youtube:captions_list', 'youtube:captions_list:failed', 'youtube:upload']);
  });

  it('a refused caption track (403, then 500 on a retry) leaves the upload published, recorded with its error and a warning', async () => {
    const { contentId, title } = await readyContent('거절된 자막');
    const publication = await prepare(contentId, await connectYouTube());
    h.youtube.state.captionFailures.push({ status: 403, reason: 'forbidden', message: 'The permissions associated with the request are not sufficient to upload the caption track.' });
    const lines = logs.lines.length;

    const first = await attempt(publication, 1);
    await published(publication, first.platformVideoId);
    assert.equal(h.youtube.state.captionsOf(first.platformVideoId).length, 0);
    assert.deepEqual(warnings(contentId, lines), ['the caption track was not added; the video stays published']);
    const refused = await h.ctx.models.ApiUsage.findOne({ where: { content_id: contentId, operation: 'captions_insert' } });
    assert.equal(refused?.status_code, 403);
    assert.match(refused?.error_message ?? '', /not sufficient to upload the caption track/);
    assert.equal((await h.ctx.models.Channel.findByPk(publication.channelId))?.status, 'connected', 'a refused track leaves the channel connected');

    h.youtube.state.captionFailures.push({ status: 500, reason: 'backendError', message: 'Backend Error' });
    const again = await attempt(publication, 2);
    assert.deepEqual(again, first);
    await published(publication, first.platformVideoId);
    assert.equal(h.youtube.state.captionsOf(first.platformVideoId).length, 0);
    assert.deepEqual(h.youtube.state.videosTitled(title), [first.platformVideoId], 'one video');

    await attempt(publication, 3);
    assert.equal(h.youtube.state.captionsOf(first.platformVideoId).length, 1, 'a later attempt adds the track that was missing');
  });

  it('publishes a video rendered without captions without asking YouTube about caption tracks', async () => {
    const { contentId } = await readyContent('자막 없는 영상', { captions: false });
    const publication = await prepare(contentId, await connectYouTube());
    const from = h.youtube.state.requests.length;
    const result = await attempt(publication, 1);
    await published(publication, result.platformVideoId);
    await attempt(publication, 2);
    assert.deepEqual(captionRequests(from), { inserts: 0, lists: 0 });
    assert.deepEqual(await usageOps(contentId), ['youtube:upload']);
  });

  /** The description YouTube received for a content of the given format. */
  async function uploadedDescription(format: ContentFormat): Promise<string> {
    await h.ctx.models.Project.update({ content_format: format }, { where: { id: tenant.projectId } });
    const { contentId } = await readyContent(`${format} 형식`, { captions: false });
    const { platformVideoId } = await attempt(await prepare(contentId, await connectYouTube()), 1);
    const content = await h.ctx.models.Content.findByPk(contentId, { rejectOnEmpty: true });
    assert.equal(content.description, '고양이가 골골 소리를 내는 이유를 정리했습니다.', 'the content row keeps its description');
    const snippet = h.youtube.state.videos.get(platformVideoId)?.resource.snippet as { description?: string } | undefined;
    return snippet?.description ?? '';
  }

  it('gives a mid or long video chapters in its YouTube description, and a short one none', async () => {
    const chapters = ['0:00 고양이는 왜 골골 소리를 낼까요?', '0:12 골골 소리는 후두의 근육이 1초에 수십 번 빠르게 떨리면서 나는…', '1:10 과학자들은 골골 소리의 주파수를 측정했습니다', '2:05 사자와 호랑이는 골골 소리를 내지 못합니다'];
    assert.equal(await uploadedDescription('mid'), `고양이가 골골 소리를 내는 이유를 정리했습니다.\n\n${chapters.join('\n')}`);
    assert.equal(await uploadedDescription('long'), `고양이가 골골 소리를 내는 이유를 정리했습니다.\n\n${chapters.join('\n')}`);
    assert.equal(await uploadedDescription('short'), '고양이가 골골 소리를 내는 이유를 정리했습니다.');
  });
});
