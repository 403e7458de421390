import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Context as ActivityContext } from '@temporalio/activity';
import { CancelledFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { BilledTo, JobType } from '../db/models';
import type { AiOutputType } from '../db/mongo/models';
import type { AttemptRecord, Execution } from '../db/repositories/jobs';
import type { UsageOwner } from '../db/repositories/usage';
import type { Stores } from '../db/stores';
import { moduleLogger } from '../lib/logger';
import { countStepAttempt } from '../lib/metrics';
import type { AiExchange, CallOptions, EngineReport, ProviderUsage } from '../providers/types';
import { jobTypeOfActivity } from '../workflows/steps';

const log = moduleLogger('recording');

/**
 * Records every attempt of every activity that belongs to a content, once, here: the worker's
 * activity interceptor opens a `content_jobs` row per job of a workflow run (status, progress,
 * retry_count from the attempt number, error, result, timestamps), appends the step to the run's
 * `workflow_logs` document, and gives the activity a scope through which its provider calls land in
 * `api_usages` and its progress in the job row and on Redis (for live progress streams). These
 * writes record work already done: a store that hiccups is tried again, and a write that still
 * fails is logged, never turned into a failure of the activity (`recordSafely`).
 */
export interface JobScope {
  contentId: string;
  projectId: string;
  userId: string | null;
  organizationId: string | null;
  /** Present for activities that are a job of the content (workflows/steps.ts). */
  jobId?: string;
  jobType?: JobType;
  execution: Execution;
  attempt: number;
}

type ScopeStore = {
  scope: JobScope;
  recorder: JobRecorder;
  lastProgressWrite: number;
  externalJobId?: string;
  /** Services (api_usages.service) the running activity calls with its organization's own key. */
  ownKeyServices?: ReadonlySet<string>;
  /** Which provider of the step's ordered list made its output (`noteEngine`). */
  engine?: EngineReport;
};

const scopes = new AsyncLocalStorage<ScopeStore>();

/** The job the running activity records into, if it belongs to a content. */
export function currentJob(): JobScope | undefined {
  return scopes.getStore()?.scope;
}

const PROGRESS_WRITE_INTERVAL_MS = 1000;
/** Tries of a write that records work already done, and the wait before the second (doubled after each). */
const RECORD_TRIES = 4;
const RECORD_BACKOFF_MS = 200;

/**
 * Runs a write that records work already done (an attempt's outcome, a provider call, an analytics
 * event), trying again with backoff while its store hiccups. A write that still fails is logged at
 * error level and given up, and false returned: the work it records stands, and failing the
 * activity over it would only make Temporal do that work again (publish a video twice).
 */
export async function recordSafely(what: string, write: () => Promise<unknown>, context: Record<string, unknown> = {}): Promise<boolean> {
  for (let tries = 1; ; tries += 1) {
    try {
      await write();
      return true;
    } catch (err) {
      if (tries >= RECORD_TRIES) {
        log.error({ err, ...context, tries }, `could not record ${what}`);
        return false;
      }
      await sleep(RECORD_BACKOFF_MS * 2 ** (tries - 1));
    }
  }
}

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
  await store.recorder.db.jobs.recordAiOutput({
    contentId: store.scope.contentId,
    jobId: store.scope.jobId,
    type: outputType,
    request: { model: exchange.model, prompt: exchange.prompt, parameters: exchange.parameters },
    rawOutput: exchange.rawOutput,
    parsed,
    tokens: { input: usage.inputUnits, output: usage.outputUnits },
    processingTimeMs,
  });
}

/**
 * Which provider of a step's ordered list made the step's output, and the ones it fell back from:
 * the attempt's job row records them (`result.provider`, `result.fell_back_from`, and in the attempt).
 */
export function noteEngine(report: EngineReport): void {
  const store = scopes.getStore();
  if (store) store.engine = report;
}

/**
 * The options a provider call gets inside a recorded activity: the activity's cancellation, its
 * progress as heartbeats, every failed exchange with the provider recorded in `api_usages`, and the
 * provider that did the work when the step has several (`noteEngine`).
 */
export function providerCallOptions(): CallOptions {
  return { signal: ActivityContext.current().cancellationSignal, onProgress: (p) => reportProgress(p), onFailedCall: recordUsage, onExternalJob: setExternalJob, onEngine: noteEngine };
}

/**
 * The running activity calls these services (gemini, elevenlabs, …) with its organization's own
 * key (activities/providers-for.ts): their `api_usages` rows are written `billed_to = 'organization'`.
 */
export function billOwnKeys(services: ReadonlySet<string>): void {
  const store = scopes.getStore();
  if (store) store.ownKeyServices = services;
}

/** Records one provider call in `api_usages`, attributed to the running job, content and owner (see `recordSafely`). */
export async function recordUsage(usage: ProviderUsage, error?: string): Promise<void> {
  const store = scopes.getStore();
  if (!store) throw new Error('recordUsage called outside a recorded activity');
  const { scope, recorder } = store;
  const billedTo: BilledTo = store.ownKeyServices?.has(usage.service) ? 'organization' : 'platform';
  await recordSafely(`the usage of ${usage.service} ${usage.operation}`, () => recorder.insertUsage(scope, usage, error, billedTo), {
    contentId: scope.contentId,
    jobId: scope.jobId,
  });
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
    return `${err.message}${cause}`.slice(0, 4000);
  }
  return String(err).slice(0, 4000);
}

class JobRecorder {
  constructor(readonly db: Pick<Stores, 'contents' | 'jobs' | 'usage' | 'progress'>) {}

