import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { progressChannel } from '../../db/progress';
import { issueAccessToken } from '../../api/auth/tokens';
import { startWorkers } from '../../worker';
import { produceContentWorkflowId } from '../../workflows/produce-content';
import { createApiHarness, type ApiHarness } from '../support/api';

interface SseEvent {
  event: string;
  data: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

interface SseStream {
  status: number;
  headers: Headers;
  events: SseEvent[];
  /** Everything received, as sent. */
  raw(): string;
  /** True once the server ended the response (or the client closed it). */
  ended(): boolean;
  /** The next event after the ones already taken, waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

/** A minimal EventSource over fetch (which, unlike EventSource, sends an Authorization header). */
async function openStream(api: ApiHarness, path: string, token?: string): Promise<SseStream | { status: number; body: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const abort = new AbortController();
  const res = await fetch(`${api.baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: abort.signal });
  if (!(res.headers.get('content-type') ?? '').startsWith('text/event-stream')) return { status: res.status, body: await res.json() };
  const events: SseEvent[] = [];
  let done = false;
  let taken = 0;
  let raw = '';
  void (async () => {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { value, done: finished } = await reader.read();
        if (finished) break;
        const chunk = decoder.decode(value, { stream: true });
        raw += chunk;
        buffer += chunk;
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
          if (event && data) events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      done = true;
    }
  })();
  return {
    status: res.status,
    headers: res.headers,
    events,
    raw: () => raw,
    ended: () => done,
    async next(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length <= taken) {
        if (Date.now() > deadline || done) throw new Error(`no event within ${timeoutMs} ms (ended: ${done})`);
        await sleep(10);
      }
      return events[taken++]!;
    },
    close: () => abort.abort(),
  };
}

/** Takes events until one named `name` arrives. */
async function nextOf(stream: SseStream, name: string, timeoutMs?: number): Promise<SseEvent> {
  for (;;) {
    const event = await stream.next(timeoutMs);
    if (event.event === name) return event;
  }
}

function isStream(value: SseStream | { status: number }): value is SseStream {
  return 'events' in value;
}

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('content progress stream (SSE)', () => {
  let api: ApiHarness;
  let projectId: string;
  let organizationId: string;
  const tokens: Record<'editor' | 'viewer' | 'other', string> = { editor: '', viewer: '', other: '' };
  const contents: string[] = [];

  async function newContent(): Promise<string> {
    const content = await api.ctx.models.Content.create({ project_id: projectId, title: '진행 상황', script: { hook: '', body: [], cta: '', full_text: '' }, source_type: 'manual' } as never);
    contents.push(content.id);
    return content.id;
  }

  async function subscribers(contentId: string): Promise<number> {
    const [, count] = (await api.ctx.db.redis.pubsub('NUMSUB', progressChannel(contentId))) as [string, number];
    return Number(count);
  }

  async function stream(contentId: string, token = tokens.viewer): Promise<SseStream> {
    const opened = await openStream(api, `/contents/${contentId}/progress/stream`, token);
    assert.ok(isStream(opened), `a stream opened: ${JSON.stringify(opened)}`);
    return opened;
  }

  before(async () => {
    // Its own media queue: a worker of this suite must not take media work of another.
    api = await createApiHarness({ TEMPORAL_MEDIA_TASK_QUEUE: `api-test-media-${randomBytes(3).toString('hex')}` });
    const { User, Organization, OrganizationMember, Project } = api.ctx.models;
    const { tokenSecret, accessTokenTtlSec } = api.ctx.config.auth;
    for (const [name, org] of [['editor', 'acme'], ['viewer', 'acme'], ['other', 'rival']] as const) {
      const user = await User.create({ email: `${randomBytes(6).toString('hex')}@example.com`, name } as never);
      const organization =
        (await Organization.findOne({ where: { name: org } })) ?? (await Organization.create({ name: org, slug: `${org}-${randomBytes(4).toString('hex')}` } as never));
      await OrganizationMember.create({ organization_id: organization.id, user_id: user.id, role: name === 'other' ? 'owner' : name } as never);
      tokens[name] = issueAccessToken(user.id, tokenSecret, accessTokenTtlSec).token;
      if (org !== 'acme' || projectId) continue;
      organizationId = organization.id;
      projectId = (await Project.create({ organization_id: organization.id, name: 'Acme', vertical: 'tech', target_platforms: ['youtube_shorts'] } as never)).id;
    }
  });
  const terminateAll = () => Promise.allSettled(contents.map((id) => api.ctx.temporal.workflow.getHandle(produceContentWorkflowId(id)).terminate('test over')));
  after(async () => {
    await terminateAll();
    api.assertNoLeaks();
    await api.close();
  });

  it('sends the current progress, then every job update published on the content channel, through one shared subscription', async () => {
    const id = await newContent();
    const run = await api.request('POST', `/contents/${id}/generate`, { token: tokens.editor });
    assert.equal(run.status, 202, run.text);

    const [a, b] = [await stream(id), await stream(id, tokens.editor)];
    assert.equal(a.status, 200);
    assert.match(a.headers.get('content-type') ?? '', /^text\/event-stream/);
    assert.match(a.headers.get('cache-control') ?? '', /no-cache/);
    assert.ok(a.headers.get('x-request-id'));
    for (const s of [a, b]) {
      const first = await s.next();
      assert.equal(first.event, 'progress');
      assert.equal(first.data.running, true);
      assert.equal(first.data.step, 'queued');
      assert.equal(first.data.workflow.run_id, run.body.run_id);
    }
    assert.equal(await subscribers(id), 1, 'two clients, one Redis subscription');

    const channel = progressChannel(id);
    await api.ctx.db.redis.publish(channel, JSON.stringify({ jobType: 'render', progress: 42, at: '2026-01-01T00:00:00.000Z' }));
    await api.ctx.db.redis.publish(channel, 'not json');
    await api.ctx.db.redis.publish(channel, JSON.stringify({ unrelated: true }));
    await api.ctx.db.redis.publish(channel, JSON.stringify({ jobType: 'render', status: 'failed', error: '<img src=x onerror=alert(1)>' }));
    for (const s of [a, b]) {
      assert.deepEqual(await s.next(), { event: 'job', data: { job_type: 'render', status: 'running', progress: 42, error: null, at: '2026-01-01T00:00:00.000Z' } });
      const failed = await s.next();
      assert.equal(failed.event, 'job');
      assert.deepEqual({ ...failed.data, at: undefined }, { job_type: 'render', status: 'failed', progress: null, error: '<img src=x onerror=alert(1)>', at: undefined });
    }
    assert.ok(!a.raw().includes('<img'), 'markup is escaped on the wire');
    const other = await newContent();
    await api.ctx.db.redis.publish(progressChannel(other), JSON.stringify({ jobType: 'tts', progress: 5 }));

    a.close();
    await sleep(100);
    assert.equal(await subscribers(id), 1, 'still followed by the second client');
    b.close();
    await until('the last client to leave unsubscribes', async () => (await subscribers(id)) === 0);
    assert.deepEqual(
      [...a.events, ...b.events].filter((e) => e.event === 'job').map((e) => e.data.job_type),
      ['render', 'render', 'render', 'render'],
      "another content's events never arrive",
    );
  });

  it('sends the final progress and ends the stream when the production ends', async () => {
    const id = await newContent();
    await api.request('POST', `/contents/${id}/generate`, { token: tokens.editor });
    const s = await stream(id);
    assert.equal((await s.next()).data.running, true);
    await api.ctx.temporal.workflow.getHandle(produceContentWorkflowId(id)).terminate('stopped by an operator');
    const final = await s.next();
    assert.equal(final.event, 'progress');
    assert.equal(final.data.running, false);
    assert.equal(final.data.workflow.status, 'terminated');
    assert.deepEqual(await s.next(), { event: 'end', data: { reason: 'finished' } });
    await until('the server ends the response', () => s.ended());
    await until('the subscription is dropped', async () => (await subscribers(id)) === 0);
  });

  it('ends at once, after the current state, when no production runs', async () => {
    const id = await newContent();
    const s = await stream(id);
    const first = await s.next();
    assert.equal(first.event, 'progress');
    assert.deepEqual({ running: first.data.running, step: first.data.step, workflow: first.data.workflow }, { running: false, step: 'draft', workflow: null });
    assert.deepEqual(await s.next(), { event: 'end', data: { reason: 'not_running' } });
    await until('the server ends the response', () => s.ended());
    assert.equal(await subscribers(id), 0);
  });

  it('answers errors in the JSON shape before a stream starts', async () => {
    const id = await newContent();
    const cases: [string | undefined, string, number][] = [
      [undefined, `/contents/${id}/progress/stream`, 401],
      [tokens.other, `/contents/${id}/progress/stream`, 404],
      [tokens.viewer, `/contents/${randomUUID()}/progress/stream`, 404],
      [tokens.viewer, '/contents/not-a-uuid/progress/stream', 404],
    ];
    for (const [token, path, status] of cases) {
      const res = await openStream(api, path, token);
      assert.ok(!isStream(res), `${path} is not a stream`);
      assert.equal(res.status, status);
      assert.equal(res.body.error.status, status);
    }
    assert.equal(await subscribers(id), 0);
  });

  it('follows a real production on a worker: live job events, the approval wait, an approval that schedules the upload, a rejection that ends the run', async () => {
    await terminateAll();
    const { models } = api.ctx;
    const plan = await models.SubscriptionPlan.findOne({ where: { code: 'pro' } });
    await models.Subscription.create({ organization_id: organizationId, plan_id: plan!.id, started_at: new Date(), credits_remaining: 10 } as never);
    const channel = await models.Channel.create({ project_id: projectId, platform: 'youtube', channel_id: 'UCacme', channel_name: 'Acme TV', status: 'connected' } as never);
    const [toApprove, toReject] = [await newContent(), await newContent()];
    for (const id of [toApprove, toReject]) assert.equal((await api.request('POST', `/contents/${id}/generate`, { token: tokens.editor })).status, 202);
    // Opened before any worker runs, so that no job event can pass before the subscription.
    const s = await stream(toReject);
    assert.equal((await s.next()).data.step, 'queued');

    Runtime.install({ logger: new DefaultLogger('WARN') });
    const workers = await startWorkers(api.ctx, ['orchestration', 'media']);
    try {
      const progressOf = async (id: string) => (await api.request('GET', `/contents/${id}/progress`, { token: tokens.viewer })).body.progress;
      await until('both productions await approval', async () => (await Promise.all([toApprove, toReject].map(progressOf))).every((p) => p.step === 'awaiting_approval'), 240_000);
      const waiting = await progressOf(toReject);
      assert.equal(waiting.source, 'workflow', 'live from the progress query');
      assert.equal(waiting.content_status, 'ready');
      assert.deepEqual(
        waiting.jobs.map((j: { job_type: string; status: string }) => `${j.job_type}:${j.status}`).sort(),
        ['image_gen:completed', 'render:completed', 'safety_check:completed', 'script_generation:completed', 'tts:completed'],
      );
      const completed = s.events.filter((e) => e.event === 'job' && e.data.status === 'completed').map((e) => e.data.job_type);
      assert.deepEqual([...new Set(completed)].sort(), ['image_gen', 'render', 'safety_check', 'script_generation', 'tts'], 'each job reached the stream as it finished');

      const at = new Date(Date.now() + 3600_000).toISOString();
      const approved = await api.request('POST', `/contents/${toApprove}/approve`, { token: tokens.editor, body: { channel_ids: [channel.id], scheduled_at: at } });
      assert.equal(approved.status, 202, approved.text);
      assert.equal(approved.body.decision, 'approved');
      await until('the upload waits for its time', async () => (await api.request('GET', `/contents/${toApprove}/uploads`, { token: tokens.viewer })).body.items[0]?.status === 'scheduled');
      const uploads = await api.request('GET', `/contents/${toApprove}/uploads`, { token: tokens.viewer });
      assert.equal(uploads.body.items[0].scheduled_at, at);
      assert.deepEqual(uploads.body.items[0].channel, { id: channel.id, platform: 'youtube', name: 'Acme TV', url: null });
      assert.equal((await progressOf(toApprove)).step, 'publishing');
      assert.equal((await api.request('POST', `/contents/${toApprove}/approve`, { token: tokens.editor })).status, 409, 'approved once');

      const rejected = await api.request('POST', `/contents/${toReject}/reject`, { token: tokens.editor, body: { reason: '브랜드 톤과 맞지 않음' } });
      assert.equal(rejected.status, 202, rejected.text);
      const final = await nextOf(s, 'progress', 60_000);
      assert.deepEqual(
        { running: final.data.running, status: final.data.content_status, workflow: final.data.workflow.status },
        { running: false, status: 'ready', workflow: 'completed' },
      );
      assert.deepEqual(await s.next(), { event: 'end', data: { reason: 'finished' } });
      await until('the stream ends with the run', () => s.ended());
    } finally {
      await terminateAll();
      await workers.shutdown();
    }
  });
});
