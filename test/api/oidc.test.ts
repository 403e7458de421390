import assert from 'node:assert/strict';
import { createHash, randomBytes, randomInt } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../api/app';
import { loadConfig } from '../../lib/config';
import { startOidcServer, type FakeOidcServer, type FakeOidcUser } from '../fakes/oidc-server';
import { createApiHarness, type ApiHarness, type ApiResponse } from '../support/api';
import { minimalEnv } from '../support/env';

const REDIRECT_URL = 'https://app.example.test/sign-in/callback';

describe('sign-in with Google and Kakao (OpenID Connect, code flow with PKCE)', () => {
  let api: ApiHarness;
  let google: FakeOidcServer;
  let kakao: FakeOidcServer;
  const fakes = () => ({ google, kakao });
  const secrets = { google: `gsecret-${randomBytes(12).toString('hex')}`, kakao: `ksecret-${randomBytes(12).toString('hex')}` };
  const clientIds = { google: 'autoclip-test.apps.example', kakao: `kakao-rest-${randomBytes(8).toString('hex')}` };

  before(async () => {
    google = await startOidcServer({ flavor: 'google', clientId: clientIds.google, clientSecret: secrets.google, redirectUris: [REDIRECT_URL] });
    kakao = await startOidcServer({ flavor: 'kakao', clientId: clientIds.kakao, clientSecret: secrets.kakao, redirectUris: [REDIRECT_URL] });
    api = await createApiHarness({
      GOOGLE_OIDC_CLIENT_ID: clientIds.google,
      GOOGLE_OIDC_CLIENT_SECRET: secrets.google,
      GOOGLE_OIDC_ISSUER: google.issuer,
      KAKAO_OIDC_CLIENT_ID: clientIds.kakao,
      KAKAO_OIDC_CLIENT_SECRET: secrets.kakao,
      KAKAO_OIDC_ISSUER: kakao.issuer,
      KAKAO_OIDC_USERINFO_URL: kakao.userInfoUrl,
      OIDC_REDIRECT_URL: REDIRECT_URL,
    });
    api.secrets.add(secrets.google).add(secrets.kakao);
  });

  after(async () => {
    try {
      for (const fake of [google, kakao]) for (const secret of fake.issuedSecrets) api.secrets.add(secret);
      api.assertNoLeaks();
    } finally {
      await api?.close();
      await google?.close();
      await kakao?.close();
    }
  });

  type Provider = 'google' | 'kakao';
  const newUser = (overrides: Partial<FakeOidcUser> = {}): FakeOidcUser => ({
    sub: String(randomInt(1_000_000_000, 9_999_999_999)),
    email: `oidc-${randomBytes(5).toString('hex')}@example.com`,
    email_verified: true,
    name: '가나다 Tester',
    ...overrides,
  });

  async function start(provider: Provider): Promise<{ state: string; authorizationUrl: URL }> {
    const res = await api.request('POST', `/auth/oidc/${provider}/start`);
    assert.equal(res.status, 200, res.text);
    return { state: res.body.state, authorizationUrl: new URL(res.body.authorization_url) };
  }

  /** The test plays the user at the provider: signs in as `user` and follows the provider back to the redirect page. */
  async function authorize(provider: Provider, authorizationUrl: URL, user: FakeOidcUser): Promise<{ code: string; state: string }> {
    fakes()[provider].user = user;
    const res = await fetch(authorizationUrl, { redirect: 'manual' });
    assert.equal(res.status, 302, await res.text());
    const back = new URL(res.headers.get('location')!);
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT_URL);
    return { code: back.searchParams.get('code')!, state: back.searchParams.get('state')! };
  }

  const callback = (provider: Provider, body: Record<string, string>) => api.request('POST', `/auth/oidc/${provider}/callback`, { body });

  async function signIn(provider: Provider, user: FakeOidcUser): Promise<ApiResponse> {
    const { authorizationUrl } = await start(provider);
    return callback(provider, await authorize(provider, authorizationUrl, user));
  }

  const usersWithEmail = (email: string) => api.ctx.models.User.findAll({ where: { email: email.toLowerCase() } });
  const stateKey = (state: string) => `auth:once:oidc-sign-in:${createHash('sha256').update(state).digest('hex')}`;

  it('creates a Google user with the OpenID fields filled, and finds the same user on the next sign-in', async () => {
    const { state, authorizationUrl } = await start('google');
    const q = authorizationUrl.searchParams;
    assert.equal(authorizationUrl.origin, google.issuer);
    assert.equal(q.get('response_type'), 'code');
    assert.equal(q.get('client_id'), clientIds.google);
    assert.equal(q.get('redirect_uri'), REDIRECT_URL);
    assert.equal(q.get('code_challenge_method'), 'S256');
    assert.equal(q.get('state'), state);
    assert.ok(q.get('scope')!.split(' ').includes('openid'));
    assert.match(q.get('code_challenge')!, /^[\w-]{43}$/);
    assert.match(q.get('nonce')!, /^[\w-]{20,}$/);
    // The verifier, nonce and provider wait under the state for at most ten minutes, the verifier sealed.
    const ttl = await api.ctx.db.redis.ttl(stateKey(state));
    assert.ok(ttl > 0 && ttl <= 600, `state TTL ${ttl}`);
    const saved = JSON.parse((await api.ctx.db.redis.get(stateKey(state)))!);
    assert.equal(saved.provider, 'google');
    assert.equal(saved.nonce, q.get('nonce'));
    assert.match(saved.sealedVerifier, /^v1\./);

    const user = newUser();
    const first = await callback('google', await authorize('google', authorizationUrl, user));
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.token_type, 'Bearer');
    assert.ok(first.body.access_token && first.body.refresh_token && first.body.access_token_expires_at && first.body.refresh_token_expires_at);
    assert.equal(first.body.user.email, user.email);
    assert.equal(first.body.user.name, '가나다 Tester');
    assert.equal(first.body.user.email_verified, true);
    const [row, ...others] = await usersWithEmail(user.email!);
    assert.equal(others.length, 0);
    assert.equal(row!.id, first.body.user.id);
    assert.equal(row!.oauth_provider, 'google');
    assert.equal(row!.oauth_id, user.sub);
    assert.equal(row!.password_hash, null);
    assert.equal(row!.email_verified, true);

    const me = await api.request('GET', '/me', { token: first.body.access_token });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.id, row!.id);
    const refreshed = await api.request('POST', '/auth/refresh', { body: { refresh_token: first.body.refresh_token } });
    assert.equal(refreshed.status, 200);

    // The same Google account again, even under a changed address: the same user, found by its subject.
    const again = await signIn('google', { ...user, email: `renamed-${user.email}` });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.user.id, row!.id);
    assert.equal((await usersWithEmail(`renamed-${user.email}`)).length, 0);
  });

  it('creates a Kakao user, with email_verified from Kakao’s user info, and finds the same user again', async () => {
    const user = newUser({ name: '카카오 사용자' });
    const first = await signIn('kakao', user);
    assert.equal(first.status, 200, first.text);
    const [row] = await usersWithEmail(user.email!);
    assert.equal(row!.id, first.body.user.id);
    assert.equal(row!.oauth_provider, 'kakao');
    assert.equal(row!.oauth_id, user.sub);
    assert.equal(row!.password_hash, null);
    assert.equal(row!.email_verified, true);
    assert.equal(row!.name, '카카오 사용자');
    const again = await signIn('kakao', user);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.body.user.id, row!.id);

    // An address Kakao has not verified still makes a new account (no one else's), marked unverified.
    const unverified = newUser({ email_verified: false });
    const created = await signIn('kakao', unverified);
    assert.equal(created.status, 200, created.text);
    assert.equal(created.body.user.email_verified, false);
    assert.equal((await usersWithEmail(unverified.email!))[0]!.email_verified, false);
  });

  it('refuses a forged ID token (a key not in the JWKS, another audience, another nonce) and stores nothing', async () => {
    const forgeries = [
      { provider: 'google' as const, forgery: { foreignKey: true }, why: /signature/i },
      { provider: 'kakao' as const, forgery: { foreignKey: true }, why: /signature/i },
      { provider: 'google' as const, forgery: { audience: 'someone-else.apps.example' }, why: /aud/ },
      { provider: 'kakao' as const, forgery: { audience: 'another-kakao-app' }, why: /aud/ },
      { provider: 'google' as const, forgery: { nonce: 'a-nonce-of-another-sign-in' }, why: /nonce/ },
      { provider: 'kakao' as const, forgery: { nonce: 'a-nonce-of-another-sign-in' }, why: /nonce/ },
    ];
    const usersBefore = await api.ctx.models.User.count();
    for (const { provider, forgery, why } of forgeries) {
      const user = newUser();
      const { authorizationUrl } = await start(provider);
      const returned = await authorize(provider, authorizationUrl, user);
      fakes()[provider].forgeNext(forgery);
      const res = await callback(provider, returned);
      assert.equal(res.status, 401, `${provider} ${JSON.stringify(forgery)}: ${res.text}`);
      assert.equal(res.body.error.code, 'invalid_id_token');
      assert.match(res.body.error.message, why);
      assert.equal(res.body.access_token, undefined);
      assert.equal((await usersWithEmail(user.email!)).length, 0);
    }
    assert.equal(await api.ctx.models.User.count(), usersBefore);
  });

  it('links a password account when the provider verified the email, and never when it did not', async () => {
    const account = await api.register('Password Owner');
    const snapshot = async () => (await api.ctx.models.User.findByPk(account.userId))!.get({ plain: true });
    const before = await snapshot();
    const passwordHash = (await api.ctx.models.User.findByPk(account.userId))!.password_hash;
    assert.ok(passwordHash);

    // Unverified, at either provider, under any case of the address: 409, the account as it was.
    for (const provider of ['kakao', 'google'] as const) {
      const res = await signIn(provider, newUser({ email: account.email.toUpperCase(), email_verified: false }));
      assert.equal(res.status, 409, res.text);
      assert.equal(res.body.error.code, 'email_not_verified');
      assert.match(res.body.error.message, /not verified/);
      assert.deepEqual(await snapshot(), before);
    }

    const googleUser = newUser({ email: account.email });
    const linked = await signIn('google', googleUser);
    assert.equal(linked.status, 200, linked.text);
    assert.equal(linked.body.user.id, account.userId);
    const row = (await api.ctx.models.User.findByPk(account.userId))!;
    assert.equal(row.oauth_provider, 'google');
    assert.equal(row.oauth_id, googleUser.sub);
    assert.equal(row.email_verified, true);
    assert.equal(row.password_hash, passwordHash, 'the password still works');
    assert.equal((await usersWithEmail(account.email)).length, 1);
    assert.equal((await signIn('google', googleUser)).body.user.id, account.userId);

    // Another provider account with the same, verified, address does not take the link over.
    const other = await signIn('kakao', newUser({ email: account.email }));
    assert.equal(other.status, 409, other.text);
    assert.equal(other.body.error.code, 'account_linked');
    const after = (await api.ctx.models.User.findByPk(account.userId))!;
    assert.equal(after.oauth_provider, 'google');
    assert.equal(after.oauth_id, googleUser.sub);
  });

  it('refuses an account that is not active, as /auth/login does', async () => {
    const user = newUser();
    const first = await signIn('google', user);
    assert.equal(first.status, 200, first.text);
    await api.ctx.models.User.update({ status: 'suspended' }, { where: { id: first.body.user.id } });
    const refused = await signIn('google', user);
    assert.equal(refused.status, 401, refused.text);
    assert.equal(refused.body.error.code, 'invalid_credentials');
    assert.equal(refused.body.access_token, undefined);

    const suspended = await api.register('Suspended Owner');
    await api.ctx.models.User.update({ status: 'suspended' }, { where: { id: suspended.userId } });
    const link = await signIn('kakao', newUser({ email: suspended.email }));
    assert.equal(link.status, 401, link.text);
    assert.equal((await api.ctx.models.User.findByPk(suspended.userId))!.oauth_provider, null, 'a suspended account is not linked');
  });

  it('answers 400 for a reused, expired, missing, unknown or other-provider state, and stores nothing', async () => {
    const usersBefore = await api.ctx.models.User.count();

    // Reused: the state works once; the provider is not asked again.
    const reusedUser = newUser();
    const { authorizationUrl } = await start('google');
    const returned = await authorize('google', authorizationUrl, reusedUser);
    assert.equal((await callback('google', returned)).status, 200);
    const calls = google.tokenRequests;
    const reused = await callback('google', returned);
    assert.equal(reused.status, 400, reused.text);
    assert.equal(reused.body.error.code, 'invalid_state');
    assert.ok(reused.body.error.details['body.state']);
    assert.equal(google.tokenRequests, calls);
    const afterReuse = await api.ctx.models.User.count();
    assert.equal(afterReuse, usersBefore + 1);

    // Expired: its ten minutes are up.
    const expiredUser = newUser();
    const expiring = await start('kakao');
    const expiredReturn = await authorize('kakao', expiring.authorizationUrl, expiredUser);
    await api.ctx.db.redis.pexpire(stateKey(expiring.state), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const kakaoCalls = kakao.tokenRequests;
    const expired = await callback('kakao', expiredReturn);
    assert.equal(expired.status, 400, expired.text);
    assert.equal(expired.body.error.code, 'invalid_state');
    assert.equal(kakao.tokenRequests, kakaoCalls);

    // Missing, or one this server never issued.
    const missing = await callback('google', { code: 'some-code' });
    assert.equal(missing.status, 400);
    assert.equal(missing.body.error.code, 'validation_failed');
    assert.ok(missing.body.error.details['body.state']);
    const unknown = await callback('google', { code: 'some-code', state: randomBytes(32).toString('base64url') });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.error.code, 'invalid_state');

    // Another provider's: refused, and used up by the attempt.
    const crossUser = newUser();
    const googleStart = await start('google');
    const googleReturn = await authorize('google', googleStart.authorizationUrl, crossUser);
    const cross = await callback('kakao', googleReturn);
    assert.equal(cross.status, 400, cross.text);
    assert.equal(cross.body.error.code, 'invalid_state');
    assert.equal((await callback('google', googleReturn)).status, 400);

    for (const user of [expiredUser, crossUser]) assert.equal((await usersWithEmail(user.email!)).length, 0);
    assert.equal(await api.ctx.models.User.count(), afterReuse);
    assert.equal(google.tokenRequests, calls);
  });

  it('answers 400 when the provider refuses the code, and nothing is stored', async () => {
    const { authorizationUrl } = await start('google');
    const user = newUser();
    const { state } = await authorize('google', authorizationUrl, user);
    const res = await callback('google', { code: 'a-code-the-provider-never-issued', state });
    assert.equal(res.status, 400, res.text);
    assert.equal(res.body.error.code, 'oidc_code_rejected');
    assert.match(res.body.error.message, /invalid_grant/);
    assert.equal((await usersWithEmail(user.email!)).length, 0);
  });

  it('answers a clear 404 for a provider this deployment has no client id for, and for an unknown provider', async () => {
    const { config } = api.ctx;
    const server = createApp({ ...api.ctx, config: { ...config, oidc: { ...config.oidc, kakao: undefined } } }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const requests: [string, RequestInit][] = [
        ['/auth/oidc/kakao/start', { method: 'POST' }],
        ['/auth/oidc/kakao/callback', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'c', state: 's' }) }],
      ];
      for (const [path, init] of requests) {
        const res = await fetch(`${base}${path}`, init);
        const body = (await res.json()) as { error: { code: string; message: string } };
        assert.equal(res.status, 404, path);
        assert.equal(body.error.code, 'oidc_not_configured');
        assert.equal(body.error.message, 'sign-in with kakao is not configured');
      }
      const google = await fetch(`${base}/auth/oidc/google/start`, { method: 'POST' });
      assert.equal(google.status, 200);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    const unknown = await api.request('POST', '/auth/oidc/github/start');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'not_found');
  });
});