  async begin(activityType: string, contentId: string, execution: Execution, attempt: number): Promise<JobScope> {
    const owner = await this.db.contents.owner(contentId);
    const scope: JobScope = { contentId, projectId: owner.projectId, userId: owner.userId, organizationId: owner.organizationId, execution, attempt };
    const jobType = jobTypeOfActivity(activityType);
    if (jobType) {
      scope.jobType = jobType;
      scope.jobId = await this.db.jobs.open(contentId, jobType, execution.runId, attempt);
    }
    return scope;
  }

  async writeExternalJob(scope: JobScope, externalJobId: string): Promise<void> {
    await this.db.jobs.writeExternalJob(scope.jobId!, externalJobId);
  }

  async writeProgress(scope: JobScope, progress: number): Promise<void> {
    await this.db.jobs.writeProgress(scope.jobId!, progress);
    await this.db.progress.publish(scope.contentId, { jobType: scope.jobType, progress, at: new Date().toISOString() });
  }

  /**
   * Closes the attempt: counted in the step metrics, then the job row and its attempt list, the
   * progress notice, and the run's workflow log, each tried again on its own while its store
   * hiccups (`recordSafely`), so one store's failure neither repeats another's write nor fails the
   * activity. Never rejects.
   */
  async finish(scope: JobScope, activityType: string, startedAt: Date, outcome: { status: AttemptRecord['status']; output?: unknown; error?: string; engine?: EngineReport }): Promise<void> {
    const endedAt = new Date();
    if (scope.jobType) countStepAttempt(scope.jobType, outcome.status, (endedAt.getTime() - startedAt.getTime()) / 1000);
    const context = { contentId: scope.contentId, jobId: scope.jobId, activityType, attempt: scope.attempt, status: outcome.status };
    const writes: Promise<boolean>[] = [];
    if (scope.jobId) {
      const attempt: AttemptRecord = {
        attempt: scope.attempt,
        status: outcome.status,
        started_at: startedAt.toISOString(),
        ended_at: endedAt.toISOString(),
        ...(outcome.error ? { error: outcome.error } : {}),
        ...(outcome.engine ? { provider: outcome.engine.provider, fell_back_from: outcome.engine.fellBackFrom } : {}),
      };
      const notice = { jobType: scope.jobType, status: outcome.status, progress: outcome.status === 'completed' ? 100 : undefined, error: outcome.error };
      writes.push(
        recordSafely('the attempt in its job row', this.attemptWrite(scope, scope.jobId, attempt, outcome.output), context),
        recordSafely('the progress notice of the attempt', () => this.db.progress.publish(scope.contentId, notice), context),
      );
    }
    const node = { name: `${activityType}#${scope.attempt}`, status: outcome.status, startedAt, endedAt, summary: outcome.error ?? summarize(outcome.output) };
    writes.push(recordSafely('the attempt in the workflow log', () => this.db.jobs.logNode(scope.execution, { projectId: scope.projectId, contentId: scope.contentId }, node), context));
    await Promise.all(writes);
  }

  /**
   * The write of an attempt into its job row, safe to repeat: a write whose answer was lost may
   * have landed, so every try after the first looks for the attempt in the row before appending it.
   */
  private attemptWrite(scope: JobScope, jobId: string, attempt: AttemptRecord, output: unknown): () => Promise<void> {
    let tried = false;
    return async () => {
      if (tried && (await this.hasAttempt(scope.contentId, jobId, attempt))) return;
      tried = true;
      await this.db.jobs.finishAttempt(jobId, scope.execution.runId, attempt, output);
    };
  }

  private async hasAttempt(contentId: string, jobId: string, attempt: AttemptRecord): Promise<boolean> {
    const row = (await this.db.jobs.forContent(contentId)).find((job) => job.id === jobId);
    const result = row?.result;
    const attempts = result && typeof result === 'object' && !Array.isArray(result) ? result.attempts : undefined;
    return Array.isArray(attempts) && attempts.some((a) => a !== null && typeof a === 'object' && !Array.isArray(a) && a.attempt === attempt.attempt && a.started_at === attempt.started_at);
  }

  async insertUsage(scope: JobScope, usage: ProviderUsage, error: string | undefined, billedTo: BilledTo): Promise<void> {
    const owner: UsageOwner = { user_id: scope.userId, organization_id: scope.organizationId, content_id: scope.contentId, job_id: scope.jobId ?? null };
    await this.db.usage.insert(owner, usage, error, billedTo);
  }
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
export function recordingInterceptor(db: Pick<Stores, 'contents' | 'jobs' | 'usage' | 'progress'>): ActivityInterceptorsFactory {
  const recorder = new JobRecorder(db);
  return (activityContext) => ({
    inbound: {
      async execute(input, next) {
        const contentId = contentIdOf(input.args);
        const { activityType, workflowExecution, attempt } = activityContext.info;
        if (!contentId || !workflowExecution) return next(input);
        const startedAt = new Date();
        const scope = await recorder.begin(activityType, contentId, workflowExecution, attempt);
        const store: ScopeStore = { scope, recorder, lastProgressWrite: 0 };
        let output: unknown;
        try {
          output = await scopes.run(store, () => next(input));
        } catch (err) {
          const cancelled = err instanceof CancelledFailure || activityContext.cancellationSignal.aborted;
          await recorder.finish(scope, activityType, startedAt, { status: cancelled ? 'cancelled' : 'failed', error: cancelled ? 'cancelled' : errorMessage(err) });
          throw err;
        }
        // Outside the try: the activity succeeded, and recording it cannot turn that into a failure.
        await recorder.finish(scope, activityType, startedAt, { status: 'completed', output, ...(store.engine ? { engine: store.engine } : {}) });
        return output;
      },
    },
  });
}
