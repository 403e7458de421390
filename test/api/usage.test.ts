import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QueryTypes } from 'sequelize';
import { issueAccessToken } from '../../api/auth/tokens';
import { usageQuery } from '../../db/repositories/usage';
import { EMPTY_SCRIPT } from '../../db/models';
import { createApiHarness, type ApiHarness } from '../support/api';
import { subscribe } from '../support/tenants';

type Account = { userId: string; token: string; email: string };

/** A user made with the model and given an access token directly (/auth/register is rate limited). */
async function account(api: ApiHarness, name: string): Promise<Account> {
  const email = `${name}-${randomBytes(5).toString('hex')}@example.com`;
  const user = await api.ctx.models.User.create({ email, name });
  const { tokenSecret, accessTokenTtlSec } = api.ctx.config.auth;
  return { userId: user.id, token: issueAccessToken(user.id, tokenSecret, accessTokenTtlSec).token, email };
}

interface UsageFixture {
  user_id: string | null;
  organization_id: string | null;
  service: string;
  operation: string;
  input_units: number;
  output_units: number;
  duration_ms: number | null;
  estimated_cost: number | null;
  status_code: number | null;
  error_message: string | null;
  created_at: Date;
}

interface Sums {
  calls: number;
  input_units: number;
  output_units: number;
  duration_ms: number;
  estimated_cost_usd: string;
  errors: number;
}

/** What GET /usage should answer for `rows`, computed in JavaScript (cost in whole micro-dollars, so exactly). */
function expectedUsage(rows: UsageFixture[]) {
  const sums = new Map<string, { calls: number; input_units: number; output_units: number; duration_ms: number; micros: number; errors: number }>();
  const add = (key: string, r: UsageFixture) => {
    const s = sums.get(key) ?? { calls: 0, input_units: 0, output_units: 0, duration_ms: 0, micros: 0, errors: 0 };
    s.calls += 1;
    s.input_units += r.input_units;
    s.output_units += r.output_units;
    s.duration_ms += r.duration_ms ?? 0;
    s.micros += Math.round((r.estimated_cost ?? 0) * 1e6);
    s.errors += r.error_message !== null || (r.status_code ?? 0) >= 400 ? 1 : 0;
    sums.set(key, s);
  };
  for (const r of rows) {
    const month = r.created_at.toISOString().slice(0, 7);
    add(`${month}|${r.service}|${r.operation}`, r);
    add(month, r);
    add('', r);
  }
  const out = (key: string): Sums => {
    const s = sums.get(key) ?? { calls: 0, input_units: 0, output_units: 0, duration_ms: 0, micros: 0, errors: 0 };
    const cost = `${Math.floor(s.micros / 1e6)}.${String(s.micros % 1e6).padStart(6, '0')}`;
    return { calls: s.calls, input_units: s.input_units, output_units: s.output_units, duration_ms: s.duration_ms, estimated_cost_usd: cost, errors: s.errors };
  };
  const keys = [...sums.keys()].filter((k) => k.includes('|')).sort();
  const months = [...new Set(keys.map((k) => k.split('|')[0]!))].sort();
  return {
    usage: keys.map((k) => {
      const [month, service, operation] = k.split('|');
      return { month, service, operation, ...out(k) };
    }),
    months: months.map((month) => ({ month, ...out(month) })),
    totals: out(''),
  };
}

