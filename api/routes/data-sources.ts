import Joi from 'joi';
import { DATA_SOURCE_TYPES, type DataSource, type DataSourceConfig, type DataSourceType, type Project, type Role } from '../../db/models';
import { moduleLogger } from '../../lib/logger';
import { deleteDataSourceSchedule, runDataSourceNow, syncDataSourceSchedule } from '../../control/data-source-schedules';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { serializeDataSource } from '../serializers/data-sources';
import { requireInProject, requireProject } from '../tenancy';

/** Where a keyword source searches (providers/sources/keyword.ts). */
const KEYWORD_SOURCES = ['google_news', 'pubmed'] as const;

/** The finance APIs and reports an `api` source can read (providers/sources/finance.ts). */
const API_TYPES = ['yahoo_finance'] as const;
const API_DATA_TYPES = ['daily_summary'] as const;
const phrase = Joi.string().trim().min(1).max(100);

/** data_sources.config per source_type (seed §3.6.1, db/models/json.ts). */
const CONFIG_SCHEMAS: Record<DataSourceType, Joi.ObjectSchema> = {
  youtube_channel: Joi.object({
    channel_id: Joi.string()
      .pattern(/^(UC[\w-]{22}|@[\w.-]{3,30})$/)
      .required()
      .messages({ 'string.pattern.base': 'channel_id must be a YouTube channel id (UC…) or handle (@…)' }),
    extract_mode: Joi.string().valid('highlights', 'summary', 'full').required(),
    min_duration: Joi.number().integer().min(0).max(86_400),
    max_age_days: Joi.number().integer().min(1).max(3650),
  }),
  rss: Joi.object({
    feed_url: Joi.string().uri({ scheme: ['https', 'http'] }).max(500).required(),
    filter_keywords: Joi.array().items(phrase).max(50),
  }),
  api: Joi.object({
    api_type: Joi.string().valid(...API_TYPES).required(),
    symbols: Joi.array()
      .items(Joi.string().pattern(/^[A-Za-z0-9.^=:-]{1,20}$/).messages({ 'string.pattern.base': '{#label} must be a ticker symbol such as AAPL' }))
      .min(1)
      .max(50)
      .unique()
      .required(),
    data_type: Joi.string().valid(...API_DATA_TYPES).required(),
  }),
  keyword: Joi.object({
    keywords: Joi.array().items(phrase).min(1).max(50).required(),
    sources: Joi.array().items(Joi.string().valid(...KEYWORD_SOURCES)).min(1).unique().required(),
  }),
};

type CronField = { name: string; min: number; max: number; names?: readonly string[] };

const CRON_FIELDS: readonly CronField[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] },
  // 0 and 7 are both Sunday, as in Vixie cron and Temporal's cron strings.
  { name: 'day of week', min: 0, max: 7, names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] },
];

function cronValue(text: string, field: CronField): number | undefined {
  const named = field.names?.indexOf(text.toUpperCase()) ?? -1;
  const value = named >= 0 ? named + field.min : /^\d{1,2}$/.test(text) ? Number(text) : NaN;
  return value >= field.min && value <= field.max ? value : undefined;
}

/** Why a five-field cron expression (`*`, values, names, ranges, steps, lists) is invalid, or undefined. */
export function cronProblem(expression: string): string | undefined {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== CRON_FIELDS.length) return `schedule_cron needs 5 fields (minute hour day-of-month month day-of-week), got ${parts.length}`;
  for (const [index, field] of CRON_FIELDS.entries()) {
    for (const item of parts[index]!.split(',')) {
      const [range, step, extra] = item.split('/');
      const badStep = step !== undefined && (!/^\d{1,2}$/.test(step) || Number(step) < 1 || Number(step) > field.max);
      const bounds = range === '*' ? [field.min, field.max] : range!.split('-').map((text) => cronValue(text, field));
      const badRange = bounds.length > 2 || bounds.some((v) => v === undefined) || (bounds.length === 2 && bounds[0]! > bounds[1]!);
      if (extra !== undefined || badStep || badRange) return `schedule_cron: "${item}" is not a valid ${field.name} (${field.min}-${field.max})`;
    }
  }
  return undefined;
}

