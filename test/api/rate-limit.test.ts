import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it, type TestContext } from 'node:test';
import { createApp } from '../../api/app';
import { createRedis } from '../../db/redis';
import { createApiHarness, type ApiHarness } from '../support/api';
import { RateCounters } from '../../db/rate-limits';

/**
 * The per-user and per-IP limits, counted in Redis in one-minute windows. Each test freezes the
 * clock (Date only: the server runs in this process) 15.25 s into a minute far from now, so its
 * windows start empty whatever other suites counted, Retry-After is known exactly, and the next
 * window is one `tick` away instead of a minute of waiting.
 */
const PER_USER = 5;
const PER_IP = 20;

function freezeInFreshWindow(t: TestContext): void {
  const minute = Math.floor(Date.now() / 60_000) + 100_000 + randomInt(1_000_000);
  t.mock.timers.enable({ apis: ['Date'], now: minute * 60_000 + 15_250 });
}

function assertRateLimited(res: { status: number; headers: Headers; body: unknown }, retryAfter: string): void {
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), retryAfter);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  const { error } = res.body as { error: Record<string, unknown> };
  assert.deepEqual(Object.keys(error).sort(), ['code', 'message', 'status']);
  assert.equal(error.status, 429);
  assert.equal(error.code, 'rate_limited');
  assert.equal(typeof error.message, 'string');
}

describe('rate limits', () => {
  let api: ApiHarness;
  before(async () => {
    api = await createApiHarness({ API_RATE_LIMIT_PER_USER: String(PER_USER), API_RATE_LIMIT_PER_IP: String(PER_IP) });
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  it(`answers the request after ${PER_USER} of one user in a minute with 429, Retry-After and the error shape; other users are not affected`, async (t) => {
    freezeInFreshWindow(t);
    const [alice, bob] = [await api.register('Alice'), await api.register('Bob')];
    for (let i = 1; i <= PER_USER; i++) assert.equal((await api.request('GET', '/me', { token: alice.token })).status, 200, `request ${i}`);
    const limited = await api.request('GET', '/me', { token: alice.token });
    assertRateLimited(limited, '45');
    assert.equal(limited.headers.get('x-content-type-options'), 'nosniff');
    assert.ok(limited.headers.get('x-request-id'));
    assert.equal((await api.request('GET', '/me', { token: bob.token })).status, 200);
  });

  it('holds across two API instances sharing Redis: requests alternating between them are limited in sum', async (t) => {
    // The count lives only in Redis, so the second instance differs from the first where it matters:
    // its own app, server and Redis connection.
    const redis = createRedis(api.ctx.config);
    const server = createApp({ ...api.ctx, db: { ...api.ctx.db, rateCounters: new RateCounters(redis) } }).listen(0, '127.0.0.1');
    try {
      await once(server, 'listening');
      const other = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      freezeInFreshWindow(t);
      const { token } = await api.register();
      const statuses: string[] = [];
      for (let i = 0; i < 2 * PER_USER; i++) {
        const base = i % 2 === 0 ? api.baseUrl : other;
        const res = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } });
        await res.arrayBuffer();
        statuses.push(`${base === other ? 'B' : 'A'}${res.status}`);
      }
      assert.deepEqual(statuses, ['A200', 'B200', 'A200', 'B200', 'A200', 'B429', 'A429', 'B429', 'A429', 'B429']);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await redis.quit();
    }
  });

  it('recovers in the next window, with a full budget again', async (t) => {
    freezeInFreshWindow(t);
    const { token } = await api.register();
    for (let i = 0; i < PER_USER; i++) await api.request('GET', '/me', { token });
    const limited = await api.request('GET', '/me', { token });
    assertRateLimited(limited, '45');
    t.mock.timers.tick(Number(limited.headers.get('retry-after')) * 1000 - 1000);
    assertRateLimited(await api.request('GET', '/me', { token }), '1');
    t.mock.timers.tick(1000);
    for (let i = 1; i <= PER_USER; i++) assert.equal((await api.request('GET', '/me', { token })).status, 200, `request ${i} of the next window`);
    assertRateLimited(await api.request('GET', '/me', { token }), '60');
  });

  it(`limits each client address to ${PER_IP} requests a minute, public or not, and never the health routes`, async (t) => {
    freezeInFreshWindow(t);
    const { token } = await api.register();
    for (let i = 2; i <= PER_IP; i++) assert.equal((await api.request('GET', '/openapi.json')).status, 200, `request ${i}`);
    assertRateLimited(await api.request('GET', '/openapi.json'), '45');
    assert.equal((await api.request('GET', '/healthz')).status, 200, 'the health routes answer an address over its limit');
    assertRateLimited(await api.request('GET', '/me', { token }), '45');
    assertRateLimited(await api.request('POST', '/auth/login', { body: { email: 'nobody@example.com', password: 'irrelevant' } }), '45');
  });
});
