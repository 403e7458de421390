import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QueryTypes } from 'sequelize';
import { EMPTY_SCRIPT } from '../../db/models';
import { produceContentWorkflowId } from '../../workflows/produce-content';
import { createApiHarness, type ApiHarness, type ApiResponse } from '../support/api';
import { createPeople, createProject, rawRow, type Actor, type People } from '../support/tenants';

interface Tenants extends People {
  /** Organization A's project. */
  projectId: string;
  /** The outsider's personal project. */
  personalProjectId: string;
  /** Organization B's project. */
  otherProjectId: string;
}


/** The people of createPeople, with a project of organization A, one of the outsider's own and one of organization B. */
async function setUpTenants(api: ApiHarness): Promise<Tenants> {
  const people = await createPeople(api);
  return {
    ...people,
    projectId: await createProject(api, { organization_id: people.orgId }, 'Acme shorts'),
    personalProjectId: await createProject(api, { user_id: people.as.outsider.userId }, 'My own'),
    otherProjectId: await createProject(api, { organization_id: people.otherOrgId }, 'Rival shorts'),
  };
}

async function countContents(api: ApiHarness): Promise<number> {
  return api.ctx.models.Content.count();
}

describe('content routes', () => {
  let api: ApiHarness;
  let t: Tenants;
  const started: string[] = [];

  async function newContent(projectId = t.projectId, title = 'A draft'): Promise<string> {
    const content = await api.ctx.models.Content.create({ project_id: projectId, title, script: EMPTY_SCRIPT, source_type: 'manual' } as never);
    return content.id;
  }

  before(async () => {
    api = await createApiHarness();
    t = await setUpTenants(api);
  });
  after(async () => {
    await Promise.allSettled(started.map((id) => api.ctx.temporal.workflow.getHandle(produceContentWorkflowId(id)).terminate('test over')));
    api.assertNoLeaks();
    await api.close();
  });

  it('creates a draft from a topic, records content_created, and reads it back', async () => {
    const created = await api.request('POST', `/projects/${t.projectId}/contents`, { token: t.as.editor.token, body: { topic: '  금리 인상의 영향  ', tags: ['경제'] } });
    assert.equal(created.status, 201, created.text);
    const content = created.body.content;
    assert.equal(content.title, '금리 인상의 영향');
    assert.deepEqual(content.script, EMPTY_SCRIPT);
    assert.equal(content.status, 'draft');
    assert.equal(content.source_type, 'manual');
    assert.equal(content.source_data, null);
    assert.deepEqual(content.tags, ['경제']);
    assert.equal(content.project_id, t.projectId);

    const event = await api.ctx.db.mongo.models.AnalyticsEvent.findOne({ content_id: content.id, event_type: 'content_created' }).lean();
    assert.ok(event, 'content_created recorded');
    assert.equal(event.project_id, t.projectId);

    const read = await api.request('GET', `/contents/${content.id}`, { token: t.as.viewer.token });
    assert.equal(read.status, 200);
    assert.deepEqual(read.body.content, content);
  });

  it('creates from each kind of source, taking the title from the body, the data or the URL', async () => {
    const cases = [
      { source: { type: 'url', url: 'https://example.com/article?id=1' }, title: 'https://example.com/article?id=1' },
      { source: { type: 'rss', url: 'https://example.com/feed.xml' }, title: 'Weekly feed', extra: { title: 'Weekly feed' } },
      { source: { type: 'api', data: { headline: 'KOSPI closes up 2%', symbols: [{ symbol: 'KOSPI', change: 2 }] } }, title: 'KOSPI closes up 2%' },
      { source: { type: 'manual', data: { text: 'no title here' } }, title: 'Untitled' },
    ];
    for (const c of cases) {
      const res = await api.request('POST', `/projects/${t.projectId}/contents`, { token: t.as.owner.token, body: { source: c.source, ...c.extra } });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.content.title, c.title);
      assert.equal(res.body.content.source_type, c.source.type);
      assert.equal(res.body.content.source_url, c.source.url ?? null);
      assert.deepEqual(res.body.content.source_data, c.source.data ?? null);
      assert.equal(res.body.content.status, 'draft');
    }
  });

  it('answers invalid create input with 400 naming each field, and creates nothing', async () => {
    const path = `/projects/${t.projectId}/contents`;
    const cases: [unknown, string[]][] = [
      [{}, ['body']],
      [{ topic: 123 }, ['body.topic']],
      [{ topic: '   ' }, ['body.topic']],
      [{ topic: 'x'.repeat(201) }, ['body.topic']],
      [{ topic: 'a\u0000b' }, ['body.topic']],
      [{ topic: 'half a pair \ud83c' }, ['body.topic']],
      [{ topic: 'a', source: { type: 'url', url: 'https://example.com' } }, ['body']],
      [{ topic: 'a', title: 'b' }, ['body']],
      [{ topic: 'a', extra: 1 }, ['body.extra']],
      [{ topic: 'a', tags: 'news' }, ['body.tags']],
      [{ topic: 'a', tags: Array.from({ length: 31 }, (_, i) => `t${i}`) }, ['body.tags']],
      [{ topic: 'a', tags: ['same', 'same'] }, ['body.tags.1']],
      [{ topic: 'a', description: 'x'.repeat(5001) }, ['body.description']],
      [{ source: { type: 'ftp', url: 'ftp://example.com' } }, ['body.source.type', 'body.source.url']],
      [{ source: { type: 'url' } }, ['body.source.url']],
      [{ source: { type: 'url', url: 'javascript:alert(1)' } }, ['body.source.url']],
      [{ source: { type: 'api' } }, ['body.source.data']],
      [{ source: { type: 'api', data: [1, 2] } }, ['body.source.data']],
      [{ source: { type: 'manual', data: { text: 'nul \u0000' } } }, ['body.source', 'body.source.data']],
      [{ source: { type: 'manual', data: { text: 'x'.repeat(100_001) } } }, ['body.source.data']],
      [{ source: { type: 'manual', data: { a: 1 }, secret: true } }, ['body.source.secret']],
      [[{ topic: 'an array' }], ['body']],
    ];
    const before = await countContents(api);
    for (const [body, fields] of cases) {
      const res = await api.request('POST', path, { token: t.as.owner.token, body });
      assert.equal(res.status, 400, `${JSON.stringify(body).slice(0, 80)}: ${res.text}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields.sort(), JSON.stringify(body).slice(0, 80));
    }
    assert.equal((await api.request('POST', path, { token: t.as.owner.token })).status, 400, 'no body');
    const malformed = await api.request('POST', path, { token: t.as.owner.token, rawBody: '{"topic": ' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'malformed_body');
    const huge = await api.request('POST', path, { token: t.as.owner.token, body: { topic: 'a', description: 'x'.repeat(300_000) } });
    assert.equal(huge.status, 413);
    assert.equal((await api.request('POST', '/projects/not-a-uuid/contents', { token: t.as.owner.token, body: { topic: 'a' } })).status, 404);
    assert.equal((await api.request('POST', `/projects/${randomUUID()}/contents`, { token: t.as.owner.token, body: { topic: 'a' } })).status, 404);
    assert.equal((await api.request('POST', path, { body: { topic: 'a' } })).status, 401);
    assert.equal(await countContents(api), before);
  });

  it('stores SQL-like, script-like and non-Latin text verbatim and returns it as JSON', async () => {
    const strings = ["'; DROP TABLE contents; --", '<script>alert("x")</script>', '한국어 제목 🎬 café ﷺ עברית', 'Robert"); DELETE FROM users;--'];
    for (const s of strings) {
      const created = await api.request('POST', `/projects/${t.projectId}/contents`, { token: t.as.editor.token, body: { topic: s, description: s, tags: [s.slice(0, 50)] } });
      assert.equal(created.status, 201, created.text);
      assert.match(created.headers.get('content-type') ?? '', /^application\/json/);
      const read = await api.request('GET', `/contents/${created.body.content.id}`, { token: t.as.editor.token });
      assert.equal(read.body.content.title, s);
      assert.ok(!/[<>]/.test(read.text), 'markup is escaped in the JSON text');
      assert.equal(read.body.content.description, s);
      assert.deepEqual(read.body.content.tags, [s.slice(0, 50)]);
    }
    assert.ok((await api.ctx.models.User.count()) > 0, 'the users table survived');
  });

  it('edits draft fields, validating the script shape, and refuses other fields', async () => {
    const id = await newContent();
    const script = { hook: '3초 훅', body: ['첫 장면', '둘째 장면'], cta: '구독!' };
    const res = await api.request('PATCH', `/contents/${id}`, { token: t.as.editor.token, body: { title: 'New title', description: null, tags: [], script } });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.content.title, 'New title');
    assert.equal(res.body.content.description, null);
    assert.deepEqual(res.body.content.tags, []);
    assert.deepEqual(res.body.content.script, { ...script, full_text: '3초 훅\n첫 장면\n둘째 장면\n구독!', source: 'creator' });

    const unchanged = await rawRow(api, 'contents', id);
    const cases: [unknown, string[]][] = [
      [{}, ['body']],
      [{ status: 'published' }, ['body.status']],
      [{ video_url: 'https://example.com/v.mp4' }, ['body.video_url']],
      [{ title: '' }, ['body.title']],
      [{ title: null }, ['body.title']],
      [{ script: { hook: 'only a hook' } }, ['body.script.body', 'body.script.cta']],
      [{ script: { ...script, body: 'not a list' } }, ['body.script.body']],
      [{ script: { ...script, body: [1] } }, ['body.script.body.0']],
      [{ script: { ...script, extra: true } }, ['body.script.extra']],
      [{ script: { ...script, full_text: '3초 훅' } }, ['body.script.full_text']],
      [{ tags: [''] }, ['body.tags.0']],
    ];
    for (const [body, fields] of cases) {
      const bad = await api.request('PATCH', `/contents/${id}`, { token: t.as.editor.token, body });
      assert.equal(bad.status, 400, `${JSON.stringify(body)}: ${bad.text}`);
      assert.deepEqual(Object.keys(bad.body.error.details).sort(), fields.sort(), JSON.stringify(body));
    }
    assert.deepEqual(await rawRow(api, 'contents', id), unchanged);
  });

  it('refuses to edit or delete a content while it is being produced (409), and leaves it as it was', async () => {
    const processing = await newContent();
    await api.ctx.models.Content.update({ status: 'processing' }, { where: { id: processing } });
    const running = await newContent();
    const generated = await api.request('POST', `/contents/${running}/generate`, { token: t.as.editor.token });
    assert.equal(generated.status, 202, generated.text);
    started.push(running);
    for (const id of [processing, running]) {
      const before = await rawRow(api, 'contents', id);
      const patch = await api.request('PATCH', `/contents/${id}`, { token: t.as.editor.token, body: { title: 'changed' } });
      assert.equal(patch.status, 409, patch.text);
      assert.equal(patch.body.error.code, 'production_running');
      const del = await api.request('DELETE', `/contents/${id}`, { token: t.as.editor.token });
      assert.equal(del.status, 409, del.text);
      assert.deepEqual(await rawRow(api, 'contents', id), before);
    }
  });

  it('deletes a content with its jobs and uploads, keeping its billing records unlinked', async () => {
    const { models, sequelize } = api.ctx;
    const id = await newContent();
    const job = await models.ContentJob.create({ content_id: id, job_type: 'script_generation', status: 'completed' } as never);
    const plan = await models.SubscriptionPlan.findOne({ where: { code: 'pro' } });
    const organization_id = (await models.Project.findByPk(t.projectId))!.organization_id;
    const subscription = await models.Subscription.create({ organization_id, plan_id: plan!.id, started_at: new Date(), credits_remaining: 9 } as never);
    const charge = await models.CreditTransaction.create({ subscription_id: subscription.id, transaction_type: 'usage', credits_amount: -1, credits_balance: 9, content_id: id, description: 'produceContent run r1' } as never);
    await models.ApiUsage.create({ organization_id, service: 'local', operation: 'script', content_id: id, job_id: job.id } as never);

    const res = await api.request('DELETE', `/contents/${id}`, { token: t.as.editor.token });
    assert.equal(res.status, 204, res.text);
    assert.equal(await rawRow(api, 'contents', id), null);
    assert.equal((await api.request('GET', `/contents/${id}`, { token: t.as.editor.token })).status, 404);
    assert.equal(await models.ContentJob.count({ where: { content_id: id } }), 0);
    const ledger = await models.CreditTransaction.findByPk(charge.id);
    assert.equal(ledger?.content_id, null);
    assert.equal(ledger?.credits_amount, -1);
    assert.equal(ledger?.description, `produceContent run r1 (content ${id} deleted)`);
    const usages = await sequelize.query<{ content_id: string | null; job_id: string | null }>('SELECT content_id, job_id FROM api_usages WHERE organization_id = :organization_id', {
      replacements: { organization_id },
      type: QueryTypes.SELECT,
    });
    assert.deepEqual(usages, [{ content_id: null, job_id: null }]);
    assert.equal((await api.request('DELETE', `/contents/${id}`, { token: t.as.editor.token })).status, 404);
  });

  it('enforces roles on every write: editors and up write, viewers get 403, non-members 404, and refusals change nothing', async () => {
    const expected: Record<Actor, { create: number; patch: number; del: number }> = {
      owner: { create: 201, patch: 200, del: 204 },
      admin: { create: 201, patch: 200, del: 204 },
      editor: { create: 201, patch: 200, del: 204 },
      viewer: { create: 403, patch: 403, del: 403 },
      outsider: { create: 404, patch: 404, del: 404 },
      other: { create: 404, patch: 404, del: 404 },
    };
    for (const [actor, want] of Object.entries(expected) as [Actor, (typeof expected)[Actor]][]) {
      const { token } = t.as[actor];
      const count = await countContents(api);
      const create = await api.request('POST', `/projects/${t.projectId}/contents`, { token, body: { topic: `by ${actor}` } });
      assert.equal(create.status, want.create, `${actor} create: ${create.text}`);
      assert.equal(await countContents(api), count + (want.create === 201 ? 1 : 0), `${actor} create count`);

      const id = await newContent();
      const before = await rawRow(api, 'contents', id);
      const patch = await api.request('PATCH', `/contents/${id}`, { token, body: { title: `edited by ${actor}` } });
      assert.equal(patch.status, want.patch, `${actor} patch: ${patch.text}`);
      if (want.patch !== 200) assert.deepEqual(await rawRow(api, 'contents', id), before, `${actor} patch left the row`);
      const del = await api.request('DELETE', `/contents/${id}`, { token });
      assert.equal(del.status, want.del, `${actor} delete: ${del.text}`);
      if (want.del !== 204) assert.deepEqual(await rawRow(api, 'contents', id), before, `${actor} delete left the row`);
      const read = await api.request('GET', `/contents/${id}`, { token });
      assert.equal(read.status, want.del === 204 ? 404 : actor === 'viewer' ? 200 : 404, `${actor} read`);
    }
  });

  it("answers another organization's ids with 404 on every content route and changes nothing", async () => {
    const id = await newContent(t.projectId, 'Acme secret plan');
    const before = await rawRow(api, 'contents', id);
    const { token } = t.as.other;
    const calls: [string, string, unknown?][] = [
      ['GET', `/contents/${id}`],
      ['PATCH', `/contents/${id}`, { title: 'stolen' }],
      ['DELETE', `/contents/${id}`],
      ['POST', `/projects/${t.projectId}/contents`, { topic: 'planted' }],
      ['GET', `/contents?project_id=${t.projectId}`],
    ];
    const count = await countContents(api);
    for (const [method, path, body] of calls) {
      const res = await api.request(method, path, { token, body });
      assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      assert.equal(res.body.error.code, 'not_found');
      assert.ok(!res.text.includes('Acme secret plan'));
    }
    const unknown = await api.request('GET', `/contents/${randomUUID()}`, { token });
    assert.deepEqual(unknown.body, (await api.request('GET', `/contents/${id}`, { token })).body, 'another tenant looks like nothing');
    assert.deepEqual(await rawRow(api, 'contents', id), before);
    assert.equal(await countContents(api), count);
    const list = await api.request('GET', '/contents?limit=100', { token });
    assert.ok(list.body.items.every((c: { project_id: string }) => c.project_id === t.otherProjectId));
  });

  it('lists the contents of readable projects only, filtered by project, status and creation time', async () => {
    const mine = await newContent(t.personalProjectId, 'personal');
    await newContent(t.otherProjectId, 'rival');
    const outsider = await api.request('GET', '/contents?limit=100', { token: t.as.outsider.token });
    assert.equal(outsider.status, 200, outsider.text);
    assert.deepEqual(outsider.body.items.map((c: { id: string }) => c.id), [mine]);
    assert.equal(outsider.body.next_cursor, null);
    assert.equal(outsider.body.items[0].script, undefined, 'the list leaves the script out');

    const failed = await newContent(t.projectId, 'failed one');
    await api.ctx.models.Content.update({ status: 'failed' }, { where: { id: failed } });
    const byStatus = await api.request('GET', `/contents?status=failed&project_id=${t.projectId}`, { token: t.as.viewer.token });
    assert.deepEqual(byStatus.body.items.map((c: { id: string }) => c.id), [failed]);

    const old = await newContent(t.projectId, 'from last year');
    await api.ctx.sequelize.query(`UPDATE contents SET created_at = '2025-03-01T12:00:00.123456Z' WHERE id = :old`, { replacements: { old } });
    const range = await api.request('GET', `/contents?created_from=2025-03-01T00:00:00Z&created_to=2025-03-02T00:00:00Z`, { token: t.as.viewer.token });
    assert.deepEqual(range.body.items.map((c: { id: string }) => c.id), [old]);
    const upTo = await api.request('GET', `/contents?created_to=2025-03-01T12:00:00.123Z&project_id=${t.projectId}`, { token: t.as.viewer.token });
    assert.deepEqual(upTo.body.items, [], 'created_to is exclusive');

    const bad: [string, string[]][] = [
      ['status=archived', ['query.status']],
      ['limit=0', ['query.limit']],
      ['limit=101', ['query.limit']],
      ['limit=ten', ['query.limit']],
      ['project_id=123', ['query.project_id']],
      ['created_from=yesterday', ['query.created_from']],
      ['created_from=2025-03-02T00:00:00Z&created_to=2025-03-01T00:00:00Z', ['query.created_to']],
      ['cursor=not-a-cursor', ['query.cursor']],
      [`cursor=${Buffer.from('["2025-01-01", "x"]').toString('base64url')}`, ['query.cursor']],
      [`cursor=${'a'.repeat(201)}`, ['query.cursor']],
      ['sort=title', ['query.sort']],
      ['status=draft&status=failed', ['query.status']],
    ];
    for (const [query, fields] of bad) {
      const res = await api.request('GET', `/contents?${query}`, { token: t.as.viewer.token });
      assert.equal(res.status, 400, `${query}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, query);
    }
    assert.equal((await api.request('GET', `/contents?project_id=${randomUUID()}`, { token: t.as.viewer.token })).status, 404);
  });

  it('pages newest first without duplicates or gaps while contents are being added', async () => {
    const { Content, Project } = api.ctx.models;
    const project = await Project.create({ user_id: t.as.admin.userId, name: 'Paging', vertical: 'finance' } as never);
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) ids.push(await newContent(project.id, `item ${i}`));
    // Two rows in the same microsecond: the id breaks the tie.
    const [a, b] = ids.slice(5, 7) as [string, string];
    await api.ctx.sequelize.query(`UPDATE contents SET created_at = (SELECT created_at FROM contents WHERE id = :a) WHERE id = :b`, { replacements: { a, b } });
    const expected = (await Content.findAll({ where: { project_id: project.id }, order: [['created_at', 'DESC'], ['id', 'DESC']] })).map((c) => c.id);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res: ApiResponse = await api.request('GET', `/contents?project_id=${project.id}&limit=5${cursor ? `&cursor=${cursor}` : ''}`, { token: t.as.admin.token });
      assert.equal(res.status, 200, res.text);
      seen.push(...res.body.items.map((c: { id: string }) => c.id));
      cursor = res.body.next_cursor;
      pages++;
      await newContent(project.id, `added during page ${pages}`);
    } while (cursor);
    assert.equal(pages, 5);
    assert.deepEqual(seen, expected);
    const first = await api.request('GET', `/contents?project_id=${project.id}&limit=3`, { token: t.as.admin.token });
    assert.deepEqual(first.body.items.map((c: { title: string }) => c.title), ['added during page 5', 'added during page 4', 'added during page 3'], 'newest first');
  });
});
