import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowIdConflictPolicy,
  type ScheduleDescription,
  type ScheduleOptionsStartWorkflowAction,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { isDeepStrictEqual } from 'node:util';
import { TypedSearchAttributes, type SearchAttributePair } from '@temporalio/common';
import type { DataSource, Project } from '../db/models';
import { ingestDataSource } from '../workflows/ingest-data-source';
import { DataSourceIdKey, OrganizationIdKey, OwnerUserIdKey, ProjectIdKey } from '../workflows/search-attributes';
import type { AppContext } from './app-context';
import { isValidTimeZone } from '../lib/calendar';
import { moduleLogger } from '../lib/logger';
import { runLimited } from '../providers/concurrency';

/**
 * Each data source with a `schedule_cron` owns one Temporal Schedule, `data-source-<id>`, that starts
 * `ingestDataSource` at the cron's times in the project's time zone, skipping a run while the
 * previous one is still going. The API keeps it in step with the row: created with it, updated
 * with it, paused while `is_active` is false or its project is paused or archived, deleted with it;
 * each worker start reconciles them all with the rows (`reconcileDataSourceSchedules`). Schedules
 * and their runs carry the DataSourceId, ProjectId, OrganizationId and OwnerUserId search
 * attributes and a memo naming the source and project, so an operator finds them in the Web UI.
 */

const log = moduleLogger('data-source-schedules');

const DEFAULT_SOURCE_TIMEZONE = 'Asia/Seoul';

/** Runs missed while the cluster or the workers were down are caught up within this window (an hour). */
const CATCHUP_WINDOW_MS = 3_600_000;

export function dataSourceScheduleId(dataSourceId: string): string {
  return `data-source-${dataSourceId}`;
}

type ScheduleContext = Pick<AppContext, 'config' | 'models' | 'temporal'>;

/** The zone a source's cron is read in: the project's `style_preset.timezone`, else its owner's, else Seoul. */
async function timeZoneOf(ctx: ScheduleContext, project: Project): Promise<string> {
  const preset = project.style_preset?.timezone;
  if (typeof preset === 'string' && isValidTimeZone(preset)) return preset;
  const owner = project.user_id ? await ctx.models.User.findByPk(project.user_id, { attributes: ['timezone'] }) : null;
  return owner?.timezone && isValidTimeZone(owner.timezone) ? owner.timezone : DEFAULT_SOURCE_TIMEZONE;
}

function sourceAttributes(source: DataSource, project: Project): SearchAttributePair[] {
  return [
    { key: DataSourceIdKey, value: source.id },
    { key: ProjectIdKey, value: project.id },
    ...(project.organization_id ? [{ key: OrganizationIdKey, value: project.organization_id }] : []),
    ...(project.user_id ? [{ key: OwnerUserIdKey, value: project.user_id }] : []),
  ];
}

function sourceMemo(source: DataSource, project: Project): Record<string, unknown> {
  return { dataSource: source.name, sourceType: source.source_type, project: project.name };
}

function ingestAction(ctx: ScheduleContext, source: DataSource, project: Project): ScheduleOptionsStartWorkflowAction<typeof ingestDataSource> {
  return {
    type: 'startWorkflow',
    workflowType: ingestDataSource,
    workflowId: `ingest-${source.id}`,
    taskQueue: ctx.config.temporal.taskQueue,
    args: [{ dataSourceId: source.id }],
    typedSearchAttributes: new TypedSearchAttributes(sourceAttributes(source, project)),
    memo: sourceMemo(source, project),
  };
}

interface DesiredSchedule {
  scheduleId: string;
  cron: string;
  timezone: string;
  paused: boolean;
  note: string;
  action: ScheduleOptionsStartWorkflowAction<typeof ingestDataSource>;
  attributes: SearchAttributePair[];
  memo: Record<string, unknown>;
}

/**
 * What the source's schedule should be: the cron, the zone, the action and `paused = !is_active ||
 * project.status !== 'active'`.
 */
function desiredSchedule(ctx: ScheduleContext, source: DataSource & { schedule_cron: string }, project: Project, timezone: string): DesiredSchedule {
  // A paused or archived project stops spending: its sources' schedules pause with it.
  const projectStopped = project.status !== undefined && project.status !== 'active';
  return {
    scheduleId: dataSourceScheduleId(source.id),
    cron: source.schedule_cron.trim().split(/\s+/).join(' '),
    timezone,
    paused: !source.is_active || projectStopped,
    note: !source.is_active
      ? 'data source paused (is_active = false)'
      : projectStopped
        ? `project ${project.status} (projects.status = ${project.status})`
        : `data source "${source.name}"`,
    action: ingestAction(ctx, source, project),
    attributes: sourceAttributes(source, project),
    memo: sourceMemo(source, project),
  };
}

