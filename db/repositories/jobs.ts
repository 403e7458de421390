import { Op, QueryTypes, type Sequelize } from 'sequelize';
import type { ContentJob, ContentStatus, JobType, Models } from '../models';
import type { AiOutputType, MongoModels } from '../mongo/models';
import { countProduction } from '../../lib/metrics';

/**
 * The record of a content's production: one `content_jobs` row per job of a workflow run, the run's
 * `workflow_logs` document, and its AI exchanges in `ai_outputs`. The run-id contract lives here:
 * a job row belongs to the run whose id is in `result.run_id`, so a retry (a later attempt of the
 * same activity in the same run) updates the row its first attempt opened, and closing a run
 * reconciles the rows a killed worker left running.
 */

/** A workflow run: its id and run id. */
export interface Execution {
  workflowId: string;
  runId: string;
}

export interface AttemptRecord {
  attempt: number;
  status: 'completed' | 'failed' | 'cancelled';
  started_at: string;
  ended_at: string;
  error?: string;
  /** The provider of the step's ordered list that made the output, and the ones passed over before it. */
  provider?: string;
  fell_back_from?: { provider: string; error: string }[];
}

/** One attempt of an activity as a node of the run's workflow log. */
export interface LoggedNode {
  name: string;
  status: AttemptRecord['status'];
  startedAt: Date;
  endedAt: Date;
  summary?: string;
}

export type RunOutcome = 'completed' | 'failed' | 'cancelled';

/** The run a job row belongs to (`result.run_id`), if it names one. */
export function runIdOf(job: ContentJob): string | undefined {
  const result = job.result;
  return result && typeof result === 'object' && !Array.isArray(result) && typeof result.run_id === 'string' ? result.run_id : undefined;
}

