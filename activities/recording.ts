import { AsyncLocalStorage } from 'node:async_hooks';
import { Context as ActivityContext } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { QueryTypes } from 'sequelize';
import type { JobType } from '../db/models';
import { AiOutputModel, WorkflowLogModel, type AiOutputType } from '../db/mongo/models';
import type { AppContext } from '../lib/app-context';
import { progressChannel } from '../lib/progress';
import { moduleLogger } from '../lib/logger';
import type { AiExchange, CallOptions, ProviderUsage } from '../providers/types';

const log = moduleLogger('recording');

/**
 * Records every attempt of every activity that belongs to a content, once, here: the worker's
 * activity interceptor opens a `content_jobs` row per job of a workflow run (status, progress,
 * retry_count from the attempt number, error, result, timestamps), appends the step to the run's
 * `workflow_logs` document, and gives the activity a scope through which its provider calls land in
 * `api_usages` and its progress in the job row and on Redis (for live progress streams).
 */
const JOB_TYPE_BY_ACTIVITY: Readonly<Record<string, JobType>> = {
  writeScript: 'script_generation',
  checkSafety: 'safety_check',
  synthesizeSpeech: 'tts',
  createSceneImages: 'image_gen',
  renderVideo: 'render',
  uploadToChannel: 'upload',
};

export interface JobScope {
  contentId: string;
  projectId: string;
  userId: string | null;
  organizationId: string | null;
  /** Present for activities that are a job of the content (see JOB_TYPE_BY_ACTIVITY). */
  jobId?: string;
  jobType?: JobType;
  execution: Execution;
  attempt: number;
}

interface Execution {
  workflowId: string;
  runId: string;
}

interface Owner {
  project_id: string;
  user_id: string | null;
  organization_id: string | null;
}

const OWNER_CACHE_SIZE = 1000;

interface AttemptRecord {
  attempt: number;
  status: 'completed' | 'failed' | 'cancelled';
  started_at: string;
  ended_at: string;
  error?: string;
}

const scopes = new AsyncLocalStorage<{ scope: JobScope; recorder: JobRecorder; lastProgressWrite: number; externalJobId?: string }>();

/** The job the running activity records into, if it belongs to a content. */
export function currentJob(): JobScope | undefined {
  return scopes.getStore()?.scope;
}

const PROGRESS_WRITE_INTERVAL_MS = 1000;

/**
 * Heartbeats with the progress (0–100) and, at most once a second, writes it to the job row and
 * publishes it for live progress streams. Long activities call this instead of `heartbeat` directly.
 */
export function reportProgress(percent: number, details?: unknown): void {
  const progress = Math.max(0, Math.min(100, Math.round(percent)));
  const store = scopes.getStore();
  ActivityContext.current().heartbeat(details ?? { progress, ...(store?.externalJobId ? { externalJobId: store.externalJobId } : {}) });
  if (!store?.scope.jobId) return;
  const now = Date.now();
  if (now - store.lastProgressWrite < PROGRESS_WRITE_INTERVAL_MS) return;
  store.lastProgressWrite = now;
  store.recorder.writeProgress(store.scope, progress).catch((err: unknown) => log.warn({ err }, 'progress write failed'));
}

/**
 * A remote service accepted a long job (a cloud render): its id goes into `content_jobs.external_job_id`
 * and into every later heartbeat, so the next attempt after a crash resumes it (`resumableExternalJob`).
 */
function setExternalJob(externalJobId: string): void {
  const store = scopes.getStore();
  if (store) store.externalJobId = externalJobId;
  ActivityContext.current().heartbeat({ progress: 0, externalJobId });
  if (!store?.scope.jobId) return;
  store.recorder.writeExternalJob(store.scope, externalJobId).catch((err: unknown) => log.warn({ err }, 'external job id write failed'));
}

/** The remote job an earlier attempt of this activity started, from its last heartbeat. */
export function resumableExternalJob(): string | undefined {
  const details = ActivityContext.current().info.heartbeatDetails as { externalJobId?: unknown } | undefined;
  return typeof details?.externalJobId === 'string' ? details.externalJobId : undefined;
}

/** Keeps one AI request and its answer in `ai_outputs`, attributed to the running job and content. */
export async function recordAiExchange(outputType: AiOutputType, exchange: AiExchange, usage: ProviderUsage, parsed: unknown, processingTimeMs: number): Promise<void> {
  const store = scopes.getStore();
  if (!store) throw new Error('recordAiExchange called outside a recorded activity');
  await AiOutputModel.create({
    content_id: store.scope.contentId,
    job_id: store.scope.jobId,
    output_type: outputType,
    request: { model: exchange.model, prompt: exchange.prompt, parameters: exchange.parameters },
    response: { raw_output: exchange.rawOutput, parsed_output: parsed, tokens_used: { input: usage.inputUnits, output: usage.outputUnits } },
    processing_time_ms: processingTimeMs,
  });
}