function hasCron(source: DataSource): source is DataSource & { schedule_cron: string } {
  return typeof source.schedule_cron === 'string' && source.schedule_cron.trim() !== '';
}

/**
 * Creates the schedule, or replaces spec, action, policies and state of the one already there.
 * Temporal compiles a cron string into calendars and keeps of its text only what follows `#` (as
 * the calendar's comment): the cron is written there too, so `reconcileDataSourceSchedules` can
 * tell whether a schedule still has its row's cron.
 */
async function writeSchedule(ctx: ScheduleContext, desired: DesiredSchedule): Promise<'created' | 'updated'> {
  const { scheduleId, action } = desired;
  const spec = { cronExpressions: [`${desired.cron} # ${desired.cron}`], timezone: desired.timezone };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW_MS };
  const state = { paused: desired.paused, note: desired.note };
  try {
    await ctx.temporal.schedule.create({ scheduleId, spec, action, policies, state, typedSearchAttributes: desired.attributes, memo: desired.memo });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await ctx.temporal.schedule.getHandle(scheduleId).update((previous) => ({ ...previous, spec, action, policies, state, typedSearchAttributes: desired.attributes }));
  return 'updated';
}

/**
 * Makes the source's schedule match the row: absent without a cron, else created or updated with
 * the cron, the zone, the action and the paused state. Safe to call any number of times.
 */
export async function syncDataSourceSchedule(ctx: ScheduleContext, source: DataSource, project: Project): Promise<'none' | 'active' | 'paused'> {
  if (!hasCron(source)) {
    await deleteDataSourceSchedule(ctx, source.id);
    return 'none';
  }
  const desired = desiredSchedule(ctx, source, project, await timeZoneOf(ctx, project));
  await writeSchedule(ctx, desired);
  return desired.paused ? 'paused' : 'active';
}

/** Deletes the source's schedule; false when there was none (another process may have deleted it first). */
export async function deleteDataSourceSchedule(ctx: Pick<AppContext, 'temporal'>, dataSourceId: string): Promise<boolean> {
  try {
    await ctx.temporal.schedule.getHandle(dataSourceScheduleId(dataSourceId)).delete();
    return true;
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    return false;
  }
}

function attributePairs(attributes: TypedSearchAttributes | SearchAttributePair[] | undefined): [string, unknown][] {
  const pairs = attributes instanceof TypedSearchAttributes ? attributes.getAll() : (attributes ?? []);
  return pairs.map((pair): [string, unknown] => [pair.key.name, pair.value]).sort(([a], [b]) => a.localeCompare(b));
}

/** True when the schedule Temporal holds differs from the desired one in anything but its paused state. */
function drifted(actual: ScheduleDescription, desired: DesiredSchedule): boolean {
  const { action } = desired;
  const calendars = actual.spec.calendars ?? [];
  const sameSpec = calendars.length === 1 && calendars[0]?.comment === desired.cron && (actual.spec.intervals ?? []).length === 0 && actual.spec.timezone === desired.timezone;
  const sameAction =
    actual.action.type === 'startWorkflow' &&
    actual.action.workflowType === ingestDataSource.name &&
    actual.action.workflowId === action.workflowId &&
    actual.action.taskQueue === action.taskQueue &&
    isDeepStrictEqual(actual.action.args, action.args) &&
    isDeepStrictEqual(actual.action.memo ?? {}, action.memo) &&
    isDeepStrictEqual(attributePairs(actual.action.typedSearchAttributes), attributePairs(action.typedSearchAttributes));
  const samePolicies = actual.policies.overlap === ScheduleOverlapPolicy.SKIP && actual.policies.catchupWindow === CATCHUP_WINDOW_MS;
  return !(sameSpec && sameAction && samePolicies && actual.state.note === desired.note);
}

export interface ReconcileSummary {
  /** Schedules of rows with a cron that were missing. */
  created: number;
  /** Schedules whose cron, zone, action or policies no longer matched their row. */
  updated: number;
  /** Schedules running although their row says paused (or paused although it says active); counted here even when something else changed too. */
  paused: number;
  unpaused: number;
  /** Schedules of rows without a cron, and schedules of this deployment's task queue with no row. */
  deleted: number;
  unchanged: number;
  /** Schedules Temporal refused to read or change (each logged); the next start tries again. */
  failed: number;
}

type Outcome = Exclude<keyof ReconcileSummary, 'failed'> | 'gone';

