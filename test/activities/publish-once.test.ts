import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { contentMediaKeys } from '../../activities/media-keys';
import { createPublishActivities, type PlatformClients } from '../../activities/publish';
import { recordingInterceptor } from '../../activities/recording';
import { EMPTY_SCRIPT, type Platform, type UploadSettings } from '../../db/models';
import type { JobRepository } from '../../db/repositories/jobs';
import type { AppContext } from '../../control/app-context';
import { SecretBox } from '../../lib/secrets';
import { InstagramClient } from '../../providers/platforms/instagram';
import { TikTokClient } from '../../providers/platforms/tiktok';
import { YouTubeClient } from '../../providers/platforms/youtube';
import { publishToChannel } from '../../workflows/publish-to-channel';
import { createPipelineHarness, createTenant, jobRows, type PipelineHarness, type Tenant } from '../support/pipeline';
import { startPlatformFakes, type ChannelTokens, type PlatformFakes } from '../support/platform-channels';
import { waitFor } from '../support/wait';

/**
 * A video goes out once per content and channel (issue 15): recording an attempt that published
 * can fail without failing or repeating the upload, and an upload killed after the platform's
 * session was stored continues it on the next attempt, or finds the video it made.
 */

const MIB = 1024 * 1024;
/** Large enough for two TikTok chunks (5 MiB at least each) and three YouTube chunks of 4 MiB. */
const VIDEO = randomBytes(11 * MIB + 4321);

type JobMethod = 'finishAttempt' | 'logNode';

/** A planned hiccup of the jobs store: the next `times` matching calls throw, before the write or after it landed (its answer lost). */
interface Hiccup {
  method: JobMethod;
  times: number;
  afterWrite: boolean;
  matches: (args: unknown[]) => boolean;
}

/** The real jobs repository, through which tests make the recording writes of one activity fail. */
function hiccupingJobs(jobs: JobRepository): { jobs: JobRepository; plan(hiccup: Hiccup): Hiccup; failures: number } {
  const hiccups: Hiccup[] = [];
  const wrapper = {
    failures: 0,
    plan(hiccup: Hiccup): Hiccup {
      hiccups.push(hiccup);
      return hiccup;
    },
    jobs: new Proxy(jobs, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          const hiccup = hiccups.find((h) => h.method === property && h.times > 0 && h.matches(args));
          if (!hiccup) return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          hiccup.times -= 1;
          wrapper.failures += 1;
          if (hiccup.afterWrite) await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          throw new Error(`Connection terminated unexpectedly (${String(property)})`);
        };
      },
    }),
  };
  return wrapper;
}

const isUploadNode = (args: unknown[]): boolean => (args[2] as { name?: string } | undefined)?.name?.startsWith('uploadToChannel#') === true;
const always = (): boolean => true;