const scheduleCron = Joi.string()
  .trim()
  .max(50)
  .custom((value: string, helpers) => {
    const problem = cronProblem(value);
    return problem ? helpers.message({ custom: problem }) : value.split(/\s+/).join(' ');
  })
  .allow(null);

/** Checks a PATCH's config against the (new or stored) source type; failures are named `body.config.<field>`. */
function checkConfig(sourceType: DataSourceType, config: unknown): DataSourceConfig {
  const { value, error } = CONFIG_SCHEMAS[sourceType].validate(config, { abortEarly: false, errors: { wrap: { label: false } } });
  if (!error) return value as DataSourceConfig;
  const details: Record<string, string> = {};
  for (const d of error.details) details[['body', 'config', ...d.path].join('.')] ??= d.message;
  throw new HttpError(400, 'validation_failed', 'the request is invalid', details);
}

interface CreateBody {
  name: string;
  source_type: DataSourceType;
  config: DataSourceConfig;
  schedule_cron?: string | null;
  is_active?: boolean;
}

/** A PATCH's config is checked in the handler, against the stored type when the type is not changed. */
type ChangeBody = Partial<Omit<CreateBody, 'config'>> & { config?: Record<string, unknown> };

const log = moduleLogger('data-sources');

/**
 * Runs a change to the scheduler (Temporal) inside the row's transaction: when Temporal refuses or
 * does not answer, the row change is rolled back and the caller gets a 503 naming the problem.
 */
export async function withScheduler<T>(what: string, change: () => Promise<T>): Promise<T> {
  try {
    return await change();
  } catch (err) {
    if (err instanceof HttpError) throw err;
    log.error({ err }, `${what}: the scheduler failed`);
    throw new HttpError(503, 'scheduler_unavailable', `${what}: the scheduler (Temporal) is unavailable; nothing was changed, try again`);
  }
}

