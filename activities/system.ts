import type { AppContext } from '../control/app-context';
import type { StoreCheck } from '../db/stores';

export function createSystemActivities(ctx: AppContext) {
  return {
    /** Every store and Temporal answer (the `systemCheck` workflow). */
    async checkStores(): Promise<StoreCheck[]> {
      return ctx.probe();
    },
  };
}
