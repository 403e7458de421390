import { proxyActivities } from '@temporalio/workflow';
import type { UpkeepActivities } from '../activities/upkeep';
import type { BackupSummary } from '../db/backups';

// Every attempt and its retries end well within the 4 hours before the next run, which snapshots anew.
const { backupRedis } = proxyActivities<UpkeepActivities>({
  startToCloseTimeout: '30 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '1 minute', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 3 },
});

/** Every 4 hours (schedule `upkeep-redis-snapshot`, seed §7.1): an RDB snapshot of Redis to the backups bucket, locked 7 days. */
export async function snapshotRedis(): Promise<BackupSummary> {
  return backupRedis();
}
