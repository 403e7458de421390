import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError } from '@temporalio/client';
import type { Request, Response } from 'express';
import Joi from 'joi';
import type { ContentStatus } from '../../db/models';
import { startProduction, type ProductionOptions } from '../../control/productions';
import { approveSignal, rejectSignal, type ApproveArgs } from '../../workflows/produce-content';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { answeringConflicts, idempotencyKeyOf, requestFingerprint, type RecordedResponse } from '../idempotency';
import { route, schemas, type AnyRouteSpec, type Validated } from '../registry';
import { notFound } from '../tenancy';
import { loadContent, text, type ContentWithProject } from './contents-common';
import { currentStep, describeProduction, type ProductionRun } from '../../control/production-state';

/**
 * Production control: start (generate, retry), approve, reject and cancel a content's
 * `produceContent` run. The API only starts, signals and cancels; the workflow does the work and
 * writes the rows.
 */

interface StartBody {
  approval_timeout_hours?: number;
}

const startBody = Joi.object<StartBody>({
  approval_timeout_hours: Joi.number().integer().min(1).max(24 * 30),
}).default({});

const MAX_SCHEDULE_AHEAD_MS = 365 * 24 * 3600_000;

interface ApproveBody {
  channel_ids?: string[];
  scheduled_at?: Date;
}

function runBody(workflowId: string, runId: string, started: boolean) {
  return { workflow_id: workflowId, run_id: runId, status: 'running', started };
}

function notRunning(): HttpError {
  return new HttpError(409, 'not_running', 'no production of this content is running');
}

