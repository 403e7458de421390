import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QueryTypes } from 'sequelize';
import { SUBSCRIPTION_PLANS } from '../../db/seeds/reference-data';
import { SecretBox } from '../../lib/secrets';
import { createApiHarness, type ApiHarness, type ApiResponse } from '../support/api';
import { createPeople, rawRow, roleMatrix, subscribe, type Account, type Actor } from '../support/tenants';

describe('channel routes', () => {
  let api: ApiHarness;
  let box: SecretBox;
  let orgId: string;
  let as: Record<Actor, Account>;
  let projectId: string;

  before(async () => {
    api = await createApiHarness();
    box = SecretBox.fromConfig(api.ctx.config.secrets);
    // A plan roomy enough that the role and isolation matrices never meet max_channels.
    await api.ctx.models.SubscriptionPlan.create({ code: 'roomy', name: 'Roomy', price_monthly: 0, price_yearly: null, monthly_credits: 0, max_channels: 1000, max_projects: 1000, features: SUBSCRIPTION_PLANS[0]!.features });
    ({ orgId, as } = await createPeople(api, { plan: 'roomy' }));
    projectId = await newProject(as.owner, orgId);
  });
  after(async () => {
    try {
      api.assertNoLeaks();
      // Sign-up answers carry the user's own session tokens; no other answer may name a token field.
      for (const r of api.responses.filter((res) => !res.path.startsWith('/auth/'))) assert.ok(!/"(access|refresh)_token"/.test(r.text), `${r.method} ${r.path} names a token field`);
    } finally {
      await api.close();
    }
  });

  const newProject = async (member: Account, organization_id?: string): Promise<string> => {
    const res = await api.request('POST', '/projects', { token: member.token, body: { name: 'Channels', vertical: 'finance', organization_id } });
    assert.equal(res.status, 201, res.text);
    return res.body.project.id;
  };

  /** A fresh plain token, planted so that assertNoLeaks fails if any response carries it. */
  const plainToken = (kind: string): string => {
    const token = `${kind}-${randomBytes(16).toString('hex')}`;
    api.secrets.add(token);
    return token;
  };

  const connectBody = (overrides: Record<string, unknown> = {}) => ({
    platform: 'youtube',
    channel_id: `UC${randomBytes(11).toString('hex')}`,
    channel_name: '머니 브리핑',
    channel_url: 'https://www.youtube.com/@money',
    access_token: plainToken('ya29'),
    refresh_token: plainToken('1//refresh'),
    token_expires_at: '2031-05-01T09:00:00.000Z',
    upload_settings: { default_visibility: 'private', auto_publish: false, schedule_time: '09:00', timezone: 'Asia/Seoul', made_for_kids: false },
    ...overrides,
  });

  const connect = async (member: Account, project: string, overrides: Record<string, unknown> = {}): Promise<string> => {
    const res = await api.request('POST', `/projects/${project}/channels`, { token: member.token, body: connectBody(overrides) });
    assert.equal(res.status, 201, res.text);
    return res.body.channel.id;
  };

  const sealed = async (id: string) => {
    const [row] = await api.ctx.sequelize.query<{ access_token: string | null; refresh_token: string | null }>('SELECT access_token, refresh_token FROM channels WHERE id = :id', {
      replacements: { id },
      type: QueryTypes.SELECT,
    });
    return row!;
  };

  it('connects a channel with sealed tokens, shows it without them, changes, disconnects and deletes it', async () => {
    const body = connectBody();
    const created = await api.request('POST', `/projects/${projectId}/channels`, { token: as.admin.token, body });
    assert.equal(created.status, 201, created.text);
    const channel = created.body.channel;
    assert.deepEqual(Object.keys(channel).sort(), [
      'channel_id', 'channel_name', 'channel_url', 'created_at', 'has_access_token', 'has_refresh_token', 'id', 'last_sync_at',
      'platform', 'project_id', 'status', 'status_reason', 'token_expires_at', 'updated_at', 'upload_settings',
    ]);
    assert.equal(channel.status, 'connected');
    assert.equal(channel.status_reason, null);
    assert.equal(channel.has_access_token, true);
    assert.equal(channel.has_refresh_token, true);
    assert.equal(channel.token_expires_at, body.token_expires_at);
    assert.deepEqual(channel.upload_settings, body.upload_settings);

    // At rest the columns hold SecretBox ciphertext bound to this row, never the plain token.
    const stored = await sealed(channel.id);
    assert.ok(SecretBox.isSealed(stored.access_token!) && SecretBox.isSealed(stored.refresh_token!));
    assert.ok(!stored.access_token!.includes(body.access_token) && !stored.refresh_token!.includes(body.refresh_token));
    const row = await api.ctx.models.Channel.findByPk(channel.id);
    assert.equal(row!.readAccessToken(box), body.access_token);
    assert.equal(row!.readRefreshToken(box), body.refresh_token);

    const listed = await api.request('GET', `/projects/${projectId}/channels`, { token: as.viewer.token });
    assert.equal(listed.status, 200);
    assert.ok(listed.body.items.some((c: { id: string }) => c.id === channel.id));
    const got = await api.request('GET', `/channels/${channel.id}`, { token: as.viewer.token });
    assert.deepEqual(got.body.channel, channel);

    const settings = { default_visibility: 'unlisted', timezone: 'America/New_York', schedule_time: '18:30' };
    const renamed = await api.request('PATCH', `/channels/${channel.id}`, { token: as.admin.token, body: { channel_name: 'Money Briefing', upload_settings: settings } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal(renamed.body.channel.channel_name, 'Money Briefing');
    assert.deepEqual(renamed.body.channel.upload_settings, settings, 'upload_settings are replaced, not merged');
    assert.deepEqual(await sealed(channel.id), stored, 'tokens untouched by a rename');

    const newAccess = plainToken('ya29-new');
    const rotated = await api.request('PATCH', `/channels/${channel.id}`, { token: as.owner.token, body: { access_token: newAccess, token_expires_at: '2032-01-01T00:00:00.000Z' } });
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal(rotated.body.channel.token_expires_at, '2032-01-01T00:00:00.000Z');
    const reloaded = await api.ctx.models.Channel.findByPk(channel.id);
    assert.equal(reloaded!.readAccessToken(box), newAccess);
    assert.equal(reloaded!.readRefreshToken(box), body.refresh_token, 'a new access token alone keeps the refresh token');

    const disconnected = await api.request('POST', `/channels/${channel.id}/disconnect`, { token: as.admin.token });
    assert.equal(disconnected.status, 200);
    assert.equal(disconnected.body.channel.status, 'disconnected');
    assert.equal(disconnected.body.channel.has_access_token, false);
    assert.equal(disconnected.body.channel.has_refresh_token, false);
    assert.deepEqual(await sealed(channel.id), { access_token: null, refresh_token: null });

    const reconnected = await api.request('PATCH', `/channels/${channel.id}`, { token: as.admin.token, body: { access_token: plainToken('ya29-again'), refresh_token: plainToken('1//again') } });
    assert.equal(reconnected.body.channel.status, 'connected');
    assert.equal(reconnected.body.channel.has_refresh_token, true);

    assert.equal((await api.request('DELETE', `/channels/${channel.id}`, { token: as.admin.token })).status, 204);
    assert.equal((await api.request('GET', `/channels/${channel.id}`, { token: as.admin.token })).status, 404);
  });

  it('refuses a second connection of the same platform channel to a project with 409', async () => {
    const body = connectBody();
    assert.equal((await api.request('POST', `/projects/${projectId}/channels`, { token: as.owner.token, body })).status, 201);
    const again = await api.request('POST', `/projects/${projectId}/channels`, { token: as.owner.token, body: { ...body, access_token: plainToken('ya29') } });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'conflict');
    assert.equal(await api.ctx.models.Channel.count({ where: { project_id: projectId, channel_id: body.channel_id } }), 1);
    const otherPlatform = await api.request('POST', `/projects/${projectId}/channels`, { token: as.owner.token, body: { ...body, platform: 'tiktok', access_token: plainToken('tt') } });
    assert.equal(otherPlatform.status, 201);
  });

  it('validates the connection, its upload settings and its changes, naming every failing field', async () => {
    const before = await api.ctx.models.Channel.count({ where: { project_id: projectId } });
    const cases: [string, Record<string, unknown>, string[]][] = [
      ['missing', { platform: undefined, channel_id: undefined, access_token: undefined }, ['body.access_token', 'body.channel_id', 'body.platform']],
      ['wrong types', { channel_id: 7, access_token: { token: 'x' }, token_expires_at: 'tomorrow' }, ['body.access_token', 'body.channel_id', 'body.token_expires_at']],
      ['bad enum and url', { platform: 'myspace', channel_url: 'javascript:alert(1)' }, ['body.channel_url', 'body.platform']],
      ['huge', { access_token: 'x'.repeat(5000), channel_name: '가'.repeat(256) }, ['body.access_token', 'body.channel_name']],
      ['unknown fields', { status: 'connected', sealed: true }, ['body.sealed', 'body.status']],
      [
        'upload settings',
        { upload_settings: { default_visibility: 'secret', auto_publish: 'sometimes', schedule_time: '24:00', timezone: 'Mars/Olympus_Mons', made_for_kids: 'no', color: 'red' } },
        ['body.upload_settings.auto_publish', 'body.upload_settings.color', 'body.upload_settings.default_visibility', 'body.upload_settings.made_for_kids', 'body.upload_settings.schedule_time', 'body.upload_settings.timezone'],
      ],
      ['schedule time without a leading zero', { upload_settings: { schedule_time: '9:00' } }, ['body.upload_settings.schedule_time']],
    ];
    for (const [label, overrides, fields] of cases) {
      const res = await api.request('POST', `/projects/${projectId}/channels`, { token: as.owner.token, body: connectBody(overrides) });
      assert.equal(res.status, 400, `${label}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, label);
    }
    assert.equal(await api.ctx.models.Channel.count({ where: { project_id: projectId } }), before);

    const id = await connect(as.owner, projectId);
    const row = await rawRow(api, 'channels', id);
    for (const [label, body, fields] of [
      ['empty', {}, ['body']],
      ['refresh token alone', { refresh_token: 'r' }, ['body.refresh_token']],
      ['expiry alone', { token_expires_at: '2031-01-01T00:00:00Z' }, ['body.token_expires_at']],
      ['fixed fields', { platform: 'tiktok', channel_id: 'other', project_id: projectId }, ['body.channel_id', 'body.platform', 'body.project_id']],
    ] as [string, unknown, string[]][]) {
      const res = await api.request('PATCH', `/channels/${id}`, { token: as.owner.token, body });
      assert.equal(res.status, 400, `${label}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, label);
    }
    assert.deepEqual(await rawRow(api, 'channels', id), row);

    const odd = { channel_name: "<script>alert('x')</script>'; DELETE FROM channels; -- 📺", upload_settings: { timezone: 'Asia/Kathmandu' } };
    const saved = await api.request('PATCH', `/channels/${id}`, { token: as.owner.token, body: odd });
    assert.equal(saved.status, 200);
    assert.equal((await api.request('GET', `/channels/${id}`, { token: as.viewer.token })).body.channel.channel_name, odd.channel_name);
  });

  it('lets only admins and owners connect, change, disconnect and delete; viewers read; strangers get 404', async () => {
    const count = () => api.ctx.models.Channel.count({ where: { project_id: projectId } });
    await roleMatrix(as, { owner: 201, admin: 201, editor: 403, viewer: 403, outsider: 404, other: 404 }, async () => projectId, count, (m) =>
      api.request('POST', `/projects/${projectId}/channels`, { token: m.token, body: connectBody() }),
    );
    const fresh = () => connect(as.owner, projectId);
    const snapshot = (id: string) => rawRow(api, 'channels', id);
    const writes: [string, (m: Account, id: string) => Promise<ApiResponse>, number][] = [
      ['PATCH', (m, id) => api.request('PATCH', `/channels/${id}`, { token: m.token, body: { channel_name: 'taken', access_token: plainToken('ya29') } }), 200],
      ['disconnect', (m, id) => api.request('POST', `/channels/${id}/disconnect`, { token: m.token }), 200],
      ['DELETE', (m, id) => api.request('DELETE', `/channels/${id}`, { token: m.token }), 204],
    ];
    for (const [, call, ok] of writes) {
      await roleMatrix(as, { owner: ok, admin: ok, editor: 403, viewer: 403, outsider: 404, other: 404 }, fresh, snapshot, call);
    }
    await roleMatrix(as, { owner: 200, admin: 200, editor: 200, viewer: 200, outsider: 404, other: 404 }, fresh, snapshot, (m, id) => api.request('GET', `/channels/${id}`, { token: m.token }));
    await roleMatrix(as, { owner: 200, admin: 200, editor: 200, viewer: 200, outsider: 404, other: 404 }, async () => projectId, count, (m) =>
      api.request('GET', `/projects/${projectId}/channels`, { token: m.token }),
    );
  });

  it('isolates tenants: a second organization’s token gets 404 on every channel route and changes nothing', async () => {
    const id = await connect(as.owner, projectId);
    const row = await rawRow(api, 'channels', id);
    const channels = await api.ctx.models.Channel.count();
    const token = as.other.token;
    for (const [method, path, body] of [
      ['GET', `/channels/${id}`],
      ['PATCH', `/channels/${id}`, { channel_name: 'stolen', access_token: plainToken('ya29') }],
      ['POST', `/channels/${id}/disconnect`],
      ['DELETE', `/channels/${id}`],
      ['GET', `/projects/${projectId}/channels`],
      ['POST', `/projects/${projectId}/channels`, connectBody()],
    ] as [string, string, unknown?][]) {
      const res = await api.request(method, path, { token, body });
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.message, path.startsWith('/channels') ? 'no such channel' : 'no such project');
    }
    assert.deepEqual(await rawRow(api, 'channels', id), row);
    assert.equal(await api.ctx.models.Channel.count(), channels);
  });

  it('enforces max_channels across all of the owner’s projects; deleting frees the place, disconnecting does not', async () => {
    const starter = await api.register('starter');
    await subscribe(api, { user_id: starter.userId }, 'starter');
    const [first, second] = [await newProject(starter), await newProject(starter)];
    const id = await connect(starter, first);
    const refused = await api.request('POST', `/projects/${second}/channels`, { token: starter.token, body: connectBody() });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'plan_limit');
    assert.equal(refused.body.error.details.limit, 'max_channels');
    assert.equal(await api.ctx.models.Channel.count({ where: { project_id: second } }), 0);

    await api.request('POST', `/channels/${id}/disconnect`, { token: starter.token });
    assert.equal((await api.request('POST', `/projects/${second}/channels`, { token: starter.token, body: connectBody() })).status, 403);
    assert.equal((await api.request('DELETE', `/channels/${id}`, { token: starter.token })).status, 204);
    await connect(starter, second);

    // Without an active subscription the starter plan's single channel applies.
    const free = await api.register('free');
    const project = await newProject(free);
    await connect(free, project);
    const second2 = await api.request('POST', `/projects/${project}/channels`, { token: free.token, body: connectBody({ platform: 'tiktok' }) });
    assert.equal(second2.body.error?.code, 'plan_limit');
  });
});
