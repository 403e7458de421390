import {
  ScheduleAlreadyRunning,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  WorkflowIdConflictPolicy,
  type ScheduleOptions,
  type ScheduleOptionsStartWorkflowAction,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { TypedSearchAttributes, type SearchAttributePair } from '@temporalio/common';
import type { DataSource, Project } from '../db/models';
import { ingestDataSource } from '../workflows/ingest-data-source';
import { DataSourceIdKey, OrganizationIdKey, OwnerUserIdKey, ProjectIdKey } from '../workflows/search-attributes';
import type { AppContext } from './app-context';
import { isValidTimeZone } from '../lib/calendar';

/**
 * Each data source with a `schedule_cron` owns one Temporal Schedule, `data-source-<id>`, that starts
 * `ingestDataSource` at the cron's times in the project's time zone, skipping a run while the
 * previous one is still going. The API keeps it in step with the row: created with it, updated
 * with it, paused while `is_active` is false or its project is paused or archived, deleted with it.
 * Schedules and their runs carry the DataSourceId, ProjectId, OrganizationId and OwnerUserId search
 * attributes and a memo naming the source and project, so an operator finds them in the Web UI.
 */

const DEFAULT_SOURCE_TIMEZONE = 'Asia/Seoul';

/** Runs missed while the cluster or the workers were down are caught up within this window. */
const CATCHUP_WINDOW = '1 hour' as const;

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

/**
 * Makes the source's schedule match the row: absent without a cron, else created or updated with
 * the cron, the zone, the action and `paused = !is_active || project.status !== 'active'`. Safe to
 * call any number of times.
 */
export async function syncDataSourceSchedule(ctx: ScheduleContext, source: DataSource, project: Project): Promise<'none' | 'active' | 'paused'> {
  if (!source.schedule_cron) {
    await deleteDataSourceSchedule(ctx, source.id);
    return 'none';
  }
  // A paused or archived project stops spending: its sources' schedules pause with it.
  const projectStopped = project.status !== undefined && project.status !== 'active';
  const paused = !source.is_active || projectStopped;
  const note = !source.is_active
    ? 'data source paused (is_active = false)'
    : projectStopped
      ? `project ${project.status} (projects.status = ${project.status})`
      : `data source "${source.name}"`;
  const spec = { cronExpressions: [source.schedule_cron], timezone: await timeZoneOf(ctx, project) };
  const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW };
  const action = ingestAction(ctx, source, project);
  const options: ScheduleOptions = {
    scheduleId: dataSourceScheduleId(source.id),
    spec,
    action,
    policies,
    state: { paused, note },
    typedSearchAttributes: sourceAttributes(source, project),
    memo: sourceMemo(source, project),
  };
  try {
    await ctx.temporal.schedule.create(options);
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
    await ctx.temporal.schedule.getHandle(options.scheduleId).update((previous) => ({ ...previous, spec, action, policies, state: { paused, note } }));
  }
  return paused ? 'paused' : 'active';
}

export async function deleteDataSourceSchedule(ctx: Pick<AppContext, 'temporal'>, dataSourceId: string): Promise<void> {
  try {
    await ctx.temporal.schedule.getHandle(dataSourceScheduleId(dataSourceId)).delete();
  } catch (err) {
    if (!(err instanceof ScheduleNotFoundError)) throw err;
  }
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
