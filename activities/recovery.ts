import { tmpdir } from 'node:os';
import { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { pgBackRest, pgBackRestInfo, pgBackRestSetupOf, type PgBackRestBackup } from '../db/pitr';
import { DrillFailedError, runRecoveryDrill, type DrillResult } from '../db/recovery-drill';
import type { AppContext } from '../control/app-context';
import { emitWebhookEvent } from '../control/webhooks';
import { moduleLogger } from '../lib/logger';
import { recordSafely } from './recording';

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
  /** Runs `work` with a heartbeat every few seconds: pgBackRest and the scratch server report no progress of their own. */
  async function heartbeating<T>(work: (activity: ActivityContext) => Promise<T>): Promise<T> {
    const activity = ActivityContext.current();
    const beat = setInterval(() => activity.heartbeat(), HEARTBEAT_EVERY_MS);
    try {
      return await work(activity);
    } finally {
      clearInterval(beat);
    }
  }

  /** A recovery_drills row: passed without an error, failed with one (what was measured before it, if anything). */
  function recordDrill(startedAt: Date, drill: Partial<DrillResult>, error: string | null): Promise<string> {
    return ctx.db.recoveryDrills.record({
      status: error === null ? 'passed' : 'failed',
      target: drill.target ?? null,
      backup_label: drill.backupLabel ?? null,
      rpo_seconds: drill.rpoSeconds ?? null,
      rto_seconds: drill.rtoSeconds ?? null,
      tables_verified: drill.tablesVerified ?? null,
      error,
      workflow_id: ActivityContext.current().info.workflowExecution?.workflowId ?? null,
      started_at: startedAt,
      finished_at: new Date(),
    });
  }

  /** drill.completed, to the personal endpoints of the platform's operators (OPERATOR_EMAILS) that subscribe to it. */
  async function emitDrillResult(drillId: string): Promise<void> {
    if (ctx.config.operatorEmails.length === 0) return;
    const drill = await ctx.db.recoveryDrills.byId(drillId);
    if (!drill) return;
    const operators = await ctx.models.User.findAll({ where: { email: ctx.config.operatorEmails }, attributes: ['id'] });
    for (const operator of operators) {
      await emitWebhookEvent(ctx, {
        id: `drill.completed:${drill.id}`,
        type: 'drill.completed',
        owner: { userId: operator.id },
        data: {
          drill_id: drill.id,
          status: drill.status,
          target: drill.target,
          backup_label: drill.backup_label,
          rpo_seconds: drill.rpo_seconds,
          rto_seconds: drill.rto_seconds,
          tables_verified: drill.tables_verified,
          error: drill.error,
        },
      });
    }
  }

  return {
    /**
     * The daily full backup of point-in-time recovery, where this worker runs pgBackRest beside the
     * database (the local stack); a deployment that backs up beside PostgreSQL itself (compose's
     * pgbackrest service) leaves PGBACKREST_CONFIG unset on its workers, and this run says so.
     */
    async backUpPostgresBase(): Promise<BaseBackupResult> {
      const { recovery } = ctx.config;
      if (!recovery) return { skipped: 'PGBACKREST_CONFIG is not set on this worker: the full backups are taken beside PostgreSQL' };
      const setup = pgBackRestSetupOf(recovery);
      return heartbeating(async ({ cancellationSignal }) => {
        await pgBackRest(setup, ['backup', '--type=full'], cancellationSignal);
        const taken = (await pgBackRestInfo(setup, cancellationSignal)).backups.at(-1);
        if (!taken) throw new Error('pgBackRest reported no backup after taking one');
        log.info({ backup: taken }, 'full backup taken');
        return { taken };
      });
    },

    async runRecoveryDrill(): Promise<DrillSummary> {
      const { recovery } = ctx.config;
      if (!recovery) throw ApplicationFailure.nonRetryable('this deployment does not archive WAL with pgBackRest (PGBACKREST_CONFIG is not set)', 'RecoveryNotConfigured');
      const startedAt = new Date();
      return heartbeating(async (activity) => {
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
          const id = await recordDrill(startedAt, result, null);
          log.info({ ...summary, tables }, 'restore drill passed');
          await recordSafely('the drill.completed event', () => emitDrillResult(id), { drillId: id });
          return { id, ...summary };
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          const id = await recordDrill(startedAt, err instanceof DrillFailedError ? err.partial : {}, message);
          log.error({ err }, 'restore drill failed');
          await recordSafely('the drill.completed event', () => emitDrillResult(id), { drillId: id });
          throw ApplicationFailure.nonRetryable(message, 'RecoveryDrillFailed');
        }
      });
    },
  };
}

export type RecoveryActivities = ReturnType<typeof createRecoveryActivities>;
