import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QueryTypes } from 'sequelize';
import { serveMetrics, type MetricsServer } from '../../api/observability';
import { freeLoopbackPort } from '../../lib/ports';
import { installRuntime, startWorkers, type RunningWorkers } from '../../worker';
import { startFakeElevenLabs } from '../fakes/elevenlabs-server';
import { createApiHarness, type ApiHarness } from '../support/api';
import { scrape, valueOf, type Sample } from '../support/prometheus';
import { createPeople, type People } from '../support/tenants';
import { waitFor } from '../support/wait';

const TOKEN = `metrics-${randomBytes(12).toString('hex')}`;
const SPEECH_ROUTE = '/projects/:projectId/steps/speech';

/**
 * The metrics after real work: a speech step asked for over the API (the cheapest production on the
 * real path: API, Temporal, the recording interceptor, a provider over HTTP, api_usages, the ledger)
 * on workers in this process, its ElevenLabs calls answered by a local server speaking that API.
 * `/metrics` is scraped before and after, on the API and on a worker's own port, and the counters
 * must have moved by what the database recorded; the Temporal SDK's exporter (installRuntime with
 * TEMPORAL_METRICS_ADDRESS) must count the workflow and its activities. A second step, refused by
 * the provider, must count as failed at its step, with its failed call and its refund.
 */
