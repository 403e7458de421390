import { once } from 'node:events';
import { createServer } from 'node:http';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import express, { type Request, type RequestHandler } from 'express';
import { countHttpRequest, exposition, scrapeAllowed } from '../lib/metrics';
import { errorHandler, HttpError, notFound } from './errors';

/**
 * The API's side of the metrics and traces: every request counted and timed by route pattern,
 * a server span per request when tracing is on (lib/tracing.ts), and `GET /metrics` for Prometheus.
 */

/**
 * The pattern of the route that took the request (`/contents/:id`), or `unmatched` when none did (a
 * 404, or a refusal before routing such as the per-IP rate limit). Express keeps the matched route
 * on the request; the routers are mounted at the root, so its path is the whole pattern.
 */
function routeOf(req: Request): string {
  const path = (req.route as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' ? path : 'unmatched';
}

/** Counts and times every request when its connection is done with it (answered, or abandoned by the client). */
export const countRequests: RequestHandler = (req, res, next) => {
  const began = performance.now();
  res.once('close', () => countHttpRequest(req.method, routeOf(req), res.statusCode, (performance.now() - began) / 1000));
  next();
};

/**
 * A server span around each request, continuing the caller's trace when it sends a W3C
 * `traceparent`, named by method and route pattern once routing is done. Mounted only when tracing is on.
 */
export function traceRequests(): RequestHandler {
  const tracer = trace.getTracer('autoclip-api');
  return (req, res, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, req.headers);
    const span = tracer.startSpan(req.method, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method } }, parent);
    res.once('close', () => {
      const route = routeOf(req);
      span.updateName(`${req.method} ${route}`);
      span.setAttributes({ 'http.route': route, 'http.response.status_code': res.statusCode, 'autoclip.request_id': req.requestId });
      if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    });
    // The body parser keeps the context across the body's arrival (raw-body binds its callback to it), so the route runs inside the span.
    context.with(trace.setSpan(parent, span), next);
  };
}

/**
 * `GET /metrics`: the process's metrics in the Prometheus text format, to anyone when no
 * METRICS_TOKEN is configured, else only with `Authorization: Bearer <METRICS_TOKEN>` (401 otherwise).
 */
export function metricsEndpoint(token: string | undefined): RequestHandler {
  return (req, res, next) => {
    if (!scrapeAllowed(req.header('authorization'), token)) {
      res.setHeader('www-authenticate', 'Bearer');
      next(new HttpError(401, 'unauthenticated', 'a valid bearer token is required'));
      return;
    }
    exposition().then(({ contentType, text }) => {
      res.setHeader('content-type', contentType);
      res.send(text);
    }, next);
  };
}

export interface MetricsServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` on its own port (a worker process, which has no API to serve it), with the
 * API's endpoint and error shape; anything else is a 404.
 */
export async function serveMetrics(options: { host: string; port: number; token: string | undefined }): Promise<MetricsServer> {
  const app = express();
  app.disable('x-powered-by');
  app.get('/metrics', metricsEndpoint(options.token));
  app.use(notFound, errorHandler);
  const server = createServer(app);
  server.listen(options.port, options.host);
  await once(server, 'listening');
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    url: `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
