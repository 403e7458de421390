import mongoose from 'mongoose';
import type { AppConfig } from '../lib/config';
import { createMongoModels, type MongoModels } from './mongo/models';

/** A connection to the MongoDB-compatible store with its models bound to it. */
export interface MongoStore {
  connection: mongoose.Connection;
  models: MongoModels;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function connectMongo(config: Pick<AppConfig, 'mongodbUrl'>): Promise<MongoStore> {
  const connection = await mongoose.createConnection(config.mongodbUrl, { serverSelectionTimeoutMS: 10_000, autoIndex: true }).asPromise();
  return {
    connection,
    models: createMongoModels(connection),
    async ping() {
      if (!connection.db) throw new Error('not connected');
      await connection.db.admin().ping();
    },
    close: () => connection.close(),
  };
}