export class JobRepository {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Models,
    private readonly mongo: MongoModels,
  ) {}

  /** Opens (or, for a retry, reopens) the row of a job of a run; returns its id. */
  async open(contentId: string, jobType: JobType, runId: string, attempt: number): Promise<string> {
    const { ContentJob } = this.models;
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

  async writeProgress(jobId: string, progress: number): Promise<void> {
    await this.models.ContentJob.update({ progress }, { where: { id: jobId, status: 'running' } });
  }

  async writeExternalJob(jobId: string, externalJobId: string): Promise<void> {
    await this.models.ContentJob.update({ external_job_id: externalJobId }, { where: { id: jobId } });
  }

  /**
   * Closes an attempt: the row gets its outcome and the attempt is appended to `result.attempts`, in
   * one UPDATE; an attempt that names the provider of the step's ordered list that made the output
   * also sets `result.provider` and `result.fell_back_from`.
   */
  async finishAttempt(jobId: string, runId: string, attempt: AttemptRecord, output: unknown): Promise<void> {
    await this.sequelize.query(
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
          id: jobId,
          status: attempt.status,
          endedAt: attempt.ended_at,
          error: attempt.error ?? null,
          runId,
          attempt: JSON.stringify([attempt]),
          output: JSON.stringify({
            ...(output !== undefined ? { output } : {}),
            ...(attempt.provider !== undefined ? { provider: attempt.provider, fell_back_from: attempt.fell_back_from ?? [] } : {}),
          }),
        },
        type: QueryTypes.UPDATE,
      },
    );
  }

  /** Appends an attempt to the run's workflow log, opening the log on the run's first attempt. */
  async logNode(execution: Execution, owner: { projectId: string; contentId: string }, node: LoggedNode): Promise<void> {
    await this.mongo.WorkflowLog.updateOne(
      { workflow_id: execution.workflowId, execution_id: execution.runId },
      {
        $setOnInsert: { project_id: owner.projectId, content_id: owner.contentId, status: 'running', started_at: node.startedAt },
        $push: {
          nodes_executed: {
            node_name: node.name,
            status: node.status === 'completed' ? 'success' : node.status,
            started_at: node.startedAt,
            completed_at: node.endedAt,
            output_summary: node.summary,
          },
        },
      },
      { upsert: true },
    );
  }

  async logRejection(execution: Execution, reason: string | undefined): Promise<void> {
    await this.mongo.WorkflowLog.updateOne(
      { workflow_id: execution.workflowId, execution_id: execution.runId },
      { $set: { error: { node: 'approval', message: `rejected${reason ? `: ${reason}` : ''}` } } },
    );
  }

  /**
   * Ends a run consistently: job rows a dead worker left running are closed, the run's workflow log
   * is closed, and then the content's status follows the outcome, so that a content shown as ended
   * has its run's reason to show with it. The run is counted in the production metrics once: by the
   * call that moved its log to the outcome, not by a retry of it.
   */
  async closeRun(contentId: string, execution: Execution, outcome: RunOutcome, error: string | undefined, contentStatus: ContentStatus | undefined): Promise<void> {
    await this.models.ContentJob.update(
      { status: outcome === 'cancelled' ? 'cancelled' : 'failed', completed_at: new Date(), error_message: error ?? 'the run ended before this job finished' },
      { where: { content_id: contentId, status: { [Op.in]: ['pending', 'running'] }, 'result.run_id': execution.runId } as never },
    );
    const before = await this.mongo.WorkflowLog.findOneAndUpdate(
      { workflow_id: execution.workflowId, execution_id: execution.runId },
      { $set: { status: outcome, completed_at: new Date(), ...(error ? { error: { node: outcome, message: error } } : {}) } },
    ).lean();
    if (contentStatus) await this.models.Content.update({ status: contentStatus }, { where: { id: contentId } });
    if (before && before.status !== outcome) countProduction(outcome, outcome === 'completed' ? 'none' : await this.stoppedAt(contentId, execution.runId));
  }

  /**
   * The step an unfinished run stopped at: the job it failed or was cancelled in, else its last job
   * (the safety check of a rejected script); `none` when it stopped before its first job (no credits).
   */
  private async stoppedAt(contentId: string, runId: string): Promise<string> {
    const jobs = await this.models.ContentJob.findAll({
      attributes: ['job_type', 'status', 'completed_at'],
      where: { content_id: contentId, 'result.run_id': runId } as never,
      order: [['completed_at', 'DESC NULLS LAST']],
    });
    return (jobs.find((job) => job.status === 'failed' || job.status === 'cancelled') ?? jobs[0])?.job_type ?? 'none';
  }

  /**
   * Why a run of the content ended failed or cancelled, as `closeRun` recorded it in the run's
   * workflow log: the given run's, else the content's latest run's. Undefined when it ended well.
   */
  async runError(contentId: string, execution?: Execution): Promise<string | undefined> {
    const filter = execution ? { workflow_id: execution.workflowId, execution_id: execution.runId } : { content_id: contentId };
    const log = await this.mongo.WorkflowLog.findOne(filter, { error: 1 }).sort({ started_at: -1 }).lean();
    return log?.error?.message ?? undefined;
  }

  /** Keeps one AI request and its answer in `ai_outputs`. */
  async recordAiOutput(output: {
    contentId: string;
    jobId: string | undefined;
    type: AiOutputType;
    request: { model: string; prompt: string; parameters?: unknown };
    rawOutput: string;
    parsed: unknown;
    tokens: { input: number; output: number };
    processingTimeMs: number;
  }): Promise<void> {
    await this.mongo.AiOutput.create({
      content_id: output.contentId,
      job_id: output.jobId,
      output_type: output.type,
      request: output.request,
      response: { raw_output: output.rawOutput, parsed_output: output.parsed, tokens_used: output.tokens },
      processing_time_ms: output.processingTimeMs,
    });
  }

  /** A content's job rows, oldest first. */
  async forContent(contentId: string): Promise<ContentJob[]> {
    return this.models.ContentJob.findAll({ where: { content_id: contentId }, order: [['created_at', 'ASC']] });
  }
}
