import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { once } from 'node:events';
import { createApp } from './app';
import { loadConfig } from '../lib/config';
import { createAppContext, type AppContext } from '../control/app-context';
import { moduleLogger } from '../lib/logger';
import { startTracing } from '../lib/tracing';

const log = moduleLogger('api');

export interface RunningApi {
  server: HttpServer | HttpsServer;
  url: string;
  /** Stops accepting requests and closes open connections (progress streams would hold shutdown up). */
  stop(): Promise<void>;
}

/** Sent on every response served over TLS: browsers keep to HTTPS for a year, subdomains included. */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

/**
 * Serves the API: HTTPS (TLS 1.3 only, with Strict-Transport-Security on every response) when
 * `API_TLS_CERT_FILE` and `API_TLS_KEY_FILE` are set, else plain HTTP for a TLS proxy in front.
 */
export async function startApi(ctx: AppContext, port = ctx.config.api.port, host = ctx.config.api.host): Promise<RunningApi> {
  const app = createApp(ctx);
  const { tls } = ctx.config.api;
  const server = tls
    ? createHttpsServer({ cert: readFileSync(tls.certFile), key: readFileSync(tls.keyFile), minVersion: 'TLSv1.3' }, (req, res) => {
        res.setHeader('Strict-Transport-Security', STRICT_TRANSPORT_SECURITY);
        void app(req, res);
      })
    : createHttpServer(app);
  server.listen(port, host);
  await once(server, 'listening');
  const address = server.address();
  const boundPort = typeof address === 'object' && address ? address.port : port;
  const url = `${tls ? 'https' : 'http'}://${host === '0.0.0.0' ? '127.0.0.1' : host}:${boundPort}`;
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
  const config = loadConfig();
  // Before the context: its Temporal client carries the request's trace into the workflows it starts.
  const tracing = startTracing(config.tracing);
  const ctx = await createAppContext(config);
  const api = await startApi(ctx);
  if (!config.metrics.token && config.nodeEnv === 'production') log.warn('METRICS_TOKEN is not set: GET /metrics answers whoever reaches the API');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void api
        .stop()
        .then(() => ctx.close())
        .then(() => tracing?.shutdown());
    });
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    log.fatal({ err }, 'api failed to start');
    process.exit(1);
  });
}
