import { createHash, timingSafeEqual } from 'node:crypto';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/**
 * The platform's Prometheus metrics, on one registry per process: the API serves it at `/metrics`
 * (api/app.ts), a worker process on a port of its own (api/observability.ts `serveMetrics`). Every label takes its
 * values from a closed set (route patterns, not paths; job types; provider names), so the number
 * of series stays bounded; ids, paths and secrets are never labels. The Temporal SDK's worker
 * metrics come from its own exporter (worker.ts `installRuntime`), not from here.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const SECONDS_BUCKETS_HTTP = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const SECONDS_BUCKETS_WORK = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

const httpRequests = new Counter({
  name: 'autoclip_http_requests_total',
  help: 'API requests answered, by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

const httpRequestDuration = new Histogram({
  name: 'autoclip_http_request_duration_seconds',
  help: 'Time from the arrival of an API request to the end of its answer (or its connection), by method, route pattern and status code.',
  labelNames: ['method', 'route', 'status'] as const,
  buckets: SECONDS_BUCKETS_HTTP,
  registers: [registry],
});

const productions = new Counter({
  name: 'autoclip_productions_total',
  help: 'Productions and single steps that ended, by outcome (completed, failed, cancelled) and reason: the step an unfinished run stopped at (a job type, none before its first job), none for a completed one.',
  labelNames: ['outcome', 'reason'] as const,
  registers: [registry],
});

const stepAttempts = new Counter({
  name: 'autoclip_production_step_attempts_total',
  help: 'Attempts of the job activities of productions and single steps, by step (content_jobs.job_type) and outcome (completed, failed, cancelled).',
  labelNames: ['step', 'outcome'] as const,
  registers: [registry],
});

const stepDuration = new Histogram({
  name: 'autoclip_production_step_duration_seconds',
  help: 'Duration of one attempt of a job activity, by step and outcome.',
  labelNames: ['step', 'outcome'] as const,
  buckets: SECONDS_BUCKETS_WORK,
  registers: [registry],
});

const providerCalls = new Counter({
  name: 'autoclip_provider_calls_total',
  help: 'Calls to providers recorded in api_usages, by service, operation and outcome (error: an error message or an HTTP status of 400 or more).',
  labelNames: ['service', 'operation', 'outcome'] as const,
  registers: [registry],
});

const providerCallDuration = new Histogram({
  name: 'autoclip_provider_call_duration_seconds',
  help: 'Duration of the provider calls recorded in api_usages, by service and operation.',
  labelNames: ['service', 'operation'] as const,
  buckets: SECONDS_BUCKETS_WORK,
  registers: [registry],
});

const providerCost = new Counter({
  name: 'autoclip_provider_cost_usd_total',
  help: 'Estimated cost in USD of the provider calls recorded in api_usages, by service, operation and whose key paid (platform, organization).',
  labelNames: ['service', 'operation', 'billed_to'] as const,
  registers: [registry],
});

const creditsCharged = new Counter({
  name: 'autoclip_credits_charged_total',
  help: 'Credits taken from subscriptions for productions and paid steps (committed ledger rows).',
  registers: [registry],
});

const creditsRefunded = new Counter({
  name: 'autoclip_credits_refunded_total',
  help: 'Credits given back to subscriptions for failed or cancelled productions and steps (committed ledger rows).',
  registers: [registry],
});

/** Counts one provider call as its `api_usages` row records it (`error`: the call's error message, if it failed). */
export function countProviderCall(
  call: { service: string; operation: string; durationMs: number; estimatedCostUsd: number; statusCode?: number },
  billedTo: string,
  error: string | undefined,
): void {
  const { service, operation } = call;
  const failed = error !== undefined || (call.statusCode !== undefined && call.statusCode >= 400);
  providerCalls.inc({ service, operation, outcome: failed ? 'error' : 'ok' });
  providerCallDuration.observe({ service, operation }, call.durationMs / 1000);
  if (call.estimatedCostUsd > 0) providerCost.inc({ service, operation, billed_to: billedTo }, call.estimatedCostUsd);
}

/** Counts credits whose ledger row has committed. */
export function countCredits(kind: 'charged' | 'refunded', credits: number): void {
  (kind === 'charged' ? creditsCharged : creditsRefunded).inc(credits);
}

/** Counts one production (or single step) that ended. */
export function countProduction(outcome: string, reason: string): void {
  productions.inc({ outcome, reason });
}

/** Counts one attempt of a job activity. */
export function countStepAttempt(step: string, outcome: string, seconds: number): void {
  stepAttempts.inc({ step, outcome });
  stepDuration.observe({ step, outcome }, seconds);
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** Counts one API request and its duration; `route` is the route pattern, `unmatched` when no route took it. */
export function countHttpRequest(method: string, route: string, status: number, seconds: number): void {
  const labels = { method: METHODS.has(method) ? method : 'other', route, status: String(status) };
  httpRequests.inc(labels);
  httpRequestDuration.observe(labels, seconds);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Whether a scrape may read the metrics: always without a token, else only with
 * `Authorization: Bearer <token>` (compared in constant time).
 */
export function scrapeAllowed(authorization: string | undefined, token: string | undefined): boolean {
  if (token === undefined) return true;
  const match = /^Bearer (\S+)$/i.exec(authorization ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), digest(token));
}

/** The exposition text of every metric of the registry, and its content type. */
export async function exposition(): Promise<{ contentType: string; text: string }> {
  return { contentType: registry.contentType, text: await registry.metrics() };
}
