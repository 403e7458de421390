import type { Connection } from 'mongoose';
import { aiOutputSchema } from './aiOutput';
import { analyticsEventSchema } from './analyticsEvent';
import { workflowLogSchema } from './workflowLog';

export * from './aiOutput';
export * from './analyticsEvent';
export * from './workflowLog';

/** The collections' models, compiled on one connection (no process-wide mongoose state). */
export function createMongoModels(connection: Connection) {
  return {
    AiOutput: connection.model('AiOutput', aiOutputSchema),
    AnalyticsEvent: connection.model('AnalyticsEvent', analyticsEventSchema),
    WorkflowLog: connection.model('WorkflowLog', workflowLogSchema),
  };
}

export type MongoModels = ReturnType<typeof createMongoModels>;

/**
 * Brings every collection's indexes in line with the schemas (creates missing ones, drops ones no
 * schema declares). Run it from the migrate step rather than relying on autoIndex at each start.
 * Returns the names of the dropped indexes per collection.
 *
 * The schemas declare plain and unique indexes only: FerretDB 1.24 (development and tests) refuses
 * TTL, partial, collation and hidden indexes, and accepts `sparse` but drops it, which would make
 * every sync rebuild that index. Old documents go by a daily delete instead of TTL (retention.ts).
 */
export async function ensureMongoIndexes(models: MongoModels): Promise<Record<string, string[]>> {
  const dropped: Record<string, string[]> = {};
  for (const model of Object.values(models)) {
    dropped[model.collection.collectionName] = await model.syncIndexes();
  }
  return dropped;
}
