import Joi from 'joi';
import { Op, type WhereOptions } from 'sequelize';
import { CONTENT_FORMATS, LANGUAGES, PROJECT_STATUSES, TARGET_PLATFORMS, TONES, VERTICALS, type Project } from '../../db/models';
import type { JsonObject } from '../../db/models';
import { isValidTimeZone } from '../../lib/calendar';
import { availableProviders, STEP_PROVIDERS, type ProviderStep } from '../../lib/config';
import { deleteDataSourceSchedule, syncDataSourceSchedule } from '../../control/data-source-schedules';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { createWithinPlanLimit, requirePlanFeature, type OwnerColumns } from '../limits';
import { cursorAt, olderThan } from '../../db/keyset';
import { cursorParam, encodeCursor, NEWEST_FIRST, pageOf, type Cursor } from '../pagination';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { serializeProject } from '../serializers/projects';
import { withScheduler } from './data-sources';
import { checkUpload } from './uploads';
import { ownerColumns, ownerFor, requireOrganizationRole, requireProject } from '../tenancy';

const STYLE_PRESET_MAX_CHARS = 4000;

/** Free-form presentation settings; `template_id` is the one key the pipeline reads (activities/media.ts). */
const stylePreset = Joi.object({
  template_id: schemas.id,
  /** The zone data source crons are read in (control/data-source-schedules.ts). */
  timezone: Joi.string()
    .max(50)
    .custom((value: string, helpers) => (isValidTimeZone(value) ? value : helpers.message({ custom: '{{#label}} must be an IANA time zone such as Asia/Seoul' }))),
  /** The voice the project's videos speak with: an ElevenLabs voice id or an espeak-ng voice name. */
  voice: Joi.string().pattern(/^[A-Za-z0-9_+.-]{1,64}$/).messages({ 'string.pattern.base': '{{#label}} must be a voice id' }),
  /** Whether uploads declare synthetic media; absent, they do when the voice or the pictures were generated (activities/publish.ts). */
  disclose_synthetic_media: Joi.boolean().strict(),
  /** The music under the voice of the project's videos whose content has none: an audio upload of the project (uploads.ts). */
  music_key: Joi.string().max(400),
  /** That music's volume, 0–1 (default 0.25). */
  music_volume: Joi.number().min(0).max(1),
  /**
   * The project's own order of providers per step, over the deployment's (activities/providers-for.ts),
   * e.g. `{ tts: ['local'], images: ['pexels', 'local'] }`; each must be one the deployment can run
   * (`assertUsablePreset`).
   */
  providers: Joi.object(
    Object.fromEntries(
      (Object.keys(STEP_PROVIDERS) as ProviderStep[]).map((step) => [step, Joi.array().items(Joi.string().valid(...STEP_PROVIDERS[step])).min(1).unique()]),
    ),
  ),
})
  .unknown(true)
  .custom((value: JsonObject, helpers) =>
    JSON.stringify(value).length > STYLE_PRESET_MAX_CHARS ? helpers.message({ custom: `style_preset must be at most ${STYLE_PRESET_MAX_CHARS} characters of JSON` }) : value,
  );

const projectFields = {
  name: schemas.name,
  description: Joi.string().max(2000).allow('', null),
  vertical: Joi.string().valid(...VERTICALS),
  sub_category: Joi.string().trim().max(50).allow('', null),
  content_format: Joi.string().valid(...CONTENT_FORMATS),
  language: Joi.string().valid(...LANGUAGES),
  target_platforms: Joi.array().items(Joi.string().valid(...TARGET_PLATFORMS)).min(1).unique(),
  tone: Joi.string().valid(...TONES),
  style_preset: stylePreset,
  is_auto_publish: Joi.boolean(),
};

type ProjectInput = {
  name?: string;
  description?: string | null;
  vertical?: Project['vertical'];
  sub_category?: string | null;
  content_format?: Project['content_format'];
  language?: string;
  target_platforms?: Project['target_platforms'];
  tone?: Project['tone'];
  style_preset?: JsonObject;
  is_auto_publish?: boolean;
};