describe('a video goes out once per content and channel', () => {
  let h: PipelineHarness;
  let platforms: PlatformFakes;
  let tenant: Tenant;

  before(async () => {
    h = await createPipelineHarness();
    platforms = await startPlatformFakes(h, 'publish-once');
    tenant = await createTenant(h, { credits: 5 });
  });

  after(async () => {
    await h?.close();
    await platforms?.close();
  });

  /** A rendered content, its video in S3 where the render puts it; its title is unique. */
  async function readyContent(label: string): Promise<{ contentId: string; title: string }> {
    const title = `${label} ${randomBytes(4).toString('hex')}`;
    const content = await h.ctx.models.Content.create({
      project_id: tenant.projectId,
      title,
      description: '한 번만 게시되는 영상',
      tags: ['once'],
      script: EMPTY_SCRIPT,
      source_type: 'manual',
      status: 'ready',
      video_duration: 31.5,
    } as never);
    const key = contentMediaKeys({ organizationId: tenant.organizationId, userId: null, projectId: tenant.projectId }, content.id).video;
    await h.ctx.db.objects.put(key, VIDEO, 'video/mp4', VIDEO.length);
    return { contentId: content.id, title };
  }

  function connect(platform: Platform, tokens: ChannelTokens, settings: UploadSettings = { default_visibility: 'public' }): Promise<string> {
    const channelId = platform === 'instagram' ? platforms.instagram.state.userId : `${platform}-${randomBytes(6).toString('hex')}`;
    return platforms.connect({ projectId: tenant.projectId, platform, channelId, settings }, tokens);
  }

  const youtubeChannel = (): Promise<string> =>
    connect('youtube', { accessToken: 'ya29.expired', refreshToken: h.youtube.state.refreshToken, expiresAt: new Date(Date.now() - 60_000) });

  describe('recording an attempt that published (a real worker whose jobs store hiccups)', () => {
    let ctx: AppContext;
    let store: ReturnType<typeof hiccupingJobs>;

    before(async () => {
      const isolated = h.isolated('recording-hiccups');
      store = hiccupingJobs(isolated.db.jobs);
      ctx = { ...isolated, db: { ...isolated.db, jobs: store.jobs } };
      await h.startWorkers(ctx, ['orchestration']);
    });

    async function publish(contentId: string, channelId: string): Promise<WorkflowHandle<typeof publishToChannel>> {
      return ctx.temporal.workflow.start(publishToChannel, { taskQueue: ctx.config.temporal.taskQueue, workflowId: `publish-${contentId}-${channelId}`, args: [{ contentId, channelId }] });
    }

    /** The attempts Temporal started of each activity of the run, by name. */
    async function attemptsOf(handle: WorkflowHandle): Promise<Record<string, number>> {
      const events = (await handle.fetchHistory()).events ?? [];
      const names = new Map(events.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [[String(e.eventId), e.activityTaskScheduledEventAttributes.activityType?.name ?? '']] : [])));
      return Object.fromEntries(
        events.flatMap((e) => {
          const started = e.activityTaskStartedEventAttributes;
          return started ? [[names.get(String(started.scheduledEventId)) ?? '', started.attempt ?? 0]] : [];
        }),
      );
    }

    async function uploadJob(contentId: string): Promise<{ status: string; retry_count: number; attempts: unknown[] }> {
      const [job] = await h.ctx.models.ContentJob.findAll({ where: { content_id: contentId, job_type: 'upload' } });
      assert.ok(job);
      const attempts = (job.result as { attempts?: unknown[] } | null)?.attempts ?? [];
      return { status: job.status, retry_count: job.retry_count, attempts };
    }

    async function workflowNodes(handle: WorkflowHandle): Promise<string[]> {
      const log = await h.ctx.db.mongo.models.WorkflowLog.findOne({ workflow_id: handle.workflowId }).lean();
      return (log?.nodes_executed ?? []).map((n) => `${n.node_name}:${n.status}`);
    }

    it('a job row and a workflow log that fail once right after the upload are written again; the upload neither fails nor goes twice', async () => {
      const channelId = await youtubeChannel();
      const { contentId, title } = await readyContent('기록 실패 뒤의 업로드');
      store.plan({ method: 'finishAttempt', times: 1, afterWrite: false, matches: always });
      store.plan({ method: 'logNode', times: 1, afterWrite: false, matches: isUploadNode });
      const failuresBefore = store.failures;

      const handle = await publish(contentId, channelId);
      const result = await handle.result();

      assert.equal(store.failures - failuresBefore, 2, 'both recording writes failed once');
      assert.deepEqual(h.youtube.state.videosTitled(title), [result.platformVideoId], 'one video');
      assert.equal(h.youtube.state.sessionsTitled(title), 1, 'one upload session');
      assert.equal((await attemptsOf(handle)).uploadToChannel, 1, 'the upload succeeded on its first attempt');
      const job = await uploadJob(contentId);
      assert.deepEqual([job.status, job.retry_count, job.attempts.length], ['completed', 0, 1]);
      assert.deepEqual((await workflowNodes(handle)).filter((n) => n.startsWith('uploadToChannel')), ['uploadToChannel#1:success']);
      const upload = await h.ctx.models.ContentUpload.findOne({ where: { content_id: contentId } });
      assert.deepEqual([upload?.status, upload?.platform_video_id, upload?.upload_session], ['published', result.platformVideoId, null]);
    });

    it('a job row write whose answer was lost is not appended twice when it is written again', async () => {
      const channelId = await youtubeChannel();
      const { contentId, title } = await readyContent('응답을 잃은 기록');
      store.plan({ method: 'finishAttempt', times: 1, afterWrite: true, matches: always });

      const result = await (await publish(contentId, channelId)).result();
      assert.deepEqual(h.youtube.state.videosTitled(title), [result.platformVideoId]);
      const job = await uploadJob(contentId);
      assert.deepEqual([job.status, job.retry_count], ['completed', 0]);
      assert.equal(job.attempts.length, 1, 'the attempt is in the row once');
    });

    it('a workflow log that stays down is logged at error level and given up; the upload stands, once', async () => {
      const channelId = await youtubeChannel();
      const { contentId, title } = await readyContent('기록되지 않은 업로드');
      const down = store.plan({ method: 'logNode', times: 100, afterWrite: false, matches: isUploadNode });
      const linesBefore = platforms.logs.lines.length;

      const handle = await publish(contentId, channelId);
      const result = await handle.result();
      down.times = 0;

      assert.deepEqual(h.youtube.state.videosTitled(title), [result.platformVideoId], 'one video');
      assert.equal((await attemptsOf(handle)).uploadToChannel, 1);
      assert.equal((await uploadJob(contentId)).status, 'completed', 'the job row, in another store, is written');
      assert.deepEqual((await workflowNodes(handle)).filter((n) => n.startsWith('uploadToChannel')), []);
      const logged = platforms.logs.lines.slice(linesBefore).map((line) => JSON.parse(line) as { level: number; msg: string; contentId?: string });
      assert.ok(
        logged.some((line) => line.level >= 50 && line.msg === 'could not record the attempt in the workflow log' && line.contentId === contentId),
        'an error line names what was not recorded',
      );
    });

    it('a content already published on the channel is answered with its video by a later run, which uploads nothing', async () => {
      const channelId = await youtubeChannel();
      const { contentId, title } = await readyContent('두 번 요청된 게시');
      const first = await (await publish(contentId, channelId)).result();
      const second = await (await publish(contentId, channelId)).result();
      assert.deepEqual(second, first);
      assert.deepEqual(h.youtube.state.videosTitled(title), [first.platformVideoId]);
      assert.equal(h.youtube.state.sessionsTitled(title), 1);
      assert.equal(await h.ctx.models.ContentUpload.count({ where: { content_id: contentId, channel_id: channelId } }), 1);
    });
  });

  describe('an upload killed after its session was stored, then retried (its heartbeats lost with it)', () => {
    let ctx: AppContext;
    let activities: ReturnType<typeof createPublishActivities>;
    let box: SecretBox;

    before(() => {
      ctx = platforms.ctx;
      box = SecretBox.fromConfig(ctx.config.secrets);
      const clients: PlatformClients = {
        youtube: new YouTubeClient({ endpoints: { oauthUrl: h.youtube.baseUrl, uploadUrl: h.youtube.baseUrl, apiUrl: h.youtube.baseUrl }, chunkSizeBytes: 4 * MIB }),
        tiktok: new TikTokClient({ baseUrl: platforms.tiktok.baseUrl, chunkSizeBytes: 5 * MIB, pollIntervalMs: 5 }),
        instagram: new InstagramClient({ graphUrl: platforms.instagram.baseUrl, apiVersion: 'v23.0', pollIntervalMs: 5 }),
      };
      activities = createPublishActivities(ctx, clients);
    });

    interface Publication {
      contentId: string;
      channelId: string;
      uploadId: string;
      title: string;
      workflowId: string;
      runId: string;
    }

    async function prepare(label: string, channelId: string): Promise<Publication> {
      const { contentId, title } = await readyContent(label);
      const workflowId = `publish-${contentId}-${channelId}`;
      const { uploadId } = await activities.preparePublication({ contentId, channelId, workflowId });
      return { contentId, channelId, uploadId, title, workflowId, runId: randomUUID() };
    }

    /** One attempt of uploadToChannel as the worker runs it: recorded, with no heartbeat details of an earlier attempt. */
    function attempt(publication: Publication, number: number): { env: MockActivityEnvironment; result: Promise<{ uploadId: string; platformVideoId: string; url: string }> } {
      const env = new MockActivityEnvironment(
        { attempt: number, activityType: 'uploadToChannel', workflowExecution: { workflowId: publication.workflowId, runId: publication.runId }, heartbeatTimeoutMs: 60_000 },
        { interceptors: [recordingInterceptor(ctx.db)] },
      );
      const { contentId, channelId, uploadId } = publication;
      return { env, result: env.run(activities.uploadToChannel, { contentId, channelId, uploadId }) };
    }

    /** The first attempt, killed once `reached` says so; returns the upload row as it left it. */
    async function killedAttempt(publication: Publication, reached: () => boolean | Promise<boolean>): Promise<string> {
      const { env, result } = attempt(publication, 1);
      let settled = false;
      const outcome = result.then(
        () => 'completed',
        (error: unknown) => error,
      );
      void outcome.then(() => (settled = true));
      await waitFor('the kill point', async () => settled || (await reached()), 60_000, 10);
      assert.equal(settled, false, 'the attempt ended before the kill point');
      env.cancel();
      assert.notEqual(await outcome, 'completed');
      const row = await h.ctx.models.ContentUpload.findByPk(publication.uploadId, { rejectOnEmpty: true });
      assert.equal(row.status, 'uploading');
      const sealed = row.getDataValue('upload_session');
      assert.ok(sealed && SecretBox.isSealed(sealed), 'the session was stored, sealed, before the bytes went');
      return row.readSession(box) ?? '';
    }

    /** The retry; then the row is published with the video, its session cleared, and the job row shows both attempts. */
    async function retried(publication: Publication): Promise<string> {
      const { result } = attempt(publication, 2);
      const { platformVideoId, url } = await result;
      const row = await h.ctx.models.ContentUpload.findByPk(publication.uploadId, { rejectOnEmpty: true });
      assert.deepEqual([row.status, row.platform_video_id, row.platform_url, row.getDataValue('upload_session')], ['published', platformVideoId, url, null]);
      const jobs = await jobRows(h, publication.contentId);
      assert.deepEqual(jobs.map((j) => [j.job_type, j.status, j.retry_count]), [['upload', 'completed', 1]]);
      return platformVideoId;
    }

    it('YouTube: the stored resumable session answers the video it made, or the bytes it holds, and is continued; one video', async () => {
      const youtube = h.youtube.state;
      const channelId = await youtubeChannel();

      const done = await prepare('유튜브 응답 전에 끊긴 업로드', channelId);
      const stalledDone = youtube.stalledChunks;
      youtube.stallAtBytes = VIDEO.length;
      await killedAttempt(done, () => youtube.stalledChunks > stalledDone);
      const [made] = youtube.videosTitled(done.title);
      assert.ok(made, 'YouTube made the video before the kill');
      assert.equal(await retried(done), made);
      assert.deepEqual(youtube.videosTitled(done.title), [made], 'one video');
      assert.equal(youtube.sessionsTitled(done.title), 1);

      const midway = await prepare('유튜브 중간에 끊긴 업로드', channelId);
      const stalledMidway = youtube.stalledChunks;
      youtube.stallAtBytes = 4 * MIB;
      const session = await killedAttempt(midway, () => youtube.stalledChunks > stalledMidway);
      assert.match(session, /upload_id=/);
      youtube.requests.length = 0;
      const videoId = await retried(midway);
      const puts = youtube.requests.filter((r) => r.method === 'PUT').map((r) => String(r.headers['content-range']));
      assert.deepEqual(puts, [`bytes */${VIDEO.length}`, `bytes ${4 * MIB}-${8 * MIB - 1}/${VIDEO.length}`, `bytes ${8 * MIB}-${VIDEO.length - 1}/${VIDEO.length}`]);
      assert.deepEqual(youtube.videosTitled(midway.title), [videoId]);
      assert.deepEqual(youtube.uploadedBytes(videoId), VIDEO);
      assert.equal(youtube.sessionsTitled(midway.title), 1, 'one session');
    });

    it('TikTok: the stored post is asked how far it got and only polled, or its missing chunk goes on the same upload URL; one post', async () => {
      const tiktok = platforms.tiktok.state;
      const channelId = await connect('tiktok', { accessToken: tiktok.issueAccessToken(), refreshToken: tiktok.refreshToken, expiresAt: new Date(Date.now() + 86_400_000) });

      const done = await prepare('틱톡 응답 전에 끊긴 업로드', channelId);
      const stalledDone = tiktok.stalledChunks;
      tiktok.stallAtBytes = VIDEO.length;
      await killedAttempt(done, () => tiktok.stalledChunks > stalledDone);
      tiktok.requests.length = 0;
      const doneId = await retried(done);
      assert.equal(tiktok.requests.filter((r) => r.path.startsWith('/upload/')).length, 0, 'no byte sent again');
      assert.deepEqual(tiktok.postsTitled(done.title).map((p) => p.postId), [doneId], 'one post');

      const midway = await prepare('틱톡 중간에 끊긴 업로드', channelId);
      const stalledMidway = tiktok.stalledChunks;
      tiktok.stallAtBytes = 5 * MIB;
      const session = await killedAttempt(midway, () => tiktok.stalledChunks > stalledMidway);
      const [post] = tiktok.postsTitled(midway.title);
      assert.ok(post);
      assert.equal(post.data.length, 5 * MIB, 'the first chunk arrived before the kill');
      const row = await h.ctx.models.ContentUpload.findByPk(midway.uploadId, { rejectOnEmpty: true });
      assert.ok(session.includes(post.uploadToken) && !String(row.getDataValue('upload_session')).includes(post.uploadToken), 'the upload token is stored sealed only');
      tiktok.requests.length = 0;
      const videoId = await retried(midway);
      assert.deepEqual(tiktok.requests.filter((r) => r.path.startsWith('/upload/')).map((r) => r.headers['content-range']), [`bytes ${5 * MIB}-${VIDEO.length - 1}/${VIDEO.length}`]);
      assert.equal(tiktok.requests.filter((r) => r.path.startsWith('/v2/post/publish/video/init/')).length, 0);
      assert.deepEqual(tiktok.postsTitled(midway.title).map((p) => p.postId), [videoId], 'one post');
      assert.deepEqual(post.data, VIDEO);
    });

    it('Instagram: a stored container already published leads to its reel, one still processing is awaited and published; one reel', async () => {
      const instagram = platforms.instagram.state;
      const channelId = await connect('instagram', { accessToken: instagram.issueAccessToken(), expiresAt: new Date(Date.now() + 50 * 86_400_000) });

      const done = await prepare('인스타그램 응답 전에 끊긴 게시', channelId);
      const stalledDone = instagram.stalledPublishes;
      instagram.stallNextPublish = true;
      await killedAttempt(done, () => instagram.stalledPublishes > stalledDone);
      assert.equal(instagram.mediaCaptioned(done.title).length, 1, 'Instagram published the reel before the kill');
      const doneId = await retried(done);
      assert.deepEqual(instagram.mediaCaptioned(done.title).map((m) => m.id), [doneId], 'one reel');
      assert.equal(instagram.containersCaptioned(done.title).length, 1, 'one container');

      const midway = await prepare('인스타그램 처리 중에 끊긴 업로드', channelId);
      instagram.processingPolls = 1000;
      const session = await killedAttempt(midway, async () => Boolean((await h.ctx.models.ContentUpload.findByPk(midway.uploadId))?.getDataValue('upload_session')));
      const [container] = instagram.containersCaptioned(midway.title);
      assert.ok(container);
      assert.equal(session, `container:${container.id}`);
      container.pollsLeft = 0;
      instagram.processingPolls = 0;
      const videoId = await retried(midway);
      assert.deepEqual(instagram.containersCaptioned(midway.title).map((c) => c.id), [container.id], 'one container');
      assert.deepEqual(instagram.mediaCaptioned(midway.title).map((m) => m.id), [videoId], 'one reel');
      assert.deepEqual(instagram.media.get(videoId)?.bytes, VIDEO);
    });
  });
});