/**
 * The options a provider call gets inside a recorded activity: the activity's cancellation, its
 * progress as heartbeats, and every failed exchange with the provider recorded in `api_usages`.
 */
export function providerCallOptions(): CallOptions {
  return { signal: ActivityContext.current().cancellationSignal, onProgress: (p) => reportProgress(p), onFailedCall: recordUsage, onExternalJob: setExternalJob };
}

/** Records one provider call in `api_usages`, attributed to the running job, content and owner. */
export async function recordUsage(usage: ProviderUsage, error?: string): Promise<void> {
  const store = scopes.getStore();
  if (!store) throw new Error('recordUsage called outside a recorded activity');
  await store.recorder.insertUsage(store.scope, usage, error);
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`.slice(0, 4000);
  }
  return String(err).slice(0, 4000);
}

class JobRecorder {
  constructor(private readonly ctx: AppContext) {}

  /** A content's project and owner never change: looked up once per content, kept for a while. */
  private readonly owners = new Map<string, Owner>();

  private async ownerOf(contentId: string): Promise<Owner> {
    const cached = this.owners.get(contentId);
    if (cached) return cached;
    const [owner] = await this.ctx.sequelize.query<Owner>(
      `SELECT p.id AS project_id, p.user_id, p.organization_id FROM contents c JOIN projects p ON p.id = c.project_id WHERE c.id = :contentId`,
      { replacements: { contentId }, type: QueryTypes.SELECT },
    );
    if (!owner) throw new Error(`content ${contentId} does not exist`);
    if (this.owners.size >= OWNER_CACHE_SIZE) this.owners.delete(this.owners.keys().next().value as string);
    this.owners.set(contentId, owner);
    return owner;
  }

  async begin(activityType: string, contentId: string, execution: Execution, attempt: number): Promise<JobScope> {
    const owner = await this.ownerOf(contentId);
    const scope: JobScope = {
      contentId,
      projectId: owner.project_id,
      userId: owner.user_id,
      organizationId: owner.organization_id,
      execution,
      attempt,
    };
    const jobType = JOB_TYPE_BY_ACTIVITY[activityType];
    if (jobType) {
      scope.jobType = jobType;
      scope.jobId = await this.openJob(contentId, jobType, execution.runId, attempt);
    }
    return scope;
  }

  /** One row per job of a workflow run: a retry (attempt > 1) updates the row its first attempt opened. */
  private async openJob(contentId: string, jobType: JobType, runId: string, attempt: number): Promise<string> {
    const { ContentJob } = this.ctx.models;
    const existing = await ContentJob.findOne({
      where: { content_id: contentId, job_type: jobType, 'result.run_id': runId } as never,
      order: [['created_at', 'DESC']],
    });
    if (existing) {
      await existing.update({ status: 'running', retry_count: attempt - 1, completed_at: null });
      return existing.id;
    }
    const created = await ContentJob.create({
      content_id: contentId,
      job_type: jobType,
      status: 'running',
      progress: 0,
      retry_count: attempt - 1,
      started_at: new Date(),
      completed_at: null,
      result: { run_id: runId },
      error_message: null,
      external_job_id: null,
    });
    return created.id;
  }

  async writeExternalJob(scope: JobScope, externalJobId: string): Promise<void> {
    await this.ctx.models.ContentJob.update({ external_job_id: externalJobId }, { where: { id: scope.jobId! } });
  }

  async writeProgress(scope: JobScope, progress: number): Promise<void> {
    await this.ctx.models.ContentJob.update({ progress }, { where: { id: scope.jobId!, status: 'running' } });
    await this.ctx.redis.publish(progressChannel(scope.contentId), JSON.stringify({ jobType: scope.jobType, progress, at: new Date().toISOString() }));
  }

  /**
   * Closes the attempt: the job row gets its outcome and the attempt is appended to
   * `result.attempts` in one UPDATE; the progress event and the workflow log are written alongside.
   */
  async finish(scope: JobScope, activityType: string, startedAt: Date, outcome: { status: AttemptRecord['status']; output?: unknown; error?: string }): Promise<void> {
    const endedAt = new Date();
    const writes: Promise<unknown>[] = [];
    if (scope.jobId) {
      const attempt: AttemptRecord = {
        attempt: scope.attempt,
        status: outcome.status,
        started_at: startedAt.toISOString(),
        ended_at: endedAt.toISOString(),
        ...(outcome.error ? { error: outcome.error } : {}),
      };
      writes.push(
        this.ctx.sequelize.query(
          `UPDATE content_jobs
              SET status = :status,
                  progress = CASE WHEN :status = 'completed' THEN 100 ELSE progress END,
                  completed_at = :endedAt,
                  error_message = :error,
                  result = COALESCE(result, '{}'::jsonb)
                           || jsonb_build_object('run_id', CAST(:runId AS text), 'attempts', COALESCE(result->'attempts', '[]'::jsonb) || CAST(:attempt AS jsonb))
                           || CAST(:output AS jsonb)
            WHERE id = :id`,
          {
            replacements: {
              id: scope.jobId,
              status: outcome.status,
              endedAt,
              error: outcome.error ?? null,
              runId: scope.execution.runId,
              attempt: JSON.stringify([attempt]),
              output: JSON.stringify(outcome.output !== undefined ? { output: outcome.output } : {}),
            },
            type: QueryTypes.UPDATE,
          },
        ),
        this.ctx.redis.publish(
          progressChannel(scope.contentId),
          JSON.stringify({ jobType: scope.jobType, status: outcome.status, progress: outcome.status === 'completed' ? 100 : undefined, error: outcome.error }),
        ),
      );
    }
    writes.push(
      WorkflowLogModel.updateOne(
        { workflow_id: scope.execution.workflowId, execution_id: scope.execution.runId },
        {
          $setOnInsert: { project_id: scope.projectId, content_id: scope.contentId, status: 'running', started_at: startedAt },
          $push: {
            nodes_executed: {
              node_name: `${activityType}#${scope.attempt}`,
              status: outcome.status === 'completed' ? 'success' : outcome.status,
              started_at: startedAt,
              completed_at: endedAt,
              output_summary: outcome.error ?? summarize(outcome.output),
            },
          },
        },
        { upsert: true },
      ),
    );
    await Promise.all(writes);
  }

  async insertUsage(scope: JobScope, usage: ProviderUsage, error?: string): Promise<void> {
    const owner = { user_id: scope.userId, organization_id: scope.organizationId, content_id: scope.contentId, job_id: scope.jobId ?? null };
    await insertApiUsage(this.ctx, owner, usage, error);
  }
}

