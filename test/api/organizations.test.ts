import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ROLES } from '../../db/models';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createAccount, subscribe, type Account, type Actor as TenantActor } from '../support/tenants';

type Actor = Exclude<TenantActor, 'other'>;

const ACTORS: readonly Actor[] = [...ROLES, 'outsider'];

function uniqueSlug(): string {
  return `team-${randomBytes(5).toString('hex')}`;
}

describe('organization routes', () => {
  let api: ApiHarness;
  const people = {} as Record<Actor | 'extra' | 'newcomer' | 'stranger', Account>;

  before(async () => {
    api = await createApiHarness();
    for (const name of ['owner', 'admin', 'editor', 'viewer', 'outsider', 'extra', 'newcomer', 'stranger'] as const) people[name] = await createAccount(api, name);
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  async function createOrganization(token: string, body: Record<string, unknown> = {}): Promise<string> {
    const res = await api.request('POST', '/organizations', { token, body: { name: 'Team', slug: uniqueSlug(), ...body } });
    assert.equal(res.status, 201, res.text);
    // On Business (ten team seats), so the suites' members fit.
    await subscribe(api, { organization_id: res.body.organization.id }, 'business');
    return res.body.organization.id;
  }

  async function addMember(organizationId: string, who: Account, role: string, token = people.owner.token): Promise<void> {
    const res = await api.request('POST', `/organizations/${organizationId}/members`, { token, body: { email: who.email, role } });
    assert.equal(res.status, 201, res.text);
  }

  /** An organization of owner, admin, editor and viewer, plus `extra` as a viewer to act upon. */
  async function team(): Promise<string> {
    const id = await createOrganization(people.owner.token);
    await addMember(id, people.admin, 'admin');
    await addMember(id, people.editor, 'editor');
    await addMember(id, people.viewer, 'viewer');
    await addMember(id, people.extra, 'viewer');
    return id;
  }

  /** The organization's row and its members, as stored. */
  async function snapshot(id: string) {
    const { Organization, OrganizationMember } = api.ctx.models;
    return {
      organization: await Organization.findByPk(id, { raw: true }),
      members: await OrganizationMember.findAll({ where: { organization_id: id }, raw: true, order: [['user_id', 'ASC']] }),
    };
  }

  async function roleOf(organizationId: string, who: Account): Promise<string | undefined> {
    const member = await api.ctx.models.OrganizationMember.findOne({ where: { organization_id: organizationId, user_id: who.userId } });
    return member?.role;
  }

  it('creates an organization owned by its creator, lists and reads it with the role, renames it and deletes it', async () => {
    const slug = uniqueSlug();
    const created = await api.request('POST', '/organizations', {
      token: people.owner.token,
      body: { name: '오토클립 팀', slug, logo_url: 'https://cdn.example.com/logo.png', settings: { locale: 'ko' }, brand_colors: { primary: '#FF6B35' } },
    });
    assert.equal(created.status, 201, created.text);
    const org = created.body.organization;
    assert.deepEqual(
      { name: org.name, slug: org.slug, role: org.role, plan_type: org.plan_type, status: org.status, settings: org.settings, brand_colors: org.brand_colors },
      { name: '오토클립 팀', slug, role: 'owner', plan_type: 'starter', status: 'active', settings: { locale: 'ko' }, brand_colors: { primary: '#FF6B35' } },
    );
    const membership = await api.ctx.models.OrganizationMember.findOne({ where: { organization_id: org.id } });
    assert.equal(membership?.user_id, people.owner.userId);
    assert.equal(membership?.role, 'owner');
    assert.equal(membership?.invited_by, null);

    await subscribe(api, { organization_id: org.id }, 'pro');
    await addMember(org.id, people.viewer, 'viewer');
    const listed = await api.request('GET', '/organizations', { token: people.viewer.token });
    assert.equal(listed.status, 200);
    assert.deepEqual(
      listed.body.items.filter((o: { id: string }) => o.id === org.id).map((o: { role: string; slug: string }) => [o.slug, o.role]),
      [[slug, 'viewer']],
    );
    const outsiderList = await api.request('GET', '/organizations', { token: people.outsider.token });
    assert.ok(!outsiderList.body.items.some((o: { id: string }) => o.id === org.id));

    const read = await api.request('GET', `/organizations/${org.id}`, { token: people.viewer.token });
    assert.equal(read.status, 200);
    assert.equal(read.body.organization.role, 'viewer');
    assert.equal(read.body.organization.logo_url, 'https://cdn.example.com/logo.png');

    const renamed = await api.request('PATCH', `/organizations/${org.id}`, { token: people.owner.token, body: { name: 'Renamed', settings: { a: 1 }, logo_url: null } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.deepEqual([renamed.body.organization.name, renamed.body.organization.settings, renamed.body.organization.logo_url], ['Renamed', { a: 1 }, null]);
    assert.equal((await api.ctx.models.Organization.findByPk(org.id))?.name, 'Renamed');

    const deleted = await api.request('DELETE', `/organizations/${org.id}`, { token: people.owner.token });
    assert.equal(deleted.status, 204);
    const after = await snapshot(org.id);
    assert.equal(after.organization?.status, 'deleted');
    assert.deepEqual(after.members, []);
    assert.equal((await api.request('GET', `/organizations/${org.id}`, { token: people.owner.token })).status, 404);
    assert.equal((await api.request('GET', `/organizations/${org.id}/members`, { token: people.viewer.token })).status, 404);
  });

  it('adds members by email recording who invited them, lists them, changes roles and removes them', async () => {
    const id = await createOrganization(people.owner.token);
    await addMember(id, people.admin, 'admin');
    const added = await api.request('POST', `/organizations/${id}/members`, { token: people.admin.token, body: { email: people.editor.email.toUpperCase(), role: 'editor' } });
    assert.equal(added.status, 201, added.text);
    assert.deepEqual(
      { user_id: added.body.member.user_id, role: added.body.member.role, invited_by: added.body.member.invited_by, email: added.body.member.email, name: added.body.member.name },
      { user_id: people.editor.userId, role: 'editor', invited_by: people.admin.userId, email: people.editor.email, name: 'editor' },
    );

    const list = await api.request('GET', `/organizations/${id}/members`, { token: people.editor.token });
    assert.equal(list.status, 200);
    assert.deepEqual(
      list.body.items.map((m: { user_id: string; role: string }) => [m.user_id, m.role]),
      [
        [people.owner.userId, 'owner'],
        [people.admin.userId, 'admin'],
        [people.editor.userId, 'editor'],
      ],
    );

    const changed = await api.request('PATCH', `/organizations/${id}/members/${people.editor.userId}`, { token: people.admin.token, body: { role: 'viewer' } });
    assert.equal(changed.status, 200, changed.text);
    assert.equal(changed.body.member.role, 'viewer');
    assert.equal(await roleOf(id, people.editor), 'viewer');

    const removed = await api.request('DELETE', `/organizations/${id}/members/${people.editor.userId}`, { token: people.admin.token });
    assert.equal(removed.status, 204);
    assert.equal(await roleOf(id, people.editor), undefined);

    const again = await api.request('POST', `/organizations/${id}/members`, { token: people.owner.token, body: { email: people.admin.email, role: 'viewer' } });
    assert.equal(again.status, 409);
    assert.equal(await roleOf(id, people.admin), 'admin');
    const nobody = await api.request('POST', `/organizations/${id}/members`, { token: people.owner.token, body: { email: 'nobody@example.com', role: 'viewer' } });
    assert.equal(nobody.status, 404);
    assert.ok(nobody.body.error.details['body.email']);
  });

  it('adds members only up to the team seats of the organization’s plan (403 plan_limit), a starter one without a subscription', async () => {
    const created = await api.request('POST', '/organizations', { token: people.owner.token, body: { name: 'Solo', slug: uniqueSlug() } });
    assert.equal(created.status, 201, created.text);
    const id: string = created.body.organization.id;
    const before = await snapshot(id);
    const refused = await api.request('POST', `/organizations/${id}/members`, { token: people.owner.token, body: { email: people.viewer.email, role: 'viewer' } });
    assert.equal(refused.status, 403, refused.text);
    assert.deepEqual(refused.body.error.details, { limit: 'team_seats', allowed: '1', plan: 'starter' });
    assert.deepEqual(await snapshot(id), before);

    await subscribe(api, { organization_id: id }, 'pro');
    await addMember(id, people.admin, 'admin');
    await addMember(id, people.viewer, 'viewer');
    const full = await api.request('POST', `/organizations/${id}/members`, { token: people.owner.token, body: { email: people.extra.email, role: 'viewer' } });
    assert.equal(full.status, 403, full.text);
    assert.equal(full.body.error.code, 'plan_limit');
    const duplicate = await api.request('POST', `/organizations/${id}/members`, { token: people.owner.token, body: { email: people.viewer.email, role: 'viewer' } });
    assert.equal(duplicate.status, 409, 'a member already is a conflict, even with every seat taken');

    assert.equal((await api.request('DELETE', `/organizations/${id}/members/${people.viewer.userId}`, { token: people.owner.token })).status, 204);
    await addMember(id, people.extra, 'viewer');
  });

  it("takes an uploaded logo (owner only) and makes its URL the organization's logo_url; refuses a key that is not its logo upload", async () => {
    const id = await team();
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
    const presign = (token: string, body: unknown) => api.request('POST', `/organizations/${id}/logo`, { token, body });
    assert.equal((await presign(people.admin.token, { content_type: 'image/png', size_bytes: png.length })).status, 403);
    const refused = await presign(people.owner.token, { content_type: 'image/gif', size_bytes: 30 * 1024 * 1024 });
    assert.equal(refused.status, 400, refused.text);
    assert.deepEqual(Object.keys(refused.body.error.details).sort(), ['body.content_type', 'body.size_bytes']);

    const answer = await presign(people.owner.token, { content_type: 'image/png', size_bytes: png.length });
    assert.equal(answer.status, 201, answer.text);
    const key: string = answer.body.key;
    assert.match(key, new RegExp(`^orgs/${id}/logo/[0-9a-f-]{36}\\.png$`));
    const patch = (body: unknown) => api.request('PATCH', `/organizations/${id}`, { token: people.owner.token, body });
    const early = await patch({ logo_key: key });
    assert.equal(early.status, 400, early.text);
    assert.match(early.body.error.details['body.logo_key'], /PUT the file/);
    const put = await fetch(answer.body.upload_url, { method: 'PUT', body: new Uint8Array(png), headers: { 'content-type': 'image/png' } });
    assert.equal(put.status, 200, await put.text());

    const elsewhere = await patch({ logo_key: key.replace(`orgs/${id}/`, `orgs/${id}/projects/`) });
    assert.equal(elsewhere.status, 400, elsewhere.text);
    assert.match(elsewhere.body.error.details['body.logo_key'], /logo upload/);
    const both = await patch({ logo_key: key, logo_url: 'https://cdn.example.com/logo.png' });
    assert.equal(both.status, 400, both.text);
    assert.equal((await api.ctx.models.Organization.findByPk(id))!.logo_url, null, 'nothing changed by refused requests');

    const set = await patch({ logo_key: key });
    assert.equal(set.status, 200, set.text);
    assert.equal(set.body.organization.logo_url, api.ctx.db.objects.urlFor(key));
    assert.equal((await api.ctx.models.Organization.findByPk(id))!.logo_url, api.ctx.db.objects.urlFor(key));
  });

  it('keeps slugs to a-z, 0-9 and - (3 to 100) and unique', async () => {
    const slug = uniqueSlug();
    await createOrganization(people.owner.token, { slug });
    const dup = await api.request('POST', '/organizations', { token: people.outsider.token, body: { name: 'Other', slug } });
    assert.equal(dup.status, 409);
    assert.deepEqual(Object.keys(dup.body.error.details), ['body.slug']);
    for (const bad of ['ab', 'Upper-Case', 'under_score', 'spa ce', '한글슬러그', 'a'.repeat(101)]) {
      const res = await api.request('POST', '/organizations', { token: people.owner.token, body: { name: 'x', slug: bad } });
      assert.equal(res.status, 400, bad);
      assert.deepEqual(Object.keys(res.body.error.details), ['body.slug'], bad);
    }
    assert.equal(await api.ctx.models.Organization.count({ where: { slug: 'a'.repeat(101) } }), 0);
    const ok = await api.request('POST', '/organizations', { token: people.owner.token, body: { name: 'x', slug: `${'a'.repeat(90)}-${randomBytes(4).toString('hex')}` } });
    assert.equal(ok.status, 201, ok.text);

    const other = await createOrganization(people.owner.token);
    const before = await snapshot(other);
    const taken = await api.request('PATCH', `/organizations/${other}`, { token: people.owner.token, body: { slug } });
    assert.equal(taken.status, 409);
    assert.deepEqual(await snapshot(other), before);
  });

  describe('role × action: owner manages the organization, admins manage members, everyone else reads', () => {
    const actions: { name: string; expected: Record<Actor, number>; run: (id: string, token: string) => Promise<{ status: number }> }[] = [
      {
        name: 'PATCH /organizations/:id',
        expected: { owner: 200, admin: 403, editor: 403, viewer: 403, outsider: 404 },
        run: (id, token) => api.request('PATCH', `/organizations/${id}`, { token, body: { name: 'changed', brand_colors: { primary: '#000000' } } }),
      },
      {
        name: 'DELETE /organizations/:id',
        expected: { owner: 204, admin: 403, editor: 403, viewer: 403, outsider: 404 },
        run: (id, token) => api.request('DELETE', `/organizations/${id}`, { token }),
      },
      {
        name: 'POST /organizations/:id/members',
        expected: { owner: 201, admin: 201, editor: 403, viewer: 403, outsider: 404 },
        run: (id, token) => api.request('POST', `/organizations/${id}/members`, { token, body: { email: people.newcomer.email, role: 'editor' } }),
      },
      {
        name: 'PATCH /organizations/:id/members/:userId',
        expected: { owner: 200, admin: 200, editor: 403, viewer: 403, outsider: 404 },
        run: (id, token) => api.request('PATCH', `/organizations/${id}/members/${people.extra.userId}`, { token, body: { role: 'editor' } }),
      },
      {
        name: 'DELETE /organizations/:id/members/:userId',
        expected: { owner: 204, admin: 204, editor: 403, viewer: 403, outsider: 404 },
        run: (id, token) => api.request('DELETE', `/organizations/${id}/members/${people.extra.userId}`, { token }),
      },
    ];
    for (const action of actions) {
      it(action.name, async () => {
        for (const actor of ACTORS) {
          const id = await team();
          const before = await snapshot(id);
          const res = await action.run(id, people[actor].token);
          assert.equal(res.status, action.expected[actor], `${actor}: ${action.name}`);
          const after = await snapshot(id);
          if (res.status >= 400) assert.deepEqual(after, before, `${actor}: a refused ${action.name} changed nothing`);
          else assert.notDeepEqual(after, before, `${actor}: ${action.name} changed something`);
        }
      });
    }
  });

  it('lets only an owner grant, change or remove an owner, and never removes the last owner', async () => {
    const id = await team();
    const grant = await api.request('POST', `/organizations/${id}/members`, { token: people.admin.token, body: { email: people.newcomer.email, role: 'owner' } });
    assert.equal(grant.status, 403);
    assert.equal(await roleOf(id, people.newcomer), undefined);
    const promote = await api.request('PATCH', `/organizations/${id}/members/${people.extra.userId}`, { token: people.admin.token, body: { role: 'owner' } });
    assert.equal(promote.status, 403);
    const demoteOwner = await api.request('PATCH', `/organizations/${id}/members/${people.owner.userId}`, { token: people.admin.token, body: { role: 'viewer' } });
    assert.equal(demoteOwner.status, 403);
    const removeOwner = await api.request('DELETE', `/organizations/${id}/members/${people.owner.userId}`, { token: people.admin.token });
    assert.equal(removeOwner.status, 403);
    assert.equal(await roleOf(id, people.owner), 'owner');

    const lastDemote = await api.request('PATCH', `/organizations/${id}/members/${people.owner.userId}`, { token: people.owner.token, body: { role: 'admin' } });
    assert.equal(lastDemote.status, 409);
    assert.equal(lastDemote.body.error.code, 'last_owner');
    const lastLeave = await api.request('DELETE', `/organizations/${id}/members/${people.owner.userId}`, { token: people.owner.token });
    assert.equal(lastLeave.status, 409);
    assert.equal(await roleOf(id, people.owner), 'owner');

    const owners = [people.owner, people.admin, people.editor, people.viewer, people.extra];
    for (const who of owners.slice(1)) {
      const promoted = await api.request('PATCH', `/organizations/${id}/members/${who.userId}`, { token: people.owner.token, body: { role: 'owner' } });
      assert.equal(promoted.status, 200, promoted.text);
    }
    // All owners leaving at once: the organization row lock lets all but one go.
    const leaving = await Promise.all(owners.map((who) => api.request('DELETE', `/organizations/${id}/members/${who.userId}`, { token: who.token })));
    assert.deepEqual(leaving.map((r) => r.status).sort(), [204, 204, 204, 204, 409]);
    assert.equal(await api.ctx.models.OrganizationMember.count({ where: { organization_id: id, role: 'owner' } }), 1);
  });

  it('lets any member leave, and an owner leave when another owner stays', async () => {
    const id = await team();
    assert.equal((await api.request('DELETE', `/organizations/${id}/members/${people.viewer.userId}`, { token: people.viewer.token })).status, 204);
    assert.equal(await roleOf(id, people.viewer), undefined);
    assert.equal((await api.request('PATCH', `/organizations/${id}/members/${people.admin.userId}`, { token: people.owner.token, body: { role: 'owner' } })).status, 200);
    assert.equal((await api.request('DELETE', `/organizations/${id}/members/${people.owner.userId}`, { token: people.owner.token })).status, 204);
    assert.equal(await roleOf(id, people.owner), undefined);
    const unknown = await api.request('DELETE', `/organizations/${id}/members/${people.newcomer.userId}`, { token: people.admin.token });
    assert.equal(unknown.status, 404);
  });

  it("answers 404 and changes nothing when another organization's owner uses this organization's ids", async () => {
    const id = await team();
    await createOrganization(people.stranger.token);
    const token = people.stranger.token;
    const attempts = [
      () => api.request('GET', `/organizations/${id}`, { token }),
      () => api.request('PATCH', `/organizations/${id}`, { token, body: { name: 'hijacked' } }),
      () => api.request('DELETE', `/organizations/${id}`, { token }),
      () => api.request('GET', `/organizations/${id}/members`, { token }),
      () => api.request('POST', `/organizations/${id}/members`, { token, body: { email: people.stranger.email, role: 'owner' } }),
      () => api.request('PATCH', `/organizations/${id}/members/${people.viewer.userId}`, { token, body: { role: 'admin' } }),
      () => api.request('PATCH', `/organizations/${id}/members/${people.stranger.userId}`, { token, body: { role: 'owner' } }),
      () => api.request('DELETE', `/organizations/${id}/members/${people.viewer.userId}`, { token }),
    ];
    const before = await snapshot(id);
    for (const attempt of attempts) {
      const res = await attempt();
      assert.equal(res.status, 404, res.text);
      assert.equal(res.body.error.code, 'not_found');
    }
    assert.deepEqual(await snapshot(id), before);
    const missing = '00000000-0000-4000-8000-000000000000';
    assert.equal((await api.request('GET', `/organizations/${missing}`, { token: people.owner.token })).status, 404);
    assert.equal((await api.request('GET', '/organizations/not-a-uuid', { token: people.owner.token })).status, 404);
    assert.equal((await api.request('GET', '/organizations')).status, 401);
  });

  it('answers invalid input with 400 naming every failing field', async () => {
    const empty = await api.request('POST', '/organizations', { token: people.owner.token, body: {} });
    assert.equal(empty.status, 400);
    assert.deepEqual(Object.keys(empty.body.error.details).sort(), ['body.name', 'body.slug']);

    const wrong = await api.request('POST', '/organizations', {
      token: people.owner.token,
      body: { name: 42, slug: uniqueSlug(), logo_url: 'javascript:alert(1)', settings: 'dark', brand_colors: { primary: 'red', tertiary: '#000000' }, plan_type: 'enterprise', extra: true },
    });
    assert.equal(wrong.status, 400);
    assert.deepEqual(Object.keys(wrong.body.error.details).sort(), [
      'body.brand_colors.primary',
      'body.brand_colors.tertiary',
      'body.extra',
      'body.logo_url',
      'body.name',
      'body.plan_type',
      'body.settings',
    ]);

    const huge = await api.request('POST', '/organizations', { token: people.owner.token, body: { name: '가'.repeat(101), slug: uniqueSlug(), settings: Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i])) } });
    assert.equal(huge.status, 400);
    assert.deepEqual(Object.keys(huge.body.error.details).sort(), ['body.name', 'body.settings']);
    const nul = await api.request('POST', '/organizations', { token: people.owner.token, body: { name: 'a\u0000b', slug: uniqueSlug(), settings: { k: 'x\u0000' } } });
    assert.equal(nul.status, 400);
    assert.deepEqual(Object.keys(nul.body.error.details).sort(), ['body.name', 'body.settings']);
    const tooBig = await api.request('POST', '/organizations', { token: people.owner.token, body: { name: 'x', slug: uniqueSlug(), settings: { blob: 'x'.repeat(300_000) } } });
    assert.equal(tooBig.status, 413);

    const id = await createOrganization(people.owner.token);
    const before = await snapshot(id);
    const noFields = await api.request('PATCH', `/organizations/${id}`, { token: people.owner.token, body: {} });
    assert.equal(noFields.status, 400);
    const blank = await api.request('PATCH', `/organizations/${id}`, { token: people.owner.token, body: { name: '   ', status: 'suspended' } });
    assert.equal(blank.status, 400);
    assert.deepEqual(Object.keys(blank.body.error.details).sort(), ['body.name', 'body.status']);
    const member = await api.request('POST', `/organizations/${id}/members`, { token: people.owner.token, body: { email: 'not-an-email', role: 'superuser' } });
    assert.equal(member.status, 400);
    assert.deepEqual(Object.keys(member.body.error.details).sort(), ['body.email', 'body.role']);
    const missingRole = await api.request('PATCH', `/organizations/${id}/members/${people.owner.userId}`, { token: people.owner.token, body: { role: 7 } });
    assert.equal(missingRole.status, 400);
    assert.deepEqual(Object.keys(missingRole.body.error.details), ['body.role']);
    assert.equal((await api.request('GET', `/organizations/${id}?x=1`, { token: people.owner.token })).status, 400);
    assert.deepEqual(await snapshot(id), before);
  });

  it('stores unicode, SQL-like and script-like text verbatim and returns it as JSON strings', async () => {
    const values = ['팀 🎬 Ünïcödé — 日本語', "'); DROP TABLE organizations; --", '<script>alert("x")</script>'];
    for (const name of values) {
      const res = await api.request('POST', '/organizations', { token: people.owner.token, body: { name, slug: uniqueSlug(), settings: { note: name, [name]: true } } });
      assert.equal(res.status, 201, res.text);
      assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(res.body.organization.name, name);
      assert.deepEqual(res.body.organization.settings, { note: name, [name]: true });
      const stored = await api.ctx.models.Organization.findByPk(res.body.organization.id);
      assert.equal(stored?.name, name);
      assert.deepEqual(stored?.settings, { note: name, [name]: true });
      const read = await api.request('GET', `/organizations/${res.body.organization.id}`, { token: people.owner.token });
      assert.equal(read.body.organization.name, name);
      // A JSON string under nosniff: no browser renders it as a document.
      assert.match(read.headers.get('content-type') ?? '', /^application\/json/);
      assert.equal(read.headers.get('x-content-type-options'), 'nosniff');
    }
  });
});