describe('usage route', () => {
  let api: ApiHarness;
  let me: Account;
  let other: Account;
  let owner: Account;
  let viewer: Account;
  let outsider: Account;
  let organizationId: string;
  const fixtures: UsageFixture[] = [];

  function usage(who: { user_id?: string | null; organization_id?: string | null }, service: string, operation: string, at: string, extra: Partial<UsageFixture> = {}): UsageFixture {
    return {
      user_id: who.user_id ?? null,
      organization_id: who.organization_id ?? null,
      service,
      operation,
      input_units: 10,
      output_units: 5,
      duration_ms: 100,
      estimated_cost: 0.000123,
      status_code: 200,
      error_message: null,
      created_at: new Date(at),
      ...extra,
    };
  }

  before(async () => {
    api = await createApiHarness();
    [me, other, owner, viewer, outsider] = await Promise.all([account(api, 'me'), account(api, 'other'), account(api, 'owner'), account(api, 'viewer'), account(api, 'outsider')]);
    const org = await api.request('POST', '/organizations', { token: owner.token, body: { name: 'Usage Org', slug: `usage-${randomBytes(5).toString('hex')}` } });
    organizationId = org.body.organization.id;
    await subscribe(api, { organization_id: organizationId }, 'business');
    assert.equal((await api.request('POST', `/organizations/${organizationId}/members`, { token: owner.token, body: { email: viewer.email, role: 'viewer' } })).status, 201);
    await api.ctx.sequelize.query("SELECT create_api_usages_partitions(DATE '2025-01-01', 3)");

    const mine = { user_id: me.userId };
    const team = { organization_id: organizationId };
    fixtures.push(
      usage(mine, 'gemini', 'text_generation', '2025-01-15T03:00:00Z', { input_units: 1200, output_units: 640, duration_ms: 1500, estimated_cost: 0.000456 }),
      usage(mine, 'gemini', 'text_generation', '2025-01-20T10:00:00Z'),
      // 23:30 UTC on 31 January is already 1 February in Seoul: UTC months decide.
      usage(mine, 'elevenlabs', 'tts', '2025-01-31T23:30:00Z', { estimated_cost: 0.1, status_code: 500, error_message: 'upstream failed' }),
      usage(mine, 'elevenlabs', 'tts', '2025-02-01T00:00:00Z', { estimated_cost: 0.2, status_code: 429 }),
      usage(mine, 'local', 'render', '2025-03-10T12:00:00Z', { estimated_cost: null, duration_ms: null, status_code: null }),
      // Fifty tenths of a cent: a float sum drifts, the SQL numeric sum must not.
      ...Array.from({ length: 50 }, (_, i) => usage(mine, 'openai', 'image_generation', `2025-03-${String((i % 28) + 1).padStart(2, '0')}T08:00:00Z`, { estimated_cost: 0.1 })),
      usage(team, 'openai', 'tts', '2025-02-10T09:00:00Z', { input_units: 3000 }),
      usage(team, 'openai', 'tts', '2025-02-11T09:00:00Z', { error_message: 'timeout', status_code: null }),
      usage(team, 'gemini', 'text_generation', '2025-03-01T00:00:00Z'),
      // A row naming both owners belongs to the organization, not to the person.
      usage({ ...mine, ...team }, 'gemini', 'text_generation', '2025-03-02T00:00:00Z'),
      usage({ user_id: other.userId }, 'gemini', 'text_generation', '2025-01-15T00:00:00Z', { input_units: 99_999 }),
      usage(mine, 'gemini', 'text_generation', '2024-12-31T23:59:59.999Z'),
      usage(mine, 'gemini', 'text_generation', '2025-04-01T00:00:00Z'),
      usage(team, 'gemini', 'text_generation', '2025-04-01T00:00:00Z'),
    );
    await api.ctx.models.ApiUsage.bulkCreate(fixtures);
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  const inRange = (r: UsageFixture) => r.created_at >= new Date('2025-01-01T00:00:00Z') && r.created_at < new Date('2025-04-01T00:00:00Z');

  it('stores each row in the partition of its UTC month', async () => {
    const rows = await api.ctx.sequelize.query<{ partition: string; n: number }>(
      `SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM api_usages
        WHERE created_at >= '2024-12-01' AND created_at < '2025-05-01' GROUP BY 1 ORDER BY 1`,
      { type: QueryTypes.SELECT },
    );
    const expected = new Map<string, number>();
    for (const r of fixtures) {
      const month = r.created_at.toISOString().slice(0, 7);
      const name = ['2025-01', '2025-02', '2025-03'].includes(month) ? `api_usages_${month.replace('-', '_')}` : 'api_usages_default';
      expected.set(name, (expected.get(name) ?? 0) + 1);
    }
    assert.deepEqual(
      rows.map((r) => [r.partition, r.n]),
      [...expected.entries()].sort(([a], [b]) => a.localeCompare(b)),
    );
  });

  it('sums the personal usage per UTC month, service and operation, as the rows inserted say', async () => {
    const res = await api.request('GET', '/usage?from=2025-01&to=2025-03', { token: me.token });
    assert.equal(res.status, 200, res.text);
    const expected = expectedUsage(fixtures.filter((r) => r.user_id === me.userId && r.organization_id === null && inRange(r)));
    assert.deepEqual({ usage: res.body.usage, months: res.body.months, totals: res.body.totals }, expected);
    assert.deepEqual([res.body.user_id, res.body.from, res.body.to], [me.userId, '2025-01', '2025-03']);
    const january = res.body.months.find((m: { month: string }) => m.month === '2025-01');
    assert.deepEqual([january.calls, january.errors, january.estimated_cost_usd], [3, 1, '0.100579']);
    const imaging = res.body.usage.find((u: { operation: string }) => u.operation === 'image_generation');
    assert.equal(imaging.estimated_cost_usd, '5.000000');
  });

  it("sums an organization's usage for any member, and hides it from everyone else", async () => {
    const res = await api.request('GET', `/usage?organization_id=${organizationId}&from=2025-01&to=2025-03`, { token: viewer.token });
    assert.equal(res.status, 200, res.text);
    const expected = expectedUsage(fixtures.filter((r) => r.organization_id === organizationId && inRange(r)));
    assert.deepEqual({ usage: res.body.usage, months: res.body.months, totals: res.body.totals }, expected);
    assert.equal(res.body.totals.calls, 4);
    assert.equal(res.body.organization_id, organizationId);
    for (const token of [outsider.token, me.token]) {
      const refused = await api.request('GET', `/usage?organization_id=${organizationId}&from=2025-01&to=2025-03`, { token });
      assert.equal(refused.status, 404);
    }
    const otherView = await api.request('GET', '/usage?from=2025-01&to=2025-03', { token: other.token });
    assert.deepEqual([otherView.body.totals.calls, otherView.body.totals.input_units], [1, 99_999]);
  });

  it('defaults to the twelve months up to the current UTC month, and answers an empty period with zeros', async () => {
    const now = new Date();
    await api.ctx.models.ApiUsage.create({ user_id: outsider.userId, service: 'gemini', operation: 'text_generation', input_units: 7, estimated_cost: 0.5 });
    const res = await api.request('GET', '/usage', { token: outsider.token });
    assert.equal(res.status, 200, res.text);
    const to = now.toISOString().slice(0, 7);
    const from = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 11, 1)).toISOString().slice(0, 7);
    assert.deepEqual([res.body.from, res.body.to], [from, to]);
    assert.deepEqual(res.body.totals, { calls: 1, input_units: 7, output_units: 0, duration_ms: 0, estimated_cost_usd: '0.500000', errors: 0 });
    const empty = await api.request('GET', '/usage?from=2020-01&to=2020-12', { token: me.token });
    assert.equal(empty.status, 200);
    assert.deepEqual([empty.body.usage, empty.body.months, empty.body.totals], [[], [], { calls: 0, input_units: 0, output_units: 0, duration_ms: 0, estimated_cost_usd: '0.000000', errors: 0 }]);
  });

  it('validates months and the range (at most 24 months), naming the fields', async () => {
    const cases: [string, string[]][] = [
      ['from=2025-13', ['query.from']],
      ['from=2025-1&to=25-01', ['query.from', 'query.to']],
      ["to=2025-01' OR '1'='1", ['query.to']],
      ['from=<script>', ['query.from']],
      ['from=2025-03&to=2025-01', ['query.from']],
      ['from=2023-01&to=2025-01', ['query.to']],
      ['organization_id=not-a-uuid', ['query.organization_id']],
      ['month=2025-01', ['query.month']],
      [`from=${'9'.repeat(5000)}`, ['query.from']],
    ];
    for (const [query, fields] of cases) {
      const res = await api.request('GET', `/usage?${query}`, { token: me.token });
      assert.equal(res.status, 400, query);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, query);
    }
    assert.equal((await api.request('GET', '/usage?from=2023-02&to=2025-01', { token: me.token })).status, 200);
    assert.equal((await api.request('GET', '/usage')).status, 401);
    assert.equal((await api.request('GET', '/usage?organization_id=00000000-0000-4000-8000-000000000000', { token: me.token })).status, 404);
  });

  it("reads a user's months through idx_api_usages_user_month", async () => {
    const { sql, replacements } = usageQuery({ kind: 'user', userId: me.userId }, '2025-01', '2025-03');
    const plan = await api.ctx.sequelize.transaction(async (transaction) => {
      await api.ctx.sequelize.query('SET LOCAL enable_seqscan = off', { transaction });
      await api.ctx.sequelize.query('SET LOCAL enable_bitmapscan = off', { transaction });
      const rows = await api.ctx.sequelize.query<{ 'QUERY PLAN': unknown }>(`EXPLAIN (FORMAT JSON) ${sql}`, { replacements, type: QueryTypes.SELECT, transaction });
      return JSON.stringify(rows[0]?.['QUERY PLAN']);
    });
    assert.match(plan, /"Index Name":"api_usages_2025_0[123]_user_id_date_trunc_idx"/);
    assert.doesNotMatch(plan, /api_usages_default|api_usages_2025_04/, 'partitions outside the period are pruned');
  });
  it("sums one content's calls and cost for its project's members, with the plan's cap", async () => {
    const project = await api.request('POST', '/projects', { token: owner.token, body: { name: 'Costed', vertical: 'tech', organization_id: organizationId } });
    const content = await api.ctx.models.Content.create({ project_id: project.body.project.id, title: 'Costed video', script: EMPTY_SCRIPT, source_type: 'manual' } as never);
    const team = { organization_id: organizationId };
    const rows = [
      usage(team, 'gemini', 'script_generation', '2025-02-10T09:00:00Z', { estimated_cost: 0.0045 }),
      usage(team, 'gemini', 'script_generation', '2025-02-10T09:00:01Z', { estimated_cost: 0, status_code: 429, error_message: 'rate limited' }),
      usage(team, 'elevenlabs', 'text_to_speech', '2025-02-10T09:00:05Z', { input_units: 400, estimated_cost: 0.072 }),
    ].map((r) => ({ ...r, content_id: content.id }));
    await api.ctx.models.ApiUsage.bulkCreate(rows);
    const res = await api.request('GET', `/contents/${content.id}/usage`, { token: viewer.token });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.totals, { calls: 3, input_units: 420, output_units: 15, duration_ms: 300, estimated_cost_usd: '0.076500', errors: 1 });
    assert.deepEqual(
      res.body.usage.map((u: { service: string; operation: string; calls: number; estimated_cost_usd: string }) => [u.service, u.operation, u.calls, u.estimated_cost_usd]),
      [['elevenlabs', 'text_to_speech', 1, '0.072000'], ['gemini', 'script_generation', 2, '0.004500']],
    );
    assert.equal(res.body.cost_cap_usd, null);
    assert.equal((await api.request('GET', `/contents/${content.id}/usage`, { token: outsider.token })).status, 404);
  });
});
