import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { QueryTypes } from 'sequelize';
import { contentMediaKeys } from '../../activities/media-keys';
import type { AppContext } from '../../control/app-context';
import { describeProduction, progressView } from '../../control/production-state';
import type { Platform } from '../../db/models';
import { produceContentWorkflowId, type produceContent } from '../../workflows/produce-content';
import { rootMessage } from '../../workflows/failures';
import type { FaultRecord } from './faults';
import type { ChaosContent, ChaosWorld } from './world';

const run = promisify(execFile);

/** What one content came to, and every way it breaks the suite's rules. */
export interface ContentVerdict {
  content: ChaosContent;
  /** When its production was started and seen closed, from the start of the run. */
  startedAtMs?: number;
  endedAtMs?: number;
  /** Temporal's status of its production, 'NOT STARTED' when the run could not start it, 'NOT FOUND' when Temporal does not know it. */
  workflow: string;
  contentStatus: string;
  produced: boolean;
  netCredits: number;
  videoSec?: number;
  /** Uploads each platform fake holds for it. */
  uploads: Partial<Record<Platform, number>>;
  /** Why Temporal says it ended, when it did not end produced. */
  outcome?: string;
  lost: string[];
  charge?: string;
  doublePublishes: string[];
  stuck: string[];
  unexplained: string[];
}

export interface Totals {
  lost: number;
  doubleCharges: number;
  doublePublishes: number;
  stuck: number;
  unexplained: number;
}

interface ProbedStream {
  codec_type?: string;
  codec_name?: string;
  nb_read_packets?: string;
}

/**
 * The rendered video, read from S3 through a presigned link: ffprobe must find H.264 video and
 * AAC audio and read every packet to the end, and ffmpeg must decode its last second without an
 * error. Its length, or the problem.
 */
async function checkVideo(ctx: AppContext, key: string): Promise<{ seconds: number } | { problem: string }> {
  const url = await ctx.db.objects.presignedGetUrl(key, 900);
  try {
    const { stdout } = await run(
      'ffprobe',
      ['-v', 'error', '-count_packets', '-show_entries', 'stream=codec_type,codec_name,nb_read_packets:format=duration', '-of', 'json', url],
      { timeout: 120_000, maxBuffer: 1 << 20 },
    );
    const probe = JSON.parse(stdout) as { streams?: ProbedStream[]; format?: { duration?: string } };
    const streams = probe.streams ?? [];
    const has = (type: string, codec: string) => streams.some((s) => s.codec_type === type && s.codec_name === codec && Number(s.nb_read_packets) > 0);
    const seconds = Number(probe.format?.duration);
    if (!has('video', 'h264') || !has('audio', 'aac') || !(seconds > 0)) {
      return { problem: `the video does not probe as H.264 + AAC with packets: ${JSON.stringify(probe)}` };
    }
    const { stderr } = await run('ffmpeg', ['-v', 'error', '-xerror', '-sseof', '-1', '-i', url, '-f', 'null', '-'], { timeout: 120_000, maxBuffer: 1 << 20 });
    if (stderr.trim() !== '') return { problem: `its last second does not decode cleanly: ${stderr.trim().split('\n')[0]}` };
    return { seconds };
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    return { problem: `the video does not play: ${stderr ? stderr.split('\n')[0] : err instanceof Error ? err.message : String(err)}` };
  }
}

/** How Temporal says a closed production ended: its failure's innermost message, or the step and per-channel errors of its result. */
async function outcomeOf(ctx: AppContext, contentId: string): Promise<string> {
  try {
    const result = await ctx.temporal.workflow.getHandle<typeof produceContent>(produceContentWorkflowId(contentId)).result();
    const errors = result.published.flatMap((p) => (p.error ? [`${p.channelId.slice(0, 8)}: ${p.error}`] : []));
    return [result.step, result.error, ...errors].filter(Boolean).join('; ');
  } catch (err) {
    return rootMessage(err);
  }
}