describe('Prometheus metrics of a production step', () => {
  let api: ApiHarness;
  let people: People;
  let projectId: string;
  let workers: RunningWorkers | undefined;
  let workerMetrics: MetricsServer | undefined;
  let elevenlabs: Awaited<ReturnType<typeof startFakeElevenLabs>>;
  let temporalMetricsUrl: string;

  before(async () => {
    elevenlabs = await startFakeElevenLabs();
    const temporalPort = await freeLoopbackPort();
    temporalMetricsUrl = `http://127.0.0.1:${temporalPort}/metrics`;
    api = await createApiHarness({
      TEMPORAL_MEDIA_TASK_QUEUE: `metrics-media-${randomBytes(3).toString('hex')}`,
      METRICS_TOKEN: TOKEN,
      TEMPORAL_METRICS_ADDRESS: `127.0.0.1:${temporalPort}`,
      TTS_PROVIDER: 'elevenlabs',
      ELEVENLABS_API_KEY: elevenlabs.state.apiKey,
      ELEVENLABS_BASE_URL: elevenlabs.baseUrl,
    });
    api.secrets.add(TOKEN);
    api.secrets.add(elevenlabs.state.apiKey);
    installRuntime(api.ctx.config);
    workers = await startWorkers(api.ctx);
    workerMetrics = await serveMetrics({ host: '127.0.0.1', port: 0, token: api.ctx.config.metrics.token });
    people = await createPeople(api, { plan: 'pro' });
    projectId = (await api.ctx.models.Project.create({ organization_id: people.orgId, name: 'Metered', vertical: 'tech', language: 'en' } as never)).id;
  });
  after(async () => {
    await workers?.shutdown();
    await workerMetrics?.close();
    await elevenlabs?.close();
    api.assertNoLeaks();
    await api.close();
  });

  it('answers /metrics only with the bearer token when one is configured, in the JSON error shape otherwise', async () => {
    const refused = await api.request('GET', '/metrics');
    assert.equal(refused.status, 401);
    assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
    assert.equal(refused.body.error.code, 'unauthenticated');
    assert.equal((await api.request('GET', '/metrics', { headers: { authorization: 'Bearer not-the-token-at-all' } })).status, 401);
    assert.equal((await api.request('GET', '/metrics', { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
    assert.equal((await fetch(workerMetrics!.url)).status, 401);
  });

  const scrapeApi = () => scrape(`${api.baseUrl}/metrics`, TOKEN);
  const scrapeTemporal = () => waitFor('the Temporal SDK exporter', () => scrape(temporalMetricsUrl).catch(() => undefined), 10_000, 100);

  /** Asks for a speech step over the API and waits for its workflow to end; returns its id and what GET /steps/:id then shows. */
  async function speechStep(segments: string[]): Promise<{ id: string; status: string }> {
    const started = await api.request('POST', `/projects/${projectId}/steps/speech`, { token: people.as.editor.token, body: { segments, language: 'en' } });
    assert.equal(started.status, 202, started.text);
    const id: string = started.body.step.id;
    await api.ctx.temporal.workflow.getHandle(`step-${id}`).result().catch(() => undefined);
    const shown = await api.request('GET', `/steps/${id}`, { token: people.as.viewer.token });
    assert.equal(shown.status, 200, shown.text);
    return { id, status: shown.body.step.status };
  }

  it('moves the request, step, production, provider-call, cost and credit counters by what the step recorded', async () => {
    const [before, temporalBefore] = await Promise.all([scrapeApi(), scrapeTemporal()]);
    const { id, status } = await speechStep(['Water comes first.', 'Coffee can wait.']);
    assert.equal(status, 'completed');

    const after = await scrapeApi();
    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    assert.equal(delta('autoclip_http_requests_total', { method: 'POST', route: SPEECH_ROUTE, status: '202' }), 1);
    assert.equal(delta('autoclip_http_request_duration_seconds_count', { method: 'POST', route: SPEECH_ROUTE, status: '202' }), 1);
    assert.ok(delta('autoclip_http_requests_total', { method: 'GET', route: '/steps/:id', status: '200' }) >= 1, 'the polls, under their pattern');
    assert.ok(!after.some((s) => s.labels.route === '/metrics' || s.labels.route?.includes(id)), 'neither the scrapes nor a raw path are labels');

    assert.equal(delta('autoclip_productions_total', { outcome: 'completed', reason: 'none' }), 1);
    assert.equal(delta('autoclip_productions_total'), 1);
    assert.equal(delta('autoclip_production_step_attempts_total', { step: 'tts', outcome: 'completed' }), 1);
    assert.equal(delta('autoclip_production_step_attempts_total', { step: 'tts', outcome: 'failed' }), 0);
    assert.equal(delta('autoclip_production_step_duration_seconds_count', { step: 'tts', outcome: 'completed' }), 1);

    const [usage] = await api.ctx.sequelize.query<{ calls: string; elevenlabs: string; cost: string }>(
      `SELECT COUNT(*) AS calls, COUNT(*) FILTER (WHERE service = 'elevenlabs') AS elevenlabs, COALESCE(SUM(estimated_cost), 0) AS cost
         FROM api_usages WHERE content_id = :id`,
      { replacements: { id }, type: QueryTypes.SELECT },
    );
    assert.ok(Number(usage!.elevenlabs) >= 1, 'the step called ElevenLabs');
    assert.equal(delta('autoclip_provider_calls_total'), Number(usage!.calls), 'one count per api_usages row');
    assert.equal(delta('autoclip_provider_calls_total', { service: 'elevenlabs', outcome: 'ok' }), Number(usage!.elevenlabs));
    assert.ok(Number(usage!.cost) > 0);
    assert.ok(Math.abs(delta('autoclip_provider_cost_usd_total', { service: 'elevenlabs', billed_to: 'platform' }) - Number(usage!.cost)) < 1e-6, `cost ${usage!.cost}`);

    const ledger = await api.ctx.sequelize.query<{ transaction_type: string }>('SELECT transaction_type FROM credit_transactions WHERE content_id = :id', {
      replacements: { id },
      type: QueryTypes.SELECT,
    });
    assert.deepEqual(ledger.map((row) => row.transaction_type), ['usage']);
    assert.equal(delta('autoclip_credits_charged_total'), 1);
    assert.equal(delta('autoclip_credits_refunded_total'), 0);

    // The worker's own port serves the same registry (one process here; a worker process in production).
    const fromWorker: Sample[] = await scrape(workerMetrics!.url, TOKEN);
    assert.equal(valueOf(fromWorker, 'autoclip_production_step_attempts_total', { step: 'tts', outcome: 'completed' }), valueOf(after, 'autoclip_production_step_attempts_total', { step: 'tts', outcome: 'completed' }));

    const temporalAfter = await scrapeTemporal();
    const temporalDelta = (name: string, labels: Record<string, string>) => valueOf(temporalAfter, name, labels) - valueOf(temporalBefore, name, labels);
    assert.equal(temporalDelta('temporal_workflow_completed_total', { workflow_type: 'speechStep' }), 1);
    assert.equal(temporalDelta('temporal_activity_execution_latency_seconds_count', { activity_type: 'synthesizeSpeech' }), 1);
    assert.equal(temporalDelta('temporal_activity_execution_latency_seconds_count', { activity_type: 'chargeCredit' }), 1);

    // A retry of the activity that closed the run (its first answer lost) counts no second production.
    const { runId } = await api.ctx.temporal.workflow.getHandle(`step-${id}`).describe();
    await api.ctx.db.jobs.closeRun(id, { workflowId: `step-${id}`, runId }, 'completed', undefined, 'ready');
    assert.equal(valueOf(await scrapeApi(), 'autoclip_productions_total'), valueOf(after, 'autoclip_productions_total'));
  });

  it('counts a step refused by its provider as failed at its step, with the failed call and the refund', async () => {
    const before = await scrapeApi();
    elevenlabs.state.next.push({ kind: 'error', status: 401, detailStatus: 'invalid_api_key', message: 'Invalid API key.' });
    const { id, status } = await speechStep(['This one is refused.']);
    assert.equal(status, 'failed');
    const after = await scrapeApi();
    const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels);
    assert.equal(delta('autoclip_productions_total', { outcome: 'failed', reason: 'tts' }), 1);
    assert.equal(delta('autoclip_productions_total'), 1);
    assert.equal(delta('autoclip_production_step_attempts_total', { step: 'tts', outcome: 'failed' }), 1, 'refused for good: one attempt');
    assert.equal(delta('autoclip_provider_calls_total', { service: 'elevenlabs', outcome: 'error' }), 1);
    assert.equal(delta('autoclip_provider_cost_usd_total'), 0);
    const ledger = await api.ctx.sequelize.query<{ transaction_type: string }>('SELECT transaction_type FROM credit_transactions WHERE content_id = :id ORDER BY created_at', {
      replacements: { id },
      type: QueryTypes.SELECT,
    });
    assert.deepEqual(ledger.map((row) => row.transaction_type), ['usage', 'refund']);
    assert.equal(delta('autoclip_credits_charged_total'), 1);
    assert.equal(delta('autoclip_credits_refunded_total'), 1);
  });
});
