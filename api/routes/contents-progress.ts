import { WorkflowFailedError } from '@temporalio/client';
import type { ApiDeps } from '../deps';
import { serveProgressStream } from '../progress-stream';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { notFound } from '../tenancy';
import { serializeContentJob, serializeContentUpload } from '../serializers/contents';
import { loadContent } from './contents-common';
import { progressView, type ProgressView } from '../../control/production-state';

/** A comment line every 15 s keeps proxies and load balancers from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A job message of the recording interceptor (activities/recording.ts), as a `job` event with the
 * API's field names; anything else on the channel is skipped.
 */
function jobEvent(message: string) {
  let parsed: unknown;
  try {
    parsed = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || typeof parsed.jobType !== 'string') return undefined;
  return {
    job_type: parsed.jobType,
    status: typeof parsed.status === 'string' ? parsed.status : 'running',
    progress: typeof parsed.progress === 'number' ? parsed.progress : null,
    error: typeof parsed.error === 'string' ? parsed.error : null,
    at: typeof parsed.at === 'string' ? parsed.at : new Date().toISOString(),
  };
}

/** What a content's production did and does: its jobs, its uploads, its progress, live. */
export function contentProgressRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models, temporal } = ctx;

  /** The content's progress view; a content deleted meanwhile answers 404. */
  async function currentProgress(contentId: string): Promise<ProgressView> {
    const view = await progressView(temporal, ctx.db, contentId);
    if (!view) throw notFound('content');
    return view;
  }

  /** Waits for the run to end; a failed, cancelled or terminated run has ended too. */
  async function runEnded(state: ProgressView, signal: AbortSignal): Promise<boolean> {
    if (!state.workflow) return false;
    const handle = temporal.workflow.getHandle(state.workflow.workflow_id, state.workflow.run_id);
    try {
      await temporal.withAbortSignal(signal, () => handle.result());
    } catch (err) {
      if (!(err instanceof WorkflowFailedError)) throw err;
    }
    return true;
  }

  return [
    route({
      method: 'get',
      path: '/contents/:id/jobs',
      summary: "The content's jobs (one per step and run), oldest first",
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ items }' },
      handler: async (req, res, { params }) => {
        const { content } = await loadContent(models, req.auth!.userId, params.id, 'viewer');
        const jobs = await models.ContentJob.findAll({ where: { content_id: content.id }, order: [['created_at', 'ASC'], ['id', 'ASC']] });
        res.json({ items: jobs.map(serializeContentJob) });
      },
    }),
    route({
      method: 'get',
      path: '/contents/:id/uploads',
      summary: "The content's uploads with their channel's platform and name",
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ items }' },
      handler: async (req, res, { params }) => {
        const { content } = await loadContent(models, req.auth!.userId, params.id, 'viewer');
        const uploads = await models.ContentUpload.findAll({
          where: { content_id: content.id },
          include: [{ model: models.Channel, as: 'channel', attributes: ['id', 'platform', 'channel_name', 'channel_url'] }],
          order: [['created_at', 'ASC'], ['id', 'ASC']],
        });
        res.json({ items: uploads.map(serializeContentUpload) });
      },
    }),
    route({
      method: 'get',
      path: '/contents/:id/progress',
      summary: 'The production progress: live from the workflow while it runs, else from the rows',
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ progress }' },
      handler: async (req, res, { params }) => {
        const { content } = await loadContent(models, req.auth!.userId, params.id, 'viewer');
        res.json({ progress: await currentProgress(content.id) });
      },
    }),
    route({
      method: 'get',
      path: '/contents/:id/progress/stream',
      summary:
        'Server-Sent Events: a `progress` event with the current state, a `job` event per job update, ' +
        'a heartbeat comment every 15 s, and a final `progress` and `end` when the production ends',
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'text/event-stream' },
      handler: async (req, res, { params }) => {
        const { content } = await loadContent(models, req.auth!.userId, params.id, 'viewer');
        await serveProgressStream(req, res, {
          follow: (listener) => ctx.db.progress.follow(content.id, listener),
          label: `content ${content.id}`,
          current: () => currentProgress(content.id),
          running: (state) => state.running,
          ended: runEnded,
          toEvent: jobEvent,
          heartbeatMs: HEARTBEAT_MS,
        });
      },
    }),
  ];
}
