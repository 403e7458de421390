import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Joi from 'joi';
import { joiToJsonSchema, openApiPath, type OpenApiDocument } from '../../api/openapi';
import type { AnyRouteSpec } from '../../api/registry';
import { schemas } from '../../api/registry';
import { allRoutes } from '../../api/routes';
import { SecretBox } from '../../lib/secrets';
import { createApiHarness, type ApiHarness } from '../support/api';

/** Every `$ref` string anywhere in the document. */
function refsIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(refsIn);
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => (key === '$ref' && typeof child === 'string' ? [child] : refsIn(child)));
}

function resolvePointer(doc: unknown, ref: string): unknown {
  assert.ok(ref.startsWith('#/'), `${ref} is not local`);
  return ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
}

const REDOCLY = resolve(__dirname, '../../node_modules/.bin/redocly');

interface LintReport {
  totals: { errors: number; warnings: number; ignored: number };
  problems: { ruleId: string; severity: 'error' | 'warn'; message: string; location: { pointer: string }[] }[];
}

/**
 * Lints a document with Redocly CLI's `recommended` rules (the dev dependency, on this Node), in a
 * folder of its own so no configuration or ignore file applies; telemetry and update checks off.
 */
async function redoclyLint(document: unknown): Promise<LintReport> {
  const dir = await mkdtemp(join(tmpdir(), 'autoclip-openapi-'));
  try {
    await writeFile(join(dir, 'openapi.json'), JSON.stringify(document));
    const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' };
    const args = [REDOCLY, 'lint', 'openapi.json', '--extends', 'recommended', '--format', 'json'];
    // The exit status only repeats the report's totals: the report is read either way.
    const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((done) => {
      execFile(process.execPath, args, { cwd: dir, env, maxBuffer: 64 * 1024 * 1024 }, (_err, out, errOut) => done({ stdout: out, stderr: errOut }));
    });
    assert.ok(stdout.trimStart().startsWith('{'), `redocly gave no report: ${stderr}`);
    return JSON.parse(stdout) as LintReport;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('OpenAPI document and docs page', () => {
  let api: ApiHarness;
  let routes: AnyRouteSpec[];
  let doc: OpenApiDocument;

  before(async () => {
    api = await createApiHarness();
    const { config } = api.ctx;
    routes = allRoutes({ ctx: api.ctx, refreshTokens: api.ctx.db.refreshTokens, box: SecretBox.fromConfig(config.secrets) });
    const res = await api.request('GET', '/openapi.json');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    doc = res.body;
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  it('is an OpenAPI 3.1 document with info, a relative server, tags and a bearer JWT scheme', () => {
    assert.equal(doc.openapi, '3.1.0');
    assert.equal(doc.info.title, 'AutoClip API');
    assert.match(doc.info.version, /^\d+\.\d+\.\d+/);
    assert.ok(doc.info.license.name, 'info names the license');
    assert.deepEqual(doc.servers.map((s) => s.url), ['/']);
    const bearer = doc.components.securitySchemes.bearerAuth;
    assert.deepEqual([bearer?.type, bearer?.scheme, bearer?.bearerFormat], ['http', 'bearer', 'JWT']);
    assert.deepEqual(doc.tags.map((t) => t.name).sort(), [...new Set(routes.map((r) => r.tag))].sort());
  });

  it('holds every route of allRoutes, once, with its method, summary, tag, security and path parameters', () => {
    const operations = Object.values(doc.paths).flatMap((item) => Object.keys(item));
    assert.equal(operations.length, routes.length, 'one operation per route');
    const ids = new Set<string>();
    for (const spec of routes) {
      const where = `${spec.method.toUpperCase()} ${spec.path}`;
      const op = doc.paths[openApiPath(spec.path)]?.[spec.method];
      assert.ok(op, `${where} is missing from the document`);
      assert.equal(op.summary, spec.summary, where);
      assert.deepEqual(op.tags, [spec.tag], where);
      assert.ok(!ids.has(op.operationId), `${where}: operationId ${op.operationId} is used twice`);
      ids.add(op.operationId);
      assert.deepEqual(op.security, spec.auth === 'user' ? [{ bearerAuth: [] }] : [], `${where} security`);
      if (spec.auth === 'user') assert.ok(op.responses['401'], `${where} lists 401`);
      for (const status of Object.keys(spec.responses)) assert.ok(op.responses[status], `${where} lists its own ${status}`);
      for (const status of ['400', '429']) assert.ok(op.responses[status], `${where} lists ${status}`);
      if (spec.body) assert.ok(op.requestBody?.content['application/json']?.schema, `${where} has a request body`);
    }
    for (const [path, item] of Object.entries(doc.paths)) {
      assert.ok(!path.includes(':'), `${path} keeps an Express parameter`);
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map(([, name]) => name).sort();
      for (const [method, op] of Object.entries(item)) {
        const declared = (op.parameters ?? []).filter((p) => p.in === 'path');
        assert.deepEqual(declared.map((p) => p.name).sort(), inPath, `${method} ${path}: path parameters`);
        assert.ok(declared.every((p) => p.required), `${method} ${path}: path parameters are required`);
      }
    }
  });

  it('resolves every $ref, and every error response uses the one Error schema', () => {
    const refs = refsIn(doc);
    assert.ok(refs.length > routes.length, 'errors are shared through $ref');
    for (const ref of new Set(refs)) assert.ok(resolvePointer(doc, ref) !== undefined, `${ref} does not resolve`);
    for (const [name, response] of Object.entries(doc.components.responses)) {
      assert.deepEqual(response.content?.['application/json']?.schema, { $ref: '#/components/schemas/Error' }, name);
    }
    const error = doc.components.schemas.Error!;
    assert.deepEqual(error.required, ['error']);
    assert.deepEqual(error.properties?.error?.required, ['status', 'code', 'message']);
    assert.ok(doc.components.responses.TooManyRequests?.headers?.['Retry-After'], '429 documents Retry-After');
  });

  it('passes Redocly CLI’s recommended rules with no error', async (t) => {
    const report = await redoclyLint(doc);
    const problems = (severity: 'error' | 'warn') =>
      report.problems.filter((p) => p.severity === severity).map((p) => `${p.ruleId} at ${p.location[0]?.pointer}: ${p.message}`);
    assert.deepEqual(problems('error'), [], 'fix how api/openapi.ts builds the document, or the route’s declaration');
    assert.equal(report.totals.errors, 0);
    for (const warning of problems('warn')) t.diagnostic(`redocly warning: ${warning}`);
  });

  it('expresses Joi’s oxor, and, nand and without through the properties they name', () => {
    const peers = { a: Joi.string(), b: Joi.string() };
    const none = { properties: { a: { not: {} }, b: { not: {} } } };
    assert.deepEqual(joiToJsonSchema(Joi.object(peers).oxor('a', 'b')).oneOf, [{ required: ['a'] }, { required: ['b'] }, none]);
    assert.deepEqual(joiToJsonSchema(Joi.object(peers).and('a', 'b')).anyOf, [{ required: ['a', 'b'] }, none]);
    assert.deepEqual(joiToJsonSchema(Joi.object(peers).nand('a', 'b')).anyOf, [{ properties: { a: { not: {} } } }, { properties: { b: { not: {} } } }]);
    assert.deepEqual(joiToJsonSchema(Joi.object(peers).without('a', ['b'])).dependentSchemas, { a: { properties: { b: { not: {} } } } });
  });

  it('converts the Joi schema of every route, expressing every type and rule they use', () => {
    const unsupported: string[] = [];
    for (const spec of routes) {
      for (const part of ['params', 'query', 'body'] as const) {
        const schema = spec[part];
        if (!schema) continue;
        const converted = joiToJsonSchema(schema, { onUnsupported: (what) => unsupported.push(`${spec.method.toUpperCase()} ${spec.path} ${part}: ${what}`) });
        assert.deepEqual(JSON.parse(JSON.stringify(converted)), converted, `${spec.path} ${part} converts to plain JSON`);
        const described = schema.describe() as { keys?: Record<string, { flags?: { presence?: string } }> };
        if (!described.keys) continue;
        const keys = Object.entries(described.keys).filter(([, k]) => k.flags?.presence !== 'forbidden');
        assert.deepEqual(Object.keys(converted.properties ?? {}), keys.map(([name]) => name), `${spec.path} ${part}: properties`);
        assert.deepEqual(converted.required ?? [], keys.filter(([, k]) => k.flags?.presence === 'required').map(([name]) => name), `${spec.path} ${part}: required`);
      }
    }
    assert.deepEqual(unsupported, [], 'extend api/openapi.ts for these');
  });

  it('converts a body with an enum, a uuid, limits, nullables, arrays, dates and alternatives to the expected JSON Schema', () => {
    const body = Joi.object({
      project_id: schemas.id.required(),
      title: Joi.string().trim().min(1).max(200).required(),
      status: Joi.string().valid('draft', 'approved'),
      limit: schemas.limit,
      score: Joi.number().greater(0).max(1),
      website: Joi.string().uri().allow('', null),
      note: Joi.string().max(10).allow(''),
      code: Joi.string().pattern(/^[A-Z]{3}$/),
      tags: Joi.array().items(Joi.string().max(30)).max(10).unique(),
      at: Joi.string().isoDate(),
      published: Joi.date(),
      flag: Joi.boolean().default(false),
      source: Joi.alternatives().try(Joi.string().email(), Joi.number().integer()),
      meta: Joi.object().unknown(true),
      extra: Joi.any(),
      secret: Joi.string().forbidden(),
      zone: Joi.string().custom((v: string) => v, 'an IANA time zone'),
    }).or('status', 'at');
    assert.deepEqual(joiToJsonSchema(body), {
      type: 'object',
      properties: {
        project_id: { type: 'string', format: 'uuid' },
        title: { type: 'string', minLength: 1, maxLength: 200 },
        status: { type: 'string', enum: ['draft', 'approved'] },
        limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 },
        score: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
        website: { anyOf: [{ type: ['string', 'null'], format: 'uri' }, { enum: [''] }] },
        note: { type: 'string', maxLength: 10 },
        code: { type: 'string', minLength: 1, pattern: '^[A-Z]{3}$' },
        tags: { type: 'array', items: { type: 'string', maxLength: 30, minLength: 1 }, maxItems: 10, uniqueItems: true },
        at: { type: 'string', format: 'date-time' },
        published: { type: 'string', format: 'date-time' },
        flag: { type: 'boolean', default: false },
        source: { anyOf: [{ type: 'string', format: 'email' }, { type: 'integer' }] },
        meta: { type: 'object' },
        extra: {},
        zone: { type: 'string', minLength: 1, description: 'an IANA time zone' },
      },
      required: ['project_id', 'title'],
      additionalProperties: false,
      anyOf: [{ required: ['status'] }, { required: ['at'] }],
    });
    const reported: string[] = [];
    joiToJsonSchema(Joi.object({ card: Joi.string().creditCard(), word: Joi.string().pattern(/x/i) }), { onUnsupported: (w) => reported.push(w) });
    assert.deepEqual(reported, ['card: string rule creditCard', 'word: regex flags i']);
  });

  it('serves /docs: a self-contained HTML page naming every path, under a CSP allowing only its own style', async () => {
    const res = await api.request('GET', '/docs');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = res.text;
    for (const path of Object.keys(doc.paths)) assert.ok(html.includes(`<code>${path}</code>`), `/docs names ${path}`);
    for (const spec of routes) assert.ok(html.includes(`<span class="method ${spec.method}">`), `/docs shows ${spec.method}`);
    assert.ok(!/<script|<link|<img|<iframe|\ssrc=|@import|url\(/i.test(html), 'the page loads nothing');
    assert.ok(html.includes('bearer token') && html.includes('public'), 'auth is shown');

    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.ok(!/script-src|unsafe-inline/.test(csp), csp);
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(([, css]) => css!);
    assert.equal(styles.length, 1);
    const hash = createHash('sha256').update(styles[0]!).digest('base64');
    assert.ok(csp.includes(`style-src 'sha256-${hash}'`), 'the CSP allows exactly the page’s style');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  it('renders field rules and escapes what it shows', async () => {
    const html = (await api.request('GET', '/docs')).text;
    const register = html.slice(html.indexOf('id="postAuthRegister"'));
    assert.match(register, /<code>email<\/code> <span class="req">required<\/span><\/td><td>string \(email\)<\/td><td>at most 255 chars<\/td>/);
    assert.match(register, /one of <code>&quot;ko&quot;<\/code>, <code>&quot;en&quot;<\/code>/);
    assert.match(register, /errors: <span class="status" title="[^"]+">400<\/span>/);
  });
});