/** The row's schedule brought in step with it; `gone` when there was nothing to delete. */
async function reconcileRow(ctx: ScheduleContext, source: DataSource, project: Project, timezone: Promise<string>): Promise<Outcome> {
  if (!hasCron(source)) return (await deleteDataSourceSchedule(ctx, source.id)) ? 'deleted' : 'gone';
  const desired = desiredSchedule(ctx, source, project, await timezone);
  let actual: ScheduleDescription;
  try {
    actual = await ctx.temporal.schedule.getHandle(desired.scheduleId).describe();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
    // Another worker starting at the same moment may create it first: then this one updates it.
    return writeSchedule(ctx, desired);
  }
  const pauseFlipped = actual.state.paused !== desired.paused;
  if (!pauseFlipped && !drifted(actual, desired)) return 'unchanged';
  try {
    await writeSchedule(ctx, desired);
  } catch (err) {
    // Deleted meanwhile (by the API, the row gone too): nothing left to bring in step.
    if (err instanceof ScheduleNotFoundError) return 'gone';
    throw err;
  }
  if (!pauseFlipped) return 'updated';
  return desired.paused ? 'paused' : 'unpaused';
}

/**
 * A `data-source-…` schedule with no row: deleted when its runs go to this deployment's task queue.
 * A schedule whose runs go to another queue belongs to another deployment sharing the namespace
 * (as the test suites do) and is left alone.
 */
async function reconcileOrphan(ctx: ScheduleContext, scheduleId: string): Promise<Outcome> {
  const handle = ctx.temporal.schedule.getHandle(scheduleId);
  try {
    const { action } = await handle.describe();
    if (action.taskQueue !== ctx.config.temporal.taskQueue) return 'gone';
    await handle.delete();
    return 'deleted';
  } catch (err) {
    if (err instanceof ScheduleNotFoundError) return 'gone';
    throw err;
  }
}

/** Schedules reconciled at once: enough to keep a start short, few enough not to crowd the frontend. */
const RECONCILE_CONCURRENCY = 8;

/**
 * Brings every data source schedule in step with the rows, for the times they were changed behind
 * the API's back: a Temporal cluster rebuilt or restored (its schedules missing or stale), a row
 * edited in SQL, a project deleted while Temporal refused the deletes. Missing schedules are
 * created, drifted ones updated, paused or unpaused as the row says, and those of rows without a
 * cron or with no row at all deleted. Each worker runs it at start; several at once are harmless
 * (a schedule another one created is updated, one it deleted is skipped). A schedule Temporal
 * refuses is logged and counted as failed without stopping the others. Logs one summary line.
 */
export async function reconcileDataSourceSchedules(ctx: ScheduleContext): Promise<ReconcileSummary> {
  const sources = await ctx.models.DataSource.findAll({ include: [{ model: ctx.models.Project, as: 'project', required: true }] });
  const zones = new Map<string, Promise<string>>();
  const zoneOf = (project: Project): Promise<string> => {
    const zone = zones.get(project.id) ?? timeZoneOf(ctx, project);
    zones.set(project.id, zone);
    return zone;
  };
  const rowScheduleIds = new Set(sources.map((source) => dataSourceScheduleId(source.id)));
  const orphanIds: string[] = [];
  for await (const schedule of ctx.temporal.schedule.list()) {
    if (schedule.scheduleId.startsWith(dataSourceScheduleId('')) && !rowScheduleIds.has(schedule.scheduleId)) orphanIds.push(schedule.scheduleId);
  }

  const jobs: { scheduleId: string; run: () => Promise<Outcome> }[] = [
    ...sources.map((source) => ({ scheduleId: dataSourceScheduleId(source.id), run: () => reconcileRow(ctx, source, source.project as Project, zoneOf(source.project as Project)) })),
    ...orphanIds.map((scheduleId) => ({ scheduleId, run: () => reconcileOrphan(ctx, scheduleId) })),
  ];
  const summary: ReconcileSummary = { created: 0, updated: 0, paused: 0, unpaused: 0, deleted: 0, unchanged: 0, failed: 0 };
  await runLimited(jobs, RECONCILE_CONCURRENCY, undefined, async ({ scheduleId, run }) => {
    try {
      const outcome = await run();
      if (outcome !== 'gone') summary[outcome] += 1;
    } catch (err) {
      summary.failed += 1;
      log.error({ err, scheduleId }, 'data source schedule not reconciled');
    }
  });
  log.info({ ...summary, dataSources: sources.length }, 'data source schedules reconciled');
  return summary;
}

/** Starts an ingest run of the source at once ("run now"), beside its schedule. */
export async function runDataSourceNow(ctx: ScheduleContext, source: DataSource, project: Project): Promise<WorkflowHandleWithFirstExecutionRunId<typeof ingestDataSource>> {
  return ctx.temporal.workflow.start(ingestDataSource, {
    taskQueue: ctx.config.temporal.taskQueue,
    workflowId: `ingest-${source.id}-manual-${Date.now()}`,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    args: [{ dataSourceId: source.id }],
    typedSearchAttributes: new TypedSearchAttributes(sourceAttributes(source, project)),
    memo: { ...sourceMemo(source, project), trigger: 'run-now' },
  });
}
