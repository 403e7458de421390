import { randomUUID } from 'node:crypto';
import express from 'express';
import { probeStores } from '../activities/system';
import type { AppContext } from '../lib/app-context';
import { errorHandler, notFound } from './errors';

/** The Express application: thin routes over the models and Temporal, one JSON error shape. */
export function createApp(ctx: AppContext): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use((req, res, next) => {
    const incoming = req.header('x-request-id');
    res.setHeader('x-request-id', incoming && /^[\w-]{1,64}$/.test(incoming) ? incoming : randomUUID());
    next();
  });
  app.use(express.json({ limit: '256kb' }));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks = await probeStores(ctx);
    const ready = checks.every((c) => c.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks });
  });

  app.use(notFound);
  app.use(errorHandler);
  return app;
}