/**
 * A project may name a template in style_preset.template_id only if its owner can use it: an active
 * system template, or a custom one of the same owner. Otherwise the pipeline would render with
 * another tenant's template. A premium template (`is_premium`) also needs a plan with
 * `advanced_templates`, and a voice of the project's own (`style_preset.voice`) one with
 * `custom_voices` (403 plan_feature). A project's own order of providers (`style_preset.providers`)
 * may name only providers the deployment can run: local ones, and remote ones whose keys it holds.
 */
async function assertUsablePreset(ctx: ApiDeps['ctx'], owner: OwnerColumns, preset: JsonObject | undefined): Promise<void> {
  const { models } = ctx;
  const templateId = preset?.template_id;
  if (typeof templateId === 'string') {
    const template = await models.Template.findByPk(templateId);
    const system = template !== null && template.user_id === null && template.organization_id === null;
    const usable =
      template !== null &&
      (system ? template.is_active : owner.organization_id ? template.organization_id === owner.organization_id : template.user_id === owner.user_id);
    if (!usable) throw new HttpError(400, 'validation_failed', 'the request is invalid', { 'body.style_preset.template_id': 'no such template, or not one this project may use' });
    if (template.is_premium) await requirePlanFeature(ctx, owner, 'advanced_templates', 'body.style_preset.template_id');
  }
  if (typeof preset?.voice === 'string') await requirePlanFeature(ctx, owner, 'custom_voices', 'body.style_preset.voice');
  const orders = preset?.providers;
  if (orders && typeof orders === 'object' && !Array.isArray(orders)) {
    const available = availableProviders(ctx.config);
    for (const [step, order] of Object.entries(orders) as [ProviderStep, string[]][]) {
      const usable: readonly string[] = available[step];
      const missing = order.filter((name) => !usable.includes(name));
      if (missing.length > 0) {
        throw new HttpError(400, 'validation_failed', 'the request is invalid', {
          [`body.style_preset.providers.${step}`]: `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not configured on this deployment (available: ${usable.join(', ')})`,
        });
      }
    }
  }
}

