import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { trace } from '@opentelemetry/api';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { loadConfig } from '../../lib/config';
import { activeTracing, startTracing, temporalClientInterceptors, workerTracing, type Tracing } from '../../lib/tracing';
import { ProviderError } from '../../providers/errors';
import { sendRequest } from '../../providers/http';
import { sendJson, serveLocally, type LocalServer } from '../fakes/http';
import { startOtlpReceiver, type OtlpReceiver } from '../fakes/otlp-receiver';
import { minimalEnv } from '../support/env';
import { waitFor } from '../support/wait';

const HISTORY_DIR = resolve(__dirname, '..', 'workflows', 'histories');
const SECRET = 'sk-live-0123456789abcdef';

/**
 * Tracing in one process, in order: off until started (nothing recorded, nothing sent), then on,
 * exporting to a local OTLP/HTTP receiver: a provider call's client span (without the URL's key),
 * and the saved workflow histories still replaying with the workflow interceptors in the sandbox.
 */
describe('tracing', () => {
  let receiver: OtlpReceiver;
  let provider: LocalServer;
  let tracing: Tracing | undefined;

  before(async () => {
    receiver = await startOtlpReceiver();
    provider = await serveLocally(
      (req, res) => sendJson(res, req.url?.startsWith('/fail') ? 503 : 200, { ok: true }),
      (res) => sendJson(res, 500, {}),
    );
  });
  after(async () => {
    await tracing?.shutdown();
    await Promise.all([receiver?.close(), provider?.close()]);
  });

  it('is configured by the OpenTelemetry variables, and off without an endpoint', () => {
    const env = minimalEnv();
    assert.equal(loadConfig(env).tracing, undefined);
    assert.deepEqual(loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }).tracing, { tracesUrl: 'http://collector:4318/v1/traces', serviceName: 'autoclip' });
    assert.deepEqual(
      loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/otlp', OTEL_SERVICE_NAME: 'autoclip-worker' }).tracing,
      { tracesUrl: 'https://traces.example/otlp', serviceName: 'autoclip-worker' },
    );
    assert.equal(loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_SDK_DISABLED: 'true' }).tracing, undefined);
    assert.equal(loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' }).tracing, undefined, 'an empty variable names no endpoint');
    assert.equal(loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' }).tracing?.tracesUrl, 'http://collector:4318/v1/traces');
    assert.throws(() => loadConfig({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' }), /OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('installs nothing while off: no-op spans, no Temporal interceptors', () => {
    assert.equal(startTracing(undefined), undefined);
    assert.equal(activeTracing(), undefined);
    assert.deepEqual(temporalClientInterceptors(), {});
    assert.equal(workerTracing(), undefined);
    const span = trace.getTracer('test').startSpan('off');
    assert.equal(span.isRecording(), false);
    span.end();
  });

  it("exports a client span per provider call, in its caller's trace, naming provider and operation but never the URL's key", async () => {
    tracing = startTracing({ tracesUrl: `${receiver.endpoint}/v1/traces`, serviceName: 'autoclip-unit' });
    assert.ok(tracing);
    assert.throws(() => startTracing({ tracesUrl: `${receiver.endpoint}/v1/traces`, serviceName: 'again' }), /already been started/);
    const clientInterceptors = temporalClientInterceptors().workflow;
    assert.ok(Array.isArray(clientInterceptors) && clientInterceptors.length === 1, 'the workflow client interceptor');
    assert.deepEqual(workerTracing()?.workflowModules, [require.resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')]);

    const label = { provider: 'gemini', operation: `Gemini generateContent for ${SECRET}` };
    const parentIds = await trace.getTracer('test').startActiveSpan('activity', async (parent) => {
      const ok = await sendRequest(label, `${provider.baseUrl}/v1beta/models/m:generateContent?key=${SECRET}`, { method: 'POST' }, 5000, [SECRET]);
      await ok.body?.cancel();
      const failed = await sendRequest(label, `${provider.baseUrl}/fail?key=${SECRET}`, {}, 5000, [SECRET]);
      await failed.body?.cancel();
      // A port nothing listens on: the call fails before any answer.
      const closed = await serveLocally(() => undefined, () => undefined);
      await closed.close();
      await assert.rejects(sendRequest(label, `${closed.baseUrl}/?key=${SECRET}`, {}, 5000, [SECRET]), (err: unknown) => err instanceof ProviderError && err.code === 'network_error');
      parent.end();
      return parent.spanContext();
    });
    await tracing.processor.forceFlush();
    const calls = await waitFor('the provider spans', async () => {
      const found = receiver.spans.filter((s) => s.attributes['autoclip.provider'] === 'gemini');
      return found.length === 3 ? found : undefined;
    }, 10_000, 50);
    const port = Number(new URL(provider.baseUrl).port);
    const [ok, unavailable, unreachable] = calls;
    assert.equal(ok!.name, 'POST gemini');
    assert.equal(ok!.kind, 3, 'a client span');
    assert.equal(ok!.serviceName, 'autoclip-unit');
    assert.deepEqual(ok!.attributes, {
      'autoclip.provider': 'gemini',
      'autoclip.provider.operation': 'Gemini generateContent for [redacted]',
      'http.request.method': 'POST',
      'server.address': '127.0.0.1',
      'server.port': port,
      'http.response.status_code': 200,
    });
    assert.equal(ok!.status.code ?? 0, 0);
    assert.equal(unavailable!.name, 'GET gemini');
    assert.equal(unavailable!.attributes['http.response.status_code'], 503);
    assert.equal(unavailable!.status.code, 2, 'an error status');
    assert.equal(unreachable!.status.code, 2);
    assert.match(unreachable!.status.message ?? '', /request failed/);
    for (const span of calls) {
      assert.equal(span.traceId, parentIds.traceId);
      assert.equal(span.parentSpanId, parentIds.spanId);
      assert.ok(!JSON.stringify(span).includes(SECRET), `${span.name} carries no key`);
    }
    assert.equal(receiver.refused, 0, 'every export was OTLP/HTTP JSON to /v1/traces');
  });

  it('replays every saved history with the workflow tracing interceptors in the sandbox', async () => {
    const worker = workerTracing();
    assert.ok(worker);
    const files = (await readdir(HISTORY_DIR)).filter((f) => f.endsWith('.json')).sort();
    assert.ok(files.length >= 5);
    const histories = await Promise.all(
      files.map(async (file) => ({ workflowId: file.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(await readFile(join(HISTORY_DIR, file), 'utf8'))) })),
    );
    const replayed: string[] = [];
    const options = { workflowsPath: require.resolve('../../workflows'), interceptors: { workflowModules: worker.workflowModules }, sinks: worker.sinks };
    for await (const result of Worker.runReplayHistories(options, histories)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
      replayed.push(result.workflowId);
    }
    assert.equal(replayed.length, files.length);
  });
});
