import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { QueryTypes, type Transaction } from 'sequelize';
import type { HttpError } from '../../api/errors';
import { createWithinPlanLimit } from '../../api/limits';
import { SYSTEM_TEMPLATES } from '../../db/seeds/reference-data';
import { createApiHarness, type ApiHarness, type ApiResponse } from '../support/api';
import { createPeople, rawRow, roleMatrix, subscribe, type Account, type Actor } from '../support/tenants';

describe('project routes', () => {
  let api: ApiHarness;
  let orgId: string;
  let otherOrgId: string;
  let as: Record<Actor, Account>;

  before(async () => {
    api = await createApiHarness();
    ({ orgId, otherOrgId, as } = await createPeople(api, { plan: 'business' }));
  });
  after(async () => {
    try {
      api.assertNoLeaks();
    } finally {
      await api.close();
    }
  });

  const newOrgProject = async (name = 'Org project'): Promise<string> => {
    const res = await api.request('POST', '/projects', { token: as.owner.token, body: { name, vertical: 'finance', organization_id: orgId } });
    assert.equal(res.status, 201, res.text);
    return res.body.project.id;
  };

  it('creates, reads, lists, changes and deletes a personal project', async () => {
    const me = await api.register('creator');
    // A project's own voice needs a plan with custom_voices.
    await subscribe(api, { user_id: me.userId }, 'business');
    const created = await api.request('POST', '/projects', {
      token: me.token,
      body: {
        name: '시니어 건강 채널',
        description: '매일 아침 건강 팁',
        vertical: 'senior_health',
        sub_category: 'nutrition',
        content_format: 'short',
        language: 'ko',
        target_platforms: ['youtube_shorts', 'tiktok'],
        tone: 'casual',
        style_preset: { template_id: SYSTEM_TEMPLATES[0]!.id, voice: 'ko-KR-female' },
        is_auto_publish: true,
      },
    });
    assert.equal(created.status, 201, created.text);
    const project = created.body.project;
    assert.equal(project.user_id, me.userId);
    assert.equal(project.organization_id, null);
    assert.deepEqual(project.target_platforms, ['youtube_shorts', 'tiktok']);
    assert.equal(project.status, 'active');
    assert.deepEqual(Object.keys(project).sort(), [
      'content_format', 'created_at', 'description', 'id', 'is_auto_publish', 'language', 'name', 'organization_id',
      'status', 'style_preset', 'sub_category', 'target_platforms', 'tone', 'updated_at', 'user_id', 'vertical',
    ]);

    const minimal = await api.request('POST', '/projects', { token: me.token, body: { name: 'Defaults', vertical: 'tech' } });
    assert.equal(minimal.status, 201, minimal.text);
    assert.equal(minimal.body.project.content_format, 'short');
    assert.deepEqual(minimal.body.project.target_platforms, ['youtube_shorts']);
    assert.equal(minimal.body.project.tone, 'professional');

    const got = await api.request('GET', `/projects/${project.id}`, { token: me.token });
    assert.equal(got.status, 200);
    assert.deepEqual(got.body.project, project);

    const listed = await api.request('GET', '/projects', { token: me.token });
    assert.equal(listed.status, 200);
    assert.deepEqual(listed.body.items.map((p: { id: string }) => p.id), [minimal.body.project.id, project.id]);
    assert.equal(listed.body.next_cursor, null);

    const changed = await api.request('PATCH', `/projects/${project.id}`, { token: me.token, body: { name: 'Renamed', status: 'paused', target_platforms: ['youtube'] } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.body.project.name, 'Renamed');
    assert.equal(changed.body.project.status, 'paused');
    assert.equal(changed.body.project.description, '매일 아침 건강 팁');

    assert.equal((await api.request('DELETE', `/projects/${project.id}`, { token: me.token })).status, 204);
    assert.equal((await api.request('GET', `/projects/${project.id}`, { token: me.token })).status, 404);
    assert.equal(await rawRow(api, 'projects', project.id), null);
  });

  it('lists an organization’s projects for its members only, newest first with a cursor, filtered', async () => {
    const viewerList = await api.request('GET', `/projects?organization_id=${orgId}`, { token: as.viewer.token });
    assert.equal(viewerList.status, 200);
    for (const actor of ['outsider', 'other'] as const) {
      const res = await api.request('GET', `/projects?organization_id=${orgId}`, { token: as[actor].token });
      assert.equal(res.status, 404, actor);
    }

    const me = await api.register('pager');
    await subscribe(api, { user_id: me.userId }, 'business');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await api.request('POST', '/projects', { token: me.token, body: { name: `p${i}`, vertical: i % 2 ? 'finance' : 'tech' } });
      ids.push(res.body.project.id);
    }
    // Three rows in the same microsecond: the id must break the tie, or a page boundary loses rows.
    await api.ctx.sequelize.query(`UPDATE projects SET created_at = '2030-01-01T00:00:00.123456Z' WHERE id IN (:ids)`, { replacements: { ids: ids.slice(1, 4) } });
    const expected = (await api.ctx.sequelize.query<{ id: string }>('SELECT id FROM projects WHERE user_id = :u ORDER BY created_at DESC, id DESC', { replacements: { u: me.userId }, type: QueryTypes.SELECT })).map((r) => r.id);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: ApiResponse = await api.request('GET', `/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: me.token });
      assert.equal(page.status, 200, page.text);
      assert.ok(page.body.items.length <= 2);
      seen.push(...page.body.items.map((p: { id: string }) => p.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, expected);

    await api.request('PATCH', `/projects/${ids[0]}`, { token: me.token, body: { status: 'archived' } });
    const archived = await api.request('GET', '/projects?status=archived', { token: me.token });
    assert.deepEqual(archived.body.items.map((p: { id: string }) => p.id), [ids[0]]);
    const finance = await api.request('GET', '/projects?vertical=finance', { token: me.token });
    assert.deepEqual(finance.body.items.map((p: { id: string }) => p.id).sort(), [ids[1], ids[3]].sort());

    for (const query of ['limit=0', 'limit=101', 'limit=two', 'status=gone', 'vertical=crypto', 'cursor=not-a-cursor', 'organization_id=42', 'sort=name']) {
      const res = await api.request('GET', `/projects?${query}`, { token: me.token });
      assert.equal(res.status, 400, `${query}: ${res.text}`);
    }
  });

  it('enforces roles on every write: editor+ creates and edits, admin+ deletes, strangers get 404', async () => {
    const { Project } = api.ctx.models;
    const count = async () => Project.count({ where: { organization_id: orgId } });
    let n = 0;
    await roleMatrix(
      as,
      { owner: 201, admin: 201, editor: 201, viewer: 403, outsider: 404, other: 404 },
      async () => orgId,
      count,
      (m) => api.request('POST', '/projects', { token: m.token, body: { name: `by role ${n++}`, vertical: 'tech', organization_id: orgId } }),
    );
    const snapshot = (id: string) => rawRow(api, 'projects', id);
    await roleMatrix(as, { owner: 200, admin: 200, editor: 200, viewer: 403, outsider: 404, other: 404 }, () => newOrgProject(), snapshot, (m, id) =>
      api.request('PATCH', `/projects/${id}`, { token: m.token, body: { name: 'changed', tone: 'urgent' } }),
    );
    await roleMatrix(as, { owner: 204, admin: 204, editor: 403, viewer: 403, outsider: 404, other: 404 }, () => newOrgProject(), snapshot, (m, id) =>
      api.request('DELETE', `/projects/${id}`, { token: m.token }),
    );
    await roleMatrix(as, { owner: 200, admin: 200, editor: 200, viewer: 200, outsider: 404, other: 404 }, () => newOrgProject(), snapshot, (m, id) =>
      api.request('GET', `/projects/${id}`, { token: m.token }),
    );

    // A personal project belongs to its user alone, whatever roles others hold elsewhere.
    const personal = await api.request('POST', '/projects', { token: as.viewer.token, body: { name: 'mine', vertical: 'history' } });
    assert.equal(personal.status, 201);
    const id = personal.body.project.id;
    const before = await snapshot(id);
    for (const actor of ['owner', 'admin', 'outsider', 'other'] as const) {
      for (const [method, body] of [['GET'], ['PATCH', { name: 'taken' }], ['DELETE']] as const) {
        const res = await api.request(method, `/projects/${id}`, { token: as[actor].token, body });
        assert.equal(res.status, 404, `${actor} ${method}`);
      }
    }
    assert.deepEqual(await snapshot(id), before);
  });

  it('isolates tenants: a second organization’s token gets 404 on every id-bearing route and changes nothing', async () => {
    const id = await newOrgProject('isolated');
    const before = await rawRow(api, 'projects', id);
    const token = as.other.token;
    const attempts: [string, string, unknown?][] = [
      ['GET', `/projects/${id}`],
      ['PATCH', `/projects/${id}`, { name: 'stolen' }],
      ['DELETE', `/projects/${id}`],
      ['GET', `/projects?organization_id=${orgId}`],
      ['POST', '/projects', { name: 'planted', vertical: 'tech', organization_id: orgId }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await api.request(method, path, { token, body });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, 'not_found');
    }
    assert.deepEqual(await rawRow(api, 'projects', id), before);
    // The answer for another tenant's id is the answer for an id that does not exist.
    const missing = await api.request('GET', '/projects/00000000-0000-4000-8000-000000000000', { token });
    const foreign = await api.request('GET', `/projects/${id}`, { token });
    assert.deepEqual(foreign.body, missing.body);
    const ownOrg = await api.request('POST', '/projects', { token, body: { name: 'rival own', vertical: 'tech', organization_id: otherOrgId } });
    assert.equal(ownOrg.status, 201);
  });

  it('validates every field, names each failure, and stores odd strings verbatim', async () => {
    const me = await api.register('validator');
    const base = { name: 'P', vertical: 'finance' };
    const cases: [string, unknown, string[]][] = [
      ['missing', {}, ['body.name', 'body.vertical']],
      ['wrong types', { name: 42, vertical: 'finance', is_auto_publish: 'maybe', target_platforms: 'youtube', style_preset: [] }, ['body.is_auto_publish', 'body.name', 'body.style_preset', 'body.target_platforms']],
      ['out of range', { ...base, name: 'x'.repeat(101), target_platforms: [], sub_category: 'y'.repeat(51) }, ['body.name', 'body.sub_category', 'body.target_platforms']],
      ['not in the lists', { name: 'P', vertical: 'crypto', tone: 'angry', language: 'tlh', content_format: 'huge', target_platforms: ['myspace'] }, ['body.content_format', 'body.language', 'body.target_platforms.0', 'body.tone', 'body.vertical']],
      ['duplicate platforms', { ...base, target_platforms: ['youtube', 'youtube'] }, ['body.target_platforms.1']],
      ['unknown fields', { ...base, user_id: me.userId, status: 'active', owner: 'me' }, ['body.owner', 'body.status', 'body.user_id']],
      ['huge string', { ...base, description: 'x'.repeat(200_000) }, ['body.description']],
      ['blank name', { ...base, name: '   ' }, ['body.name']],
      ['bad ids', { ...base, organization_id: 'acme', style_preset: { template_id: 'classic' } }, ['body.organization_id', 'body.style_preset.template_id']],
      ['style_preset too large', { ...base, style_preset: { notes: 'x'.repeat(5000) } }, ['body.style_preset']],
    ];
    for (const [label, body, fields] of cases) {
      const res = await api.request('POST', '/projects', { token: me.token, body });
      assert.equal(res.status, 400, `${label}: ${res.text}`);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, label);
    }
    const nothing = await api.request('PATCH', `/projects/${await newOrgProject()}`, { token: as.owner.token, body: {} });
    assert.equal(nothing.status, 400);
    const moved = await api.request('PATCH', `/projects/${await newOrgProject()}`, { token: as.owner.token, body: { organization_id: otherOrgId } });
    assert.deepEqual(Object.keys(moved.body.error.details), ['body.organization_id']);
    assert.equal((await api.request('POST', '/projects', { token: me.token, rawBody: '{"name": "P",' })).status, 400);
    assert.equal((await api.request('POST', '/projects', { token: me.token, body: { ...base, description: 'x'.repeat(300_000) } })).status, 413);
    assert.equal((await api.request('GET', '/projects/not-a-uuid', { token: me.token })).status, 404);
    assert.equal((await api.request('GET', '/projects')).status, 401);
    assert.equal(await api.ctx.models.Project.count({ where: { user_id: me.userId } }), 0);

    const odd = {
      name: "x'); DROP TABLE projects; --",
      description: '<script>alert("owned")</script> & "quotes" \\ back\nslash',
      sub_category: '건강 🧓 ‮rtl',
      vertical: 'senior_health',
      style_preset: { caption: '<img src=x onerror=alert(1)>', nested: { '한글': ['✓', 1, null] } },
    };
    const created = await api.request('POST', '/projects', { token: me.token, body: odd });
    assert.equal(created.status, 201, created.text);
    const got = await api.request('GET', `/projects/${created.body.project.id}`, { token: me.token });
    for (const key of ['name', 'description', 'sub_category', 'style_preset'] as const) assert.deepEqual(got.body.project[key], odd[key], key);
    assert.match(got.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(got.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(!/<script|<img/i.test(got.text), 'markup comes back escaped inside JSON strings');
    const [stored] = await api.ctx.sequelize.query<{ name: string }>('SELECT name FROM projects WHERE id = :id', { replacements: { id: created.body.project.id }, type: QueryTypes.SELECT });
    assert.equal(stored?.name, odd.name);
  });

  it('takes style_preset.disclose_synthetic_media as a boolean only, naming the field otherwise', async () => {
    const me = await api.register('discloser');
    for (const value of ['yes', 'false', 1, null]) {
      const res = await api.request('POST', '/projects', { token: me.token, body: { name: 'AI', vertical: 'tech', style_preset: { disclose_synthetic_media: value } } });
      assert.equal(res.status, 400, `${JSON.stringify(value)}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details), ['body.style_preset.disclose_synthetic_media']);
    }
    const created = await api.request('POST', '/projects', { token: me.token, body: { name: 'AI', vertical: 'tech', style_preset: { disclose_synthetic_media: false } } });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.project.style_preset.disclose_synthetic_media, false);
    const id = created.body.project.id;
    const refused = await api.request('PATCH', `/projects/${id}`, { token: me.token, body: { style_preset: { disclose_synthetic_media: 'true' } } });
    assert.deepEqual(Object.keys(refused.body.error.details), ['body.style_preset.disclose_synthetic_media']);
    const patched = await api.request('PATCH', `/projects/${id}`, { token: me.token, body: { style_preset: { disclose_synthetic_media: true } } });
    assert.equal(patched.status, 200, patched.text);
    assert.equal((await api.ctx.models.Project.findByPk(id))?.style_preset.disclose_synthetic_media, true);
  });

  it("takes style_preset.providers as the project's own order of providers, among those the deployment can run", async () => {
    const me = await api.register('orderer');
    const created = await api.request('POST', '/projects', { token: me.token, body: { name: 'Ordered', vertical: 'tech', style_preset: { providers: { tts: ['local'], images: ['local'] } } } });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.body.project.style_preset.providers, { tts: ['local'], images: ['local'] });
    const id = created.body.project.id;
    const refusals: [unknown, string, RegExp?][] = [
      [{ tts: ['elevenlabs', 'local'] }, 'body.style_preset.providers.tts', /^elevenlabs is not configured on this deployment \(available: local\)$/],
      [{ images: ['dalle'] }, 'body.style_preset.providers.images.0'],
      [{ render: [] }, 'body.style_preset.providers.render'],
      [{ script: ['local', 'local'] }, 'body.style_preset.providers.script.1'],
      [{ music: ['local'] }, 'body.style_preset.providers.music'],
      [['local'], 'body.style_preset.providers'],
    ];
    for (const [providers, field, message] of refusals) {
      const res = await api.request('PATCH', `/projects/${id}`, { token: me.token, body: { style_preset: { providers } } });
      assert.equal(res.status, 400, `${JSON.stringify(providers)}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details), [field], res.text);
      if (message) assert.match(res.body.error.details[field], message);
    }
    assert.deepEqual((await api.ctx.models.Project.findByPk(id))?.style_preset.providers, { tts: ['local'], images: ['local'] });
  });

  it('lets style_preset.template_id name only a template the project’s owner may use', async () => {
    const me = await api.register('styler');
    const stranger = await api.register('stranger');
    const template = (owner: { user_id?: string; organization_id?: string }) =>
      api.ctx.models.Template.create({
        name: 'custom',
        description: null,
        thumbnail_url: null,
        template_type: 'custom',
        vertical: null,
        content_format: 'short',
        template_data: SYSTEM_TEMPLATES[0]!.template_data,
        user_id: owner.user_id ?? null,
        organization_id: owner.organization_id ?? null,
      });
    const mine = await template({ user_id: me.userId });
    const theirs = await template({ user_id: stranger.userId });
    const orgs = await template({ organization_id: orgId });
    const use = (token: string, templateId: string, organization_id?: string) =>
      api.request('POST', '/projects', { token, body: { name: 'styled', vertical: 'tech', organization_id, style_preset: { template_id: templateId } } });

    assert.equal((await use(me.token, mine.id)).status, 201);
    assert.equal((await use(me.token, SYSTEM_TEMPLATES[1]!.id)).status, 201);
    assert.equal((await use(as.editor.token, orgs.id, orgId)).status, 201);
    for (const [token, id, org] of [[me.token, theirs.id], [me.token, orgs.id], [as.editor.token, mine.id, orgId], [me.token, '00000000-0000-4000-8000-000000000000']] as const) {
      const res = await use(token, id, org);
      assert.equal(res.status, 400, res.text);
      assert.deepEqual(Object.keys(res.body.error.details), ['body.style_preset.template_id']);
    }
    const project = (await use(me.token, mine.id)).body.project;
    const swap = await api.request('PATCH', `/projects/${project.id}`, { token: me.token, body: { style_preset: { template_id: theirs.id } } });
    assert.equal(swap.status, 400);
    assert.equal((await api.request('GET', `/projects/${project.id}`, { token: me.token })).body.project.style_preset.template_id, mine.id);
  });

  it('enforces max_projects of the owner’s plan; no active subscription means the starter plan', async () => {
    const create = (token: string, organization_id?: string) => api.request('POST', '/projects', { token, body: { name: 'limited', vertical: 'tech', organization_id } });

    const starter = await api.register('starter');
    await subscribe(api, { user_id: starter.userId }, 'starter');
    for (let i = 0; i < 3; i++) assert.equal((await create(starter.token)).status, 201);
    const refused = await create(starter.token);
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'plan_limit');
    assert.equal(refused.body.error.details.limit, 'max_projects');
    assert.equal(refused.body.error.details.allowed, '3');
    assert.match(refused.body.error.message, /max_projects/);
    assert.equal(await api.ctx.models.Project.count({ where: { user_id: starter.userId } }), 3);

    // The organization's plan binds its projects, not the member's personal plan.
    const acmeBefore = await api.ctx.models.Project.count({ where: { organization_id: orgId } });
    await api.ctx.models.OrganizationMember.create({ organization_id: orgId, user_id: starter.userId, role: 'editor', invited_by: null });
    assert.equal((await create(starter.token, orgId)).status, 201);
    assert.equal(await api.ctx.models.Project.count({ where: { organization_id: orgId } }), acmeBefore + 1);

    // An upgrade lifts the limit at once; deleting a project frees a place.
    await subscribe(api, { user_id: starter.userId }, 'pro');
    assert.equal((await create(starter.token)).status, 201);

    const unsubscribed = await api.register('no plan');
    await subscribe(api, { user_id: unsubscribed.userId }, 'business', 'cancelled');
    const made = [];
    for (let i = 0; i < 3; i++) made.push((await create(unsubscribed.token)).body.project.id);
    assert.equal((await create(unsubscribed.token)).body.error.code, 'plan_limit');
    assert.equal((await api.request('DELETE', `/projects/${made[0]}`, { token: unsubscribed.token })).status, 204);
    assert.equal((await create(unsubscribed.token)).status, 201);
  });

  it('holds the limit under concurrent creates: the second waits for the first to commit, then counts', async () => {
    const racer = await api.register('racer');
    await subscribe(api, { user_id: racer.userId }, 'starter');
    const owner = { user_id: racer.userId, organization_id: null };
    const create = (transaction: Transaction) => api.ctx.models.Project.create({ ...owner, name: 'race', vertical: 'tech', description: null, sub_category: null }, { transaction });
    for (let i = 0; i < 2; i++) await createWithinPlanLimit(api.ctx, owner, 'max_projects', create);

    // The first create holds its transaction open until the second has had time to count.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = createWithinPlanLimit(api.ctx, owner, 'max_projects', async (t) => {
      await held;
      return create(t);
    });
    const second = createWithinPlanLimit(api.ctx, owner, 'max_projects', create);
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    const [a, b] = await Promise.allSettled([first, second]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    assert.equal(b.status === 'rejected' && (b.reason as HttpError).code, 'plan_limit');
    assert.equal(await api.ctx.models.Project.count({ where: { user_id: racer.userId } }), 3);
  });
});