/** Who an `api_usages` row is charged to, and the content and job it belongs to, if any. */
export interface UsageOwner {
  user_id: string | null;
  organization_id: string | null;
  content_id: string | null;
  job_id: string | null;
}

/** One `api_usages` row of a provider call: its units, time, cost and status, and its error when it failed. */
export async function insertApiUsage(ctx: AppContext, owner: UsageOwner, usage: ProviderUsage, error?: string): Promise<void> {
  await ctx.models.ApiUsage.create({
    ...owner,
    service: usage.service,
    operation: usage.operation,
    input_units: Math.round(usage.inputUnits),
    output_units: Math.round(usage.outputUnits),
    duration_ms: Math.round(usage.durationMs),
    estimated_cost: usage.estimatedCostUsd,
    status_code: usage.statusCode ?? null,
    error_message: error ?? null,
  });
}

function summarize(output: unknown): string | undefined {
  if (output === undefined) return undefined;
  const text = JSON.stringify(output);
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

function contentIdOf(args: unknown[]): string | undefined {
  const first = args[0];
  if (typeof first === 'object' && first !== null && 'contentId' in first && typeof first.contentId === 'string') return first.contentId;
  return undefined;
}

/** The worker-level interceptor: every attempt of an activity whose input names a `contentId`. */
export function recordingInterceptor(ctx: AppContext): ActivityInterceptorsFactory {
  const recorder = new JobRecorder(ctx);
  return (activityContext) => ({
    inbound: {
      async execute(input, next) {
        const contentId = contentIdOf(input.args);
        const { activityType, workflowExecution, attempt } = activityContext.info;
        if (!contentId || !workflowExecution) return next(input);
        const startedAt = new Date();
        const scope = await recorder.begin(activityType, contentId, workflowExecution, attempt);
        try {
          const output = await scopes.run({ scope, recorder, lastProgressWrite: 0 }, () => next(input));
          await recorder.finish(scope, activityType, startedAt, { status: 'completed', output });
          return output;
        } catch (err) {
          const cancelled = err instanceof CancelledFailure || activityContext.cancellationSignal.aborted;
          await recorder
            .finish(scope, activityType, startedAt, { status: cancelled ? 'cancelled' : 'failed', error: errorMessage(err) })
            .catch((recordErr: unknown) => log.error({ err: recordErr }, 'could not record the failed attempt'));
          throw err;
        }
      },
    },
  });
}
