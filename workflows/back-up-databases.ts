import { proxyActivities } from '@temporalio/workflow';
import type { UpkeepActivities } from '../activities/upkeep';
import type { BackupSummary, MongoBackupSummary, PruneResult } from '../db/backups';

const backups = proxyActivities<UpkeepActivities>({
  startToCloseTimeout: '3 hours',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 minute', backoffCoefficient: 2, maximumInterval: '15 minutes', maximumAttempts: 5 },
});

const { pruneBackups } = proxyActivities<UpkeepActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumAttempts: 5 },
});

export interface BackupRun {
  postgres: BackupSummary;
  mongo: MongoBackupSummary;
  pruned: PruneResult;
}

/**
 * Daily (schedule `upkeep-backups`, seed §7.1): PostgreSQL and MongoDB to S3, then backups past
 * their retention (30 and 14 days) deleted. Pruning runs only after both backups succeeded, so a
 * failing backup never costs an old one.
 */
export async function backUpDatabases(): Promise<BackupRun> {
  const [postgres, mongo] = await Promise.all([backups.backupPostgres(), backups.backupMongo()]);
  const pruned = await pruneBackups();
  return { postgres, mongo, pruned };
}
