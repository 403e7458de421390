import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { loadConfig } from '../../lib/config';
import { startTracing, type Tracing } from '../../lib/tracing';
import { startWorkers, type RunningWorkers } from '../../worker';
import { startFakeElevenLabs } from '../fakes/elevenlabs-server';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../fakes/otlp-receiver';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createPeople, type People } from '../support/tenants';
import { waitFor } from '../support/wait';

const SERVER = 2;
const CLIENT = 3;

/**
 * One trace from the API to the outside service: tracing started as the entry points start it,
 * exporting to a local OTLP/HTTP receiver; a speech step asked for over the API runs on workers in
 * this process, its ElevenLabs call answered by a local server speaking that API. The request's
 * server span, the workflow start and run, each activity's schedule and run, and the provider
 * call's client span must all share the request's trace id, each the child of the one before.
 */
describe('a trace across the API, Temporal and a provider', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing | undefined;
  let api: ApiHarness;
  let people: People;
  let projectId: string;
  let workers: RunningWorkers | undefined;
  let elevenlabs: Awaited<ReturnType<typeof startFakeElevenLabs>>;

  before(async () => {
    [receiver, elevenlabs] = await Promise.all([startOtlpReceiver(), startFakeElevenLabs()]);
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
      OTEL_SERVICE_NAME: 'autoclip-e2e',
      TEMPORAL_MEDIA_TASK_QUEUE: `tracing-media-${randomBytes(3).toString('hex')}`,
      TTS_PROVIDER: 'elevenlabs',
      ELEVENLABS_API_KEY: elevenlabs.state.apiKey,
      ELEVENLABS_BASE_URL: elevenlabs.baseUrl,
    };
    // As api/server.ts and worker.ts do: tracing first, then the context whose client it instruments.
    tracing = startTracing(loadConfig({ ...process.env, ...env }).tracing);
    assert.ok(tracing, 'tracing is on with an OTLP endpoint');
    api = await createApiHarness(env);
    api.secrets.add(elevenlabs.state.apiKey);
    Runtime.install({ logger: new DefaultLogger('WARN') });
    workers = await startWorkers(api.ctx);
    people = await createPeople(api, { plan: 'pro' });
    projectId = (await api.ctx.models.Project.create({ organization_id: people.orgId, name: 'Traced', vertical: 'tech', language: 'en' } as never)).id;
  });
  after(async () => {
    await workers?.shutdown();
    await tracing?.shutdown();
    await Promise.allSettled([receiver?.close(), elevenlabs?.close()]);
    api.assertNoLeaks();
    await api.close();
  });

  /** Flushes the process's spans until `probe` finds what it looks for among those received. */
  async function received<T>(what: string, probe: (spans: ReceivedSpan[]) => T | undefined): Promise<T> {
    return waitFor(what, async () => {
      await tracing!.processor.forceFlush();
      return probe(receiver.spans);
    }, 30_000, 200);
  }

  it('follows a speech step from its API request through the workflow and its activities to the ElevenLabs call', async () => {
    const started = await api.request('POST', `/projects/${projectId}/steps/speech`, {
      token: people.as.editor.token,
      body: { segments: ['Water comes first.', 'Coffee can wait.'], language: 'en' },
    });
    assert.equal(started.status, 202, started.text);
    const { id } = started.body.step as { id: string };
    await api.ctx.temporal.workflow.getHandle(`step-${id}`).result();

    const requestSpan = await received('the request span', (spans) =>
      spans.find((s) => s.kind === SERVER && s.name === 'POST /projects/:projectId/steps/speech' && s.attributes['autoclip.request_id'] === started.headers.get('x-request-id')),
    );
    assert.equal(requestSpan.parentSpanId, '', 'the request starts the trace');
    assert.equal(requestSpan.serviceName, 'autoclip-e2e');
    assert.deepEqual(
      [requestSpan.attributes['http.request.method'], requestSpan.attributes['http.route'], requestSpan.attributes['http.response.status_code']],
      ['POST', '/projects/:projectId/steps/speech', 202],
    );

    const expected = [
      'StartWorkflow:speechStep', 'RunWorkflow:speechStep',
      'StartActivity:chargeCredit', 'RunActivity:chargeCredit',
      'StartActivity:synthesizeSpeech', 'RunActivity:synthesizeSpeech',
      'StartActivity:finishStep', 'RunActivity:finishStep',
      'POST elevenlabs',
    ];
    const trace = await received('the spans of the workflow, its activities and the provider call', (spans) => {
      const inTrace = spans.filter((s) => s.traceId === requestSpan.traceId);
      return expected.every((name) => inTrace.some((s) => s.name === name)) ? inTrace : undefined;
    });
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const one = (name: string): ReceivedSpan => {
      const found = trace.filter((s) => s.name === name);
      assert.equal(found.length, 1, `one ${name} in the trace (got ${found.length})`);
      return found[0]!;
    };
    const parentOf = (span: ReceivedSpan) => byId.get(span.parentSpanId);
    assert.equal(parentOf(one('StartWorkflow:speechStep')), requestSpan, 'the workflow is started inside the request');
    assert.equal(parentOf(one('RunWorkflow:speechStep')), one('StartWorkflow:speechStep'));
    for (const activity of ['chargeCredit', 'synthesizeSpeech', 'finishStep']) {
      assert.equal(parentOf(one(`StartActivity:${activity}`)), one('RunWorkflow:speechStep'), `${activity} is scheduled by the run`);
      assert.equal(parentOf(one(`RunActivity:${activity}`)), one(`StartActivity:${activity}`), `${activity} runs under its schedule`);
    }
    const calls = trace.filter((s) => s.name === 'POST elevenlabs');
    assert.equal(calls.length, elevenlabs.state.requests.length, 'one client span per request ElevenLabs received');
    for (const call of calls) {
      assert.equal(call.kind, CLIENT);
      assert.equal(parentOf(call), one('RunActivity:synthesizeSpeech'), 'the call is made by the speech activity');
      assert.deepEqual([call.attributes['autoclip.provider'], call.attributes['http.response.status_code']], ['elevenlabs', 200]);
    }
    // Every span but the request's has its parent in the trace: nothing was cut off on the way.
    for (const span of trace) if (span !== requestSpan) assert.ok(parentOf(span), `${span.name} has its parent in the trace`);
    const exported = JSON.stringify(receiver.spans);
    assert.ok(!exported.includes(elevenlabs.state.apiKey), 'no provider key in any span');
    assert.ok(!exported.includes(people.as.editor.token), 'no access token in any span');
    assert.equal(receiver.refused, 0, 'every export was OTLP/HTTP JSON');
  });

  it('keeps the workflow start in the request span when the body arrives after the headers', async () => {
    const text = JSON.stringify({ segments: ['Slow bodies still count.'], language: 'en' });
    const answer = await new Promise<{ status: number; requestId: string; body: { step: { id: string } } }>((resolve, reject) => {
      const req = request(`${api.baseUrl}/projects/${projectId}/steps/speech`, {
        method: 'POST',
        headers: { authorization: `Bearer ${people.as.editor.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) },
      }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (part: Buffer) => parts.push(part));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, requestId: String(res.headers['x-request-id']), body: JSON.parse(Buffer.concat(parts).toString('utf8')) }));
      });
      req.on('error', reject);
      // The headers go first; the body follows in a later packet, read in the socket's callbacks.
      req.flushHeaders();
      setTimeout(() => req.end(text), 200);
    });
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    await api.ctx.temporal.workflow.getHandle(`step-${answer.body.step.id}`).result();
    const [requestSpan, start] = await received('the request span and its workflow start', (spans) => {
      const server = spans.find((s) => s.kind === SERVER && s.attributes['autoclip.request_id'] === answer.requestId);
      const child = server && spans.find((s) => s.name === 'StartWorkflow:speechStep' && s.parentSpanId === server.spanId);
      return server && child ? ([server, child] as const) : undefined;
    });
    assert.equal(start.traceId, requestSpan.traceId);
  });

  it("continues a caller's W3C trace context", async () => {
    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const res = await api.request('GET', `/projects/${projectId}/steps?kind=speech`, {
      token: people.as.viewer.token,
      headers: { traceparent: `00-${traceId}-${callerSpanId}-01` },
    });
    assert.equal(res.status, 200, res.text);
    const span = await received('the continued request span', (spans) => spans.find((s) => s.traceId === traceId));
    assert.deepEqual([span.kind, span.name, span.parentSpanId], [SERVER, 'GET /projects/:projectId/steps', callerSpanId]);
  });
});
