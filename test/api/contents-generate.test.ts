import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { QueryTypes } from 'sequelize';
import { EMPTY_SCRIPT, ROLES, type ContentStatus } from '../../db/models';
import { SecretBox } from '../../lib/secrets';
import { produceContentWorkflowId } from '../../workflows/produce-content';
import { createApiHarness, type ApiHarness, type ApiResponse } from '../support/api';
import { createPeople, createProject, type Actor, type People } from '../support/tenants';

/** The people of createPeople, with a project of organization A and one of organization B. */
type Tenants = People & { projectId: string; otherProjectId: string };


describe('content production routes', () => {
  let api: ApiHarness;
  let t: Tenants;
  const contents: string[] = [];

  async function newContent(status: ContentStatus = 'draft', projectId = t.projectId): Promise<string> {
    const content = await api.ctx.models.Content.create({ project_id: projectId, title: 'A video', script: EMPTY_SCRIPT, source_type: 'manual', status } as never);
    contents.push(content.id);
    return content.id;
  }

  const handle = (contentId: string) => api.ctx.temporal.workflow.getHandle(produceContentWorkflowId(contentId));

  async function describeRun(contentId: string) {
    try {
      return await handle(contentId).describe();
    } catch {
      return undefined;
    }
  }

  /** The runs Temporal's visibility lists for the content's workflow id (it lags, so poll until one shows). */
  async function listedRuns(contentId: string): Promise<string[]> {
    const query = `WorkflowId = "${produceContentWorkflowId(contentId)}"`;
    for (let attempt = 0; ; attempt++) {
      const runs: string[] = [];
      for await (const execution of api.ctx.temporal.workflow.list({ query })) runs.push(execution.runId);
      if (runs.length > 0 || attempt >= 50) return runs;
      await sleep(100);
    }
  }

  async function signalsOf(contentId: string): Promise<number> {
    const history = await handle(contentId).fetchHistory();
    return (history.events ?? []).filter((e) => e.workflowExecutionSignaledEventAttributes).length;
  }

  const generate = (contentId: string, token = t.as.editor.token, headers: Record<string, string> = {}, body?: unknown) =>
    api.request('POST', `/contents/${contentId}/generate`, { token, headers, body });

  before(async () => {
    api = await createApiHarness();
    const people = await createPeople(api);
    t = { ...people, projectId: await createProject(api, { organization_id: people.orgId }, 'Acme'), otherProjectId: await createProject(api, { organization_id: people.otherOrgId }, 'Rival') };
  });
  after(async () => {
    await Promise.allSettled(contents.map((id) => handle(id).terminate('test over')));
    api.assertNoLeaks();
    await api.close();
  });

  it('starts produceContent for a draft and answers a second generate with the same run', async () => {
    const id = await newContent();
    const first = await generate(id);
    assert.equal(first.status, 202, first.text);
    assert.equal(first.body.workflow_id, `content-${id}`);
    assert.equal(first.body.started, true);
    const description = await describeRun(id);
    assert.equal(description?.status.name, 'RUNNING');
    assert.equal(description?.runId, first.body.run_id);
    assert.equal(description?.taskQueue, api.ctx.config.temporal.taskQueue);
    assert.equal(description?.typedSearchAttributes.getAll().find((a) => a.key.name === 'ContentId')?.value, id);

    const second = await generate(id, t.as.owner.token);
    assert.equal(second.status, 200, second.text);
    assert.deepEqual(second.body, { ...first.body, started: false });
    assert.deepEqual(await listedRuns(id), [first.body.run_id]);
  });

  it('replays an Idempotency-Key for the same request and refuses it for another (409)', async () => {
    const [a, b] = [await newContent(), await newContent()];
    const key = `gen-${randomUUID()}`;
    const first = await generate(a, t.as.editor.token, { 'idempotency-key': key });
    assert.equal(first.status, 202, first.text);
    assert.equal(first.headers.get('idempotent-replayed'), null);
    const again = await generate(a, t.as.editor.token, { 'idempotency-key': key }, {});
    assert.equal(again.status, 202);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.body, first.body);

    const otherBody = await generate(a, t.as.editor.token, { 'idempotency-key': key }, { approval_timeout_hours: 2 });
    assert.equal(otherBody.status, 409, otherBody.text);
    assert.equal(otherBody.body.error.code, 'idempotency_key_reused');
    const otherContent = await generate(b, t.as.editor.token, { 'idempotency-key': key });
    assert.equal(otherContent.status, 409);
    assert.equal(await describeRun(b), undefined, 'nothing started for the conflicting request');

    // The key outlives the run: after it ends, the same request still answers with that run.
    await handle(a).terminate('ended');
    const replay = await generate(a, t.as.editor.token, { 'idempotency-key': key });
    assert.equal(replay.status, 202);
    assert.equal(replay.body.run_id, first.body.run_id);
    const fresh = await generate(a);
    assert.equal(fresh.status, 202, 'without a key, an ended production of a draft starts again');
    assert.notEqual(fresh.body.run_id, first.body.run_id);
    // Keys belong to their user: another user's identical key is a different request.
    const someoneElse = await generate(a, t.as.admin.token, { 'idempotency-key': key });
    assert.equal(someoneElse.status, 200);
    assert.equal(someoneElse.body.run_id, fresh.body.run_id);

    for (const bad of ['x'.repeat(101), 'has space', '']) {
      const res = await generate(b, t.as.editor.token, { 'idempotency-key': bad });
      assert.equal(res.status, 400, `${JSON.stringify(bad)}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details), ['headers.idempotency-key']);
    }
    for (const body of [{ approval_timeout_hours: 0 }, { approval_timeout_hours: 721 }, { approval_timeout_hours: 'soon' }, { priority: 1 }]) {
      const res = await generate(b, t.as.editor.token, {}, body);
      assert.equal(res.status, 400, JSON.stringify(body));
    }
    assert.equal(await describeRun(b), undefined);
  });

  it('starts exactly one workflow for 10 concurrent generates, with the same key, distinct keys or none', async () => {
    const variants: [string, (i: number) => Record<string, string>][] = [
      ['no key', () => ({})],
      ['same key', () => ({ 'idempotency-key': 'same-for-all' })],
      ['distinct keys', (i) => ({ 'idempotency-key': `key-${i}-${randomUUID()}` })],
    ];
    for (const [label, headers] of variants) {
      const id = await newContent();
      const responses = await Promise.all(Array.from({ length: 10 }, (_, i) => generate(id, t.as.editor.token, headers(i))));
      assert.ok(responses.every((r) => r.status === 200 || r.status === 202), `${label}: ${responses.map((r) => r.status)}`);
      const runIds = new Set(responses.map((r) => r.body.run_id));
      assert.equal(runIds.size, 1, `${label}: one run`);
      assert.equal(responses.filter((r) => r.body.started === true && r.headers.get('idempotent-replayed') === null).length, 1, `${label}: one start`);
      assert.deepEqual(await listedRuns(id), [...runIds], `${label}: one workflow execution`);
    }
  });

  it('retries only a failed content and generates only a draft (409 otherwise)', async () => {
    const failed = await newContent('failed');
    assert.equal((await generate(failed)).status, 409, 'generate on failed');
    const retry = await api.request('POST', `/contents/${failed}/retry`, { token: t.as.editor.token });
    assert.equal(retry.status, 202, retry.text);
    assert.equal((await describeRun(failed))?.runId, retry.body.run_id);
    const joined = await api.request('POST', `/contents/${failed}/retry`, { token: t.as.editor.token });
    assert.equal(joined.status, 200);
    assert.equal(joined.body.run_id, retry.body.run_id);

    for (const status of ['ready', 'published', 'processing'] as const) {
      const id = await newContent(status);
      const res = await generate(id);
      assert.equal(res.status, 409, `${status}: ${res.text}`);
      assert.equal(res.body.error.code, 'invalid_state');
      assert.equal(await describeRun(id), undefined);
    }
    const draft = await newContent();
    assert.equal((await api.request('POST', `/contents/${draft}/retry`, { token: t.as.editor.token })).status, 409);
    assert.equal(await describeRun(draft), undefined);
  });

  it('cancels a running production and answers 409 when nothing runs', async () => {
    const id = await newContent();
    assert.equal((await api.request('POST', `/contents/${id}/cancel`, { token: t.as.editor.token })).status, 409);
    const run = await generate(id);
    const cancel = await api.request('POST', `/contents/${id}/cancel`, { token: t.as.editor.token });
    assert.equal(cancel.status, 202, cancel.text);
    assert.deepEqual(cancel.body, { workflow_id: run.body.workflow_id, run_id: run.body.run_id, cancel_requested: true });
    assert.equal((await describeRun(id))?.raw.workflowExtendedInfo?.cancelRequested, true);
    const progress = await api.request('GET', `/contents/${id}/progress`, { token: t.as.viewer.token });
    assert.equal(progress.body.progress.workflow.cancel_requested, true);
    const regenerate = await generate(id);
    assert.equal(regenerate.status, 409, 'a run being cancelled is not handed out again');
    assert.equal(regenerate.body.error.code, 'cancelling');
    await handle(id).terminate('ended');
    const late = await api.request('POST', `/contents/${id}/cancel`, { token: t.as.editor.token });
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'not_running');
  });

  it('answers approve and reject with 409 unless the production awaits approval, validating first and sending no signal', async () => {
    const idle = await newContent();
    for (const action of ['approve', 'reject']) {
      const res = await api.request('POST', `/contents/${idle}/${action}`, { token: t.as.editor.token });
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.error.code, 'not_running');
    }
    const id = await newContent();
    await generate(id);
    const channel = await api.ctx.models.Channel.create({ project_id: t.projectId, platform: 'youtube', channel_id: `UC${randomBytes(6).toString('hex')}` } as never);
    const rivalChannel = await api.ctx.models.Channel.create({ project_id: t.otherProjectId, platform: 'youtube', channel_id: `UC${randomBytes(6).toString('hex')}` } as never);
    const inAnHour = new Date(Date.now() + 3600_000).toISOString();
    const approve = await api.request('POST', `/contents/${id}/approve`, { token: t.as.editor.token, body: { channel_ids: [channel.id], scheduled_at: inAnHour } });
    assert.equal(approve.status, 409, approve.text);
    assert.equal(approve.body.error.code, 'not_awaiting_approval');
    const reject = await api.request('POST', `/contents/${id}/reject`, { token: t.as.editor.token, body: { reason: '톤이 맞지 않음' } });
    assert.equal(reject.status, 409);

    const invalid: [string, unknown, string[]][] = [
      ['approve', { scheduled_at: '2020-01-01T00:00:00Z' }, ['body.scheduled_at']],
      ['approve', { scheduled_at: new Date(Date.now() + 400 * 86_400_000).toISOString() }, ['body.scheduled_at']],
      ['approve', { scheduled_at: 'tomorrow' }, ['body.scheduled_at']],
      ['approve', { channel_ids: [] }, ['body.channel_ids']],
      ['approve', { channel_ids: ['not-a-uuid'] }, ['body.channel_ids.0']],
      ['approve', { channel_ids: [channel.id, channel.id] }, ['body.channel_ids.1']],
      ['approve', { channel_ids: [channel.id, rivalChannel.id] }, ['body.channel_ids.1']],
      ['approve', { publish: true }, ['body.publish']],
      ['reject', { reason: 'x'.repeat(1001) }, ['body.reason']],
      ['reject', { reason: 42 }, ['body.reason']],
    ];
    for (const [action, body, fields] of invalid) {
      const res = await api.request('POST', `/contents/${id}/${action}`, { token: t.as.editor.token, body });
      assert.equal(res.status, 400, `${action} ${JSON.stringify(body)}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details), fields, `${action} ${JSON.stringify(body)}`);
    }
    assert.equal(await signalsOf(id), 0, 'no signal reached the run');
  });

  it('lists jobs and uploads (channel platform and name, never tokens) and derives progress from the rows', async () => {
    const { models } = api.ctx;
    const id = await newContent('failed');
    const box = SecretBox.fromConfig(api.ctx.config.secrets);
    const channel = models.Channel.build({ project_id: t.projectId, platform: 'youtube', channel_id: 'UCacme', channel_name: 'Acme TV', channel_url: 'https://youtube.com/@acme' } as never);
    const [accessToken, refreshToken] = [`ya29.${randomBytes(12).toString('hex')}`, `1//${randomBytes(12).toString('hex')}`];
    api.secrets.add(accessToken).add(refreshToken);
    channel.setTokens(box, { accessToken, refreshToken });
    await channel.save();
    await models.ContentJob.create({ content_id: id, job_type: 'script_generation', status: 'completed', progress: 100, result: { run_id: 'r1' } } as never);
    await sleep(5);
    await models.ContentJob.create({ content_id: id, job_type: 'tts', status: 'failed', progress: 40, retry_count: 3, error_message: 'espeak-ng exited with 1', result: { run_id: 'r1' } } as never);
    await models.ContentUpload.create({ content_id: id, channel_id: channel.id, status: 'failed', error_message: 'quota' } as never);

    const jobs = await api.request('GET', `/contents/${id}/jobs`, { token: t.as.viewer.token });
    assert.equal(jobs.status, 200, jobs.text);
    assert.deepEqual(jobs.body.items.map((j: { job_type: string; status: string; retry_count: number }) => [j.job_type, j.status, j.retry_count]), [
      ['script_generation', 'completed', 0],
      ['tts', 'failed', 3],
    ]);
    const uploads = await api.request('GET', `/contents/${id}/uploads`, { token: t.as.viewer.token });
    assert.equal(uploads.status, 200, uploads.text);
    assert.deepEqual(uploads.body.items[0].channel, { id: channel.id, platform: 'youtube', name: 'Acme TV', url: 'https://youtube.com/@acme' });
    assert.equal(uploads.body.items[0].status, 'failed');
    assert.ok(!/token/i.test(uploads.text), 'no token field or value');

    const progress = await api.request('GET', `/contents/${id}/progress`, { token: t.as.viewer.token });
    assert.equal(progress.status, 200, progress.text);
    assert.deepEqual(
      { ...progress.body.progress, jobs: progress.body.progress.jobs.length },
      { content_id: id, content_status: 'failed', running: false, workflow: null, step: 'failed', percent: 28, error: 'espeak-ng exited with 1', published: [], source: 'records', jobs: 2 },
    );

    const queued = await newContent();
    const run = await generate(queued);
    const live = await api.request('GET', `/contents/${queued}/progress`, { token: t.as.viewer.token });
    assert.equal(live.body.progress.running, true);
    assert.equal(live.body.progress.step, 'queued');
    assert.equal(live.body.progress.percent, 0);
    assert.deepEqual(live.body.progress.workflow, { workflow_id: run.body.workflow_id, run_id: run.body.run_id, status: 'running', cancel_requested: false });
  });

  it('enforces roles on every production action: editors and up act, viewers get 403, non-members 404, nothing starts on refusal', async () => {
    const allowed = (actor: Actor, ok: number) => (actor === 'viewer' ? 403 : actor === 'outsider' || actor === 'other' ? 404 : ok);
    for (const actor of [...ROLES, 'outsider', 'other'] as Actor[]) {
      const { token } = t.as[actor];
      const draft = await newContent();
      assert.equal((await generate(draft, token)).status, allowed(actor, 202), `${actor} generate`);
      if (allowed(actor, 202) !== 202) assert.equal(await describeRun(draft), undefined, `${actor}: nothing started`);

      const failed = await newContent('failed');
      assert.equal((await api.request('POST', `/contents/${failed}/retry`, { token })).status, allowed(actor, 202), `${actor} retry`);
      if (allowed(actor, 202) !== 202) assert.equal(await describeRun(failed), undefined, `${actor}: nothing retried`);

      const running = await newContent();
      await generate(running, t.as.owner.token);
      for (const action of ['approve', 'reject']) {
        const res = await api.request('POST', `/contents/${running}/${action}`, { token });
        assert.equal(res.status, allowed(actor, 409), `${actor} ${action}: ${res.text}`);
      }
      assert.equal((await api.request('POST', `/contents/${running}/cancel`, { token })).status, allowed(actor, 202), `${actor} cancel`);
      assert.equal((await describeRun(running))?.raw.workflowExtendedInfo?.cancelRequested ?? false, allowed(actor, 202) === 202, `${actor} cancel effect`);
      assert.equal(await signalsOf(running), 0);
    }
  });

  it("answers another organization's token with 404 on every id-bearing production route and starts nothing", async () => {
    const draft = await newContent();
    const failed = await newContent('failed');
    const running = await newContent();
    const run = await generate(running);
    const { token } = t.as.other;
    const calls: [string, string][] = [
      ['POST', `/contents/${draft}/generate`],
      ['POST', `/contents/${failed}/retry`],
      ['POST', `/contents/${running}/generate`],
      ['POST', `/contents/${running}/approve`],
      ['POST', `/contents/${running}/reject`],
      ['POST', `/contents/${running}/cancel`],
      ['GET', `/contents/${running}/jobs`],
      ['GET', `/contents/${running}/uploads`],
      ['GET', `/contents/${running}/progress`],
      ['GET', `/contents/${running}/progress/stream`],
    ];
    for (const [method, path] of calls) {
      const res: ApiResponse = await api.request(method, path, { token, headers: { 'idempotency-key': `probe-${randomUUID()}` } });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.error.code, 'not_found');
      assert.ok(!res.text.includes(run.body.run_id), 'no run id leaks');
    }
    assert.equal(await describeRun(draft), undefined);
    assert.equal(await describeRun(failed), undefined);
    const description = await describeRun(running);
    assert.equal(description?.runId, run.body.run_id);
    assert.equal(description?.raw.workflowExtendedInfo?.cancelRequested, false);
    assert.equal(await signalsOf(running), 0);
    const rows = await api.ctx.sequelize.query('SELECT status FROM contents WHERE id IN (:ids) ORDER BY status', { replacements: { ids: [draft, failed, running] }, type: QueryTypes.SELECT });
    assert.deepEqual(rows, [{ status: 'draft' }, { status: 'draft' }, { status: 'failed' }]);
  });
});
