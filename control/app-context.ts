import { Client, Connection } from '@temporalio/client';
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../lib/config';
import { temporalClientInterceptors } from '../lib/tracing';
import type { Models } from '../db/models';
import { openStores, type StoreCheck, type Stores } from '../db/stores';

/**
 * What a process holds: its configuration, the stores with their repositories (db/), and a Temporal
 * client; opened once at start, closed once at shutdown, and handed to routes and activities.
 * `sequelize` and `models` are the stores' own, for routes that write rows through the models.
 */
export interface AppContext {
  config: AppConfig;
  db: Stores;
  sequelize: Sequelize;
  models: Models;
  temporal: Client;
  /** Every store and Temporal, each answering within a short deadline. */
  probe(): Promise<StoreCheck[]>;
  close(): Promise<void>;
}

export async function createAppContext(config: AppConfig): Promise<AppContext> {
  const db = await openStores(config);
  const connection = await Connection.connect({ address: config.temporal.address });
  // With tracing started (lib/tracing.ts), a workflow started through this client continues the caller's trace.
  const temporal = new Client({ connection, namespace: config.temporal.namespace, interceptors: temporalClientInterceptors() });
  return {
    config,
    db,
    sequelize: db.sequelize,
    models: db.models,
    temporal,
    probe: () => db.probe({ temporal: () => connection.workflowService.getSystemInfo({}) }),
    async close() {
      await Promise.allSettled([db.close(), connection.close()]);
    },
  };
}
