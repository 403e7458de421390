import type { ApiDeps } from '../deps';
import { route, type AnyRouteSpec } from '../registry';

export function healthRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/healthz',
      summary: 'The process is up',
      tag: 'health',
      auth: 'public',
      responses: { 200: 'up' },
      handler: (_req, res) => {
        res.json({ status: 'ok' });
      },
    }),
    route({
      method: 'get',
      path: '/readyz',
      summary: 'PostgreSQL, Redis, MongoDB, S3 and Temporal answer',
      tag: 'health',
      auth: 'public',
      responses: { 200: 'every dependency answers', 503: 'at least one does not' },
      handler: async (_req, res) => {
        const checks = await ctx.probe();
        const ready = checks.every((c) => c.ok);
        res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unavailable', checks: checks.map(({ store, ok, latencyMs }) => ({ store, ok, latencyMs })) });
      },
    }),
  ];
}
