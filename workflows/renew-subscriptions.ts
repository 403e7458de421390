import { proxyActivities } from '@temporalio/workflow';
import type { UpkeepActivities } from '../activities/upkeep';
import type { RolloverSummary } from '../db/rollover';

const { rollOverSubscriptions } = proxyActivities<UpkeepActivities>({
  startToCloseTimeout: '10 minutes',
  retry: { initialInterval: '10 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 10 },
});

/** Hourly (schedule `upkeep-renew-subscriptions`): credit periods that ended are renewed, reset or expired, once each. */
export async function renewSubscriptions(): Promise<RolloverSummary> {
  return rollOverSubscriptions();
}