describe('sign-in configuration', () => {
  it('needs a Google client secret with its client id and the redirect URL with either provider; issuers default to the providers’', () => {
    assert.throws(() => loadConfig({ ...minimalEnv(), GOOGLE_OIDC_CLIENT_ID: 'g', OIDC_REDIRECT_URL: REDIRECT_URL }), /"GOOGLE_OIDC_CLIENT_SECRET" is required/);
    assert.throws(() => loadConfig({ ...minimalEnv(), KAKAO_OIDC_CLIENT_ID: 'k' }), /"OIDC_REDIRECT_URL" is required/);
    assert.throws(() => loadConfig({ ...minimalEnv(), GOOGLE_OIDC_ISSUER: 'not a url' }), /GOOGLE_OIDC_ISSUER/);
    const { oidc } = loadConfig({ ...minimalEnv(), KAKAO_OIDC_CLIENT_ID: 'k', OIDC_REDIRECT_URL: REDIRECT_URL });
    assert.equal(oidc.google, undefined);
    assert.deepEqual(oidc.kakao, {
      clientId: 'k',
      clientSecret: undefined,
      issuer: 'https://kauth.kakao.com',
      redirectUrl: REDIRECT_URL,
      userInfoUrl: 'https://kapi.kakao.com/v2/user/me',
    });
    const google = loadConfig({ ...minimalEnv(), GOOGLE_OIDC_CLIENT_ID: 'g', GOOGLE_OIDC_CLIENT_SECRET: 's', OIDC_REDIRECT_URL: REDIRECT_URL }).oidc.google;
    assert.equal(google?.issuer, 'https://accounts.google.com');
  });
});
