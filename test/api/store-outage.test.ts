import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freeLoopbackPort } from '../../lib/ports';
import { createApiHarness, type ApiHarness } from '../support/api';

/**
 * The API while Redis is down (its rate limits, sessions and progress live there): requests are
 * answered 503 with Retry-After in the JSON error shape, never a 500, and the health routes answer
 * for themselves, /readyz naming Redis as the store that fails.
 */
describe('API during a Redis outage', () => {
  let api: ApiHarness;

  before(async () => {
    api = await createApiHarness({ REDIS_URL: `redis://127.0.0.1:${await freeLoopbackPort()}/0` });
  });
  after(async () => {
    await api?.close();
  });

  it('answers 503 service_unavailable with Retry-After where a request needs Redis, and the health routes still answer', async () => {
    const login = await api.request('POST', '/auth/login', { body: { email: 'someone@example.com', password: 'whatever-it-is' } });
    assert.equal(login.status, 503, login.text);
    assert.equal(login.body.error.code, 'service_unavailable');
    assert.equal(login.headers.get('retry-after'), '5');

    const listed = await api.request('GET', '/projects', { token: 'not-a-token' });
    assert.ok([401, 503].includes(listed.status), listed.text);

    const live = await api.request('GET', '/healthz');
    assert.equal(live.status, 200);
    const ready = await api.request('GET', '/readyz');
    assert.equal(ready.status, 503, ready.text);
    const failing = ready.body.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { store: string }) => c.store);
    assert.deepEqual(failing, ['redis']);
    assert.ok(api.responses.every((r) => r.status < 500 || r.status === 503), 'no 500');
  });
});
