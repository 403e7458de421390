import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { contentMediaKeys } from '../../activities/media-keys';
import { exposition } from '../../lib/metrics';
import { processWorkDir } from '../../activities/work-folders';
import { progressView } from '../../control/production-state';
import { startProduction } from '../../control/productions';
import { createProviders } from '../../providers';
import { probe } from '../../providers/ffmpeg/runner';
import type { ScriptWriter, SpeechSynthesizer } from '../../providers/types';
import { approveSignal, progressQuery } from '../../workflows/produce-content';
import { createPipelineHarness, createTenant, createTopicContent, creditRows, jobRows, waitFor, type PipelineHarness } from '../support/pipeline';
import { parseExposition, valueOf } from '../support/prometheus';
import { workflowFailure } from '../support/wait';

const HISTORY_DIR = resolve(__dirname, '..', 'workflows', 'histories');
const execFileAsync = promisify(execFile);
const TOPIC = '인공지능이 바꾸는 숏폼 영상 제작의 미래';

/** The pids of the ffmpeg processes whose command line names `path`. */
async function ffmpegOf(path: string): Promise<number[]> {
  const { stdout } = await execFileAsync('pgrep', ['-f', `^ffmpeg .*${path}`]).catch((err: { code?: number; stdout?: string }) => {
    if (err.code === 1) return { stdout: '' };
    throw err;
  });
  return stdout.split('\n').filter(Boolean).map(Number);
}

