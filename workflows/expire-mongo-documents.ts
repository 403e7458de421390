import { proxyActivities } from '@temporalio/workflow';
import type { UpkeepActivities } from '../activities/upkeep';
import type { ExpiredDocuments } from '../db/mongo/retention';

const { deleteExpiredMongoDocuments } = proxyActivities<UpkeepActivities>({
  startToCloseTimeout: '30 minutes',
  retry: { initialInterval: '30 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 5 },
});

/**
 * Daily (schedule `upkeep-mongo-retention`): workflow_logs and analytics_events past their retention
 * (db/mongo/retention.ts) deleted. A retry deletes what is still past it, so a doubled run is harmless.
 */
export async function expireMongoDocuments(): Promise<ExpiredDocuments> {
  return deleteExpiredMongoDocuments();
}
