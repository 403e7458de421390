import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SYSTEM_TEMPLATES } from '../../db/seeds/reference-data';
import { createApiHarness, type ApiHarness, type ApiResponse } from '../support/api';
import { createPeople, rawRow, roleMatrix, type Account, type Actor } from '../support/tenants';

describe('template routes', () => {
  let api: ApiHarness;
  let orgId: string;
  let otherOrgId: string;
  let as: Record<Actor, Account>;
  const data = SYSTEM_TEMPLATES[0]!.template_data;
  const systemId = SYSTEM_TEMPLATES[0]!.id;

  before(async () => {
    api = await createApiHarness();
    ({ orgId, otherOrgId, as } = await createPeople(api, { plan: 'starter' }));
  });
  after(async () => {
    try {
      api.assertNoLeaks();
    } finally {
      await api.close();
    }
  });

  const create = async (member: Account, organization_id?: string, overrides: Record<string, unknown> = {}): Promise<string> => {
    const res = await api.request('POST', '/templates', { token: member.token, body: { name: 'Custom', content_format: 'short', template_data: data, organization_id, ...overrides } });
    assert.equal(res.status, 201, res.text);
    return res.body.template.id;
  };
  const ids = (res: ApiResponse): string[] => res.body.items.map((t: { id: string }) => t.id);

  it('creates, reads, changes and deletes a custom template; every seeded layout is a valid template_data', async () => {
    const me = await api.register('designer');
    const created = await api.request('POST', '/templates', {
      token: me.token,
      body: { name: '내 템플릿', description: '노란 자막', vertical: 'finance', content_format: 'short', thumbnail_url: 'https://cdn.example.com/t.png', template_data: data },
    });
    assert.equal(created.status, 201, created.text);
    const template = created.body.template;
    assert.equal(template.template_type, 'custom');
    assert.equal(template.is_system, false);
    assert.equal(template.user_id, me.userId);
    assert.equal(template.is_premium, false);
    assert.deepEqual(template.template_data, data);

    assert.deepEqual((await api.request('GET', `/templates/${template.id}`, { token: me.token })).body.template, template);
    const yellow = { ...data, colors: { ...data.colors, text: '#FFD400' } };
    const changed = await api.request('PATCH', `/templates/${template.id}`, { token: me.token, body: { name: 'Yellow', template_data: yellow, is_active: false } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.body.template.name, 'Yellow');
    assert.deepEqual(changed.body.template.template_data, yellow);
    assert.equal(changed.body.template.is_active, false);
    assert.equal((await api.request('DELETE', `/templates/${template.id}`, { token: me.token })).status, 204);
    assert.equal((await api.request('GET', `/templates/${template.id}`, { token: me.token })).status, 404);

    for (const seeded of SYSTEM_TEMPLATES) await create(me, undefined, { template_data: seeded.template_data, content_format: seeded.content_format });
  });

  it('lists active system templates, the user’s own and their organizations’ custom ones, filtered by format and vertical', async () => {
    const mine = await create(as.viewer, undefined, { vertical: 'finance' });
    const orgs = await create(as.editor, orgId, { content_format: 'long' });
    const strangers = await create(as.outsider);
    const rivals = await create(as.other, otherOrgId);
    const retired = SYSTEM_TEMPLATES[2]!.id;
    await api.ctx.models.Template.update({ is_active: false }, { where: { id: retired } });

    const listed = await api.request('GET', '/templates', { token: as.viewer.token });
    assert.equal(listed.status, 200);
    const visible = ids(listed);
    for (const t of SYSTEM_TEMPLATES.filter((s) => s.id !== retired)) assert.ok(visible.includes(t.id), t.name);
    assert.ok(visible.includes(mine) && visible.includes(orgs));
    for (const hidden of [strangers, rivals, retired]) assert.ok(!visible.includes(hidden), hidden);

    const short = await api.request('GET', '/templates?format=short', { token: as.viewer.token });
    assert.ok(short.body.items.every((t: { content_format: string }) => t.content_format === 'short'));
    assert.ok(ids(short).includes(mine) && !ids(short).includes(orgs));
    const finance = await api.request('GET', '/templates?vertical=finance&format=short', { token: as.viewer.token });
    assert.ok(finance.body.items.every((t: { vertical: string }) => t.vertical === 'finance'));
    assert.ok(ids(finance).includes(mine) && ids(finance).includes(SYSTEM_TEMPLATES[1]!.id));
    for (const query of ['format=huge', 'vertical=crypto', 'type=system']) assert.equal((await api.request('GET', `/templates?${query}`, { token: as.viewer.token })).status, 400, query);
  });

  it('keeps system templates read-only for everyone (403 read_only), and readable by all', async () => {
    const before = await rawRow(api, 'templates', systemId);
    for (const actor of ['owner', 'outsider', 'other'] as const) {
      assert.equal((await api.request('GET', `/templates/${systemId}`, { token: as[actor].token })).status, 200);
      const patched = await api.request('PATCH', `/templates/${systemId}`, { token: as[actor].token, body: { name: 'mine now' } });
      const deleted = await api.request('DELETE', `/templates/${systemId}`, { token: as[actor].token });
      for (const res of [patched, deleted]) {
        assert.equal(res.status, 403, `${actor}: ${res.text}`);
        assert.equal(res.body.error.code, 'read_only');
      }
    }
    assert.deepEqual(await rawRow(api, 'templates', systemId), before);
  });

  it('lets editors and above write organization templates, viewers read them, and strangers see nothing', async () => {
    const count = () => api.ctx.models.Template.count({ where: { organization_id: orgId } });
    await roleMatrix(as, { owner: 201, admin: 201, editor: 201, viewer: 403, outsider: 404, other: 404 }, async () => orgId, count, (m) =>
      api.request('POST', '/templates', { token: m.token, body: { name: 'by role', template_data: data, organization_id: orgId } }),
    );
    const fresh = () => create(as.owner, orgId);
    const snapshot = (id: string) => rawRow(api, 'templates', id);
    await roleMatrix(as, { owner: 200, admin: 200, editor: 200, viewer: 403, outsider: 404, other: 404 }, fresh, snapshot, (m, id) =>
      api.request('PATCH', `/templates/${id}`, { token: m.token, body: { name: 'changed' } }),
    );
    await roleMatrix(as, { owner: 204, admin: 204, editor: 204, viewer: 403, outsider: 404, other: 404 }, fresh, snapshot, (m, id) =>
      api.request('DELETE', `/templates/${id}`, { token: m.token }),
    );
    await roleMatrix(as, { owner: 200, admin: 200, editor: 200, viewer: 200, outsider: 404, other: 404 }, fresh, snapshot, (m, id) =>
      api.request('GET', `/templates/${id}`, { token: m.token }),
    );
    const personal = await create(as.viewer);
    const before = await snapshot(personal);
    for (const actor of ['owner', 'admin', 'outsider', 'other'] as const) {
      for (const [method, body] of [['GET'], ['PATCH', { name: 'taken' }], ['DELETE']] as const) {
        assert.equal((await api.request(method, `/templates/${personal}`, { token: as[actor].token, body })).status, 404, `${actor} ${method}`);
      }
    }
    assert.deepEqual(await snapshot(personal), before);
  });

  it('isolates tenants: a second organization’s token gets 404 on every template id and changes nothing', async () => {
    const id = await create(as.owner, orgId);
    const before = await rawRow(api, 'templates', id);
    for (const [method, body] of [['GET'], ['PATCH', { name: 'stolen', template_data: data }], ['DELETE']] as const) {
      const res = await api.request(method, `/templates/${id}`, { token: as.other.token, body });
      assert.equal(res.status, 404, method);
      assert.equal(res.body.error.message, 'no such template');
    }
    const planted = await api.request('POST', '/templates', { token: as.other.token, body: { name: 'planted', template_data: data, organization_id: orgId } });
    assert.equal(planted.status, 404);
    assert.deepEqual(await rawRow(api, 'templates', id), before);
    assert.ok(!ids(await api.request('GET', '/templates', { token: as.other.token })).includes(id));
  });

  it('validates template_data against its shape and every other field, and stores odd strings verbatim', async () => {
    const me = await api.register('validator');
    const { elements, colors } = data;
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['missing', { template_data: undefined, name: undefined }, ['body.name', 'body.template_data']],
      ['resolution', { template_data: { ...data, resolution: '999x999' } }, ['body.template_data.resolution']],
      ['colours', { template_data: { ...data, colors: { ...colors, primary: 'red', text: '#GGGGGG' } } }, ['body.template_data.colors.primary', 'body.template_data.colors.text']],
      ['fonts', { template_data: { ...data, fonts: [] } }, ['body.template_data.fonts']],
      ['font names', { template_data: { ...data, fonts: ['', 'x'.repeat(101)] } }, ['body.template_data.fonts.0', 'body.template_data.fonts.1']],
      ['no body element', { template_data: { ...data, elements: { intro: elements.intro, outro: elements.outro } } }, ['body.template_data.elements.body']],
      [
        'out of range',
        { template_data: { ...data, duration: 0, elements: { ...elements, body: { ...elements.body, caption: { ...elements.body.caption, font_size: 1000, max_chars_per_line: 0, mode: 'flashy', highlight_color: 'gold' } } } } },
        [
          'body.template_data.duration',
          'body.template_data.elements.body.caption.font_size',
          'body.template_data.elements.body.caption.highlight_color',
          'body.template_data.elements.body.caption.max_chars_per_line',
          'body.template_data.elements.body.caption.mode',
        ],
      ],
      ['wrong types', { name: ['x'], is_active: 'yes', template_data: { ...data, duration: 'long' } }, ['body.is_active', 'body.name', 'body.template_data.duration']],
      ['unknown fields', { template_type: 'system', user_id: me.userId, template_data: { ...data, script: 'rm -rf' } }, ['body.template_data.script', 'body.template_type', 'body.user_id']],
      ['enums and url', { vertical: 'crypto', content_format: 'huge', thumbnail_url: 'javascript:alert(1)' }, ['body.content_format', 'body.thumbnail_url', 'body.vertical']],
      ['huge', { name: 'x'.repeat(101), description: 'y'.repeat(100_000) }, ['body.description', 'body.name']],
    ];
    for (const [label, overrides, fields] of cases) {
      const res = await api.request('POST', '/templates', { token: me.token, body: { name: 'T', template_data: data, ...overrides } });
      assert.equal(res.status, 400, `${label}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, label);
    }
    assert.equal(await api.ctx.models.Template.count({ where: { user_id: me.userId } }), 0);
    const id = await create(me);
    const empty = await api.request('PATCH', `/templates/${id}`, { token: me.token, body: {} });
    assert.equal(empty.status, 400);

    const odd = { name: "'; DROP TABLE templates; -- 🎞", description: '<script>document.cookie</script>', template_data: { ...data, fonts: ['나눔고딕 <b>', 'Noto Sans CJK KR'] } };
    const saved = await api.request('PATCH', `/templates/${id}`, { token: me.token, body: odd });
    assert.equal(saved.status, 200, saved.text);
    const got = await api.request('GET', `/templates/${id}`, { token: me.token });
    for (const key of ['name', 'description', 'template_data'] as const) assert.deepEqual(got.body.template[key], odd[key], key);
    assert.match(got.headers.get('content-type') ?? '', /^application\/json/);
  });
});
