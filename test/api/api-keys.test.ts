import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { after, before, describe, it, type TestContext } from 'node:test';
import { issueAccessToken } from '../../api/auth/tokens';
import { EMPTY_SCRIPT } from '../../db/models';
import { createApiHarness, type ApiHarness, type ApiResponse } from '../support/api';
import { createAccount, createPeople, createProject, subscribe, type Account, type People } from '../support/tenants';

/** Low enough to reach in a test, high enough for every other test's requests of one subject. */
const PER_SUBJECT = 30;

function assertError(res: ApiResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.deepEqual(Object.keys(res.body.error).sort().filter((k) => k !== 'details'), ['code', 'message', 'status']);
  assert.equal(res.body.error.status, status);
  assert.equal(res.body.error.code, code);
}

/** API keys (plan feature api_access): created once, used as Bearer, capped at their role and organization, revocable. */
describe('API keys', () => {
  let api: ApiHarness;
  let people: People;
  /** The answers that carry a key once, at its creation: the only ones allowed to. */
  const creations = new Set<string>();

  before(async () => {
    api = await createApiHarness({ API_RATE_LIMIT_PER_USER: String(PER_SUBJECT) });
    people = await createPeople(api, { plan: 'business' });
  });
  after(async () => {
    try {
      api.responses.splice(0, api.responses.length, ...api.responses.filter((r) => !creations.has(r.text)));
      api.assertNoLeaks();
    } finally {
      await api.close();
    }
  });

  /** A user of their own on `plan` (business has api_access). */
  async function userOn(plan: string | null): Promise<Account> {
    const account = await createAccount(api, 'key holder');
    if (plan) await subscribe(api, { user_id: account.userId }, plan);
    return account;
  }

  async function createKey(token: string, body: Record<string, unknown>): Promise<{ key: string; id: string; res: ApiResponse }> {
    const res = await api.request('POST', '/api-keys', { token, body });
    assert.equal(res.status, 201, res.text);
    creations.add(res.text);
    api.secrets.add(res.body.key.split('_').slice(2).join('_'));
    return { key: res.body.key, id: res.body.api_key.id, res };
  }

  it('creates a personal key: the key is answered once, stored as a SHA-256, and never listed', async () => {
    const user = await userOn('business');
    const { key, id, res } = await createKey(user.token, { name: 'ci', role: 'editor' });
    assert.match(key, /^ak_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(Object.keys(res.body.api_key).sort(), ['created_at', 'created_by', 'expires_at', 'id', 'last_used_at', 'name', 'organization_id', 'prefix', 'revoked_at', 'role', 'user_id']);
    assert.equal(res.body.api_key.user_id, user.userId);
    assert.equal(res.body.api_key.prefix, key.slice(3, 15));

    const row = (await api.ctx.models.ApiKey.findByPk(id))!;
    const secret = key.slice(16);
    assert.equal(row.secret_hash, createHash('sha256').update(secret).digest('hex'));
    assert.ok(!JSON.stringify(row).includes(row.secret_hash), 'the hash is left out of serialisations');

    const list = await api.request('GET', '/api-keys', { token: user.token });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.items.map((k: { id: string }) => k.id), [id]);
    assert.ok(!list.text.includes(secret) && !list.text.includes(row.secret_hash));
  });

  it('is accepted as Bearer on a read route, and last_used_at is recorded', async () => {
    const user = await userOn('business');
    const projectId = await createProject(api, { user_id: user.userId }, 'mine');
    const { key, id } = await createKey(user.token, { name: 'reader', role: 'viewer' });
    const res = await api.request('GET', `/projects/${projectId}`, { token: key });
    assert.equal(res.status, 200, res.text);
    assert.equal((await api.request('GET', '/projects', { token: key })).body.items.length, 1);
    const row = (await api.ctx.models.ApiKey.findByPk(id))!;
    assert.ok(row.last_used_at instanceof Date, 'last_used_at set');
    const listed = await api.request('GET', '/api-keys', { token: user.token });
    assert.ok(listed.body.items[0].last_used_at);
  });

  it('answers 401 in the one error shape for a revoked, an expired, an unknown or a malformed key', async () => {
    const user = await userOn('business');
    const revoked = await createKey(user.token, { name: 'to revoke', role: 'viewer' });
    assert.equal((await api.request('GET', '/projects', { token: revoked.key })).status, 200);
    assert.equal((await api.request('DELETE', `/api-keys/${revoked.id}`, { token: user.token })).status, 204);
    assertError(await api.request('GET', '/projects', { token: revoked.key }), 401, 'unauthenticated');
    const listed = await api.request('GET', '/api-keys', { token: user.token });
    assert.ok(listed.body.items.find((k: { id: string }) => k.id === revoked.id).revoked_at);

    const expiring = await createKey(user.token, { name: 'short', role: 'viewer', expires_at: new Date(Date.now() + 3_600_000).toISOString() });
    assert.equal((await api.request('GET', '/projects', { token: expiring.key })).status, 200);
    await api.ctx.models.ApiKey.update({ expires_at: new Date(Date.now() - 1000) }, { where: { id: expiring.id } });
    assertError(await api.request('GET', '/projects', { token: expiring.key }), 401, 'unauthenticated');

    const unknown = `ak_${randomBytes(6).toString('hex')}_${randomBytes(32).toString('base64url')}`;
    assertError(await api.request('GET', '/projects', { token: unknown }), 401, 'unauthenticated');
    const wrongSecret = `${revoked.key.slice(0, 16)}${randomBytes(32).toString('base64url')}`;
    assertError(await api.request('GET', '/projects', { token: wrongSecret }), 401, 'unauthenticated');
    assertError(await api.request('GET', '/projects', { token: 'ak_nope' }), 401, 'unauthenticated');
    assertError(await api.request('POST', '/api-keys', { body: { name: 'x', role: 'viewer', expires_at: '2001-01-01T00:00:00Z' }, token: user.token }), 400, 'validation_failed');
  });

  it("caps a key's role: no key above the creator's role, and a viewer key cannot create a project", async () => {
    const editor = people.as.editor;
    const refused = await api.request('POST', '/api-keys', { token: editor.token, body: { name: 'too high', role: 'admin', organization_id: people.orgId } });
    assertError(refused, 403, 'forbidden');
    await createKey(editor.token, { name: 'fine', role: 'editor', organization_id: people.orgId });
    assertError(await api.request('GET', `/api-keys?organization_id=${people.orgId}`, { token: editor.token }), 403, 'forbidden');
    const listed = await api.request('GET', `/api-keys?organization_id=${people.orgId}`, { token: people.as.admin.token });
    assert.equal(listed.status, 200);
    assert.ok(listed.body.items.length >= 1);

    const user = await userOn('business');
    const viewerKey = await createKey(user.token, { name: 'viewer', role: 'viewer' });
    assertError(await api.request('POST', '/projects', { token: viewerKey.key, body: { name: 'nope', vertical: 'tech' } }), 403, 'forbidden');
    const editorKey = await createKey(user.token, { name: 'editor', role: 'editor' });
    assert.equal((await api.request('POST', '/projects', { token: editorKey.key, body: { name: 'yes', vertical: 'tech' } })).status, 201);
    // A key manages no keys: a long-lived credential cannot mint another.
    assertError(await api.request('POST', '/api-keys', { token: editorKey.key, body: { name: 'minted', role: 'viewer' } }), 403, 'forbidden');
    assertError(await api.request('GET', '/api-keys', { token: editorKey.key }), 403, 'forbidden');
  });

  it("limits an organization's key to that organization, at the key's role", async () => {
    const owner = people.as.owner;
    // The same owner also runs a second organization and has personal projects.
    const { Organization, OrganizationMember } = api.ctx.models;
    const second = await Organization.create({ name: 'second', slug: `second-${randomBytes(4).toString('hex')}`, logo_url: null, custom_domain: null });
    await OrganizationMember.create({ organization_id: second.id, user_id: owner.userId, role: 'owner', invited_by: null });
    const secondProject = await createProject(api, { organization_id: second.id }, 'elsewhere');
    const personalProject = await createProject(api, { user_id: owner.userId }, 'personal');
    const orgProject = await createProject(api, { organization_id: people.orgId }, 'ours');

    const { key } = await createKey(owner.token, { name: 'org editor', role: 'editor', organization_id: people.orgId });
    assert.equal((await api.request('GET', `/projects/${orgProject}`, { token: key })).status, 200);
    assert.equal((await api.request('GET', `/projects?organization_id=${people.orgId}`, { token: key })).status, 200);
    assert.equal((await api.request('POST', '/projects', { token: key, body: { name: 'by key', vertical: 'tech', organization_id: people.orgId } })).status, 201);
    assertError(await api.request('GET', `/projects/${secondProject}`, { token: key }), 404, 'not_found');
    assertError(await api.request('GET', `/projects/${personalProject}`, { token: key }), 404, 'not_found');
    assertError(await api.request('GET', `/projects?organization_id=${second.id}`, { token: key }), 404, 'not_found');
    assertError(await api.request('POST', '/projects', { token: key, body: { name: 'personal', vertical: 'tech' } }), 403, 'forbidden');
    // Its role, not its creator's: an editor key cannot delete the organization's project (admin).
    assertError(await api.request('DELETE', `/projects/${orgProject}`, { token: key }), 403, 'forbidden');
    // Its organization's own routes, within its role.
    assert.equal((await api.request('GET', `/organizations/${people.orgId}`, { token: key })).status, 200);
    assertError(await api.request('GET', `/organizations/${second.id}`, { token: key }), 404, 'not_found');
    // Lists and reads of contents: only its organization's, though its creator sees the others.
    const content = async (projectId: string) =>
      (await api.ctx.models.Content.create({ project_id: projectId, title: 'c', script: EMPTY_SCRIPT, source_type: 'manual' } as never)).id;
    const [ours, elsewhere, personal] = [await content(orgProject), await content(secondProject), await content(personalProject)];
    assert.equal((await api.request('GET', `/contents/${ours}`, { token: key })).status, 200);
    assertError(await api.request('GET', `/contents/${elsewhere}`, { token: key }), 404, 'not_found');
    assertError(await api.request('GET', `/contents/${personal}`, { token: key }), 404, 'not_found');
    assert.equal((await api.request('GET', `/contents/${elsewhere}`, { token: owner.token })).status, 200, 'the creator reads it');
    const listed = await api.request('GET', '/contents?limit=100', { token: key });
    assert.equal(listed.status, 200, listed.text);
    const ids = (listed.body.items as { id: string }[]).map((item) => item.id);
    assert.ok(ids.includes(ours) && !ids.includes(elsewhere) && !ids.includes(personal), JSON.stringify(ids));
    const projects = await api.request('GET', '/projects?limit=100', { token: key });
    assert.deepEqual(new Set((projects.body.items as { organization_id: string | null }[]).map((p) => p.organization_id)), new Set([people.orgId]));
  });

  it('refuses a key to an owner whose plan lacks api_access (403 plan_feature)', async () => {
    for (const plan of ['pro', null]) {
      const user = await userOn(plan);
      const res = await api.request('POST', '/api-keys', { token: user.token, body: { name: 'no', role: 'viewer' } });
      assertError(res, 403, 'plan_feature');
      assert.equal(res.body.error.details.feature, 'api_access');
    }
    const { Organization, OrganizationMember } = api.ctx.models;
    const org = await Organization.create({ name: 'pro org', slug: `pro-${randomBytes(4).toString('hex')}`, logo_url: null, custom_domain: null });
    const owner = await userOn('business');
    await OrganizationMember.create({ organization_id: org.id, user_id: owner.userId, role: 'owner', invited_by: null });
    await subscribe(api, { organization_id: org.id }, 'pro');
    assertError(await api.request('POST', '/api-keys', { token: owner.token, body: { name: 'no', role: 'viewer', organization_id: org.id } }), 403, 'plan_feature');
  });

  it('revokes: a personal key by its user only; an organization key by its creator or an admin', async () => {
    const user = await userOn('business');
    const { id } = await createKey(user.token, { name: 'mine', role: 'viewer' });
    assertError(await api.request('DELETE', `/api-keys/${id}`, { token: people.as.outsider.token }), 404, 'not_found');
    const orgKey = await createKey(people.as.editor.token, { name: 'editor key', role: 'viewer', organization_id: people.orgId });
    assertError(await api.request('DELETE', `/api-keys/${orgKey.id}`, { token: people.as.viewer.token }), 403, 'forbidden');
    assertError(await api.request('DELETE', `/api-keys/${orgKey.id}`, { token: people.as.other.token }), 404, 'not_found');
    assert.equal((await api.request('DELETE', `/api-keys/${orgKey.id}`, { token: people.as.admin.token })).status, 204);
    assertError(await api.request('GET', `/projects?organization_id=${people.orgId}`, { token: orgKey.key }), 401, 'unauthenticated');
  });

  it("rate-limits per key: a key's requests count under the key, not its user", async (t: TestContext) => {
    const user = await userOn('business');
    const { key } = await createKey(user.token, { name: 'busy', role: 'viewer' });
    const minute = Math.floor(Date.now() / 60_000) + 100_000 + randomInt(1_000_000);
    t.mock.timers.enable({ apis: ['Date'], now: minute * 60_000 + 15_250 });
    for (let i = 1; i <= PER_SUBJECT; i++) assert.equal((await api.request('GET', '/projects', { token: key })).status, 200, `request ${i}`);
    const limited = await api.request('GET', '/projects', { token: key });
    assertError(limited, 429, 'rate_limited');
    assert.equal(limited.headers.get('retry-after'), '45');
    // An access token issued on the frozen clock (the user's first one expired long before it).
    const { tokenSecret, accessTokenTtlSec } = api.ctx.config.auth;
    const token = issueAccessToken(user.userId, tokenSecret, accessTokenTtlSec).token;
    assert.equal((await api.request('GET', '/projects', { token })).status, 200, "the user's own token is not limited by its key");
  });
});
