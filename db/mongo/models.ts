import { AiOutputModel } from './aiOutput';
import { AnalyticsEventModel } from './analyticsEvent';
import { WorkflowLogModel } from './workflowLog';

export * from './aiOutput';
export * from './analyticsEvent';
export * from './workflowLog';

export const mongoModels = [AiOutputModel, AnalyticsEventModel, WorkflowLogModel] as const;

/**
 * Brings every collection's indexes in line with the schemas (creates missing ones, drops ones no
 * schema declares). Run it from the migrate step rather than relying on autoIndex at each start.
 * Returns the names of the dropped indexes per collection.
 *
 * The schemas declare plain and unique indexes only: FerretDB 1.24 (development and tests) refuses
 * TTL, partial, collation and hidden indexes, and accepts `sparse` but drops it, which would make
 * every sync rebuild that index. Retention is therefore a scheduled delete by `created_at`.
 */
export async function ensureMongoIndexes(): Promise<Record<string, string[]>> {
  const dropped: Record<string, string[]> = {};
  for (const model of mongoModels) {
    dropped[model.collection.collectionName] = await model.syncIndexes();
  }
  return dropped;
}
