import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { StoreCheck } from '../db/stores';

const { checkStores } = proxyActivities<Activities>({
  startToCloseTimeout: '30 seconds',
  retry: { maximumAttempts: 3, initialInterval: '1 second' },
});

/**
 * Proves a worker is polling and can reach every store: run at start-up by `npm start` and on demand
 * by an operator from the Web UI. Fails, naming the stores, when any is unreachable.
 */
export async function systemCheck(): Promise<StoreCheck[]> {
  const checks = await checkStores();
  const failing = checks.filter((c) => !c.ok);
  if (failing.length > 0) {
    throw ApplicationFailure.nonRetryable(
      `unreachable: ${failing.map((c) => `${c.store} (${c.error ?? 'no answer'})`).join(', ')}`,
      'StoresUnreachable',
      checks,
    );
  }
  return checks;
}