async function rows<T extends object>(ctx: AppContext, sql: string, contentId: string): Promise<T[]> {
  return ctx.sequelize.query<T>(sql, { replacements: { contentId }, type: QueryTypes.SELECT });
}

/** Checks one content against the suite's rules once its production has settled. */
export async function verifyContent(
  world: ChaosWorld,
  content: ChaosContent,
  run: { startError?: string; startedAtMs?: number; endedAtMs?: number },
): Promise<ContentVerdict> {
  const { startError, startedAtMs, endedAtMs } = run;
  const { ctx, fakes } = world;
  const row = await ctx.models.Content.findByPk(content.contentId, { rejectOnEmpty: true });
  const production = startError ? undefined : await describeProduction(ctx.temporal, content.contentId);
  const produced = row.status === 'ready' || row.status === 'published';
  const [credits] = await rows<{ net: number; charges: number; refunds: number }>(
    ctx,
    `SELECT COALESCE(SUM(credits_amount), 0)::int AS net,
            COUNT(*) FILTER (WHERE transaction_type = 'usage')::int AS charges,
            COUNT(*) FILTER (WHERE transaction_type = 'refund')::int AS refunds
       FROM credit_transactions WHERE content_id = :contentId AND transaction_type IN ('usage', 'refund')`,
    content.contentId,
  );
  const openJobs = await rows<{ job_type: string; status: string }>(ctx, `SELECT job_type, status FROM content_jobs WHERE content_id = :contentId AND status IN ('pending', 'running')`, content.contentId);
  const uploadRows = await rows<{ channel_id: string; status: string; error_message: string | null; platform_video_id: string | null }>(
    ctx,
    'SELECT channel_id, status, error_message, platform_video_id FROM content_uploads WHERE content_id = :contentId',
    content.contentId,
  );
  const verdict: ContentVerdict = {
    content,
    ...(startedAtMs !== undefined ? { startedAtMs } : {}),
    ...(endedAtMs !== undefined ? { endedAtMs } : {}),
    workflow: startError ? 'NOT STARTED' : (production?.status ?? 'NOT FOUND'),
    contentStatus: row.status,
    produced,
    netCredits: credits?.net ?? 0,
    uploads: {},
    lost: [],
    doublePublishes: [],
    stuck: [],
    unexplained: [],
  };

  if (startError) verdict.lost.push(`its production was never started: ${startError}`);
  else if (!production) verdict.lost.push('Temporal does not know its production');
  if (production?.running) verdict.stuck.push(`its production is still running at the deadline (step ${production.step ?? 'unknown'})`);
  if (production && !production.running && row.status === 'processing') verdict.stuck.push('the content is left processing although its production ended');
  for (const job of openJobs) verdict.stuck.push(`content_jobs ${job.job_type} left ${job.status}`);
  for (const upload of uploadRows) {
    if (['pending', 'scheduled', 'uploading'].includes(upload.status) && !production?.running) verdict.stuck.push(`content_uploads row of channel ${upload.channel_id.slice(0, 8)} left ${upload.status}`);
  }

  const expected = produced ? -1 : 0;
  if (verdict.netCredits !== expected) {
    verdict.charge = `net credit ${verdict.netCredits} (${credits?.charges ?? 0} charges, ${credits?.refunds ?? 0} refunds) for a ${produced ? 'produced' : 'failed'} content, expected ${expected}`;
  }

  if (production && !production.running && !produced) verdict.outcome = await outcomeOf(ctx, content.contentId);
  if (produced) {
    const owner = { organizationId: world.organizationId, userId: null, projectId: content.projectId };
    const video = await checkVideo(ctx, contentMediaKeys(owner, content.contentId).video);
    if ('problem' in video) verdict.lost.push(`it is ${row.status} but ${video.problem}`);
    else verdict.videoSec = video.seconds;
  } else if (production && !production.running) {
    const progress = await progressView(ctx.temporal, ctx.db, content.contentId);
    if (!progress?.error) verdict.unexplained.push(`it ended ${row.status} (${production.status}) with no reason in its records; Temporal says: ${verdict.outcome ?? 'nothing'}`);
  }

  if (!content.publishes) return verdict;
  for (const channel of world.channels) {
    const count = fakes[channel.platform].state.uploadsTitled(row.title);
    verdict.uploads[channel.platform] = count;
    const mine = uploadRows.filter((u) => u.channel_id === channel.channelId);
    const published = mine.filter((u) => u.status === 'published');
    if (count > 1) verdict.doublePublishes.push(`${channel.platform} holds ${count} uploads of it`);
    if (published.length > 0 && count === 0) verdict.lost.push(`${channel.platform}: recorded published as ${published[0]?.platform_video_id ?? '?'} but the platform has no such upload`);
    if (published.length === 0 && count > 0) verdict.lost.push(`${channel.platform} holds ${count} upload(s) the records do not know (rows: ${mine.map((u) => u.status).join(', ') || 'none'})`);
    if (!produced || published.length > 0 || production?.running) continue;
    const failed = mine.filter((u) => u.status === 'failed');
    if (failed.length === 0) verdict.unexplained.push(`${channel.platform}: no upload row although the content was produced for an auto-publishing project`);
    else if (!failed.some((u) => u.error_message)) verdict.unexplained.push(`${channel.platform}: the upload failed with no error recorded`);
  }
  return verdict;
}

