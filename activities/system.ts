import { HeadBucketCommand } from '@aws-sdk/client-s3';
import mongoose from 'mongoose';
import type { AppContext } from '../lib/app-context';

export interface StoreCheck {
  store: 'postgresql' | 'redis' | 'mongodb' | 's3' | 'temporal';
  ok: boolean;
  latencyMs: number;
  error?: string;
}

async function timed(store: StoreCheck['store'], probe: () => Promise<unknown>): Promise<StoreCheck> {
  const began = performance.now();
  try {
    await probe();
    return { store, ok: true, latencyMs: Math.round(performance.now() - began) };
  } catch (err) {
    return { store, ok: false, latencyMs: Math.round(performance.now() - began), error: err instanceof Error ? err.message : String(err) };
  }
}

/** Probes each store the platform depends on; used by the API's readiness check and the `systemCheck` workflow. */
export async function probeStores(ctx: Pick<AppContext, 'sequelize' | 'redis' | 'store' | 'temporal'>): Promise<StoreCheck[]> {
  return Promise.all([
    timed('temporal', () => ctx.temporal.connection.workflowService.getSystemInfo({})),
    timed('postgresql', () => ctx.sequelize.query('SELECT 1')),
    timed('redis', () => ctx.redis.ping()),
    timed('mongodb', async () => {
      const db = mongoose.connection.db;
      if (!db) throw new Error('not connected');
      await db.admin().ping();
    }),
    timed('s3', () => ctx.store.client.send(new HeadBucketCommand({ Bucket: ctx.store.bucket }))),
  ]);
}

export function createSystemActivities(ctx: AppContext) {
  return {
    async checkStores(): Promise<StoreCheck[]> {
      return probeStores(ctx);
    },
  };
}
