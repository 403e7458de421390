import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import express from 'express';
import { errorHandler, notFound } from '../../api/errors';
import { requestId, securityHeaders } from '../../api/middleware';
import { MAX_BODY_DEPTH, mountRoutes, route } from '../../api/registry';
import { createApiHarness, type ApiResponse, type ApiHarness } from '../support/api';

/**
 * Behaviour every route shares, at the edges: body parsing and its limit, unknown routes, headers,
 * CORS, request ids, the 500 path and the health checks. Uses only the framework's own routes.
 */
const ALLOWED_ORIGIN = 'https://app.example.com';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function assertErrorShape(res: ApiResponse, status: number, code: string): void {
  assert.equal(res.status, status, res.text);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  assert.equal(res.body.error.status, status);
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
}

describe('API edges', () => {
  let api: ApiHarness;
  before(async () => {
    api = await createApiHarness({ API_BODY_LIMIT: '1kb', API_CORS_ORIGINS: `${ALLOWED_ORIGIN}, https://admin.example.com` });
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  it('answers malformed JSON with 400 malformed_body, before any route or authentication', async () => {
    for (const path of ['/auth/login', '/auth/logout', '/no/such/route']) {
      assertErrorShape(await api.request('POST', path, { rawBody: '{"email": "a@b.c",' }), 400, 'malformed_body');
    }
    assertErrorShape(await api.request('POST', '/auth/login', { rawBody: '' }), 400, 'validation_failed');
  });

  it('answers a body over API_BODY_LIMIT with 413, and takes one just under it', async () => {
    const body = (size: number) => JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(size) });
    assertErrorShape(await api.request('POST', '/auth/login', { rawBody: body(1100) }), 413, 'payload_too_large');
    const under = await api.request('POST', '/auth/login', { rawBody: body(900) });
    assertErrorShape(under, 400, 'validation_failed');
    assert.deepEqual(Object.keys(under.body.error.details), ['body.password']);
  });

  it('does not read a body that is not JSON: the route finds none (400), an unknown charset is 415', async () => {
    const form = await api.request('POST', '/auth/login', { rawBody: 'email=a%40b.c&password=secret-secret', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    assertErrorShape(form, 400, 'validation_failed');
    assert.deepEqual(Object.keys(form.body.error.details), ['body']);
    const text = await api.request('POST', '/auth/login', { rawBody: '{"email":"a@b.c","password":"x"}', headers: { 'content-type': 'text/plain' } });
    assertErrorShape(text, 400, 'validation_failed');
    const charset = await api.request('POST', '/auth/login', { rawBody: '{}', headers: { 'content-type': 'application/json; charset=latin1' } });
    assert.equal(charset.status, 415);
    assert.equal(charset.body.error.status, 415);
  });

  it('answers unknown routes and methods with 404 in the JSON error shape', async () => {
    for (const [method, path] of [
      ['GET', '/no/such/route'],
      ['DELETE', '/healthz'],
      ['GET', '/me/'],
      ['GET', '/..%2f..%2fetc/passwd'],
    ] as const) {
      const res = await api.request(method, path);
      assertErrorShape(res, 404, 'not_found');
    }
  });

  it('answers a malformed percent-escape in a path id with 400 malformed_path, with or without a token', async () => {
    const { token } = await api.register();
    for (const [method, path] of [
      ['GET', '/contents/%ZZ'],
      ['GET', '/contents/%'],
      ['GET', '/contents/%E0%A4%A'],
      ['DELETE', '/contents/%ZZ'],
      ['GET', '/projects/%ZZ/contents'],
      ['POST', '/contents/%C0%80/generate'],
    ] as const) {
      for (const auth of [{}, { token }]) {
        const res = await api.request(method, path, auth);
        assertErrorShape(res, 400, 'malformed_path');
        assert.ok(!/URIError|decode|\bat\b|\.ts:|stack/i.test(res.text), res.text);
        assert.match(res.headers.get('x-request-id') ?? '', UUID);
      }
    }
    assert.equal((await api.request('GET', '/me', { token })).status, 200);
  });

  it('sends the security headers on every kind of response, and no X-Powered-By or ETag', async () => {
    const responses = [
      await api.request('GET', '/healthz'),
      await api.request('GET', '/no/such/route'),
      await api.request('POST', '/auth/login', { rawBody: '{' }),
      await api.request('GET', '/me'),
      await api.request('POST', '/auth/login', { rawBody: JSON.stringify({ pad: 'x'.repeat(2000) }) }),
      await api.request('OPTIONS', '/me', { headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'GET' } }),
    ];
    assert.deepEqual(responses.map((r) => r.status), [200, 404, 400, 401, 413, 204]);
    for (const res of responses) {
      const where = `response ${res.status}`;
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', where);
      assert.equal(res.headers.get('x-frame-options'), 'DENY', where);
      assert.equal(res.headers.get('referrer-policy'), 'no-referrer', where);
      assert.equal(res.headers.get('cross-origin-resource-policy'), 'same-origin', where);
      assert.equal(res.headers.get('content-security-policy'), "default-src 'none'; frame-ancestors 'none'", where);
      assert.equal(res.headers.get('cache-control'), 'no-store', where);
      assert.equal(res.headers.get('x-powered-by'), null, where);
      assert.equal(res.headers.get('etag'), null, where);
      assert.match(res.headers.get('x-request-id') ?? '', UUID, where);
    }
  });

  it('allows the configured origins (simple requests and preflights) and no other', async () => {
    const simple = await api.request('GET', '/healthz', { headers: { origin: ALLOWED_ORIGIN } });
    assert.equal(simple.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
    assert.match(simple.headers.get('vary') ?? '', /origin/i);
    assert.match(simple.headers.get('access-control-expose-headers') ?? '', /x-request-id/);
    assert.equal((await api.request('GET', '/healthz', { headers: { origin: 'https://admin.example.com' } })).headers.get('access-control-allow-origin'), 'https://admin.example.com');

    const preflight = await api.request('OPTIONS', '/auth/logout', {
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' },
    });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), ALLOWED_ORIGIN);
    assert.match(preflight.headers.get('access-control-allow-methods') ?? '', /POST/);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
    assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /idempotency-key/);

    for (const origin of ['https://evil.example.com', 'https://app.example.com.evil.test', 'null', ALLOWED_ORIGIN.toUpperCase()]) {
      const refused = await api.request('GET', '/healthz', { headers: { origin } });
      assert.equal(refused.status, 200, 'the request is served; the browser withholds the answer');
      assert.equal(refused.headers.get('access-control-allow-origin'), null, origin);
      const refusedPreflight = await api.request('OPTIONS', '/me', { headers: { origin, 'access-control-request-method': 'GET' } });
      assert.notEqual(refusedPreflight.status, 204, origin);
      assert.equal(refusedPreflight.headers.get('access-control-allow-origin'), null, origin);
      assert.equal(refusedPreflight.headers.get('access-control-allow-methods'), null, origin);
    }
  });

  it('echoes a well-formed request id and replaces any other with a fresh UUID', async () => {
    const echoed = await api.request('GET', '/healthz', { headers: { 'x-request-id': 'client-req_42' } });
    assert.equal(echoed.headers.get('x-request-id'), 'client-req_42');
    const seen = new Set<string>();
    for (const bad of ['', 'has spaces', 'x'.repeat(65), '<script>', 'a;b', '../etc']) {
      const res = await api.request('GET', '/no/such/route', { headers: bad ? { 'x-request-id': bad } : {} });
      const id = res.headers.get('x-request-id') ?? '';
      assert.match(id, UUID, `replaced ${JSON.stringify(bad)}`);
      assert.ok(!seen.has(id), 'each generated id is new');
      seen.add(id);
    }
  });

  it('answers an unexpected failure with 500 internal_error: no message, no stack', async () => {
    // No real route fails on purpose, so the framework's own pieces are assembled around one that does.
    const app = express();
    app.use(requestId, securityHeaders, express.json());
    const router = express.Router();
    const failure = new Error('connect ECONNREFUSED 10.0.0.5:5432 at /srv/app/db/pool.ts:12:7');
    mountRoutes(
      router,
      [
        route({ method: 'get', path: '/throws', summary: 'throws', tag: 't', auth: 'public', responses: { 200: 'never' }, handler: () => { throw failure; } }),
        route({ method: 'get', path: '/rejects', summary: 'rejects', tag: 't', auth: 'public', responses: { 200: 'never' }, handler: async () => Promise.reject(new TypeError('x is undefined')) }),
      ],
      { authenticate: [] },
    );
    app.use(router, notFound, errorHandler);
    const server = app.listen(0, '127.0.0.1');
    try {
      await once(server, 'listening');
      for (const path of ['/throws', '/rejects']) {
        const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}${path}`);
        const text = await res.text();
        assert.equal(res.status, 500);
        assert.deepEqual(JSON.parse(text), { error: { status: 500, code: 'internal_error', message: 'internal error' } });
        assert.ok(!/ECONNREFUSED|undefined|\.ts:|\bat\b|stack/.test(text), text);
        assert.match(res.headers.get('x-request-id') ?? '', UUID);
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('answers /healthz, and /readyz with every store ok', async () => {
    const health = await api.request('GET', '/healthz');
    assert.equal(health.status, 200);
    assert.deepEqual(health.body, { status: 'ok' });
    const ready = await api.request('GET', '/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.body.status, 'ready');
    const checks = ready.body.checks as { store: string; ok: boolean; latencyMs: number }[];
    assert.deepEqual(checks.map((c) => c.store).sort(), ['mongodb', 'postgresql', 'redis', 's3', 'temporal']);
    for (const check of checks) {
      assert.equal(check.ok, true, check.store);
      assert.ok(Number.isFinite(check.latencyMs) && check.latencyMs >= 0, check.store);
    }
  });
});

/** `[[[…]]]` or `{"a":{"a":…}}`, `depth` levels deep, around `inner`. */
function nested(depth: number, kind: 'array' | 'object', inner = '1'): string {
  return kind === 'array' ? `${'['.repeat(depth)}${inner}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}${inner}${'}'.repeat(depth)}`;
}

describe('API edges: deeply nested bodies', () => {
  // The default body limit (256kb), so that a body can be thousands of levels deep.
  let api: ApiHarness;
  before(async () => {
    api = await createApiHarness();
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  it(`refuses a body nested deeper than ${MAX_BODY_DEPTH} levels with 400 body_too_deep, on public and authenticated routes`, async () => {
    const { token } = await api.register();
    for (const kind of ['array', 'object'] as const) {
      for (const [path, auth] of [
        ['/auth/login', {}],
        ['/auth/register', {}],
        ['/projects', { token }],
        ['/projects', {}],
        ['/no/such/route', {}],
      ] as const) {
        const res = await api.request('POST', path, { ...auth, rawBody: kind === 'object' ? nested(5000, kind) : `{"email":${nested(5000, kind)}}` });
        assertErrorShape(res, 400, 'body_too_deep');
        assert.deepEqual(Object.keys(res.body.error.details), ['body']);
      }
    }
    // As deep as the body limit allows (100 000 levels, 200 kB): still a 400, not a stack overflow.
    assertErrorShape(await api.request('POST', '/auth/login', { rawBody: nested(100_000, 'array') }), 400, 'body_too_deep');
    assertErrorShape(await api.request('POST', '/subscriptions', { token, rawBody: nested(20_000, 'object') }), 400, 'body_too_deep');

    // The API still answers, the caller's token still works.
    assert.equal((await api.request('GET', '/healthz')).status, 200);
    assert.equal((await api.request('GET', '/me', { token })).status, 200);
    assertErrorShape(await api.request('POST', '/auth/login', { body: { email: 'nobody@example.com', password: 'wrong-password-1' } }), 401, 'invalid_credentials');
  });

  it(`takes ${MAX_BODY_DEPTH} levels to validation, and still finds a NUL at the bottom`, async () => {
    // The body is level 1, its "email" level 2: the array inside adds the rest.
    const atLimit = await api.request('POST', '/auth/login', { rawBody: `{"email":${nested(MAX_BODY_DEPTH - 1, 'array')}}` });
    assertErrorShape(atLimit, 400, 'validation_failed');
    const overLimit = await api.request('POST', '/auth/login', { rawBody: `{"email":${nested(MAX_BODY_DEPTH, 'array')}}` });
    assertErrorShape(overLimit, 400, 'body_too_deep');
    const nul = await api.request('POST', '/auth/login', { rawBody: `{"email":${nested(MAX_BODY_DEPTH - 1, 'object', '"a\\u0000b"')}}` });
    assertErrorShape(nul, 400, 'validation_failed');
    assert.match(nul.body.error.details['body.email'], /NUL/);
  });
});
