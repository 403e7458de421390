import { Client, Connection } from '@temporalio/client';
import type { Redis } from 'ioredis';
import type { Sequelize } from 'sequelize';
import type { AppConfig } from './config';
import { connectMongo, disconnectMongo } from '../db/mongo';
import { createRedis } from '../db/redis';
import { ObjectStore } from '../db/s3';
import { initModels, type Models } from '../db/models';
import { createSequelize } from '../db/sequelize';

/** The connections a process holds: opened once at start, closed once at shutdown. */
export interface AppContext {
  config: AppConfig;
  sequelize: Sequelize;
  models: Models;
  redis: Redis;
  store: ObjectStore;
  temporal: Client;
  close(): Promise<void>;
}

export async function createAppContext(config: AppConfig): Promise<AppContext> {
  const sequelize = createSequelize(config);
  const redis = createRedis(config);
  const store = new ObjectStore(config.s3);
  await connectMongo(config);
  const connection = await Connection.connect({ address: config.temporal.address });
  const temporal = new Client({ connection, namespace: config.temporal.namespace });
  return {
    config,
    sequelize,
    models: initModels(sequelize),
    redis,
    store,
    temporal,
    async close() {
      await Promise.allSettled([sequelize.close(), redis.quit(), disconnectMongo(), connection.close()]);
      store.destroy();
    },
  };
}
