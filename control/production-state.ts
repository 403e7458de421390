import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { ContentJob, JobType } from '../db/models';
import { runIdOf } from '../db/repositories/jobs';
import type { Stores } from '../db/stores';
import { moduleLogger } from '../lib/logger';
import { produceContent, produceContentWorkflowId, progressQuery, type ProductionProgress } from '../workflows/produce-content';
import { ContentIdKey, PipelineStepKey } from '../workflows/search-attributes';
import { PIPELINE_JOB_TYPES, PRODUCTION_STEPS, type ProductionStep } from '../workflows/steps';

const log = moduleLogger('production-state');

/**
 * Where a content's production stands. Temporal is the source of truth for whether a run is going
 * on (the content row only turns `processing` once the script is being written); the `progress`
 * query gives the live step and percentage, and the rows give the rest.
 */
export interface ProductionRun {
  workflowId: string;
  runId: string;
  /** Temporal's status name: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, CONTINUED_AS_NEW. */
  status: string;
  running: boolean;
  /** The PipelineStep search attribute, upserted by the workflow at each step (durable, no worker needed to read it). */
  step: ProductionStep | undefined;
  cancelRequested: boolean;
  /** No worker has picked up the run's first or next workflow task: a query would wait for one. */
  waitingForWorker: boolean;
}

/** The latest run of the content's production, or undefined when it was never produced. */
export async function describeProduction(temporal: Client, contentId: string): Promise<ProductionRun | undefined> {
  const workflowId = produceContentWorkflowId(contentId);
  try {
    const description = await temporal.workflow.getHandle(workflowId).describe();
    const step = description.typedSearchAttributes.get(PipelineStepKey);
    const pendingTask = description.raw.pendingWorkflowTask;
    return {
      workflowId,
      runId: description.runId,
      status: description.status.name,
      running: description.status.name === 'RUNNING',
      step: PRODUCTION_STEPS.find((s) => s === step),
      cancelRequested: description.raw.workflowExtendedInfo?.cancelRequested === true,
      waitingForWorker: pendingTask !== null && pendingTask !== undefined && !pendingTask.startedTime,
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return undefined;
    throw err;
  }
}

/**
 * The ids of the contents whose production waits for approval, of a user's personal projects and
 * of the organizations given; from Temporal's visibility (the PipelineStep search attribute), which
 * may lag a moment behind a run. The ids are the platform's own UUIDs, safe to quote as they are.
 */
export async function contentsAwaitingApproval(temporal: Client, owners: { userId: string; organizationIds: string[] }): Promise<string[]> {
  const quoted = (id: string) => `'${id}'`;
  const owner = [`OwnerUserId = ${quoted(owners.userId)}`, ...(owners.organizationIds.length > 0 ? [`OrganizationId IN (${owners.organizationIds.map(quoted).join(', ')})`] : [])];
  const query = `WorkflowType = '${produceContent.name}' AND ExecutionStatus = 'Running' AND PipelineStep = 'awaiting_approval' AND (${owner.join(' OR ')})`;
  const ids: string[] = [];
  for await (const execution of temporal.workflow.list({ query })) {
    const contentId = execution.typedSearchAttributes.get(ContentIdKey);
    if (contentId) ids.push(contentId);
  }
  return ids;
}

const QUERY_DEADLINE_MS = 2000;

/** The run's live progress, or undefined when no worker answers in time (the caller falls back to the rows). */
async function queryProgress(temporal: Client, run: ProductionRun): Promise<ProductionProgress | undefined> {
  if (!run.running || run.waitingForWorker) return undefined;
  try {
    return await temporal.withDeadline(Date.now() + QUERY_DEADLINE_MS, () => temporal.workflow.getHandle(run.workflowId, run.runId).query(progressQuery));
  } catch (err) {
    log.warn({ err, workflowId: run.workflowId }, 'progress query failed; answering from the rows');
    return undefined;
  }
}

/** The step a running production is at: the query's answer, else the search attribute. */
export async function currentStep(temporal: Client, run: ProductionRun): Promise<ProductionStep | undefined> {
  return (await queryProgress(temporal, run))?.step ?? run.step;
}

/** The newest row of each job type, of the given run when one is known. */
function currentJobs(jobs: ContentJob[], runId: string | undefined): ContentJob[] {
  const latest = new Map<JobType, ContentJob>();
  for (const job of jobs) {
    if (runId !== undefined && runIdOf(job) !== runId) continue;
    const seen = latest.get(job.job_type);
    if (!seen || seen.created_at < job.created_at) latest.set(job.job_type, job);
  }
  return [...latest.values()].sort((a, b) => a.created_at.getTime() - b.created_at.getTime());
}

function percentFromJobs(jobs: ContentJob[]): number {
  const done = PIPELINE_JOB_TYPES.reduce((sum, type) => {
    const job = jobs.find((j) => j.job_type === type);
    return sum + (job?.status === 'completed' ? 100 : (job?.progress ?? 0));
  }, 0);
  return Math.round(done / PIPELINE_JOB_TYPES.length);
}

/** The progress of a content as the API shows it (GET …/progress and the stream's `progress` events); undefined when the content is gone. */
export async function progressView(temporal: Client, db: Pick<Stores, 'models' | 'jobs'>, contentId: string) {
  const [run, content, rows] = await Promise.all([
    describeProduction(temporal, contentId),
    db.models.Content.findByPk(contentId, { attributes: ['id', 'status'] }),
    db.jobs.forContent(contentId),
  ]);
  if (!content) return undefined;
  const live = run ? await queryProgress(temporal, run) : undefined;
  const jobs = currentJobs(rows, run?.runId);
  const running = run?.running === true;
  // An ended run's reason is in its log (a refusal before any job, such as NoCredits, has no job row to carry it).
  const runError = running ? undefined : await db.jobs.runError(contentId, run);
  const failedJob = jobs.find((j) => j.status === 'failed');
  return {
    content_id: content.id,
    content_status: content.status,
    running,
    workflow: run ? { workflow_id: run.workflowId, run_id: run.runId, status: run.status.toLowerCase(), cancel_requested: run.cancelRequested } : null,
    step: running ? (live?.step ?? run?.step ?? 'queued') : content.status,
    percent: live?.percent ?? (!running && (content.status === 'ready' || content.status === 'published') ? 100 : percentFromJobs(jobs)),
    error: live?.error ?? runError ?? (content.status === 'failed' ? (failedJob?.error_message ?? null) : null),
    published: (live?.published ?? []).map((p) => ({ channel_id: p.channelId, url: p.url ?? null, error: p.error ?? null })),
    source: live ? 'workflow' : 'records',
    jobs: jobs.map((j) => ({
      job_type: j.job_type,
      status: j.status,
      progress: j.progress,
      retry_count: j.retry_count,
      error_message: j.error_message,
      started_at: j.started_at,
      completed_at: j.completed_at,
    })),
  };
}

export type ProgressView = NonNullable<Awaited<ReturnType<typeof progressView>>>;
