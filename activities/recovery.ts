import { tmpdir } from 'node:os';
import { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { pgBackRest, pgBackRestInfo, pgBackRestSetupOf, type PgBackRestBackup } from '../db/pitr';
import { DrillFailedError, runRecoveryDrill, type DrillResult } from '../db/recovery-drill';
import type { AppContext } from '../control/app-context';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('recovery');

const HEARTBEAT_EVERY_MS = 10_000;

/** The daily full backup: its label and sizes, or why this worker took none. */
export type BaseBackupResult = { taken: PgBackRestBackup } | { skipped: string };

/** What the weekly drill keeps as its workflow result (the tables' detail stays in the worker's log). */
export type DrillSummary = Omit<DrillResult, 'tables'> & { id: string };

/**
 * The restore drill as an activity (workflows/recovery-drill.ts): run, recorded in
 * recovery_drills whatever its outcome, and a failure logged at error level before it fails the
 * workflow. It runs where pgBackRest and the PostgreSQL binaries are (PGBACKREST_CONFIG).
 */
export function createRecoveryActivities(ctx: AppContext) {
  return {
    /**
     * The daily full backup of point-in-time recovery, where this worker runs pgBackRest beside the
     * database (the local stack); a deployment that backs up beside PostgreSQL itself (compose's
     * pgbackrest service) leaves PGBACKREST_CONFIG unset on its workers, and this run says so.
     */
    async backUpPostgresBase(): Promise<BaseBackupResult> {
      const { recovery } = ctx.config;
      if (!recovery) return { skipped: 'PGBACKREST_CONFIG is not set on this worker: the full backups are taken beside PostgreSQL' };
      const activity = ActivityContext.current();
      const setup = pgBackRestSetupOf(recovery);
      const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
      try {
        await pgBackRest(setup, ['backup', '--type=full'], activity.cancellationSignal);
        const taken = (await pgBackRestInfo(setup, activity.cancellationSignal)).backups.at(-1);
        if (!taken) throw new Error('pgBackRest reported no backup after taking one');
        log.info({ backup: taken }, 'full backup taken');
        return { taken };
      } finally {
        clearInterval(beat);
      }
    },

    async runRecoveryDrill(): Promise<DrillSummary> {
      const { recovery } = ctx.config;
      if (!recovery) throw ApplicationFailure.nonRetryable('this deployment does not archive WAL with pgBackRest (PGBACKREST_CONFIG is not set)', 'RecoveryNotConfigured');
      const activity = ActivityContext.current();
      const startedAt = new Date();
      const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
      try {
        const result = await runRecoveryDrill({
          sourceUrl: ctx.config.migrationDatabaseUrl,
          pgBackRest: pgBackRestSetupOf(recovery),
          postgresBinDir: recovery.postgresBinDir,
          workDir: tmpdir(),
          signal: activity.cancellationSignal,
          onStep: (step) => activity.heartbeat(step),
        });
        const { tables, ...summary } = result;
        const id = await ctx.db.recoveryDrills.record({
          status: 'passed',
          target: result.target,
          backup_label: result.backupLabel,
          rpo_seconds: result.rpoSeconds,
          rto_seconds: result.rtoSeconds,
          tables_verified: result.tablesVerified,
          error: null,
          workflow_id: activity.info.workflowExecution?.workflowId ?? null,
          started_at: startedAt,
          finished_at: new Date(),
        });
        log.info({ ...summary, tables }, 'restore drill passed');
        return { id, ...summary };
      } catch (err) {
        const partial = err instanceof DrillFailedError ? err.partial : {};
        const message = err instanceof Error ? err.message : String(err);
        await ctx.db.recoveryDrills.record({
          status: 'failed',
          target: partial.target ?? null,
          backup_label: partial.backupLabel ?? null,
          rpo_seconds: partial.rpoSeconds ?? null,
          rto_seconds: partial.rtoSeconds ?? null,
          tables_verified: partial.tablesVerified ?? null,
          error: message,
          workflow_id: activity.info.workflowExecution?.workflowId ?? null,
          started_at: startedAt,
          finished_at: new Date(),
        });
        log.error({ err }, 'restore drill failed');
        throw ApplicationFailure.nonRetryable(message, 'RecoveryDrillFailed');
      } finally {
        clearInterval(beat);
      }
    },
  };
}

export type RecoveryActivities = ReturnType<typeof createRecoveryActivities>;
