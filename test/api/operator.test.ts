import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApiHarness, type ApiHarness } from '../support/api';
import { subscribe } from '../support/tenants';

/** GET /operator/recovery-drills: the drills as recorded, for the operators named by OPERATOR_EMAILS alone. */
describe('operator routes', () => {
  const operatorEmail = `operator-${randomBytes(4).toString('hex')}@example.com`;
  let api: ApiHarness;

  before(async () => {
    api = await createApiHarness({ OPERATOR_EMAILS: ` Someone@Example.com , ${operatorEmail.toUpperCase()}` });
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  it('answers the newest drills to an operator and 403 to anyone else, or to an API key', async () => {
    const started = new Date(Date.now() - 60_000);
    const drills = api.ctx.db.recoveryDrills;
    await drills.record({ status: 'failed', target: null, backup_label: null, rpo_seconds: null, rto_seconds: null, tables_verified: null, error: 'the repository holds no backup', workflow_id: null, started_at: started, finished_at: started });
    const passedAt = new Date(started.getTime() + 10_000);
    await drills.record({ status: 'passed', target: 'drill-x', backup_label: '20261207-044025F', rpo_seconds: 12.5, rto_seconds: 48.25, tables_verified: 25, error: null, workflow_id: 'upkeep-recovery-drill-1', started_at: passedAt, finished_at: passedAt });

    const res = await api.request('POST', '/auth/register', { body: { email: operatorEmail, password: `pw-${randomBytes(8).toString('hex')}`, name: 'Operator' } });
    assert.equal(res.status, 201, res.text);
    const operator = res.body.access_token as string;
    await subscribe(api, { user_id: res.body.user.id as string }, 'business');
    const listed = await api.request('GET', '/operator/recovery-drills?limit=2', { token: operator });
    assert.equal(listed.status, 200, listed.text);
    assert.deepEqual(listed.body.drills.map((d: { status: string }) => d.status), ['passed', 'failed']);
    assert.equal(listed.body.drills[0].rpo_seconds, 12.5);
    assert.equal(listed.body.drills[0].tables_verified, 25);
    assert.equal(listed.body.drills[1].error, 'the repository holds no backup');

    const user = await api.register('Not an operator');
    const refused = await api.request('GET', '/operator/recovery-drills', { token: user.token });
    assert.equal(refused.status, 403);
    assert.equal(refused.body.error.code, 'forbidden');

    const key = await api.request('POST', '/api-keys', { token: operator, body: { name: 'ops script', role: 'viewer' } });
    assert.equal(key.status, 201, key.text);
    const byKey = await api.request('GET', '/operator/recovery-drills', { token: key.body.key });
    assert.equal(byKey.status, 403);

    const bad = await api.request('GET', '/operator/recovery-drills?limit=0', { token: operator });
    assert.equal(bad.status, 400);
    assert.ok(bad.body.error.details['query.limit']);
  });
});
