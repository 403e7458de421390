import Joi from 'joi';
import { CONTENT_SOURCE_TYPES, CONTENT_STATUSES, EMPTY_SCRIPT, NOT_PRODUCED_YET, type Content, type ContentScript, type ContentSourceType, type ContentStatus, type JsonObject } from '../../db/models';
import { moduleLogger } from '../../lib/logger';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { answeringConflicts } from '../idempotency';
import { cursorParam, encodeCursor, pageOf, type Cursor } from '../pagination';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { contentLinks, serializeContent, serializeContentSummary } from '../serializers/contents';
import { requireProject } from '../tenancy';
import { contentFields, jsonObject, loadContent, ownerOf, readContent, text } from './contents-common';
import { creatorScript, scriptSchema, scriptTextSchema, type ScriptParts } from './contents-script';
import { mediaSchema, userMediaAssets, type MediaInput } from './contents-media';
import { productionRoutes } from './contents-production';
import { contentProgressRoutes } from './contents-progress';
import { contentsAwaitingApproval, describeProduction } from '../../control/production-state';

const log = moduleLogger('api');

interface SourceInput {
  type: ContentSourceType;
  url?: string;
  data?: JsonObject;
}

interface CreateBody {
  topic?: string;
  source?: SourceInput;
  title?: string;
  description?: string | null;
  tags?: string[];
  script?: ScriptParts;
  /** Sent as plain text; validation splits it into its parts. */
  script_text?: ScriptParts;
}

interface UpdateBody {
  title?: string;
  description?: string | null;
  tags?: string[];
  /** null gives the script back to the writer: the next production writes one. */
  script?: ScriptParts | null;
  /** Sent as plain text; validation splits it into its parts. */
  script_text?: ScriptParts;
  /** The creator's uploads for the video (contents-media.ts); null or [] removes them. */
  media?: MediaInput[] | null;
}

interface ListQuery {
  project_id?: string;
  status?: ContentStatus;
  awaiting_approval?: true;
  created_from?: Date;
  created_to?: Date;
  limit: number;
  cursor?: Cursor;
}

const SOURCE_DATA_MAX_CHARS = 100_000;

const createBody = Joi.object<CreateBody>({
  topic: text(200).trim().min(1),
  source: Joi.object<SourceInput>({
    type: Joi.string().valid(...CONTENT_SOURCE_TYPES).required(),
    // A feed or page is named by its URL; an API payload or a manual entry is the data itself.
    url: text(500).uri({ scheme: ['http', 'https'] }).when('type', { is: Joi.valid('url', 'rss'), then: Joi.required() }),
    data: jsonObject(SOURCE_DATA_MAX_CHARS).when('type', { is: Joi.valid('api', 'manual'), then: Joi.required() }),
  }),
  title: contentFields.title,
  description: contentFields.description,
  tags: contentFields.tags,
  script: scriptSchema,
  script_text: scriptTextSchema,
})
  .or('topic', 'source', 'script', 'script_text')
  .oxor('topic', 'source')
  .oxor('script', 'script_text')
  .oxor('topic', 'title')
  .required();

const updateBody = Joi.object<UpdateBody>({
  ...contentFields,
  script: scriptSchema.allow(null),
  script_text: scriptTextSchema,
  media: mediaSchema,
})
  .oxor('script', 'script_text')
  .min(1)
  .required();

const listQuery = Joi.object<ListQuery>({
  project_id: Joi.string().guid(),
  status: Joi.string().valid(...CONTENT_STATUSES),
  awaiting_approval: Joi.boolean().valid(true).description('only the contents whose production waits for approve or reject'),
  created_from: Joi.date().iso(),
  created_to: Joi.date().iso().when('created_from', { is: Joi.exist(), then: Joi.date().greater(Joi.ref('created_from')) }),
  limit: schemas.limit,
  cursor: cursorParam,
});

/** A source's own title (its data's title, headline or name) or its URL. */
function sourceTitle(source: SourceInput): string | undefined {
  const data = source.data ?? {};
  const named = [data.title, data.headline, data.name].find((v): v is string => typeof v === 'string' && v.trim() !== '');
  return named?.trim() ?? source.url;
}

