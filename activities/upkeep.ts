import { Context as ActivityContext } from '@temporalio/activity';
import { backupMongo, backupPostgres, backupRedis, type BackupSummary, type MongoBackupSummary } from '../db/backups';
import { deleteExpiredMongoDocuments, type ExpiredDocuments } from '../db/mongo/retention';
import { ensureApiUsagePartitions } from '../db/partitions';
import { rollOverSubscriptions, type RolloverSummary } from '../db/rollover';
import type { AppContext } from '../control/app-context';

/** Months of api_usages partitions kept ready beyond the current one. */
const PARTITION_MONTHS_AHEAD = 3;

/**
 * The periodic upkeep, run by Temporal Schedules (control/upkeep-schedules.ts): credit periods,
 * api_usages partitions, backups and the retention of MongoDB's logs. Each is idempotent, so a
 * retried or doubled run is harmless (a doubled backup is one more locked object, expired like the others).
 */
export function createUpkeepActivities(ctx: AppContext) {
  const heartbeatBytes = (bytes: number): void => ActivityContext.current().heartbeat({ bytes });
  const store = ctx.db.backups;
  return {
    async rollOverSubscriptions(): Promise<RolloverSummary> {
      return rollOverSubscriptions(ctx.db.sequelize);
    },

    async ensureApiUsagePartitions(): Promise<{ created: string[] }> {
      return { created: await ensureApiUsagePartitions(ctx.db.sequelize, PARTITION_MONTHS_AHEAD) };
    },

    async backupPostgres(): Promise<BackupSummary> {
      const { cancellationSignal } = ActivityContext.current();
      return backupPostgres({ store, databaseUrl: ctx.config.backupDatabaseUrl, onProgress: heartbeatBytes }, cancellationSignal);
    },

    async backupMongo(): Promise<MongoBackupSummary> {
      const { cancellationSignal } = ActivityContext.current();
      return backupMongo({ store, mongodbUrl: ctx.config.mongodbUrl, onProgress: heartbeatBytes }, cancellationSignal);
    },

    async backupRedis(): Promise<BackupSummary> {
      const { cancellationSignal } = ActivityContext.current();
      return backupRedis({ store, redisUrl: ctx.config.redisUrl, onProgress: heartbeatBytes }, cancellationSignal);
    },

    async deleteExpiredMongoDocuments(): Promise<ExpiredDocuments> {
      return deleteExpiredMongoDocuments(ctx.db.mongo.models);
    },
  };
}

export type UpkeepActivities = ReturnType<typeof createUpkeepActivities>;
