import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApiHarness, type ApiHarness } from '../support/api';

describe('auth routes', () => {
  let api: ApiHarness;
  before(async () => {
    api = await createApiHarness();
  });
  after(async () => {
    try {
      api.assertNoLeaks();
    } finally {
      await api.close();
    }
  });

  it('registers, logs in, refreshes once, logs out, and shows /me', async () => {
    const { token, email, refreshToken } = await api.register('가나다 Tester');
    const me = await api.request('GET', '/me', { token });
    assert.equal(me.status, 200);
    assert.equal(me.body.user.email, email);
    assert.equal(me.body.user.name, '가나다 Tester');
    assert.ok(me.headers.get('x-request-id'));
    assert.equal(me.headers.get('x-content-type-options'), 'nosniff');

    const refreshed = await api.request('POST', '/auth/refresh', { body: { refresh_token: refreshToken } });
    assert.equal(refreshed.status, 200);
    const reused = await api.request('POST', '/auth/refresh', { body: { refresh_token: refreshToken } });
    assert.equal(reused.status, 401);
    assert.equal(reused.body.error.code, 'invalid_refresh_token');

    const out = await api.request('POST', '/auth/logout', { token, body: { refresh_token: refreshed.body.refresh_token } });
    assert.equal(out.status, 204);
    const afterLogout = await api.request('POST', '/auth/refresh', { body: { refresh_token: refreshed.body.refresh_token } });
    assert.equal(afterLogout.status, 401);
  });

  it('rejects a wrong password and an unknown email alike, and a duplicate email with 409', async () => {
    const { email } = await api.register();
    const wrong = await api.request('POST', '/auth/login', { body: { email, password: 'not-the-password' } });
    const unknown = await api.request('POST', '/auth/login', { body: { email: 'nobody@example.com', password: 'not-the-password' } });
    assert.equal(wrong.status, 401);
    assert.deepEqual(wrong.body, unknown.body);
    const dup = await api.request('POST', '/auth/register', { body: { email, password: 'long-enough-password', name: 'x' } });
    assert.equal(dup.status, 409);
  });

  it('answers bad input with 400 naming every field, malformed JSON 400, unknown routes 404, no token 401', async () => {
    const bad = await api.request('POST', '/auth/register', { body: { email: 'not-an-email', password: 'short', extra: 1 } });
    assert.equal(bad.status, 400);
    assert.deepEqual(Object.keys(bad.body.error.details).sort(), ['body.email', 'body.extra', 'body.name', 'body.password']);
    const malformed = await api.request('POST', '/auth/login', { rawBody: '{"email": ' });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.code, 'malformed_body');
    const huge = await api.request('POST', '/auth/login', { body: { email: 'a@b.c', password: 'x'.repeat(300_000) } });
    assert.equal(huge.status, 413);
    assert.equal((await api.request('GET', '/no/such/route')).status, 404);
    assert.equal((await api.request('GET', '/me')).status, 401);
    assert.equal((await api.request('GET', '/me', { token: 'forged.token.value' })).status, 401);
  });
});