export function totalsOf(verdicts: ContentVerdict[]): Totals {
  return {
    lost: verdicts.filter((v) => v.lost.length > 0).length,
    doubleCharges: verdicts.filter((v) => v.charge).length,
    doublePublishes: verdicts.reduce((sum, v) => sum + v.doublePublishes.length, 0),
    stuck: verdicts.filter((v) => v.stuck.length > 0).length,
    unexplained: verdicts.reduce((sum, v) => sum + v.unexplained.length, 0),
  };
}

/** One line per content (with the faults that happened while its production ran), then its problems indented under it. */
export function describeVerdict(v: ContentVerdict, faults: FaultRecord[]): string[] {
  const uploads = Object.entries(v.uploads).map(([platform, n]) => `${platform} ${n}`).join(', ');
  const during =
    v.startedAtMs === undefined ? [] : faults.filter((f) => f.injected && f.atMs + f.downMs >= (v.startedAtMs ?? 0) && f.atMs <= (v.endedAtMs ?? Number.POSITIVE_INFINITY));
  const span = (ms: number | undefined) => (ms === undefined ? '?' : `${(ms / 1000).toFixed(0)}s`);
  const head = [
    `#${String(v.content.index).padStart(2, '0')} ${v.content.contentId.slice(0, 8)}`,
    `${v.workflow.toLowerCase()}/${v.contentStatus}`,
    v.startedAtMs !== undefined ? `t+${span(v.startedAtMs)}..${span(v.endedAtMs)}` : undefined,
    `net ${v.netCredits}`,
    v.videoSec !== undefined ? `video ${v.videoSec.toFixed(1)} s plays` : undefined,
    uploads ? `uploads: ${uploads}` : undefined,
  ].filter(Boolean).join('  ');
  return [
    head,
    ...(during.length > 0 ? [`      faults while it ran: ${during.map((f) => f.what).join(', ')}`] : []),
    ...(v.outcome ? [`      outcome: ${v.outcome}`] : []),
    ...v.lost.map((p) => `      LOST: ${p}`),
    ...(v.charge ? [`      CREDIT: ${v.charge}`] : []),
    ...v.doublePublishes.map((p) => `      DOUBLE PUBLISH: ${p}`),
    ...v.stuck.map((p) => `      STUCK: ${p}`),
    ...v.unexplained.map((p) => `      NO REASON: ${p}`),
  ];
}
