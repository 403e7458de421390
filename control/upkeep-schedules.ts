import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type ScheduleOptions, type Workflow } from '@temporalio/client';
import { MONGO_RETENTION_DAYS } from '../db/mongo/retention';
import { backUpDatabases } from '../workflows/back-up-databases';
import { expireMongoDocuments } from '../workflows/expire-mongo-documents';
import { maintainPartitions } from '../workflows/maintain-partitions';
import { backUpPostgresBaseline, recoveryDrill } from '../workflows/recovery-drill';
import { refreshUploadMetrics } from '../workflows/refresh-upload-metrics';
import { renewSubscriptions } from '../workflows/renew-subscriptions';
import { snapshotRedis } from '../workflows/snapshot-redis';
import type { AppContext } from './app-context';

/**
 * The platform's own periodic work, as Temporal Schedules (never an in-process cron): each is
 * visible and can be paused or triggered in the Web UI (Schedules, ids `upkeep-…`). The worker
 * creates or updates them at start; running that twice changes nothing.
 */
export interface UpkeepSchedule {
  id: string;
  cron: string;
  workflow: Workflow;
  description: string;
}

export const UPKEEP_TIMEZONE = 'Asia/Seoul';

export const UPKEEP_SCHEDULES: readonly UpkeepSchedule[] = [
  { id: 'upkeep-renew-subscriptions', cron: '5 * * * *', workflow: renewSubscriptions, description: 'renew, reset or expire subscriptions whose credit period ended' },
  { id: 'upkeep-api-usage-partitions', cron: '15 0 * * *', workflow: maintainPartitions, description: "create the next months' api_usages partitions" },
  { id: 'upkeep-refresh-metrics', cron: '*/30 * * * *', workflow: refreshUploadMetrics, description: 'refresh the metrics of published uploads that are due' },
  { id: 'upkeep-backups', cron: '0 3 * * *', workflow: backUpDatabases, description: 'back up PostgreSQL (kept 30 days) and MongoDB (14 days) to the backups bucket' },
  { id: 'upkeep-redis-snapshot', cron: '0 */4 * * *', workflow: snapshotRedis, description: 'snapshot Redis (RDB, kept 7 days) to the backups bucket' },
  // After the backup, so the last backup before a deletion still holds what it deletes.
  { id: 'upkeep-mongo-retention', cron: '30 4 * * *', workflow: expireMongoDocuments, description: `delete workflow_logs (${MONGO_RETENTION_DAYS.workflow_logs} days) and analytics_events (${MONGO_RETENTION_DAYS.analytics_events} days) past their retention` },
  { id: 'upkeep-postgres-base-backup', cron: '30 2 * * *', workflow: backUpPostgresBaseline, description: "a full pgBackRest backup, the base point-in-time recovery replays the WAL archive onto" },
  { id: 'upkeep-recovery-drill', cron: '0 5 * * 0', workflow: recoveryDrill, description: 'restore the newest PostgreSQL backup plus WAL into a scratch server and verify it (RPO, RTO)' },
];

export async function ensureUpkeepSchedules(ctx: Pick<AppContext, 'config' | 'temporal'>): Promise<string[]> {
  for (const schedule of UPKEEP_SCHEDULES) {
    const options = {
      spec: { cronExpressions: [schedule.cron], timezone: UPKEEP_TIMEZONE },
      // Each run carries a memo naming its schedule and what it does (it places itself in no tenant).
      action: {
        type: 'startWorkflow' as const,
        workflowType: schedule.workflow,
        workflowId: schedule.id,
        taskQueue: ctx.config.temporal.taskQueue,
        args: [],
        memo: { upkeep: schedule.id, description: schedule.description },
      },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 hour' as const },
    };
    try {
      await ctx.temporal.schedule.create({ scheduleId: schedule.id, ...options, state: { note: schedule.description }, memo: { description: schedule.description } } satisfies ScheduleOptions);
    } catch (err) {
      if (!(err instanceof ScheduleAlreadyRunning)) throw err;
      await ctx.temporal.schedule.getHandle(schedule.id).update((previous) => ({ ...previous, ...options }));
    }
  }
  return UPKEEP_SCHEDULES.map((s) => s.id);
}
