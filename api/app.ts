import express from 'express';
import type { AppContext } from '../control/app-context';
import { SecretBox } from '../lib/secrets';
import { RefreshTokens } from './auth/tokens';
import type { ApiDeps } from './deps';
import { errorHandler, notFound } from './errors';
import { authenticate, cors, rateLimit, requestId, requestLog, securityHeaders } from './middleware';
import { mountRoutes } from './registry';
import { allRoutes } from './routes';

/**
 * The Express application: thin routes over the models and Temporal. Every request gets a request
 * id, security headers, a per-IP rate limit and a log line; every error the one JSON shape.
 */
export function createApp(ctx: AppContext): express.Express {
  const { config } = ctx;
  const deps: ApiDeps = {
    ctx,
    refreshTokens: new RefreshTokens(ctx.db.redis, config.auth.refreshTokenTtlSec),
    box: SecretBox.fromConfig(config.secrets),
  };
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('trust proxy', 'loopback');
  app.set('query parser', 'simple');
  // <, > and & inside JSON strings are escaped, so a stored "<script>" cannot run if a response is
  // ever rendered as HTML by mistake.
  app.set('json escape', true);
  app.use(requestId, securityHeaders, requestLog, cors(config.api.corsOrigins));
  app.use(rateLimit(ctx.db.redis, 'ip', config.api.rateLimitPerIp, (req) => req.ip));
  app.use(express.json({ limit: config.api.bodyLimit }));

  const router = express.Router({ strict: true });
  mountRoutes(router, allRoutes(deps), {
    authenticate: [authenticate(config.auth), rateLimit(ctx.db.redis, 'user', config.api.rateLimitPerUser, (req) => req.auth?.userId)],
  });
  app.use(router);
  app.use(notFound);
  app.use(errorHandler);
  return app;
}
