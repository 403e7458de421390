import mongoose from 'mongoose';
import type { AppConfig } from '../lib/config';

/** Connects the process-wide mongoose connection; models in db/mongo/ are bound to it. */
export async function connectMongo(config: Pick<AppConfig, 'mongodbUrl'>): Promise<typeof mongoose> {
  return mongoose.connect(config.mongodbUrl, { serverSelectionTimeoutMS: 10_000, autoIndex: true });
}

export async function disconnectMongo(): Promise<void> {
  await mongoose.disconnect();
}
