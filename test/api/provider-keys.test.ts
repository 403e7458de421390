import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { ProvidersFor } from '../../activities/providers-for';
import { createProviders } from '../../providers';
import { loadConfig } from '../../lib/config';
import { SecretBox } from '../../lib/secrets';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createPeople, type People } from '../support/tenants';
import { startFakeElevenLabs } from '../fakes/elevenlabs-server';
import { scratchDir } from '../support/scratch-dir';

/** Issue 14: an organization's own provider keys — stored sealed, never returned, used for its contents. */
describe('provider keys per organization', () => {
  let api: ApiHarness;
  let people: People;
  const dir = scratchDir('provider-keys-');
  const orgKey = `org-key-${randomBytes(8).toString('hex')}`;

  before(async () => {
    api = await createApiHarness();
    people = await createPeople(api);
    api.secrets.add(orgKey);
  });
  after(async () => {
    api?.assertNoLeaks();
    await api?.close();
  });

  const path = (provider?: string, orgId = people.orgId) => `/organizations/${orgId}/provider-keys${provider ? `/${provider}` : ''}`;

  it('an admin stores, lists and removes a key; only its hint comes back; it is stored sealed', async () => {
    const put = await api.request('PUT', path('elevenlabs'), { token: people.as.admin.token, body: { key: orgKey } });
    assert.equal(put.status, 200, put.text);
    assert.deepEqual(Object.keys(put.body).sort(), ['key_hint', 'provider', 'updated_at']);
    assert.equal(put.body.key_hint, orgKey.slice(-4));

    const list = await api.request('GET', path(), { token: people.as.owner.token });
    assert.equal(list.status, 200, list.text);
    assert.deepEqual(list.body.items.map((i: { provider: string; key_hint: string }) => [i.provider, i.key_hint]), [['elevenlabs', orgKey.slice(-4)]]);

    const row = await api.ctx.models.OrganizationProviderKey.findOne({ where: { organization_id: people.orgId, provider: 'elevenlabs' } });
    assert.ok(row);
    assert.ok(SecretBox.isSealed(row.sealed_key) && !row.sealed_key.includes(orgKey));
    assert.equal(JSON.stringify(row).includes('v1.'), false, 'no serialisation carries the ciphertext');
    assert.deepEqual(await api.ctx.db.providerKeys.keysFor(people.orgId), { elevenlabs: orgKey });

    const replaced = await api.request('PUT', path('elevenlabs'), { token: people.as.owner.token, body: { key: `${orgKey}-2` } });
    assert.equal(replaced.status, 200, replaced.text);
    assert.equal(replaced.body.key_hint, '-2'.padStart(4, orgKey.slice(-2)));
    api.secrets.add(`${orgKey}-2`);

    assert.equal((await api.request('DELETE', path('elevenlabs'), { token: people.as.admin.token })).status, 204);
    assert.equal((await api.request('DELETE', path('elevenlabs'), { token: people.as.admin.token })).status, 404);
    assert.deepEqual((await api.request('GET', path(), { token: people.as.admin.token })).body.items, []);
  });

  it('an editor is refused (403), an outsider finds nothing (404), an unknown provider is not found (404, as every malformed path parameter)', async () => {
    for (const [method, p] of [['PUT', path('gemini')], ['GET', path()], ['DELETE', path('gemini')]] as const) {
      const editor = await api.request(method, p, { token: people.as.editor.token, body: method === 'PUT' ? { key: orgKey } : undefined });
      assert.equal(editor.status, 403, `${method} ${p} as editor: ${editor.text}`);
      const outsider = await api.request(method, p, { token: people.as.outsider.token, body: method === 'PUT' ? { key: orgKey } : undefined });
      assert.equal(outsider.status, 404, `${method} ${p} as outsider: ${outsider.text}`);
    }
    const unknown = await api.request('PUT', path('stability'), { token: people.as.admin.token, body: { key: orgKey } });
    assert.equal(unknown.status, 404, unknown.text);
    assert.equal(await api.ctx.models.OrganizationProviderKey.count({ where: { organization_id: people.orgId } }), 0);
  });

  it("an organization's productions speak with its ElevenLabs key; other owners with the platform's", async () => {
    const fake = await startFakeElevenLabs();
    try {
      // The fake accepts the platform key it was started with and the organization's key.
      const platformKey = fake.state.apiKey;
      const config = loadConfig({ ...process.env, TTS_PROVIDER: 'elevenlabs', ELEVENLABS_API_KEY: platformKey, ELEVENLABS_BASE_URL: fake.baseUrl });
      const platform = createProviders(config);
      const put = await api.request('PUT', path('elevenlabs'), { token: people.as.admin.token, body: { key: orgKey } });
      assert.equal(put.status, 200, put.text);
      await api.request('PUT', path('gemini'), { token: people.as.admin.token, body: { key: `${orgKey}-gemini` } });
      api.secrets.add(`${orgKey}-gemini`);

      const providersFor = new ProvidersFor(platform, config, {}, api.ctx.db.providerKeys);
      const own = await providersFor.forOrganization(people.orgId);
      assert.notEqual(own.providers.speech, platform.speech);
      assert.deepEqual([...own.services], ['elevenlabs'], 'gemini is not the deployment’s choice: its key is not used');
      assert.equal((await providersFor.forOrganization(people.orgId)).providers, own.providers, 'built once per organization and key set');
      assert.equal((await providersFor.forOrganization(people.otherOrgId)).providers, platform);
      assert.equal((await providersFor.forOrganization(null)).providers, platform);

      const keysSeen = () => fake.state.requests.map((r) => r.headers['xi-api-key']);
      fake.state.requests.length = 0;
      await own.providers.speech.synthesize({ language: 'en', segments: ['Hello there.'], outDir: dir.path }).catch(() => undefined);
      assert.deepEqual(keysSeen().slice(0, 1), [orgKey]);
      fake.state.requests.length = 0;
      await platform.speech.synthesize({ language: 'en', segments: ['Hello there.'], outDir: dir.path }).catch(() => undefined);
      assert.deepEqual(keysSeen().slice(0, 1), [platformKey]);
    } finally {
      await fake.close();
    }
  });
});