export function dataSourceRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models } = ctx;
  const { DataSource, Project: ProjectModel } = models;

  /** A data source the user can see through its project, checking `need`; 404 when it is not theirs to see. */
  const requireDataSource = async (userId: string, id: string, need: Role): Promise<DataSource> => (await requireInProject(models, DataSource, 'data source', userId, id, need)).row;

  const projectOf = async (source: DataSource): Promise<Project> => (await ProjectModel.findByPk(source.project_id, { rejectOnEmpty: true }));

  const projectParams = Joi.object({ projectId: schemas.id.required() });

  return [
    route<{ projectId: string }, Record<string, never>, CreateBody>({
      method: 'post',
      path: '/projects/:projectId/data-sources',
      summary: 'Add a data source (RSS feed, finance API, keywords, YouTube channel) to a project (admin or higher)',
      tag: 'data-sources',
      auth: 'user',
      params: projectParams,
      body: Joi.object({
        name: schemas.name.required(),
        source_type: Joi.string().valid(...DATA_SOURCE_TYPES).required(),
        config: Joi.when('source_type', {
          switch: DATA_SOURCE_TYPES.map((type) => ({ is: type, then: CONFIG_SCHEMAS[type].required() })),
          otherwise: Joi.object().required(),
        }),
        schedule_cron: scheduleCron,
        is_active: Joi.boolean(),
      }).required(),
      responses: { 201: 'the data source' },
      handler: async (req, res, { params, body }) => {
        const { project } = await requireProject(models, req.auth!.userId, params.projectId, 'admin');
        const source = await withScheduler('creating the data source', () =>
          ctx.sequelize.transaction(async (transaction) => {
            const created = await DataSource.create({ ...body, project_id: project.id, schedule_cron: body.schedule_cron ?? null, last_fetched_at: null }, { transaction });
            await syncDataSourceSchedule(ctx, created, project);
            return created;
          }),
        );
        res.status(201).json({ data_source: serializeDataSource(source) });
      },
    }),
    route<{ projectId: string }>({
      method: 'get',
      path: '/projects/:projectId/data-sources',
      summary: "A project's data sources",
      tag: 'data-sources',
      auth: 'user',
      params: projectParams,
      responses: { 200: '{ items }' },
      handler: async (req, res, { params }) => {
        const { project } = await requireProject(models, req.auth!.userId, params.projectId, 'viewer');
        const sources = await DataSource.findAll({ where: { project_id: project.id }, order: [['created_at', 'ASC'], ['id', 'ASC']] });
        res.json({ items: sources.map(serializeDataSource) });
      },
    }),
    route<{ id: string }>({
      method: 'get',
      path: '/data-sources/:id',
      summary: 'One data source',
      tag: 'data-sources',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'the data source' },
      handler: async (req, res, { params }) => {
        res.json({ data_source: serializeDataSource(await requireDataSource(req.auth!.userId, params.id, 'viewer')) });
      },
    }),
    route<{ id: string }, Record<string, never>, ChangeBody>({
      method: 'patch',
      path: '/data-sources/:id',
      summary: 'Change a data source (admin or higher); a new source_type needs a new config',
      tag: 'data-sources',
      auth: 'user',
      params: schemas.idParams,
      body: Joi.object({
        name: schemas.name,
        source_type: Joi.string().valid(...DATA_SOURCE_TYPES),
        config: Joi.object().when('source_type', { is: Joi.exist(), then: Joi.required().messages({ 'any.required': 'a new source_type needs its config' }) }),
        schedule_cron: scheduleCron,
        is_active: Joi.boolean(),
      })
        .min(1)
        .required(),
      responses: { 200: 'the changed data source' },
      handler: async (req, res, { params, body }) => {
        const source = await requireDataSource(req.auth!.userId, params.id, 'admin');
        const { config, ...changes } = body;
        const checked = config === undefined ? {} : { config: checkConfig(changes.source_type ?? source.source_type, config) };
        const project = await projectOf(source);
        await withScheduler('changing the data source', () =>
          ctx.sequelize.transaction(async (transaction) => {
            await source.update({ ...changes, ...checked }, { transaction });
            await syncDataSourceSchedule(ctx, source, project);
          }),
        ).catch(async (err: unknown) => {
          await source.reload();
          throw err;
        });
        res.json({ data_source: serializeDataSource(source) });
      },
    }),
    route<{ id: string }>({
      method: 'delete',
      path: '/data-sources/:id',
      summary: 'Delete a data source (admin or higher)',
      tag: 'data-sources',
      auth: 'user',
      params: schemas.idParams,
      responses: { 204: 'deleted' },
      handler: async (req, res, { params }) => {
        const source = await requireDataSource(req.auth!.userId, params.id, 'admin');
        await withScheduler('deleting the data source', () =>
          ctx.sequelize.transaction(async (transaction) => {
            await source.destroy({ transaction });
            await deleteDataSourceSchedule(ctx, source.id);
          }),
        );
        res.status(204).end();
      },
    }),
    route<{ id: string }>({
      method: 'post',
      path: '/data-sources/:id/run',
      summary: 'Run a data source now, beside its schedule (editor or higher): fetch new items and produce them',
      tag: 'data-sources',
      auth: 'user',
      params: schemas.idParams,
      responses: { 202: '{ workflow_id, run_id }: the ingest run started', 409: 'the data source is paused' },
      handler: async (req, res, { params }) => {
        const source = await requireDataSource(req.auth!.userId, params.id, 'editor');
        if (!source.is_active) throw new HttpError(409, 'invalid_state', 'the data source is paused (is_active is false): activate it first');
        const project = await projectOf(source);
        const handle = await withScheduler('starting the data source run', () => runDataSourceNow(ctx, source, project));
        res.status(202).json({ workflow_id: handle.workflowId, run_id: handle.firstExecutionRunId });
      },
    }),
  ];
}