export function productionRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models, temporal, db } = ctx;

  /**
   * Starts the content's production, or answers with the run already going on. The lock makes the
   * check of the content's status and the start one step, so that concurrent requests (even ones
   * arriving just after a quick run ended) start one workflow; the workflow id, derived from the
   * content id, refuses a second concurrent run anyway.
   */
  function startOrJoin(loaded: ContentWithProject, from: ContentStatus, options: ProductionOptions): Promise<RecordedResponse> {
    const contentId = loaded.id;
    return answeringConflicts(() => db.locks.withLock(`production:${contentId}`, async () => {
      const run = await describeProduction(temporal, contentId);
      // Joining a run that is being cancelled would hand back a production about to stop.
      if (run?.running && run.cancelRequested) throw new HttpError(409, 'cancelling', 'the running production is being cancelled; start it again once it has stopped');
      if (run?.running) return { status: 200, body: runBody(run.workflowId, run.runId, false) };
      // A paused or archived project spends no credits: nothing of it is produced until it is active again.
      const project = await models.Project.findByPk(loaded.project_id, { attributes: ['id', 'status'] });
      if (!project) throw notFound('content');
      if (project.status !== 'active') {
        throw new HttpError(409, 'project_paused', `the content's project is ${project.status}: set it active again to produce its contents`, { project_status: project.status });
      }
      const content = await models.Content.findByPk(contentId, { attributes: ['id', 'status'] });
      if (!content) throw notFound('content');
      if (content.status !== from) {
        const hint = from === 'draft' ? 'only a draft content can be generated; a failed one is retried' : 'only a failed content can be retried';
        throw new HttpError(409, 'invalid_state', `${hint} (this one is ${content.status})`);
      }
      try {
        const handle = await startProduction(ctx, loaded, options);
        return { status: 202, body: runBody(handle.workflowId, handle.firstExecutionRunId, true) };
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        const current = await describeProduction(temporal, contentId);
        if (!current?.running) throw err;
        return { status: 200, body: runBody(current.workflowId, current.runId, false) };
      }
    }));
  }

  /** generate and retry: the same start, from a different status, idempotent with an Idempotency-Key. */
  function startHandler(action: 'generate' | 'retry', from: ContentStatus) {
    return async (req: Request, res: Response, { params, body }: Validated<{ id: string }, Record<string, never>, StartBody>) => {
      const key = idempotencyKeyOf(req);
      const userId = req.auth!.userId;
      const { content } = await loadContent(models, userId, params.id, 'editor');
      if (content.step !== null) throw new HttpError(409, 'single_step', `this content is a single ${content.step} step (GET /steps/:id), not a production`);
      const options: ProductionOptions = body.approval_timeout_hours ? { approvalTimeout: body.approval_timeout_hours * 3600_000 } : {};
      const start = () => startOrJoin(content, from, options);
      const outcome = key
        ? await answeringConflicts(() => db.idempotency.run(`user:${userId}`, key, requestFingerprint(action, content.id, body), start))
        : { ...(await start()), replayed: false };
      if (outcome.replayed) res.setHeader('Idempotent-Replayed', 'true');
      res.status(outcome.status).json(outcome.body);
    };
  }

  async function awaitingApproval(contentId: string): Promise<ProductionRun> {
    const run = await describeProduction(temporal, contentId);
    if (!run?.running) throw notRunning();
    const step = await currentStep(temporal, run);
    if (step !== 'awaiting_approval') throw new HttpError(409, 'not_awaiting_approval', `the production is not awaiting approval (it is at ${step ?? 'an unknown step'})`);
    return run;
  }

  /** Signals or cancels a run that may end meanwhile: a run that is gone answers 409, like one that never ran. */
  async function onRun<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw notRunning();
      throw err;
    }
  }

  return [
    route({
      method: 'post',
      path: '/contents/:id/generate',
      summary: 'Start producing a draft content (idempotent: an Idempotency-Key, or a production already running, returns the same run)',
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      body: startBody,
      responses: {
        202: 'the production started: { workflow_id, run_id }',
        200: 'the run already going on (or the first response to this Idempotency-Key)',
        409: 'invalid_state: not a draft; project_paused: the project is paused or archived; single_step: a single step, not a production',
      },
      handler: startHandler('generate', 'draft'),
    }),
    route({
      method: 'post',
      path: '/contents/:id/retry',
      summary: 'Produce a failed content again (idempotent like generate)',
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      body: startBody,
      responses: { 202: 'a new production started: { workflow_id, run_id }', 200: 'the run already going on', 409: 'invalid_state: not failed; project_paused: the project is paused or archived; single_step: a single step, not a production' },
      handler: startHandler('retry', 'failed'),
    }),
    route<{ id: string }, Record<string, never>, ApproveBody>({
      method: 'post',
      path: '/contents/:id/approve',
      summary: 'Approve a production awaiting approval: publish to all or some channels, now or at a time',
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      body: Joi.object<ApproveBody>({
        channel_ids: Joi.array().items(schemas.id).min(1).max(50).unique(),
        scheduled_at: Joi.date()
          .iso()
          .greater('now')
          .custom((value: Date, helpers) => (value.getTime() - Date.now() > MAX_SCHEDULE_AHEAD_MS ? helpers.message({ custom: 'must be within a year' }) : value)),
      }).default({}),
      responses: { 202: 'the approval was sent to the run' },
      handler: async (req, res, { params, body }) => {
        const { content } = await loadContent(models, req.auth!.userId, params.id, 'editor');
        if (body.channel_ids) {
          const known = await models.Channel.findAll({ where: { id: body.channel_ids, project_id: content.project_id }, attributes: ['id'] });
          const missing = body.channel_ids.flatMap((id, i) => (known.some((c) => c.id === id) ? [] : [[`body.channel_ids.${i}`, 'is not a channel of this content\'s project'] as const]));
          if (missing.length > 0) throw new HttpError(400, 'validation_failed', 'the request is invalid', Object.fromEntries(missing));
        }
        const run = await awaitingApproval(content.id);
        const args: ApproveArgs = {
          ...(body.channel_ids ? { channelIds: body.channel_ids } : {}),
          ...(body.scheduled_at ? { scheduledAt: body.scheduled_at.toISOString() } : {}),
        };
        await onRun(() => temporal.workflow.getHandle(run.workflowId, run.runId).signal(approveSignal, args));
        res.status(202).json({ workflow_id: run.workflowId, run_id: run.runId, decision: 'approved' });
      },
    }),
    route<{ id: string }, Record<string, never>, { reason?: string }>({
      method: 'post',
      path: '/contents/:id/reject',
      summary: 'Reject a production awaiting approval: the video stays ready and unpublished',
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      body: Joi.object({ reason: text(1000).trim().min(1) }).default({}),
      responses: { 202: 'the rejection was sent to the run' },
      handler: async (req, res, { params, body }) => {
        const { content } = await loadContent(models, req.auth!.userId, params.id, 'editor');
        const run = await awaitingApproval(content.id);
        await onRun(() => temporal.workflow.getHandle(run.workflowId, run.runId).signal(rejectSignal, body.reason ? { reason: body.reason } : {}));
        res.status(202).json({ workflow_id: run.workflowId, run_id: run.runId, decision: 'rejected' });
      },
    }),
    route({
      method: 'post',
      path: '/contents/:id/cancel',
      summary: 'Cancel the running production (the workflow cleans up and refunds the credit once)',
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      responses: { 202: 'cancellation requested' },
      handler: async (req, res, { params }) => {
        const { content } = await loadContent(models, req.auth!.userId, params.id, 'editor');
        const run = await describeProduction(temporal, content.id);
        if (!run?.running) throw notRunning();
        await onRun(() => temporal.workflow.getHandle(run.workflowId, run.runId).cancel());
        res.status(202).json({ workflow_id: run.workflowId, run_id: run.runId, cancel_requested: true });
      },
    }),
  ];
}
