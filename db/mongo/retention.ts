import type { MongoModels } from './models';

/**
 * Days the logs kept in MongoDB live, deleted once a day by the upkeep schedule
 * `upkeep-mongo-retention` rather than by TTL indexes: FerretDB 1.24 (the development and test
 * store) refuses `expireAfterSeconds`, and one rule that runs the same on every store is tested
 * where it runs.
 *
 * - `workflow_logs`, 90 days after a run's log was last written: it is the readable trace of a run
 *   for looking into a failure. The lasting record of every attempt is `content_jobs` in
 *   PostgreSQL, kept with its content, and Temporal keeps a run's history 14 days (the namespace's
 *   retention), so a quarter leaves time to investigate a failure reported late.
 * - `analytics_events`, 400 days: a year of product events, so a month can be compared with the
 *   same month a year before (13 months and a margin). They carry IP addresses and user agents,
 *   kept no longer than that comparison needs.
 *
 * `ai_outputs` have no limit here: they are kept whole for audit and prompt tuning (seed §4.1).
 */
export const MONGO_RETENTION_DAYS = { workflow_logs: 90, analytics_events: 400 } as const;

export type ExpiredDocuments = Record<keyof typeof MONGO_RETENTION_DAYS, number>;

const DAY_MS = 86_400_000;

/** Deletes the documents past their collection's retention; returns how many each collection lost. */
export async function deleteExpiredMongoDocuments(models: MongoModels, now = new Date()): Promise<ExpiredDocuments> {
  const cutoff = (days: number): Date => new Date(now.getTime() - days * DAY_MS);
  const logsCutoff = cutoff(MONGO_RETENTION_DAYS.workflow_logs);
  // started_at narrows the scan through its index; a log still written to (a run that lasts) stays.
  const logs = await models.WorkflowLog.deleteMany({
    started_at: { $lt: logsCutoff },
    $or: [{ updated_at: { $lt: logsCutoff } }, { updated_at: { $exists: false } }],
  });
  const events = await models.AnalyticsEvent.deleteMany({ created_at: { $lt: cutoff(MONGO_RETENTION_DAYS.analytics_events) } });
  return { workflow_logs: logs.deletedCount, analytics_events: events.deletedCount };
}
