import { proxyActivities } from '@temporalio/workflow';
import type { UpkeepActivities } from '../activities/upkeep';
import type { BackupSummary, MongoBackupSummary } from '../db/backups';

const backups = proxyActivities<UpkeepActivities>({
  startToCloseTimeout: '3 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 minute', backoffCoefficient: 2, maximumInterval: '15 minutes', maximumAttempts: 5 },
});

export interface BackupRun {
  postgres: BackupSummary;
  mongo: MongoBackupSummary;
}

/**
 * Daily (schedule `upkeep-backups`, seed §7.1): PostgreSQL and MongoDB to the backups bucket, each
 * locked for its retention (30 and 14 days). Nothing here deletes: the bucket expires them.
 */
export async function backUpDatabases(): Promise<BackupRun> {
  const [postgres, mongo] = await Promise.all([backups.backupPostgres(), backups.backupMongo()]);
  return { postgres, mongo };
}
