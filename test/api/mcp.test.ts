import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { startWorkers, type RunningWorkers } from '../../worker';
import { produceContentWorkflowId } from '../../workflows/produce-content';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createPeople, createProject, type People } from '../support/tenants';
import { waitFor } from '../support/wait';

// Tool results are JSON the test reads field by field.
type Json = any; // eslint-disable-line @typescript-eslint/no-explicit-any

interface ToolAnswer {
  isError: boolean;
  text: string;
  data: Json;
}

const TOOLS = [
  'approve_content', 'create_content', 'generate_content', 'get_content', 'get_credits', 'get_usage', 'list_projects', 'list_templates', 'reject_content',
];

/**
 * The MCP server at /mcp, driven by the SDK's own client over Streamable HTTP against the API on
 * the test stack: the tools produce a real video on a worker, and a refusal of the REST route a
 * tool calls (bad arguments, another tenant's content, a missing right) comes back as a tool error.
 */
describe('MCP server', () => {
  let api: ApiHarness;
  let people: People;
  let projectId: string;
  let channelId: string;
  let workers: RunningWorkers | undefined;
  const clients: Client[] = [];
  const produced: string[] = [];

  async function connect(token: string): Promise<Client> {
    const client = new Client({ name: 'autoclip-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', api.baseUrl), { requestInit: { headers: { authorization: `Bearer ${token}` } } }));
    clients.push(client);
    return client;
  }

  async function call(client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolAnswer> {
    const result = await client.callTool({ name, arguments: args });
    const [first] = result.content as { type: string; text: string }[];
    assert.equal(first?.type, 'text', `${name} answers text`);
    let data: Json;
    try {
      data = JSON.parse(first.text);
    } catch {
      data = undefined;
    }
    return { isError: result.isError === true, text: first.text, data };
  }

  async function ok(client: Client, name: string, args: Record<string, unknown> = {}): Promise<Json> {
    const answer = await call(client, name, args);
    assert.ok(!answer.isError, `${name}: ${answer.text}`);
    return answer.data;
  }

  async function refused(client: Client, name: string, args: Record<string, unknown>): Promise<ToolAnswer> {
    const answer = await call(client, name, args);
    assert.ok(answer.isError, `${name} ${JSON.stringify(args)} is refused: ${answer.text}`);
    return answer;
  }

  const editor = () => connect(people.as.editor.token);

  before(async () => {
    // Its own media queue: the workers of this suite must not take media work of another.
    api = await createApiHarness({ TEMPORAL_MEDIA_TASK_QUEUE: `mcp-media-${randomBytes(3).toString('hex')}` });
    people = await createPeople(api, { plan: 'business' });
    projectId = await createProject(api, { organization_id: people.orgId }, 'Acme shorts');
    channelId = (await api.ctx.models.Channel.create({ project_id: projectId, platform: 'youtube', channel_id: 'UCacme', channel_name: 'Acme TV', status: 'connected' } as never)).id;
  });
  after(async () => {
    await Promise.allSettled(produced.map((id) => api.ctx.temporal.workflow.getHandle(produceContentWorkflowId(id)).terminate('test over')));
    await Promise.allSettled(clients.map((client) => client.close()));
    await workers?.shutdown();
    api.assertNoLeaks();
    await api.close();
  });

  it('initializes, lists the tools and produces a video through them: approved for a time, or rejected', async () => {
    const client = await editor();
    assert.equal(client.getServerVersion()?.name, 'autoclip');
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), TOOLS);
    const create = tools.find((t) => t.name === 'create_content')!;
    assert.deepEqual([...(create.inputSchema.required ?? [])].sort(), ['project_id', 'topic']);

    const projects = await ok(client, 'list_projects', { organization_id: people.orgId });
    assert.deepEqual(projects.items.map((p: Json) => p.id), [projectId]);
    const templates = await ok(client, 'list_templates', { format: 'short' });
    assert.ok(templates.items.length > 0 && templates.items.every((t: Json) => t.content_format === 'short'), 'the system templates of the short format');
    const credits = (await ok(client, 'get_credits', { organization_id: people.orgId })).credits_remaining;
    assert.ok(credits > 0);

    const ids: string[] = [];
    for (const topic of ['MCP로 만든 영상', '거절될 영상']) {
      const { content } = await ok(client, 'create_content', { project_id: projectId, topic, tags: ['mcp'] });
      assert.deepEqual({ title: content.title, status: content.status, tags: content.tags }, { title: topic, status: 'draft', tags: ['mcp'] });
      const run = await ok(client, 'generate_content', { content_id: content.id });
      assert.deepEqual({ workflow_id: run.workflow_id, started: run.started }, { workflow_id: `content-${content.id}`, started: true });
      produced.push(content.id);
      ids.push(content.id);
    }
    const [toApprove, toReject] = ids as [string, string];
    const queued = await ok(client, 'get_content', { content_id: toApprove });
    assert.deepEqual({ running: queued.progress.running, video_url: queued.content.video_url }, { running: true, video_url: null });

    Runtime.install({ logger: new DefaultLogger('WARN') });
    workers = await startWorkers(api.ctx, ['orchestration', 'media']);
    const waiting = await Promise.all(
      ids.map((id) =>
        waitFor(`content ${id} to await approval`, async () => {
          const state = await ok(client, 'get_content', { content_id: id });
          assert.notEqual(state.progress.content_status, 'failed', JSON.stringify(state.progress));
          return state.progress.step === 'awaiting_approval' && state;
        }, 300_000, 500),
      ),
    );
    for (const state of waiting) {
      assert.equal(state.content.status, 'ready');
      assert.ok(state.progress.percent > queued.progress.percent, `${state.progress.percent}% done, against ${queued.progress.percent}% while queued`);
      assert.ok(Date.parse(state.content.links_expire_at) > Date.now());
    }
    const { content } = waiting[0]!;
    const video = await fetch(content.video_url);
    assert.equal(video.status, 200, content.video_url);
    const bytes = Buffer.from(await video.arrayBuffer());
    assert.equal(bytes.subarray(4, 8).toString('latin1'), 'ftyp', 'an MP4');
    assert.ok(bytes.length > 10_000);
    const thumbnail = await fetch(content.thumbnail_url);
    assert.equal(thumbnail.status, 200);
    assert.equal(Buffer.from(await thumbnail.arrayBuffer()).subarray(0, 2).toString('hex'), 'ffd8', 'a JPEG');
    assert.equal((await ok(client, 'get_credits', { organization_id: people.orgId })).credits_remaining, credits - 2, 'one credit per production');
    const usage = await ok(client, 'get_usage', { content_id: toApprove });
    assert.equal(usage.content_id, toApprove);
    assert.ok(usage.usage.length > 0, 'its provider calls, summed');
    assert.ok((await ok(client, 'get_usage', { organization_id: people.orgId })).months.length > 0);

    const at = new Date(Date.now() + 3600_000).toISOString();
    const approved = await ok(client, 'approve_content', { content_id: toApprove, scheduled_at: at, channel_ids: [channelId] });
    assert.equal(approved.decision, 'approved');
    const upload = await waitFor('the upload to wait for its time', async () => {
      const res = await api.request('GET', `/contents/${toApprove}/uploads`, { token: people.as.viewer.token });
      return res.body.items[0]?.status === 'scheduled' && res.body.items[0];
    });
    assert.deepEqual({ channel: upload.channel.id, scheduled_at: upload.scheduled_at }, { channel: channelId, scheduled_at: at });
    const again = await refused(client, 'reject_content', { content_id: toApprove, reason: 'too late' });
    assert.equal(again.data.error.status, 409);

    const rejected = await ok(client, 'reject_content', { content_id: toReject, reason: '브랜드 톤과 맞지 않음' });
    assert.equal(rejected.decision, 'rejected');
    const ended = await waitFor('the rejected run to end', async () => {
      const state = await ok(client, 'get_content', { content_id: toReject });
      return !state.progress.running && state;
    }, 60_000);
    assert.deepEqual({ status: ended.content.status, workflow: ended.progress.workflow.status }, { status: 'ready', workflow: 'completed' });
  });

  it('answers bad arguments with a tool error naming the argument, never a server error', async () => {
    const client = await editor();
    const { content } = await ok(client, 'create_content', { project_id: projectId, topic: '초안' });
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['create_content', {}, ['project_id', 'topic']],
      ['create_content', { project_id: 'not-an-id', topic: 'x' }, ['project_id']],
      ['create_content', { project_id: projectId, topic: 42 }, ['topic']],
      ['create_content', { project_id: projectId, topic: 'x', colour: 'red' }, ['colour']],
      ['generate_content', { content_id: content.id, approval_timeout_hours: 'soon' }, ['approval_timeout_hours']],
      ['get_usage', { content_id: content.id, from: '2026-01' }, ['from']],
      ['approve_content', { content_id: content.id, channel_ids: ['x'] }, ['channel_ids']],
    ];
    for (const [tool, args, named] of cases) {
      const answer = await refused(client, tool, args);
      for (const name of named) assert.match(answer.text, new RegExp(`\\b${name}\\b`), `${tool} ${JSON.stringify(args)} names ${name}: ${answer.text}`);
    }

    // Refused by the route's own validation: its 400, with details keyed by argument name.
    const routeCases: [string, Record<string, unknown>, string][] = [
      ['create_content', { project_id: projectId, topic: 'x'.repeat(201) }, 'topic'],
      ['create_content', { project_id: projectId, topic: 'x', tags: ['a', 'a'] }, 'tags.1'],
      ['approve_content', { content_id: content.id, scheduled_at: '2000-01-01T00:00:00Z' }, 'scheduled_at'],
      ['approve_content', { content_id: content.id, channel_ids: [randomUUID()] }, 'channel_ids.0'],
      ['generate_content', { content_id: content.id, approval_timeout_hours: 0 }, 'approval_timeout_hours'],
      ['list_projects', { limit: 1000 }, 'limit'],
      ['get_usage', { from: '2026-13' }, 'from'],
    ];
    for (const [tool, args, field] of routeCases) {
      const answer = await refused(client, tool, args);
      assert.equal(answer.data.error.status, 400, answer.text);
      assert.equal(answer.data.error.code, 'validation_failed');
      assert.ok(field in answer.data.error.details, `${tool} ${JSON.stringify(args)} names ${field}: ${answer.text}`);
    }

    const notRunning = await refused(client, 'reject_content', { content_id: content.id });
    assert.deepEqual({ status: notRunning.data.error.status, code: notRunning.data.error.code }, { status: 409, code: 'not_running' });
    const draft = await ok(client, 'get_content', { content_id: content.id });
    assert.equal(draft.content.status, 'draft', 'nothing of the refused calls changed it');
  });

  it("shows another tenant's content only as a tool error, like the REST API's 404", async () => {
    const own = await editor();
    const { content } = await ok(own, 'create_content', { project_id: projectId, topic: '비밀 주제' });
    const rival = await connect(people.as.other.token);
    for (const [tool, args] of [
      ['get_content', { content_id: content.id }],
      ['generate_content', { content_id: content.id }],
      ['approve_content', { content_id: content.id }],
      ['reject_content', { content_id: content.id, reason: 'x' }],
      ['get_usage', { content_id: content.id }],
      ['create_content', { project_id: projectId, topic: 'intrusion' }],
    ] as const) {
      const answer = await refused(rival, tool, args);
      assert.equal(answer.data.error.status, 404, `${tool}: ${answer.text}`);
      assert.ok(!answer.text.includes('비밀 주제') && !answer.text.includes(projectId.slice(0, 8)), `${tool} shows nothing of it`);
    }
    assert.deepEqual((await ok(rival, 'list_projects')).items, []);
    const foreign = await refused(rival, 'list_projects', { organization_id: people.orgId });
    assert.equal(foreign.data.error.status, 404);
    assert.equal((await ok(own, 'get_content', { content_id: content.id })).content.status, 'draft');
  });

  it('refuses a request without a valid token or API key (401 JSON), serves an API key within its role, and takes messages by POST only', async () => {
    const initialize = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'curl', version: '1' } } };
    for (const authorization of [undefined, 'Bearer not-a-token', 'Bearer ak_deadbeef_nothing']) {
      const res = await fetch(`${api.baseUrl}/mcp`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(initialize),
      });
      assert.equal(res.status, 401, String(authorization));
      assert.match(res.headers.get('content-type') ?? '', /application\/json/);
      assert.equal(((await res.json()) as Json).error.code, 'unauthenticated');
    }
    await assert.rejects(connect('not-a-token'));
    const get = await fetch(`${api.baseUrl}/mcp`, { headers: { authorization: `Bearer ${people.as.viewer.token}`, accept: 'text/event-stream' } });
    assert.equal(get.status, 405);
    assert.equal(get.headers.get('allow'), 'POST');

    const created = await api.request('POST', '/api-keys', { token: people.as.admin.token, body: { name: 'agent', role: 'viewer', organization_id: people.orgId } });
    assert.equal(created.status, 201, created.text);
    const agent = await connect(created.body.key);
    assert.deepEqual((await ok(agent, 'list_projects')).items.map((p: Json) => p.id), [projectId], "an organization's key lists that organization's projects");
    const denied = await refused(agent, 'create_content', { project_id: projectId, topic: 'a viewer key' });
    assert.deepEqual({ status: denied.data.error.status, code: denied.data.error.code }, { status: 403, code: 'forbidden' });
    await api.request('DELETE', `/api-keys/${created.body.api_key.id}`, { token: people.as.admin.token });
    await assert.rejects(call(agent, 'list_projects'), (err: { code?: unknown }) => err.code === 401, 'a revoked key is refused at once');
  });
});
