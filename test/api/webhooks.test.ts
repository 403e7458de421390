import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { QueryTypes } from 'sequelize';
import { emitWebhookEvent } from '../../control/webhooks';
import { verifyWebhook } from '../../lib/standard-webhooks';
import { deliverWebhookWorkflowId } from '../../workflows/deliver-webhook';
import { startWorkers, type RunningWorkers } from '../../worker';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createPeople, type People } from '../support/tenants';
import { waitFor } from '../support/wait';

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  answered: number;
}

const CREDITS_LOW_AT = 5;

/**
 * Webhooks end to end on real workers against the test stack: endpoints registered through the API,
 * each event of a real production POSTed to a local receiver that checks the Standard Webhooks
 * signature, retries with backoff until a flaky receiver answers (delivered once, every attempt in
 * the log), an endpoint disabled after its deliveries keep failing, and redelivery.
 */
describe('webhooks', () => {
  let api: ApiHarness;
  let people: People;
  let projectId: string;
  let workers: RunningWorkers;
  let receiver: Server;
  let base: string;
  const received: Received[] = [];
  /** How many more times each path answers 500 before it answers 204. */
  const failuresLeft = new Map<string, number>();

  const admin = () => people.as.admin.token;
  const register = (body: Record<string, unknown>, token = admin()) => api.request('POST', '/webhooks', { token, body: { organization_id: people.orgId, ...body } });

  before(async () => {
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        const path = req.url ?? '/';
        const left = failuresLeft.get(path) ?? 0;
        const answered = left > 0 ? 500 : 204;
        if (left > 0) failuresLeft.set(path, left - 1);
        received.push({ path, headers: req.headers, body, answered });
        res.writeHead(answered).end(answered === 500 ? 'not now' : undefined);
      });
    });
    receiver.listen(0, '127.0.0.1');
    await new Promise((resolve) => receiver.once('listening', resolve));
    base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    api = await createApiHarness({
      TEMPORAL_MEDIA_TASK_QUEUE: `webhooks-media-${randomBytes(3).toString('hex')}`,
      WEBHOOK_RETRY_INITIAL_MS: '100',
      WEBHOOK_RETRY_MAX_MS: '300',
      WEBHOOK_GIVE_UP_AFTER_MS: '8000',
      CREDITS_LOW_AT: String(CREDITS_LOW_AT),
    });
    people = await createPeople(api, { plan: 'pro' });
    projectId = (await api.ctx.models.Project.create({ organization_id: people.orgId, name: 'Hooked', vertical: 'tech', language: 'en' } as never)).id;
    Runtime.install({ logger: new DefaultLogger('WARN') });
    workers = await startWorkers(api.ctx, ['orchestration', 'media']);
  });
  after(async () => {
    const shown = api.responses.filter((r) => r.text.includes('whsec_')).map((r) => `${r.method} ${r.path} → ${r.status}`);
    assert.ok(shown.every((where) => where === 'POST /webhooks → 201'), `a secret is shown only when its endpoint is made: ${shown.join(', ')}`);
    await workers?.shutdown();
    api.assertNoLeaks();
    await api.close();
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
  });

  const deliveries = async (endpointId: string) => (await api.request('GET', `/webhooks/${endpointId}/deliveries?limit=50`, { token: admin() })).body.items as {
    id: string;
    event_id: string;
    event_type: string;
    status: string;
    attempts: number;
    last_status_code: number | null;
    last_error: string | null;
  }[];

  it("registers an organization's endpoint with its secret shown once, for admins only, and refuses bad input naming it", async () => {
    const made = await register({ url: `${base}/registered`, event_types: ['content.ready'], description: 'n8n' });
    assert.equal(made.status, 201, made.text);
    assert.match(made.body.secret, /^whsec_/);
    assert.deepEqual([made.body.webhook.status, made.body.webhook.organization_id, made.body.webhook.event_types], ['active', people.orgId, ['content.ready']]);
    const read = await api.request('GET', `/webhooks/${made.body.webhook.id}`, { token: admin() });
    assert.equal(read.status, 200);
    assert.equal(JSON.stringify(read.body).includes('whsec_'), false, 'the secret is never shown again');
    const stored = await api.ctx.sequelize.query<{ secret: string }>('SELECT secret FROM webhook_endpoints WHERE id = :id', { replacements: { id: made.body.webhook.id }, type: QueryTypes.SELECT, plain: true });
    assert.match(stored!.secret, /^v1\./, 'stored sealed');

    assert.equal((await register({ url: `${base}/x`, event_types: ['content.ready'] }, people.as.editor.token)).status, 403);
    assert.equal((await api.request('GET', `/webhooks/${made.body.webhook.id}`, { token: people.as.other.token })).status, 404);
    const bad = await register({ url: 'ftp://hooks.example.com/in', event_types: ['content.ready', 'content.exploded'] });
    assert.equal(bad.status, 400, bad.text);
    assert.ok(bad.body.error.details['body.event_types[1]'] ?? bad.body.error.details['body.event_types.1'], JSON.stringify(bad.body.error.details));
    const badUrl = await register({ url: 'ftp://hooks.example.com/in', event_types: ['content.ready'] });
    assert.equal(badUrl.status, 400);
    assert.match(badUrl.body.error.details['body.url'], /http/);
  });

  it("keeps the restore drill's events to the operators' own endpoints", async () => {
    const body = { url: `${base}/drills`, event_types: ['drill.completed'] };
    const asOrganization = await register(body);
    assert.equal(asOrganization.status, 403, asOrganization.text);
    assert.ok(asOrganization.body.error.details['body.event_types']);
    assert.equal((await api.request('POST', '/webhooks', { token: people.as.outsider.token, body })).status, 403);
    const outsider = await api.ctx.models.User.findByPk(people.as.outsider.userId);
    api.ctx.config.operatorEmails.push(outsider!.email.toLowerCase());
    try {
      const made = await api.request('POST', '/webhooks', { token: people.as.outsider.token, body });
      assert.equal(made.status, 201, made.text);
      assert.equal(made.body.webhook.user_id, people.as.outsider.userId);
    } finally {
      api.ctx.config.operatorEmails.pop();
    }
  });

  it('refuses in production a private, loopback or link-local target, and anything but https', async () => {
    const targets = api.ctx.config.webhooks.targets;
    api.ctx.config.webhooks.targets = { allowPrivate: false, requireHttps: true };
    try {
      for (const url of ['https://10.0.0.7/hook', 'https://127.0.0.1/hook', 'https://localhost/hook', 'https://169.254.169.254/latest', 'https://[::1]/hook', `${base}/hook`]) {
        const refused = await register({ url, event_types: ['content.ready'] });
        assert.equal(refused.status, 400, `${url}: ${refused.text}`);
        assert.ok(refused.body.error.details['body.url'], url);
      }
      const count = await api.ctx.sequelize.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_endpoints WHERE url LIKE '%/hook'", { type: QueryTypes.SELECT, plain: true });
      assert.equal(count!.n, 0, 'nothing stored');
    } finally {
      api.ctx.config.webhooks.targets = targets;
    }
  });

  it('signs every event of a real production (content.ready, credits.low; content.failed for one without credits) so that the receiver verifies it', async () => {
    const made = await register({ url: `${base}/production`, event_types: ['content.ready', 'content.failed', 'credits.low'] });
    assert.equal(made.status, 201, made.text);
    const { secret } = made.body as { secret: string };
    const { Subscription } = api.ctx.models;
    // The production's charge brings the balance down to the threshold.
    await Subscription.update({ credits_remaining: CREDITS_LOW_AT + 1 }, { where: { organization_id: people.orgId } });

    const content = await api.request('POST', `/projects/${projectId}/contents`, { token: people.as.editor.token, body: { topic: 'Why water comes first in the morning' } });
    assert.equal(content.status, 201, content.text);
    const contentId: string = content.body.content.id;
    assert.equal((await api.request('POST', `/contents/${contentId}/generate`, { token: people.as.editor.token })).status, 202);
    await waitFor('the content.ready event', async () => received.find((r) => r.path === '/production' && JSON.parse(r.body).type === 'content.ready'), 240_000, 300);

    await Subscription.update({ credits_remaining: 0 }, { where: { organization_id: people.orgId } });
    const broke = await api.request('POST', `/projects/${projectId}/contents`, { token: people.as.editor.token, body: { topic: 'A video nobody pays for' } });
    const brokeId: string = broke.body.content.id;
    assert.equal((await api.request('POST', `/contents/${brokeId}/generate`, { token: people.as.editor.token })).status, 202);
    await waitFor('the content.failed event', async () => received.find((r) => r.path === '/production' && JSON.parse(r.body).type === 'content.failed'), 120_000, 300);
    await waitFor('three deliveries', async () => (await deliveries(made.body.webhook.id)).filter((d) => d.status === 'delivered').length === 3, 30_000, 200);

    const events = received.filter((r) => r.path === '/production');
    assert.deepEqual(events.map((r) => JSON.parse(r.body).type).sort(), ['content.failed', 'content.ready', 'credits.low'], 'each event once');
    for (const event of events) {
      assert.equal(verifyWebhook(secret, event.headers as Record<string, string>, event.body), true, `${event.body} verifies`);
      assert.equal(verifyWebhook(secret, event.headers as Record<string, string>, event.body.replace('"data"', '"data" ')), false, 'a changed body does not');
    }
    const byType = new Map(events.map((r) => [JSON.parse(r.body).type as string, JSON.parse(r.body) as { timestamp: string; data: Record<string, unknown> }]));
    const ready = byType.get('content.ready')!;
    assert.equal(ready.data.content_id, contentId);
    assert.ok(Date.parse(ready.timestamp) > 0);
    const video = await fetch(String(ready.data.video_url));
    assert.equal(video.status, 200, 'the video link works');
    assert.equal(video.headers.get('content-type'), 'video/mp4');
    assert.deepEqual([byType.get('credits.low')!.data.credits_remaining, byType.get('credits.low')!.data.threshold], [CREDITS_LOW_AT, CREDITS_LOW_AT]);
    assert.equal(byType.get('content.failed')!.data.content_id, brokeId);
    assert.match(String(byType.get('content.failed')!.data.error), /credit/i);
    const log = await deliveries(made.body.webhook.id);
    assert.deepEqual(new Set(log.map((d) => d.event_id)), new Set(events.map((r) => r.headers['webhook-id'])), 'the log names each message by its webhook-id');
  });

  it('retries a receiver that fails four times, then delivers the event once; the log holds every attempt; the same event emitted again is not sent again; its workflow is found by the source it is about', async () => {
    const made = await register({ url: `${base}/flaky`, event_types: ['data_source.ingested'] });
    assert.equal(made.status, 201, made.text);
    failuresLeft.set('/flaky', 4);
    const sourceId = randomUUID();
    const event = { id: `data_source.ingested:${randomUUID()}`, type: 'data_source.ingested' as const, owner: { organizationId: people.orgId }, data: { fetched: 3, data_source_id: sourceId } };
    assert.equal(await emitWebhookEvent(api.ctx, event), 1);
    const [delivery] = await waitFor('the delivery', async () => {
      const log = await deliveries(made.body.webhook.id);
      return log[0]?.status === 'delivered' ? log : undefined;
    }, 60_000, 200);
    assert.deepEqual([delivery!.attempts, delivery!.last_status_code, delivery!.last_error], [5, 204, null]);
    const run = await api.ctx.temporal.workflow.getHandle(deliverWebhookWorkflowId(delivery!.id, 0)).describe();
    const attributes = Object.fromEntries(run.typedSearchAttributes.getAll().map((a) => [a.key.name, a.value]));
    assert.deepEqual([attributes.OrganizationId, attributes.DataSourceId], [people.orgId, sourceId]);
    assert.deepEqual(await run.memo, { webhookDelivery: delivery!.id, event: 'data_source.ingested', eventId: event.id, round: 0 });
    assert.equal(await emitWebhookEvent(api.ctx, event), 1);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const attempts = received.filter((r) => r.path === '/flaky');
    assert.deepEqual(attempts.map((r) => r.answered), [500, 500, 500, 500, 204], 'arrived once');
    assert.equal(new Set(attempts.map((r) => r.headers['webhook-id'])).size, 1, 'the same id on every attempt');
    assert.equal((await deliveries(made.body.webhook.id)).length, 1);
  });

  it('disables an endpoint whose deliveries keep failing, says why, and redelivers once it is enabled again', async () => {
    const made = await register({ url: `${base}/down`, event_types: ['upload.failed'] });
    assert.equal(made.status, 201, made.text);
    const endpointId: string = made.body.webhook.id;
    failuresLeft.set('/down', 1_000);
    await emitWebhookEvent(api.ctx, { id: `upload.failed:${randomUUID()}`, type: 'upload.failed', owner: { organizationId: people.orgId }, data: { upload_id: 'u-1' } });
    const disabled = await waitFor('the endpoint disabled', async () => {
      const res = await api.request('GET', `/webhooks/${endpointId}`, { token: admin() });
      return res.body.webhook.status === 'disabled' ? res.body.webhook : undefined;
    }, 60_000, 200);
    assert.match(disabled.disabled_reason, /answered 500/);
    const [failed] = await deliveries(endpointId);
    assert.equal(failed!.status, 'failed');
    assert.ok(failed!.attempts >= 2, `${failed!.attempts} attempts`);

    const redeliver = () => api.request('POST', `/webhooks/${endpointId}/deliveries/${failed!.id}/redeliver`, { token: admin() });
    const refused = await redeliver();
    assert.equal(refused.status, 409);
    assert.equal(refused.body.error.code, 'endpoint_disabled');
    failuresLeft.set('/down', 0);
    assert.equal((await api.request('PATCH', `/webhooks/${endpointId}`, { token: admin(), body: { status: 'active' } })).status, 200);
    const again = await redeliver();
    assert.equal(again.status, 202, again.text);
    await waitFor('the redelivery', async () => (await deliveries(endpointId))[0]?.status === 'delivered', 30_000, 200);
    assert.equal(received.filter((r) => r.path === '/down' && r.answered === 204).length, 1);
    assert.equal((await api.request('DELETE', `/webhooks/${endpointId}`, { token: admin() })).status, 204);
    assert.equal((await api.request('GET', `/webhooks/${endpointId}`, { token: admin() })).status, 404);
  });
});
