import { proxyActivities } from '@temporalio/workflow';
import type { UpkeepActivities } from '../activities/upkeep';

const { ensureApiUsagePartitions } = proxyActivities<UpkeepActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
});

/** Daily (schedule `upkeep-api-usage-partitions`): the next months' api_usages partitions exist before rows need them. */
export async function maintainPartitions(): Promise<{ created: string[] }> {
  return ensureApiUsagePartitions();
}
