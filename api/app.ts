import express from 'express';
import type { AppContext } from '../control/app-context';
import { SecretBox } from '../lib/secrets';
import { activeTracing } from '../lib/tracing';
import type { ApiDeps } from './deps';
import { errorHandler, notFound } from './errors';
import { authenticate, cors, requestId, requestLog, requestRateLimits, securityHeaders } from './middleware';
import { mcpRouter } from './mcp';
import { countRequests, metricsEndpoint, traceRequests } from './observability';
import { limitBodyDepth, mountRoutes } from './registry';
import { allRoutes } from './routes';

/**
 * The Express application: thin routes over the models and Temporal. Every request gets a request
 * id, security headers, a per-IP rate limit, a log line, its count and time in the metrics and, with
 * tracing on, a span; every error the one JSON shape.
 */
const HEALTH_PATHS = new Set(['/healthz', '/readyz']);

export function createApp(ctx: AppContext): express.Express {
  const { config } = ctx;
  const deps: ApiDeps = {
    ctx,
    refreshTokens: ctx.db.refreshTokens,
    box: SecretBox.fromConfig(config.secrets),
  };
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  // The client's address (per-IP rate limits) comes from X-Forwarded-For when a proxy on this host or
  // a private network sends it: Caddy in front in docker-compose.yml, which sets the header itself.
  app.set('trust proxy', ['loopback', 'uniquelocal']);
  app.set('query parser', 'simple');
  // <, > and & inside JSON strings are escaped, so a stored "<script>" cannot run if a response is
  // ever rendered as HTML by mistake.
  app.set('json escape', true);
  const limits = requestRateLimits(ctx.db.rateCounters, config.api.rateLimitPerIp, config.api.rateLimitPerUser);
  // Scrapes come first: not counted, traced, logged or rate limited (Prometheus asks every few seconds).
  app.get('/metrics', metricsEndpoint(config.metrics.token));
  if (activeTracing()) app.use(traceRequests());
  app.use(countRequests, requestId, securityHeaders, requestLog, cors(config.api.corsOrigins));
  // The health routes are not counted: they must answer while Redis, which counts, is down.
  app.use((req, res, next) => (HEALTH_PATHS.has(req.path) ? next() : limits.ip(req, res, next)));
  // The depth cap runs before anything walks the body (a few KB of '[' would overflow a recursive walk).
  // Stripe signs the raw bytes of its webhook: that path keeps them (a Buffer), and express.json skips it.
  app.use('/billing/stripe/webhook', express.raw({ type: 'application/json', limit: config.api.bodyLimit }));
  app.use(express.json({ limit: config.api.bodyLimit }), limitBodyDepth);

  const router = express.Router({ strict: true });
  // A read with a token has its address counted with its user, in one Redis round trip (see
  // requestRateLimits); a public route, or an error before that, counts the address first.
  const routes = allRoutes(deps).map((spec) => (spec.auth === 'public' ? { ...spec, before: [limits.ipBeforePublic, ...(spec.before ?? [])] } : spec));
  const authenticated = [authenticate(config.auth, ctx.db.apiKeys), limits.user];
  mountRoutes(router, routes, { authenticate: authenticated });
  app.use(router);
  app.use(mcpRouter(app, authenticated));
  app.use(notFound);
  app.use(limits.ipOnError);
  app.use(errorHandler);
  return app;
}