describe('produceContent on a real worker', () => {
  let h: PipelineHarness;
  const finished: { name: string; handle: WorkflowHandle }[] = [];

  before(async () => {
    h = await createPipelineHarness();
  });

  after(async () => {
    try {
      if (process.env.RECORD_HISTORIES === '1') await recordHistories();
    } finally {
      await h?.close();
    }
  });

  /** Saves each run's history as the Temporal CLI exports it, for the replay test. */
  async function recordHistories(): Promise<void> {
    await mkdir(HISTORY_DIR, { recursive: true });
    for (const { name, handle } of finished) {
      const { stdout } = await execFileAsync(process.env.TEMPORAL_CLI_PATH!, [
        'workflow', 'show', '--address', h.env.address, '--workflow-id', handle.workflowId, '--output', 'json',
      ], { maxBuffer: 64 * 1024 * 1024 });
      await writeFile(join(HISTORY_DIR, `${name}.json`), stdout);
    }
  }

  it('produces an MP4 with voice and subtitles, records every job and cost, and publishes after approval at the scheduled time', async () => {
    const ctx = h.isolated('full');
    await h.startWorkers(ctx);
    const tenant = await createTenant(h, { credits: 5, withChannel: true });
    const contentId = await createTopicContent(h, tenant.projectId, TOPIC);
    // The workers run in this process: its metrics are theirs.
    const metricsBefore = parseExposition((await exposition()).text);
    const handle = await startProduction(ctx, contentId);
    finished.push({ name: 'full-pipeline-approved', handle });

    await waitFor('approval wait', async () => (await handle.query(progressQuery)).step === 'awaiting_approval');
    const content = (await h.ctx.models.Content.findByPk(contentId))!;
    assert.equal(content.status, 'ready');
    assert.equal(content.video_resolution, '1080x1920');

    const dir = await mkdtemp(join(tmpdir(), 'pipeline-'));
    try {
      const videoPath = join(dir, 'video.mp4');
      const key = contentMediaKeys({ organizationId: tenant.organizationId, userId: null, projectId: tenant.projectId }, contentId).video;
      await writeFile(videoPath, await h.ctx.db.objects.getBuffer(key));
      const info = await probe(videoPath);
      const video = info.streams.find((s) => s.type === 'video');
      const audio = info.streams.find((s) => s.type === 'audio');
      assert.equal(video?.codec, 'h264');
      assert.equal(video?.width, 1080);
      assert.equal(video?.height, 1920);
      assert.equal(audio?.codec, 'aac');
      assert.ok(Math.abs(info.durationSec - Number(content.video_duration)) <= 0.1, `video ${info.durationSec}s, row ${content.video_duration}s`);
      assert.ok(content.audio_duration && info.durationSec >= Number(content.audio_duration) + 1, `the intro and the outro frame the voice: video ${info.durationSec}s vs voice ${content.audio_duration}s`);
      // The speech's outputs are in the folder named by the hash of its inputs, next to the voice the content row points at.
      const audioKey = decodeURIComponent(content.audio_url!.slice(h.ctx.db.objects.urlFor('').length));
      const manifest = JSON.parse((await h.ctx.db.objects.getBuffer(audioKey.replace(/voice\.m4a$/, 'speech.json'))).toString()) as { cues: unknown[]; segments: unknown[] };
      assert.ok(manifest.cues.length >= manifest.segments.length, 'every scene has timed subtitle lines');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.equal(content.script.body.length >= 1 && content.script.full_text.length > 0, true);
    assert.ok(content.safety_score !== null && content.safety_score >= 0.7);

    const scheduledAt = new Date(Date.now() + 4000).toISOString();
    await handle.signal(approveSignal, { scheduledAt });
    const upload = await waitFor('scheduled upload row', () => h.ctx.models.ContentUpload.findOne({ where: { content_id: contentId } }));
    assert.equal(upload.status, 'scheduled');
    assert.equal(h.youtube.state.videos.size, 0, 'nothing is uploaded before the scheduled time');

    const result = await handle.result();
    finished.push({ name: 'publish-to-channel', handle: h.ctx.temporal.workflow.getHandle(`publish-${contentId}-${tenant.channelId}`) });
    assert.equal(result.step, 'published');
    // The Web UI finds the content's upload by the content, and by the channel.
    const uploads = await waitFor('the publishing child in the visibility store', async () => {
      const found: string[] = [];
      for await (const run of h.ctx.temporal.workflow.list({ query: `ContentId = "${contentId}" AND ChannelId = "${tenant.channelId}" AND WorkflowType = "publishToChannel"` })) found.push(run.workflowId);
      return found.length > 0 ? found : undefined;
    }, 10_000, 200);
    assert.deepEqual(uploads, [`publish-${contentId}-${tenant.channelId}`]);
    assert.ok(Date.now() >= Date.parse(scheduledAt));
    await upload.reload();
    assert.equal(upload.status, 'published');
    assert.ok(upload.platform_video_id && h.youtube.state.videos.has(upload.platform_video_id));
    assert.match(upload.platform_url ?? '', /^https:\/\/www\.youtube\.com\/shorts\//);
    await content.reload();
    assert.equal(content.status, 'published');

    const jobs = await jobRows(h, contentId);
    assert.deepEqual(jobs.map((j) => j.job_type).sort(), ['image_gen', 'render', 'safety_check', 'script_generation', 'tts', 'upload']);
    for (const job of jobs) {
      assert.equal(job.status, 'completed', `${job.job_type}`);
      assert.equal(job.progress, 100);
      assert.equal(job.retry_count, 0);
    }
    assert.deepEqual((await creditRows(h, contentId)).map((r) => [r.transaction_type, r.credits_amount, r.credits_balance]), [['usage', -1, 4]]);

    const usages = await h.ctx.models.ApiUsage.findAll({ where: { content_id: contentId } });
    const services = new Set(usages.map((u) => `${u.service}:${u.operation}`));
    for (const op of ['local-writer:script_generation', 'local-safety:safety_check', 'espeak-ng:tts', 'ffmpeg:render', 'youtube:oauth_refresh', 'youtube:upload']) {
      assert.ok(services.has(op), `api_usages has ${op} (got ${[...services].join(', ')})`);
    }
    assert.ok(usages.every((u) => u.organization_id === tenant.organizationId));
    const outputs = await h.ctx.db.mongo.models.AiOutput.find({ content_id: contentId }).lean();
    assert.deepEqual(outputs.map((o) => o.output_type).sort(), ['safety_check', 'script']);
    const log = await h.ctx.db.mongo.models.WorkflowLog.findOne({ workflow_id: handle.workflowId, execution_id: handle.firstExecutionRunId }).lean();
    assert.equal(log?.status, 'completed');
    assert.ok(log!.nodes_executed.some((n) => n.node_name.startsWith('renderVideo')));
    const json = JSON.stringify(usages.map((u) => u.toJSON())) + JSON.stringify(jobs);
    for (const token of h.youtube.state.issuedTokens) assert.ok(!json.includes(token), 'no token leaks into recorded rows');

    // The production in the metrics Prometheus scrapes: one more completed production, each step's
    // completed attempt, the credit charged, and a provider call for every api_usages row.
    const metricsAfter = parseExposition((await exposition()).text);
    const moved = (name: string, labels: Record<string, string> = {}) => valueOf(metricsAfter, name, labels) - valueOf(metricsBefore, name, labels);
    assert.equal(moved('autoclip_productions_total', { outcome: 'completed' }), 1);
    for (const step of ['script_generation', 'safety_check', 'tts', 'image_gen', 'render', 'upload']) {
      assert.ok(moved('autoclip_production_step_attempts_total', { step, outcome: 'completed' }) >= 1, `${step} counted`);
    }
    assert.equal(moved('autoclip_credits_charged_total'), 1);
    assert.equal(moved('autoclip_provider_calls_total'), usages.length);
  });

  it('records a step that fails twice then succeeds as one completed job with retry_count 2, and a cancel then refunds once', async () => {
    const ctx = h.isolated('flaky');
    const local = createProviders(ctx.config);
    let calls = 0;
    const flakyWriter: ScriptWriter = {
      name: 'flaky',
      async write(request, options) {
        calls += 1;
        if (calls <= 2) throw new Error(`script service unavailable (call ${calls})`);
        return local.scriptWriter.write(request, options);
      },
    };
    await h.startWorkers(ctx, ['orchestration', 'media'], { providers: { ...local, scriptWriter: flakyWriter } });
    const tenant = await createTenant(h, { credits: 2 });
    const contentId = await createTopicContent(h, tenant.projectId, TOPIC);
    const handle = await startProduction(ctx, contentId);
    finished.push({ name: 'flaky-script-then-cancel', handle });

    const script = await waitFor('script job completed', async () => (await jobRows(h, contentId)).find((j) => j.job_type === 'script_generation' && j.status === 'completed'));
    assert.equal(script.retry_count, 2);
    assert.equal(script.error_message, null);
    const row = await h.ctx.models.ContentJob.findOne({ where: { content_id: contentId, job_type: 'script_generation' } });
    const attempts = (row!.result as { attempts: { status: string; error?: string }[] }).attempts;
    assert.deepEqual(attempts.map((a) => a.status), ['failed', 'failed', 'completed']);
    assert.match(attempts[0]!.error ?? '', /script service unavailable/);

    await handle.cancel();
    await workflowFailure(handle);
    await waitFor('refund', async () => (await creditRows(h, contentId)).length === 2);
    assert.deepEqual((await creditRows(h, contentId)).map((r) => [r.transaction_type, r.credits_amount, r.credits_balance]), [['usage', -1, 1], ['refund', 1, 2]]);
    const content = await h.ctx.models.Content.findByPk(contentId);
    assert.equal(content?.status, 'draft');
    const open = (await jobRows(h, contentId)).filter((j) => j.status === 'running' || j.status === 'pending');
    assert.deepEqual(open, [], 'no job row is left running');
  });

  it('fails on a non-retryable provider error: content failed, error recorded, credit refunded exactly once', async () => {
    const ctx = h.isolated('fatal');
    const local = createProviders(ctx.config);
    const brokenVoice: SpeechSynthesizer = {
      name: 'broken',
      async synthesize() {
        throw ApplicationFailure.nonRetryable('voice "ko-premium" is not available on this account', 'VoiceUnavailable');
      },
    };
    await h.startWorkers(ctx, ['orchestration', 'media'], { providers: { ...local, speech: brokenVoice } });
    const tenant = await createTenant(h, { credits: 3 });
    const contentId = await createTopicContent(h, tenant.projectId, TOPIC);
    const handle = await startProduction(ctx, contentId);
    finished.push({ name: 'non-retryable-tts', handle });
    const err = await workflowFailure(handle);
    assert.match(String((err.cause?.cause as Error | undefined)?.message ?? err.cause?.message), /not available on this account/);

    const content = await h.ctx.models.Content.findByPk(contentId);
    assert.equal(content?.status, 'failed');
    const tts = (await jobRows(h, contentId)).find((j) => j.job_type === 'tts');
    assert.equal(tts?.status, 'failed');
    assert.equal(tts?.retry_count, 0);
    assert.match(tts?.error_message ?? '', /not available on this account/);
    assert.deepEqual((await creditRows(h, contentId)).map((r) => r.transaction_type), ['usage', 'refund']);
    const subscription = await h.ctx.models.Subscription.findByPk(tenant.subscriptionId);
    assert.equal(subscription?.credits_remaining, 3);
    const log = await h.ctx.db.mongo.models.WorkflowLog.findOne({ workflow_id: handle.workflowId }).lean();
    assert.equal(log?.status, 'failed');
    assert.match((log?.error as { message?: string } | undefined)?.message ?? '', /not available/);
  });

  it('stops a content that fails the safety check, with the flags as the reason, and refunds once', async () => {
    const ctx = h.isolated('unsafe');
    await h.startWorkers(ctx);
    const tenant = await createTenant(h, { credits: 1, vertical: 'finance' });
    const contentId = await createTopicContent(h, tenant.projectId, '원금 보장! 무조건 오르는 종목, 수익 보장 100% 확실한 투자 비법');
    const handle = await startProduction(ctx, contentId);
    finished.push({ name: 'safety-rejected', handle });
    const err = await workflowFailure(handle);
    assert.match(String(err.cause?.message), /safety check failed/);
    const content = await h.ctx.models.Content.findByPk(contentId);
    assert.equal(content?.status, 'failed');
    assert.ok(content?.safety_score !== null && content!.safety_score! < 0.7);
    assert.ok((content?.safety_flags as unknown[]).length > 0);
    assert.deepEqual((await creditRows(h, contentId)).map((r) => [r.transaction_type, r.credits_balance]), [['usage', 0], ['refund', 1]]);
    assert.ok(!(await jobRows(h, contentId)).some((j) => j.job_type === 'tts' || j.job_type === 'render'), 'no media work started');
  });

  it('fails at once without credits: nothing charged, nothing started', async () => {
    const ctx = h.isolated('broke');
    await h.startWorkers(ctx);
    const tenant = await createTenant(h, { credits: 0 });
    const contentId = await createTopicContent(h, tenant.projectId, TOPIC);
    const handle = await startProduction(ctx, contentId);
    finished.push({ name: 'no-credits', handle });
    const err = await workflowFailure(handle);
    const cause = err.cause?.cause;
    assert.ok(cause instanceof ApplicationFailure);
    assert.equal(cause.type, 'NoCredits');
    assert.equal(cause.nonRetryable, true);
    assert.deepEqual(await creditRows(h, contentId), []);
    assert.deepEqual(await jobRows(h, contentId), []);
    // The refusal has no job row to carry it: the reason is the run's, on the content's record and in its progress.
    assert.equal((await h.ctx.models.Content.findByPk(contentId))?.status, 'failed');
    const log = await h.ctx.db.mongo.models.WorkflowLog.findOne({ workflow_id: handle.workflowId, execution_id: handle.firstExecutionRunId }).lean();
    assert.match(log?.error?.message ?? '', /no credits left/);
    const view = await progressView(h.ctx.temporal, h.ctx.db, contentId);
    assert.equal(view?.step, 'failed');
    assert.equal(view?.source, 'records');
    assert.match(view?.error ?? '', /no credits left/);
  });

  it('lets exactly one of two concurrent productions run on the last credit', async () => {
    const ctx = h.isolated('race');
    await h.startWorkers(ctx);
    const tenant = await createTenant(h, { credits: 1 });
    const ids = [await createTopicContent(h, tenant.projectId, TOPIC), await createTopicContent(h, tenant.projectId, `${TOPIC} 2`)];
    const handles = await Promise.all(ids.map((id) => startProduction(ctx, id)));
    const charged = await waitFor('one charge', async () => {
      const rows = await Promise.all(ids.map((id) => creditRows(h, id)));
      return rows.filter((r) => r.length > 0).length === 1 && rows;
    });
    const winner = charged.findIndex((r) => r.length > 0);
    const loser = 1 - winner;
    const err = await workflowFailure(handles[loser]!);
    assert.equal((err.cause?.cause as ApplicationFailure).type, 'NoCredits');
    await handles[winner]!.cancel();
    await workflowFailure(handles[winner]!);
    const subscription = await h.ctx.models.Subscription.findByPk(tenant.subscriptionId);
    assert.equal(subscription?.credits_remaining, 1, 'the winner was refunded on cancel, the loser never charged');
    const all = await h.ctx.models.CreditTransaction.findAll({ where: { subscription_id: tenant.subscriptionId }, order: [['created_at', 'ASC']] });
    assert.deepEqual(all.map((t) => [t.transaction_type, t.credits_balance]), [['usage', 0], ['refund', 1]]);
  });

  it('cancels during the render: ffmpeg is stopped at once, the render job ends "cancelled", the content returns to draft, one refund', async (t) => {
    const ctx = h.isolated('cancel');
    await h.startWorkers(ctx);
    const tenant = await createTenant(h, { credits: 2 });
    const contentId = await createTopicContent(h, tenant.projectId, TOPIC);
    const handle = await startProduction(ctx, contentId, { mediaHeartbeatTimeout: '5 seconds' });
    finished.push({ name: 'cancel-during-render', handle });
    await waitFor('render encoding', async () => (await jobRows(h, contentId)).find((j) => j.job_type === 'render' && j.status === 'running' && j.progress > 0));
    const renders = await waitFor('ffmpeg rendering', async () => {
      const pids = await ffmpegOf(`render-${contentId}`);
      return pids.length > 0 && pids;
    });
    const cancelledAt = Date.now();
    await handle.cancel();
    await workflowFailure(handle);
    assert.deepEqual(await ffmpegOf(`render-${contentId}`), [], `the run ends once ffmpeg (pid ${renders.join(', ')}) is gone`);
    t.diagnostic(`the cancelled run ended ${Date.now() - cancelledAt} ms after the cancel, its ffmpeg gone`);
    assert.ok(Date.now() - cancelledAt < 10_000, 'within seconds of the cancel');

    const render = (await jobRows(h, contentId)).find((j) => j.job_type === 'render');
    assert.equal(render?.status, 'cancelled');
    assert.equal(render?.error_message, 'cancelled');
    assert.deepEqual((await creditRows(h, contentId)).map((r) => r.transaction_type), ['usage', 'refund']);
    assert.equal((await h.ctx.models.Content.findByPk(contentId))?.status, 'draft');
    const log = await h.ctx.db.mongo.models.WorkflowLog.findOne({ workflow_id: handle.workflowId }).lean();
    assert.ok(log?.nodes_executed.some((n) => n.node_name.startsWith('renderVideo') && n.status === 'cancelled'), 'the activity itself stopped on the cancellation');
    const leftovers = await readdir(processWorkDir(ctx.config.media.workDir)).catch(() => []);
    assert.ok(!leftovers.some((d) => d.includes(contentId)), 'the render work folder is removed');
  });

  it('survives a media worker killed with SIGKILL mid-render: a new worker finishes, one charge, no refund, no duplicate rows', async () => {
    const ctx = h.isolated('kill');
    await h.startWorkers(ctx, ['orchestration']);
    const tenant = await createTenant(h, { credits: 2 });
    const contentId = await createTopicContent(h, tenant.projectId, TOPIC);
    const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts', '--role', 'media'], {
      cwd: resolve(__dirname, '..', '..'),
      env: {
        ...process.env,
        DATABASE_URL: ctx.config.databaseUrl,
        TEMPORAL_ADDRESS: ctx.config.temporal.address,
        TEMPORAL_TASK_QUEUE: ctx.config.temporal.taskQueue,
        TEMPORAL_MEDIA_TASK_QUEUE: ctx.config.temporal.mediaTaskQueue,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise((r) => child.once('exit', r));
    const handle = await startProduction(ctx, contentId, { mediaHeartbeatTimeout: '5 seconds' });
    finished.push({ name: 'worker-killed-mid-render', handle });
    await waitFor('render in progress', async () => (await jobRows(h, contentId)).find((j) => j.job_type === 'render' && j.status === 'running' && j.progress > 0));
    const childFolder = (await readdir(ctx.config.media.workDir)).find((d) => d.startsWith(`${hostname()}-${child.pid}-`));
    assert.ok(childFolder && (await readdir(join(ctx.config.media.workDir, childFolder))).some((d) => d.startsWith(`render-${contentId}`)), 'the render works in its process folder');
    child.kill('SIGKILL');
    await exited;
    await h.startWorkers(ctx, ['media']);
    assert.ok(!(await readdir(ctx.config.media.workDir)).includes(childFolder), 'the next worker to start removed the killed worker’s folder');
    const result = await handle.result();
    assert.equal(result.step, 'ready');

    const jobs = await jobRows(h, contentId);
    assert.deepEqual(jobs.map((j) => j.job_type).sort(), ['image_gen', 'render', 'safety_check', 'script_generation', 'tts']);
    assert.ok(jobs.every((j) => j.status === 'completed'));
    assert.equal(jobs.find((j) => j.job_type === 'render')?.retry_count, 1);
    assert.deepEqual((await creditRows(h, contentId)).map((r) => r.transaction_type), ['usage']);
    assert.equal((await h.ctx.models.Content.findByPk(contentId))?.status, 'ready');
  });
});
