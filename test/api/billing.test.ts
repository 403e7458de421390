import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { QueryTypes, type WhereOptions } from 'sequelize';
import Stripe from 'stripe';
import { chargeContent, NoCreditsError } from '../../db/repositories/ledger';
import { addUtcMonths } from '../../db/rollover';
import { ROLES, type Subscription } from '../../db/models';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createAccount, type Account, type Actor as TenantActor } from '../support/tenants';

type Actor = Exclude<TenantActor, 'other'>;

const ACTORS: readonly Actor[] = [...ROLES, 'outsider'];

/** Every seeded plan has a price: each is paid through Stripe (stripe-mock) and a signed invoice.paid (see billing-stripe.test.ts). */
const PRICES = { starter: { monthly: 'price_starter_m', yearly: 'price_starter_y' }, pro: { monthly: 'price_pro_m' }, business: { monthly: 'price_business_m' } };
const signer = new Stripe('sk_test_signing_only');

describe('billing routes', () => {
  let api: ApiHarness;
  const people = {} as Record<Actor | 'stranger', Account>;

  before(async () => {
    api = await createApiHarness({ STRIPE_PRICES: JSON.stringify(PRICES) });
    for (const name of ['owner', 'admin', 'editor', 'viewer', 'outsider', 'stranger'] as const) people[name] = await createAccount(api, name);
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  /**
   * An organization of owner, admin, editor and viewer. It has no subscription yet (these tests make
   * it subscribe), so its members are written directly: the API would hold them to one seat.
   */
  async function team(): Promise<string> {
    const created = await api.request('POST', '/organizations', { token: people.owner.token, body: { name: 'Team', slug: `team-${randomBytes(5).toString('hex')}` } });
    assert.equal(created.status, 201, created.text);
    const id: string = created.body.organization.id;
    for (const role of ['admin', 'editor', 'viewer'] as const) {
      await api.ctx.models.OrganizationMember.create({ organization_id: id, user_id: people[role].userId, role, invited_by: people.owner.userId });
    }
    return id;
  }

  /** Stripe's word that the subscription's first invoice is paid: a signed invoice.paid for one billing cycle from now. */
  async function pay(subscriptionId: string, cycle = 'monthly'): Promise<void> {
    const start = new Date();
    const payload = JSON.stringify({
      id: `evt_${randomBytes(8).toString('hex')}`,
      object: 'event',
      type: 'invoice.paid',
      created: Math.floor(start.getTime() / 1000),
      data: {
        object: {
          id: `in_${randomBytes(8).toString('hex')}`,
          object: 'invoice',
          parent: { subscription_details: { subscription: `sub_${randomBytes(8).toString('hex')}`, metadata: { autoclip_subscription_id: subscriptionId } } },
          lines: { data: [{ period: { start: start.getTime() / 1000, end: addUtcMonths(start, cycle === 'yearly' ? 12 : 1).getTime() / 1000 } }] },
        },
      },
    });
    const header = signer.webhooks.generateTestHeaderString({ payload, secret: process.env.STRIPE_WEBHOOK_SECRET! });
    const res = await api.request('POST', '/billing/stripe/webhook', { rawBody: payload, headers: { 'stripe-signature': header } });
    assert.equal(res.status, 200, res.text);
  }

  /** Subscribes (a Checkout, nothing granted), then pays: the subscription as the API then shows it. */
  async function subscribe(token: string, body: Record<string, unknown>): Promise<{ id: string; credits_remaining: number; current_period_end: string }> {
    const res = await api.request('POST', '/subscriptions', { token, body });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.subscription.status, 'incomplete');
    await pay(res.body.subscription.id, body.billing_cycle as string | undefined);
    const paid = await api.request('GET', `/subscriptions/${res.body.subscription.id}`, { token });
    return paid.body.subscription;
  }

  /** The subscriptions matching `where` and their ledgers, as stored. */
  async function snapshot(where: WhereOptions<Subscription>) {
    const { CreditTransaction, Subscription } = api.ctx.models;
    const subscriptions = await Subscription.findAll({ where, raw: true, order: [['id', 'ASC']] });
    const ledger = await CreditTransaction.findAll({ where: { subscription_id: subscriptions.map((s) => s.id) }, raw: true, order: [['id', 'ASC']] });
    return { subscriptions, ledger };
  }

  /** Whether PostgreSQL agrees that the period is `interval` long in UTC calendar terms. */
  async function periodIs(subscriptionId: string, interval: string): Promise<boolean> {
    const [row] = await api.ctx.sequelize.query<{ ok: boolean }>(
      `SELECT (current_period_start AT TIME ZONE 'UTC') + CAST(:interval AS interval) = (current_period_end AT TIME ZONE 'UTC') AS ok
         FROM subscriptions WHERE id = :id`,
      { replacements: { id: subscriptionId, interval }, type: QueryTypes.SELECT },
    );
    return row?.ok === true;
  }

  /** A content of a new project of `owner`, for charging credits through db/repositories/ledger.ts. */
  async function contentOf(owner: { user_id: string } | { organization_id: string }): Promise<string> {
    const project = await api.ctx.models.Project.create({ ...owner, name: 'P', vertical: 'finance' });
    const content = await api.ctx.models.Content.create({ project_id: project.id, title: 'C', script: { hook: '', body: [], cta: '', full_text: '' } });
    return content.id;
  }

  it('lists the active plans in display order with their features, without a token', async () => {
    await api.ctx.models.SubscriptionPlan.create({ code: 'legacy', name: 'Legacy', price_monthly: 1, monthly_credits: 1, features: {} as never, is_active: false, display_order: 0 });
    const res = await api.request('GET', '/plans');
    assert.equal(res.status, 200);
    assert.deepEqual(
      res.body.items.map((p: { code: string }) => p.code),
      ['starter', 'pro', 'business'],
    );
    const pro = res.body.items[1];
    assert.deepEqual(
      { price_monthly: pro.price_monthly, currency: pro.currency, monthly_credits: pro.monthly_credits, max_projects: pro.max_projects, team_seats: pro.features.team_seats },
      { price_monthly: 49_900, currency: 'KRW', monthly_credits: 120, max_projects: 10, team_seats: 3 },
    );
  });

  it('subscribes a user with the plan’s credits for one month once paid, records a reset entry, and refuses a second active one', async () => {
    const me = await createAccount(api, 'subscriber');
    const created = await api.request('POST', '/subscriptions', { token: me.token, body: { plan_code: 'pro' } });
    assert.equal(created.status, 201, created.text);
    // Issue 14: a paid plan grants nothing until Stripe says it is paid.
    assert.deepEqual([created.body.subscription.status, created.body.subscription.credits_remaining], ['incomplete', 0]);
    assert.match(created.body.checkout_url, /^https:\/\//);
    assert.equal(await api.ctx.models.CreditTransaction.count({ where: { subscription_id: created.body.subscription.id } }), 0);
    await pay(created.body.subscription.id);
    const sub = (await api.request('GET', `/subscriptions/${created.body.subscription.id}`, { token: me.token })).body.subscription;
    assert.deepEqual(
      { user_id: sub.user_id, organization_id: sub.organization_id, status: sub.status, cycle: sub.billing_cycle, plan: sub.plan.code, used: sub.credits_used, remaining: sub.credits_remaining },
      { user_id: me.userId, organization_id: null, status: 'active', cycle: 'monthly', plan: 'pro', used: 0, remaining: 120 },
    );
    assert.ok(await periodIs(sub.id, '1 month'));
    const ledger = await api.ctx.models.CreditTransaction.findAll({ where: { subscription_id: sub.id } });
    assert.deepEqual(
      ledger.map((t) => [t.transaction_type, t.credits_amount, t.credits_balance]),
      [['reset', 120, 120]],
    );

    const second = await api.request('POST', '/subscriptions', { token: me.token, body: { plan_code: 'starter' } });
    assert.equal(second.status, 409);
    assert.equal(await api.ctx.models.Subscription.count({ where: { user_id: me.userId } }), 1);

    const listed = await api.request('GET', '/subscriptions', { token: me.token });
    assert.deepEqual(
      listed.body.items.map((s: { id: string }) => s.id),
      [sub.id],
    );
    const read = await api.request('GET', `/subscriptions/${sub.id}`, { token: me.token });
    assert.equal(read.status, 200);
    assert.deepEqual([read.body.subscription.current_period_end, read.body.subscription.credits_remaining], [sub.current_period_end, 120]);
    const entries = await api.request('GET', `/subscriptions/${sub.id}/credit-transactions`, { token: me.token });
    assert.equal(entries.status, 200);
    assert.deepEqual(
      entries.body.items.map((t: { transaction_type: string; credits_balance: number }) => [t.transaction_type, t.credits_balance]),
      [['reset', 120]],
    );
    assert.equal(entries.body.next_cursor, null);
  });

  it('runs a yearly subscription for one year', async () => {
    const me = await createAccount(api, 'someone');
    const sub = await subscribe(me.token, { plan_code: 'starter', billing_cycle: 'yearly' });
    assert.ok(await periodIs(sub.id, '1 year'));
    assert.equal(sub.credits_remaining, 30);
  });

  it('lets exactly one of several concurrent subscribe requests through', async () => {
    const me = await createAccount(api, 'someone');
    const results = await Promise.all(Array.from({ length: 8 }, () => api.request('POST', '/subscriptions', { token: me.token, body: { plan_code: 'starter' } })));
    assert.deepEqual(
      results.map((r) => r.status).sort(),
      [201, 409, 409, 409, 409, 409, 409, 409],
    );
    // None is paid: the one let through waits for its payment.
    assert.equal(await api.ctx.models.Subscription.count({ where: { user_id: me.userId, status: 'incomplete' } }), 1);
    assert.equal(await api.ctx.models.Subscription.count({ where: { user_id: me.userId, status: 'active' } }), 0);
  });

  it('waits for the owner row lock, so a subscription committed meanwhile is seen and the request refused', async () => {
    const me = await createAccount(api, 'someone');
    const { sequelize, models } = api.ctx;
    const plan = await models.SubscriptionPlan.findOne({ where: { code: 'starter' } });
    const held = await sequelize.transaction();
    await models.User.findByPk(me.userId, { transaction: held, lock: held.LOCK.UPDATE });
    let settled = false;
    const pending = api.request('POST', '/subscriptions', { token: me.token, body: { plan_code: 'pro' } }).finally(() => {
      settled = true;
    });
    await sleep(300);
    assert.equal(settled, false, 'the request waits for the lock');
    const now = new Date();
    await models.Subscription.create(
      { user_id: me.userId, organization_id: null, plan_id: plan!.id, status: 'active', started_at: now, current_period_start: now, current_period_end: new Date(now.getTime() + 86_400_000), cancelled_at: null, payment_method_id: null, stripe_subscription_id: null, credits_remaining: 1 },
      { transaction: held },
    );
    await held.commit();
    assert.equal((await pending).status, 409);
    assert.equal(await models.Subscription.count({ where: { user_id: me.userId } }), 1);
  });

  it('expires an active subscription whose period has ended when a new one starts', async () => {
    const me = await createAccount(api, 'someone');
    const old = await subscribe(me.token, { plan_code: 'starter' });
    await api.ctx.models.Subscription.update({ current_period_end: new Date(Date.now() - 1000) }, { where: { id: old.id } });
    await subscribe(me.token, { plan_code: 'pro' });
    assert.equal((await api.ctx.models.Subscription.findByPk(old.id))?.status, 'expired');
  });

  it('cancels a subscription, after which the ledger charges nothing; a new subscription may then start', async () => {
    const me = await createAccount(api, 'someone');
    const sub = await subscribe(me.token, { plan_code: 'starter' });
    const charged = await chargeContent(api.ctx.sequelize, await contentOf({ user_id: me.userId }), 'test run');
    assert.deepEqual([charged.subscriptionId, charged.balance], [sub.id, 29]);

    const cancelled = await api.request('POST', `/subscriptions/${sub.id}/cancel`, { token: me.token });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.subscription.status, 'cancelled');
    assert.ok(cancelled.body.subscription.cancelled_at);
    const stored = await api.ctx.models.Subscription.findByPk(sub.id);
    assert.deepEqual([stored?.status, stored?.cancelled_at instanceof Date], ['cancelled', true]);
    await assert.rejects(chargeContent(api.ctx.sequelize, await contentOf({ user_id: me.userId }), 'after cancel'), (err: unknown) => err instanceof NoCreditsError && err.reason === 'no_subscription');

    const again = await api.request('POST', `/subscriptions/${sub.id}/cancel`, { token: me.token });
    assert.equal(again.status, 409);
    await subscribe(me.token, { plan_code: 'pro' });
  });

  it("cancels an organization's subscription when the organization is deleted, so nothing more is charged", async () => {
    const id = await team();
    const sub = await subscribe(people.owner.token, { plan_code: 'pro', organization_id: id });
    assert.equal((await chargeContent(api.ctx.sequelize, await contentOf({ organization_id: id }), 'before')).balance, 119);
    assert.equal((await api.request('DELETE', `/organizations/${id}`, { token: people.owner.token })).status, 204);
    const stored = await api.ctx.models.Subscription.findByPk(sub.id);
    assert.deepEqual([stored?.status, stored?.credits_remaining], ['cancelled', 119]);
    await assert.rejects(chargeContent(api.ctx.sequelize, await contentOf({ organization_id: id }), 'after'), (err: unknown) => err instanceof NoCreditsError);
    assert.equal((await api.request('GET', `/subscriptions/${sub.id}`, { token: people.owner.token })).status, 404);
  });

  describe('role × action: the owner subscribes and cancels for the organization', () => {
    it('POST /subscriptions with organization_id', async () => {
      const expected: Record<Actor, number> = { owner: 201, admin: 403, editor: 403, viewer: 403, outsider: 404 };
      for (const actor of ACTORS) {
        const id = await team();
        const res = await api.request('POST', '/subscriptions', { token: people[actor].token, body: { plan_code: 'pro', organization_id: id } });
        assert.equal(res.status, expected[actor], `${actor}: ${res.text}`);
        const stored = await snapshot({ organization_id: id });
        assert.equal(stored.subscriptions.length, res.status === 201 ? 1 : 0, actor);
        // Unpaid: no ledger entry and the organization keeps its plan type until Stripe's paid invoice.
        assert.equal(stored.ledger.length, 0, actor);
        assert.equal((await api.ctx.models.Organization.findByPk(id))?.plan_type, 'starter', actor);
        if (res.status === 201) {
          await pay(res.body.subscription.id);
          assert.equal((await snapshot({ organization_id: id })).ledger.length, 1, actor);
          assert.equal((await api.ctx.models.Organization.findByPk(id))?.plan_type, 'pro', actor);
        }
      }
    });

    it('POST /subscriptions/:id/cancel', async () => {
      const expected: Record<Actor, number> = { owner: 200, admin: 403, editor: 403, viewer: 403, outsider: 404 };
      for (const actor of ACTORS) {
        const id = await team();
        const sub = await subscribe(people.owner.token, { plan_code: 'business', organization_id: id });
        const before = await snapshot({ organization_id: id });
        const res = await api.request('POST', `/subscriptions/${sub.id}/cancel`, { token: people[actor].token });
        assert.equal(res.status, expected[actor], `${actor}: ${res.text}`);
        if (res.status === 200) {
          assert.equal((await api.ctx.models.Subscription.findByPk(sub.id))?.status, 'cancelled');
          assert.equal((await api.ctx.models.Organization.findByPk(id))?.plan_type, 'starter');
        } else {
          assert.deepEqual(await snapshot({ organization_id: id }), before, `${actor}: a refused cancel changed nothing`);
        }
      }
    });
  });

  it('lets every member read the organization’s subscription and only owners and admins its ledger', async () => {
    const id = await team();
    const sub = await subscribe(people.owner.token, { plan_code: 'pro', organization_id: id });
    const reads: Record<Actor, [number, number, number]> = {
      owner: [200, 200, 200],
      admin: [200, 200, 200],
      editor: [200, 200, 403],
      viewer: [200, 200, 403],
      outsider: [404, 404, 404],
    };
    for (const actor of ACTORS) {
      const token = people[actor].token;
      const statuses = [
        (await api.request('GET', `/subscriptions?organization_id=${id}`, { token })).status,
        (await api.request('GET', `/subscriptions/${sub.id}`, { token })).status,
        (await api.request('GET', `/subscriptions/${sub.id}/credit-transactions`, { token })).status,
      ];
      assert.deepEqual(statuses, reads[actor], actor);
    }
    const listed = await api.request('GET', `/subscriptions?organization_id=${id}`, { token: people.viewer.token });
    assert.deepEqual(
      listed.body.items.map((s: { id: string; organization_id: string }) => [s.id, s.organization_id]),
      [[sub.id, id]],
    );
    const personal = await api.request('GET', '/subscriptions', { token: people.viewer.token });
    assert.ok(!personal.body.items.some((s: { id: string }) => s.id === sub.id), 'an organization’s subscription is not a personal one');
  });

  it('pages the ledger newest first with an opaque cursor, ties broken by id, microseconds kept', async () => {
    const me = await createAccount(api, 'someone');
    const sub = await subscribe(me.token, { plan_code: 'business' });
    // Rows sharing a timestamp, and rows a microsecond apart that JavaScript dates cannot tell apart.
    await api.ctx.sequelize.query(
      `INSERT INTO credit_transactions (subscription_id, transaction_type, credits_amount, credits_balance, created_at)
       SELECT :id, 'usage', -1, 500 - n, timestamptz '2030-01-01 00:00:00.000001+00' + ((n / 3) * interval '1 microsecond')
         FROM generate_series(1, 24) AS n`,
      { replacements: { id: sub.id } },
    );
    const expected = await api.ctx.sequelize.query<{ id: string }>('SELECT id FROM credit_transactions WHERE subscription_id = :id ORDER BY created_at DESC, id DESC', {
      replacements: { id: sub.id },
      type: QueryTypes.SELECT,
    });
    assert.equal(expected.length, 25);
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=10&cursor=${encodeURIComponent(cursor)}` : '?limit=10';
      const page = await api.request('GET', `/subscriptions/${sub.id}/credit-transactions${query}`, { token: me.token });
      assert.equal(page.status, 200, page.text);
      sizes.push(page.body.items.length);
      seen.push(...page.body.items.map((t: { id: string }) => t.id));
      cursor = page.body.next_cursor;
    } while (cursor);
    assert.deepEqual(sizes, [10, 10, 5]);
    assert.deepEqual(
      seen,
      expected.map((r) => r.id),
    );

    const other = await subscribe((await createAccount(api, 'someone')).token, { plan_code: 'starter' });
    const foreignRow = await api.ctx.models.CreditTransaction.findOne({ where: { subscription_id: other.id } });
    const foreign = Buffer.from(foreignRow!.id).toString('base64url');
    for (const [query, field] of [
      ['?cursor=not-a-cursor', 'query.cursor'],
      [`?cursor=${foreign}`, 'query.cursor'],
      ['?limit=0', 'query.limit'],
      ['?limit=101', 'query.limit'],
      ['?limit=ten', 'query.limit'],
      [`?cursor=${'x'.repeat(201)}`, 'query.cursor'],
      ['?sort=asc', 'query.sort'],
    ] as const) {
      const res = await api.request('GET', `/subscriptions/${sub.id}/credit-transactions${query}`, { token: me.token });
      assert.equal(res.status, 400, query);
      assert.deepEqual(Object.keys(res.body.error.details), [field], query);
    }
  });

  it("answers 404 and changes nothing when another tenant uses a subscription's id", async () => {
    const id = await team();
    const orgSub = await subscribe(people.owner.token, { plan_code: 'pro', organization_id: id });
    const me = await createAccount(api, 'someone');
    const personalSub = await subscribe(me.token, { plan_code: 'starter' });
    await api.request('POST', '/organizations', { token: people.stranger.token, body: { name: 'Rival', slug: `rival-${randomBytes(5).toString('hex')}` } });
    const before = [await snapshot({ organization_id: id }), await snapshot({ user_id: me.userId })];
    for (const [token, subId] of [
      [people.stranger.token, orgSub.id],
      [people.stranger.token, personalSub.id],
      [people.owner.token, personalSub.id],
    ] as const) {
      for (const [method, path] of [
        ['GET', `/subscriptions/${subId}`],
        ['POST', `/subscriptions/${subId}/cancel`],
        ['GET', `/subscriptions/${subId}/credit-transactions`],
      ] as const) {
        const res = await api.request(method, path, { token });
        assert.equal(res.status, 404, `${method} ${path}: ${res.text}`);
      }
    }
    assert.equal((await api.request('GET', `/subscriptions?organization_id=${id}`, { token: people.stranger.token })).status, 404);
    const rivalSubscribe = await api.request('POST', '/subscriptions', { token: people.stranger.token, body: { plan_code: 'pro', organization_id: id } });
    assert.equal(rivalSubscribe.status, 404);
    assert.deepEqual([await snapshot({ organization_id: id }), await snapshot({ user_id: me.userId })], before);
    assert.equal((await api.request('GET', '/subscriptions/00000000-0000-4000-8000-000000000000', { token: me.token })).status, 404);
  });

  it('answers invalid input with 400 naming every failing field and creates nothing', async () => {
    const me = await createAccount(api, 'someone');
    const cases: [unknown, string[]][] = [
      [{}, ['body.plan_code']],
      [{ plan_code: 5, billing_cycle: 'weekly', organization_id: 'not-a-uuid', extra: 1 }, ['body.billing_cycle', 'body.extra', 'body.organization_id', 'body.plan_code']],
      [{ plan_code: 'p'.repeat(21) }, ['body.plan_code']],
      [{ plan_code: 'platinum' }, ['body.plan_code']],
      [{ plan_code: 'legacy' }, ['body.plan_code']],
      [{ plan_code: "' OR 1=1 --" }, ['body.plan_code']],
      [{ plan_code: '<script>' }, ['body.plan_code']],
      [[1, 2], ['body']],
    ];
    for (const [body, fields] of cases) {
      const res = await api.request('POST', '/subscriptions', { token: me.token, body });
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields, JSON.stringify(body));
    }
    assert.equal((await api.request('GET', '/subscriptions?foo=1', { token: me.token })).status, 400);
    assert.equal((await api.request('GET', '/subscriptions?organization_id=nope', { token: me.token })).status, 400);
    assert.equal((await api.request('POST', '/subscriptions', { token: me.token, rawBody: '{"plan_code":' })).status, 400);
    assert.equal((await api.request('POST', '/subscriptions', { body: { plan_code: 'pro' } })).status, 401);
    assert.equal(await api.ctx.models.Subscription.count({ where: { user_id: me.userId } }), 0);
  });
});
