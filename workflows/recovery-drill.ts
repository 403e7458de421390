import { proxyActivities } from '@temporalio/workflow';
import type { BaseBackupResult, DrillSummary, RecoveryActivities } from '../activities/recovery';

const { runRecoveryDrill } = proxyActivities<RecoveryActivities>({
  // Seed §7.2: a restore must be done within 4 hours.
  startToCloseTimeout: '4 hours',
  heartbeatTimeout: '2 minutes',
  // A failed drill is a finding to look at, not a fault to retry away.
  retry: { maximumAttempts: 1 },
});

/**
 * Weekly (schedule `upkeep-recovery-drill`): the newest PostgreSQL backup plus its WAL restored into
 * a scratch server and verified; the result is this workflow's result and a row of recovery_drills.
 */
export async function recoveryDrill(): Promise<DrillSummary> {
  return runRecoveryDrill();
}

const { backUpPostgresBase } = proxyActivities<RecoveryActivities>({
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 minute', backoffCoefficient: 2, maximumInterval: '15 minutes', maximumAttempts: 5 },
});

/** Daily (schedule `upkeep-postgres-base-backup`): the full backup that WAL is replayed onto. */
export async function backUpPostgresBaseline(): Promise<BaseBackupResult> {
  return backUpPostgresBase();
}
