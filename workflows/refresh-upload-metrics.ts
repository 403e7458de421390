import { proxyActivities } from '@temporalio/workflow';
import type { PublishActivities } from '../activities/publish';

const { refreshDueMetrics } = proxyActivities<PublishActivities>({
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '2 minutes',
  retry: { initialInterval: '30 seconds', backoffCoefficient: 2, maximumInterval: '10 minutes', maximumAttempts: 5 },
});

/**
 * Every half hour (schedule `upkeep-refresh-metrics`): the published uploads whose metrics are due
 * are read from their platforms. "Due" decays with age (see `metricsRefreshInterval`): often in the
 * first day, daily in the first month, weekly after.
 */
export async function refreshUploadMetrics(): Promise<{ refreshed: number; failedChannels: number }> {
  return refreshDueMetrics({ limit: 500 });
}
