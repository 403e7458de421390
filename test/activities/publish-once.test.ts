import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { contentMediaKeys } from '../../activities/media-keys';
import { EMPTY_SCRIPT, type Platform, type UploadSettings } from '../../db/models';
import type { JobRepository } from '../../db/repositories/jobs';
import type { AppContext } from '../../control/app-context';
import { publishToChannel } from '../../workflows/publish-to-channel';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { startPlatformFakes, type ChannelTokens, type PlatformFakes } from '../support/platform-channels';

/**
 * A video goes out once per content and channel (issue 15): recording an attempt that published
 * can fail without failing or repeating the upload.
 */

const MIB = 1024 * 1024;
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
      assert.deepEqual([upload?.status, upload?.platform_video_id], ['published', result.platformVideoId]);
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
  });
});
