import type { Server } from 'node:http';
import { once } from 'node:events';
import { createApp } from './app';
import { loadConfig } from '../lib/config';
import { createAppContext, type AppContext } from '../control/app-context';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('api');

export interface RunningApi {
  server: Server;
  url: string;
  /** Stops accepting requests and closes open connections (progress streams would hold shutdown up). */
  stop(): Promise<void>;
}

export async function startApi(ctx: AppContext, port = ctx.config.api.port, host = ctx.config.api.host): Promise<RunningApi> {
  const server = createApp(ctx).listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${boundPort}`;
  log.info({ url }, 'api listening');
  return {
    server,
    url,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

async function main(): Promise<void> {
  const ctx = await createAppContext(loadConfig());
  const api = await startApi(ctx);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void api.stop().then(() => ctx.close());
    });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    log.fatal({ err }, 'api failed to start');
    process.exit(1);
  });
}