export function projectRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models, sequelize } = ctx;
  const { Project } = models;

  return [
    route<Record<string, never>, Record<string, never>, ProjectInput & { organization_id?: string; vertical: Project['vertical']; name: string }>({
      method: 'post',
      path: '/projects',
      summary: 'Create a project, personal or in an organization (editor or higher); counts against max_projects',
      tag: 'projects',
      auth: 'user',
      body: Joi.object({ ...projectFields, name: projectFields.name.required(), vertical: projectFields.vertical.required(), organization_id: schemas.id }).required(),
      responses: { 201: 'the project', 403: 'plan_limit: the plan allows no more projects; plan_feature: a premium template or a custom voice on a plan without it' },
      handler: async (req, res, { body }) => {
        const { organization_id, ...fields } = body;
        const owner = ownerColumns(await ownerFor(models, req.auth!.userId, organization_id, 'editor'));
        if (fields.style_preset?.music_key !== undefined) {
          throw new HttpError(400, 'validation_failed', 'the request is invalid', {
            'body.style_preset.music_key': 'a new project has no uploads yet: upload the track to the project, then set it with PATCH /projects/:id',
          });
        }
        await assertUsablePreset(ctx, owner, fields.style_preset);
        const project = await createWithinPlanLimit(ctx, owner, 'max_projects', (transaction) =>
          Project.create({ ...fields, ...owner, description: fields.description ?? null, sub_category: fields.sub_category ?? null }, { transaction }),
        );
        res.status(201).json({ project: serializeProject(project) });
      },
    }),
    route<Record<string, never>, { organization_id?: string; status?: string; vertical?: string; limit: number; cursor?: Cursor }>({
      method: 'get',
      path: '/projects',
      summary: "List the user's personal projects, or an organization's (members), newest first",
      tag: 'projects',
      auth: 'user',
      query: Joi.object({
        organization_id: schemas.id,
        status: Joi.string().valid(...PROJECT_STATUSES),
        vertical: Joi.string().valid(...VERTICALS),
        limit: schemas.limit,
        cursor: cursorParam,
      }),
      responses: { 200: '{ items, next_cursor }' },
      handler: async (req, res, { query }) => {
        const userId = req.auth!.userId;
        // An organization's API key lists that organization's projects: it has no personal ones.
        const organizationId = query.organization_id ?? req.auth!.apiKey?.organizationId ?? undefined;
        if (organizationId) await requireOrganizationRole(models, userId, organizationId, 'viewer');
        const conditions: WhereOptions<Project>[] = [organizationId ? { organization_id: organizationId } : { user_id: userId, organization_id: null }];
        if (query.status) conditions.push({ status: query.status as Project['status'] });
        if (query.vertical) conditions.push({ vertical: query.vertical as Project['vertical'] });
        if (query.cursor) conditions.push(sequelize.literal(olderThan(sequelize, query.cursor)) as WhereOptions<Project>);
        const rows = await Project.findAll({
          where: { [Op.and]: conditions },
          attributes: { include: [[sequelize.literal(cursorAt()), 'cursor_at']] },
          order: NEWEST_FIRST,
          limit: query.limit + 1,
        });
        const { page, nextCursor } = pageOf(rows, query.limit, (last) => encodeCursor(String(last.get('cursor_at')), last.id));
        res.json({ items: page.map(serializeProject), next_cursor: nextCursor });
      },
    }),
    route<{ id: string }>({
      method: 'get',
      path: '/projects/:id',
      summary: 'One project (any member of its organization, or its personal owner)',
      tag: 'projects',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'the project' },
      handler: async (req, res, { params }) => {
        const { project } = await requireProject(models, req.auth!.userId, params.id, 'viewer');
        res.json({ project: serializeProject(project) });
      },
    }),
    route<{ id: string }, Record<string, never>, ProjectInput & { status?: Project['status'] }>({
      method: 'patch',
      path: '/projects/:id',
      summary: 'Change a project (editor or higher)',
      tag: 'projects',
      auth: 'user',
      params: schemas.idParams,
      body: Joi.object({ ...projectFields, status: Joi.string().valid(...PROJECT_STATUSES) }).min(1).required(),
      responses: { 200: 'the changed project (pausing or archiving it pauses its data sources\' schedules; active again resumes them)', 403: 'plan_feature: a premium template or a custom voice on a plan without it' },
      handler: async (req, res, { params, body }) => {
        const { project } = await requireProject(models, req.auth!.userId, params.id, 'editor');
        await assertUsablePreset(ctx, project, body.style_preset);
        const musicKey = body.style_preset?.music_key;
        if (typeof musicKey === 'string') await checkUpload(ctx.db.objects, project, musicKey, ['audio'], 'body.style_preset.music_key');
        const zoneBefore = project.style_preset?.timezone;
        const statusBefore = project.status;
        await withScheduler('changing the project', () =>
          ctx.sequelize.transaction(async (transaction) => {
            await project.update(body, { transaction });
            if (project.style_preset?.timezone === zoneBefore && project.status === statusBefore) return;
            // The project's data sources read their crons in its zone, and run only while it is
            // active (a paused or archived project pauses them): their schedules follow it, in the
            // same transaction, so a change Temporal refuses is rolled back.
            const sources = await models.DataSource.findAll({ where: { project_id: project.id }, transaction });
            for (const source of sources) await syncDataSourceSchedule(ctx, source, project);
          }),
        ).catch(async (err: unknown) => {
          await project.reload();
          throw err;
        });
        res.json({ project: serializeProject(project) });
      },
    }),
    route<{ id: string }>({
      method: 'delete',
      path: '/projects/:id',
      summary: 'Delete a project with its channels, contents and data sources (admin or higher; the owner of a personal project)',
      tag: 'projects',
      auth: 'user',
      params: schemas.idParams,
      responses: { 204: 'deleted' },
      handler: async (req, res, { params }) => {
        const { project } = await requireProject(models, req.auth!.userId, params.id, 'admin');
        const sources = await models.DataSource.findAll({ where: { project_id: project.id }, attributes: ['id'] });
        await withScheduler('deleting the project', () =>
          ctx.sequelize.transaction(async (transaction) => {
            await project.destroy({ transaction });
            for (const source of sources) await deleteDataSourceSchedule(ctx, source.id);
          }),
        );
        res.status(204).end();
      },
    }),
  ];
}