/**
 * The title of a new content: the one given, the topic, or the source's own or its URL; else
 * 'Untitled', left to the writer. A creator's script skips the writer, so it then needs a title
 * (400 naming `title`).
 */
function titleOf(body: CreateBody, script: ContentScript | undefined): string {
  const title = body.title ?? body.topic ?? (body.source && sourceTitle(body.source));
  if (title === undefined && script) {
    throw new HttpError(400, 'validation_failed', 'the request is invalid', {
      'body.title': 'is required with a script when no topic or source (with its own title or URL) names the content',
    });
  }
  // Cut by code points, as VARCHAR(200) counts, so that no surrogate pair is split.
  return Array.from(title ?? 'Untitled').slice(0, 200).join('');
}

/** The script a write stores: the creator's parts, EMPTY_SCRIPT when `script` is null, none when the body names no script. */
function scriptOf(body: { script?: ScriptParts | null; script_text?: ScriptParts }): ContentScript | undefined {
  const parts = body.script ?? body.script_text;
  if (parts) return creatorScript(parts);
  return body.script === null ? EMPTY_SCRIPT : undefined;
}

export function contentRoutes(deps: ApiDeps): AnyRouteSpec[] {
  const { ctx } = deps;
  const { models, temporal, db } = ctx;

  /** The contents awaiting approval that the caller's projects (or the API key's organization's) hold. */
  async function awaitingApproval(userId: string, organizationId: string | undefined): Promise<string[]> {
    const memberships = organizationId ? [] : await models.OrganizationMember.findAll({ where: { user_id: userId }, attributes: ['organization_id'] });
    return contentsAwaitingApproval(temporal, { userId, organizationIds: organizationId ? [organizationId] : memberships.map((m) => m.organization_id) });
  }

  /** Refuses a change while a production runs; the caller holds the production lock, so none starts meanwhile. */
  async function assertNotProducing(content: Content, action: string): Promise<void> {
    const run = await describeProduction(temporal, content.id);
    if (run?.running || content.status === 'processing') {
      throw new HttpError(409, 'production_running', `a production of this content is running: cancel it before you ${action}`);
    }
  }

  return [
    route<{ projectId: string }, Record<string, never>, CreateBody>({
      method: 'post',
      path: '/projects/:projectId/contents',
      summary:
        "Create a draft content from a topic (its title), a source (URL, RSS, API data, manual data) or the creator's own script " +
        '(`script` {hook, body, cta} or `script_text` split into scenes; the production keeps it and writes none). ' +
        'With a script and neither topic nor source, `title` is required',
      tag: 'contents',
      auth: 'user',
      params: Joi.object({ projectId: Joi.string().guid().required() }),
      body: createBody,
      responses: { 201: '{ content }' },
      handler: async (req, res, { params, body }) => {
        const userId = req.auth!.userId;
        const { project } = await requireProject(models, userId, params.projectId, 'editor');
        const source = body.source;
        const script = scriptOf(body);
        const content = await models.Content.create({
          project_id: project.id,
          title: titleOf(body, script),
          description: body.description ?? null,
          tags: body.tags ?? null,
          script: script ?? EMPTY_SCRIPT,
          source_type: source?.type ?? 'manual',
          source_url: source?.url ?? null,
          source_data: source?.data ?? null,
          ...NOT_PRODUCED_YET,
        });
        // The content exists whatever happens to the event: a lost analytics write must not fail the request.
        await db.analytics.track(
          'content_created',
          { userId, organizationId: project.organization_id, projectId: project.id, contentId: content.id, userAgent: req.header('user-agent'), ipAddress: req.ip },
          { source_type: content.source_type },
        ).catch((err: unknown) => log.warn({ err, contentId: content.id }, 'content_created event not recorded'));
        res.status(201).json({ content: serializeContent(content, await contentLinks(db.objects, ownerOf(project), content)) });
      },
    }),
    route<Record<string, never>, ListQuery>({
      method: 'get',
      path: '/contents',
      summary:
        'Contents of every project the caller can read, newest first, filtered by project, status, creation time (created_from inclusive, ' +
        'created_to exclusive) and whether the production awaits approval (`awaiting_approval=true`); single steps are not contents to ' +
        'produce and are listed by GET /projects/:projectId/steps',
      tag: 'contents',
      auth: 'user',
      query: listQuery,
      responses: { 200: '{ items, next_cursor }' },
      handler: async (req, res, { query }) => {
        const userId = req.auth!.userId;
        if (query.project_id) await requireProject(models, userId, query.project_id, 'viewer');
        const organizationId = req.auth!.apiKey?.organizationId ?? undefined;
        const ids = query.awaiting_approval ? await awaitingApproval(userId, organizationId) : undefined;
        const rows = await db.contents.listVisible(
          userId,
          { projectId: query.project_id, organizationId, status: query.status, createdFrom: query.created_from, createdTo: query.created_to, cursor: query.cursor, ids },
          query.limit + 1,
        );
        const { page, nextCursor } = pageOf(rows, query.limit, (last) => encodeCursor(last.cursorAt, last.content.id));
        const items = await Promise.all(page.map(async (row) => serializeContentSummary(row.content, await contentLinks(db.objects, row.owner, row.content))));
        res.json({ items, next_cursor: nextCursor });
      },
    }),
    route({
      method: 'get',
      path: '/contents/:id',
      summary: 'A content with its script, media and source',
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ content }' },
      handler: async (req, res, { params }) => {
        const { content, owner } = await readContent(ctx.sequelize, req.auth!.userId, params.id, 'viewer');
        res.json({ content: serializeContent(content, await contentLinks(db.objects, owner, content)) });
      },
    }),
    route<{ id: string }, Record<string, never>, UpdateBody>({
      method: 'patch',
      path: '/contents/:id',
      summary:
        "Edit the draft fields of a content (title, description, tags, the creator's script as `script` or `script_text`; " +
        "`script: null` lets the writer write it again; `media`: the creator's uploads, [{ key, scene }] a picture or clip for a " +
        'spoken scene (0 the first), [{ key, volume }] an audio upload as the music track, stored as `media_assets` with source ' +
        "'user' in place of the last render's list); refused while it is being produced",
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      body: updateBody,
      responses: { 200: '{ content }' },
      handler: async (req, res, { params, body }) => {
        const { content } = await loadContent(models, req.auth!.userId, params.id, 'editor');
        await answeringConflicts(() => db.locks.withLock(`production:${content.id}`, async () => {
          await content.reload();
          await assertNotProducing(content, 'edit it');
          const { script: parts, script_text: fromText, media, ...fields } = body;
          const script = scriptOf({ script: parts, script_text: fromText });
          const mediaAssets = media === undefined ? undefined : await userMediaAssets(db.objects, content.project, script ?? content.script, media);
          await content.update({ ...fields, ...(script ? { script } : {}), ...(mediaAssets ? { media_assets: mediaAssets } : {}) });
        }));
        res.json({ content: serializeContent(content, await contentLinks(db.objects, ownerOf(content.project), content)) });
      },
    }),
    route({
      method: 'delete',
      path: '/contents/:id',
      summary:
        'Delete a content with its jobs and uploads; refused while it is being produced. Its credit and usage records stay, ' +
        'no longer linked to it (the ledger row notes the deleted content id)',
      tag: 'contents',
      auth: 'user',
      params: schemas.idParams,
      responses: { 204: 'deleted' },
      handler: async (req, res, { params }) => {
        const { content } = await loadContent(models, req.auth!.userId, params.id, 'editor');
        await answeringConflicts(() => db.locks.withLock(`production:${content.id}`, async () => {
          await content.reload();
          await assertNotProducing(content, 'delete it');
          await db.contents.deleteKeepingLedger(content.id);
        }));
        res.status(204).end();
      },
    }),
    ...productionRoutes(deps),
    ...contentProgressRoutes(deps),
  ];
}
