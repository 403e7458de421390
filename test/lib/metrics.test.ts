import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../lib/config';
import { countCredits, countHttpRequest, countProduction, countProviderCall, countStepAttempt, exposition, scrapeAllowed } from '../../lib/metrics';
import { serveMetrics, type MetricsServer } from '../../api/observability';
import { minimalEnv } from '../support/env';
import { parseExposition, scrape, valueOf, type Sample } from '../support/prometheus';

const TOKEN = 'scrape-token-0123456789abcdef';

async function samples(): Promise<Sample[]> {
  return parseExposition((await exposition()).text);
}

describe('metrics', () => {
  let server: MetricsServer;
  let open: MetricsServer;

  before(async () => {
    server = await serveMetrics({ host: '127.0.0.1', port: 0, token: TOKEN });
    open = await serveMetrics({ host: '127.0.0.1', port: 0, token: undefined });
  });
  after(async () => {
    await Promise.all([server?.close(), open?.close()]);
  });

  it('counts and times requests by method, route pattern and status, with unknown methods folded into one', async () => {
    const before = await samples();
    countHttpRequest('GET', '/contents/:id', 200, 0.012);
    countHttpRequest('GET', '/contents/:id', 200, 0.3);
    countHttpRequest('GET', '/contents/:id', 404, 0.002);
    countHttpRequest('BREW', 'unmatched', 404, 0.001);
    const after = await samples();
    const delta = (name: string, labels: Record<string, string>) => valueOf(after, name, labels) - valueOf(before, name, labels);
    assert.equal(delta('autoclip_http_requests_total', { method: 'GET', route: '/contents/:id', status: '200' }), 2);
    assert.equal(delta('autoclip_http_requests_total', { method: 'GET', route: '/contents/:id', status: '404' }), 1);
    assert.equal(delta('autoclip_http_requests_total', { method: 'other', route: 'unmatched', status: '404' }), 1);
    assert.equal(delta('autoclip_http_request_duration_seconds_count', { route: '/contents/:id', status: '200' }), 2);
    assert.ok(Math.abs(delta('autoclip_http_request_duration_seconds_sum', { route: '/contents/:id', status: '200' }) - 0.312) < 1e-9);
    // 0.012 s falls in the 25 ms bucket, 0.3 s only from the 500 ms bucket on.
    assert.equal(delta('autoclip_http_request_duration_seconds_bucket', { route: '/contents/:id', status: '200', le: '0.025' }), 1);
    assert.equal(delta('autoclip_http_request_duration_seconds_bucket', { route: '/contents/:id', status: '200', le: '0.5' }), 2);
    assert.ok(!after.some((s) => s.labels.method === 'BREW'), 'a method outside the known set never becomes a label');
  });

  it('counts productions, step attempts, provider calls with their errors and cost, and committed credits', async () => {
    const before = await samples();
    countProduction('completed', 'none');
    countProduction('failed', 'render');
    countStepAttempt('tts', 'completed', 4.2);
    countStepAttempt('tts', 'failed', 1);
    countProviderCall({ service: 'elevenlabs', operation: 'tts', durationMs: 800, estimatedCostUsd: 0.0125 }, 'platform', undefined);
    countProviderCall({ service: 'elevenlabs', operation: 'tts', durationMs: 100, estimatedCostUsd: 0, statusCode: 503 }, 'platform', undefined);
    countProviderCall({ service: 'elevenlabs', operation: 'tts', durationMs: 50, estimatedCostUsd: 0.002 }, 'organization', 'socket hang up');
    countCredits('charged', 1);
    countCredits('charged', 1);
    countCredits('refunded', 1);
    const after = await samples();
    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    assert.equal(delta('autoclip_productions_total', { outcome: 'completed', reason: 'none' }), 1);
    assert.equal(delta('autoclip_productions_total', { outcome: 'failed', reason: 'render' }), 1);
    assert.equal(delta('autoclip_production_step_attempts_total', { step: 'tts', outcome: 'completed' }), 1);
    assert.equal(delta('autoclip_production_step_attempts_total', { step: 'tts', outcome: 'failed' }), 1);
    assert.ok(Math.abs(delta('autoclip_production_step_duration_seconds_sum', { step: 'tts' }) - 5.2) < 1e-9);
    assert.equal(delta('autoclip_provider_calls_total', { service: 'elevenlabs', operation: 'tts', outcome: 'ok' }), 1);
    assert.equal(delta('autoclip_provider_calls_total', { service: 'elevenlabs', operation: 'tts', outcome: 'error' }), 2, 'an HTTP status ≥ 400 or an error message');
    assert.ok(Math.abs(delta('autoclip_provider_cost_usd_total', { service: 'elevenlabs', billed_to: 'platform' }) - 0.0125) < 1e-9);
    assert.ok(Math.abs(delta('autoclip_provider_cost_usd_total', { service: 'elevenlabs', billed_to: 'organization' }) - 0.002) < 1e-9);
    assert.ok(Math.abs(delta('autoclip_provider_call_duration_seconds_sum', { service: 'elevenlabs' }) - 0.95) < 1e-9);
    assert.equal(delta('autoclip_credits_charged_total'), 2);
    assert.equal(delta('autoclip_credits_refunded_total'), 1);
  });

  it('exposes the Node.js process metrics beside its own', async () => {
    const all = await samples();
    assert.ok(valueOf(all, 'process_cpu_user_seconds_total') > 0);
    assert.ok(valueOf(all, 'nodejs_heap_size_used_bytes') > 0);
  });

  it('lets a scrape through without a token only when none is configured, and compares the bearer token exactly', () => {
    assert.equal(scrapeAllowed(undefined, undefined), true);
    assert.equal(scrapeAllowed('Bearer anything', undefined), true);
    assert.equal(scrapeAllowed(undefined, TOKEN), false);
    assert.equal(scrapeAllowed(`Bearer ${TOKEN}`, TOKEN), true);
    assert.equal(scrapeAllowed(`bearer ${TOKEN}`, TOKEN), true);
    assert.equal(scrapeAllowed(`Bearer ${TOKEN}x`, TOKEN), false);
    assert.equal(scrapeAllowed(`Bearer ${TOKEN.slice(0, -1)}`, TOKEN), false);
    assert.equal(scrapeAllowed(TOKEN, TOKEN), false);
    assert.equal(scrapeAllowed(`Basic ${TOKEN}`, TOKEN), false);
  });

  it("serves GET /metrics on a worker's own port: 401 without the token, the exposition with it, 404 elsewhere", async () => {
    const refused = await fetch(server.url);
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
    assert.deepEqual(await refused.json(), { error: { status: 401, code: 'unauthenticated', message: 'a valid bearer token is required' } });
    assert.equal((await fetch(server.url, { headers: { authorization: 'Bearer wrong-token-0123456789' } })).status, 401);
    const before = await scrape(server.url, TOKEN);
    countCredits('charged', 1);
    const after = await scrape(server.url, TOKEN);
    assert.equal(valueOf(after, 'autoclip_credits_charged_total') - valueOf(before, 'autoclip_credits_charged_total'), 1);
    assert.equal((await fetch(server.url.replace('/metrics', '/other'), { headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
    assert.equal((await fetch(server.url, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } })).status, 404);
    const head = await fetch(server.url, { method: 'HEAD', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
    assert.ok(valueOf(await scrape(open.url), 'autoclip_credits_charged_total') >= 1, 'without a configured token, anyone may scrape');
  });

  it('reads its settings from the environment: worker port 9464 by default (0 turns it off), no token, no Temporal exporter', () => {
    const defaults = loadConfig(minimalEnv());
    assert.deepEqual(defaults.metrics, { token: undefined, workerHost: '0.0.0.0', workerPort: 9464, temporalAddress: undefined });
    const set = loadConfig({ ...minimalEnv(), METRICS_TOKEN: TOKEN, WORKER_METRICS_PORT: '0', WORKER_METRICS_HOST: '127.0.0.1', TEMPORAL_METRICS_ADDRESS: '0.0.0.0:9465' });
    assert.deepEqual(set.metrics, { token: TOKEN, workerHost: '127.0.0.1', workerPort: 0, temporalAddress: '0.0.0.0:9465' });
    assert.deepEqual(loadConfig({ ...minimalEnv(), METRICS_TOKEN: '', TEMPORAL_METRICS_ADDRESS: '' }).metrics, defaults.metrics, 'an empty variable (compose `${VAR:-}`) is an unset one');
    assert.throws(() => loadConfig({ ...minimalEnv(), METRICS_TOKEN: 'short' }), /METRICS_TOKEN/);
    assert.throws(() => loadConfig({ ...minimalEnv(), METRICS_TOKEN: 'has a space in it, long enough' }), /METRICS_TOKEN/);
    assert.throws(() => loadConfig({ ...minimalEnv(), TEMPORAL_METRICS_ADDRESS: '9465' }), /TEMPORAL_METRICS_ADDRESS/);
    assert.throws(() => loadConfig({ ...minimalEnv(), WORKER_METRICS_PORT: '70000' }), /WORKER_METRICS_PORT/);
  });
});
