import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import Stripe from 'stripe';
import { chargeContent, NoCreditsError } from '../../db/repositories/ledger';
import { addUtcMonths } from '../../db/rollover';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createAccount, type Account } from '../support/tenants';

/**
 * Paid plans against stripe-mock (the test stack's: STRIPE_API_URL, STRIPE_SECRET_KEY) and signed
 * webhook events. stripe-mock is stateless, so the events are built here, carrying what Stripe's
 * would (ids, metadata, the invoice's period and price); they are signed with the profile's
 * STRIPE_WEBHOOK_SECRET by the SDK and verified by the route with `constructEvent`, as in production.
 */
const PRICES = { starter: { monthly: 'price_starter_m', yearly: 'price_starter_y' }, pro: { monthly: 'price_pro_m' }, business: { monthly: 'price_business_m' } };
const SECRET = process.env.STRIPE_WEBHOOK_SECRET ?? '';
const stripe = new Stripe('sk_test_signing_only');

type Json = Record<string, unknown>;

function id(prefix: string): string {
  return `${prefix}_${randomBytes(8).toString('hex')}`;
}

function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

function event(type: string, object: Json, eventId = id('evt')): Json {
  return { id: eventId, object: 'event', type, created: seconds(new Date()), livemode: false, api_version: '2026-11-18.endive', data: { object } };
}

function checkoutCompleted(ours: string, stripeSubscription: string, invoice: string, paymentStatus = 'paid'): Json {
  return event('checkout.session.completed', {
    id: id('cs_test'),
    object: 'checkout.session',
    mode: 'subscription',
    client_reference_id: ours,
    metadata: { autoclip_subscription_id: ours },
    customer: id('cus'),
    subscription: stripeSubscription,
    invoice,
    payment_status: paymentStatus,
    status: 'complete',
  });
}

/** An invoice event in the API's current shape: parent.subscription_details, the line's period and price. */
function invoiceEvent(type: 'invoice.paid' | 'invoice.payment_failed', opts: { ours?: string; stripeSubscription: string; invoice: string; price: string; start: Date; end: Date }): Json {
  return event(type, {
    id: opts.invoice,
    object: 'invoice',
    status: type === 'invoice.paid' ? 'paid' : 'open',
    customer: id('cus'),
    default_payment_method: type === 'invoice.paid' ? 'pm_card_visa' : null,
    parent: { type: 'subscription_details', subscription_details: { subscription: opts.stripeSubscription, metadata: opts.ours ? { autoclip_subscription_id: opts.ours } : {} } },
    lines: {
      object: 'list',
      data: [{ id: id('il'), object: 'line_item', period: { start: seconds(opts.start), end: seconds(opts.end) }, pricing: { type: 'price_details', price_details: { price: opts.price, product: 'prod_x' } } }],
    },
  });
}

function subscriptionEvent(type: string, stripeSubscription: string, price: string, status = 'active'): Json {
  return event(type, {
    id: stripeSubscription,
    object: 'subscription',
    status,
    default_payment_method: 'pm_card_mastercard',
    items: { object: 'list', data: [{ id: id('si'), price: { id: price, object: 'price' } }] },
  });
}

describe('paid plans through Stripe (stripe-mock, signed webhooks)', () => {
  let api: ApiHarness;

  before(async () => {
    assert.match(SECRET, /^whsec_/, 'the test stack exports STRIPE_WEBHOOK_SECRET');
    api = await createApiHarness({ STRIPE_PRICES: JSON.stringify(PRICES) });
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  async function deliver(payload: Json | string, options: { secret?: string; timestamp?: number; header?: string | null } = {}) {
    const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
    const header = options.header === null ? undefined : (options.header ?? stripe.webhooks.generateTestHeaderString({ payload: body, secret: options.secret ?? SECRET, timestamp: options.timestamp }));
    return api.request('POST', '/billing/stripe/webhook', { rawBody: body, headers: header ? { 'stripe-signature': header } : {} });
  }

  async function accepted(payload: Json): Promise<{ received: boolean; duplicate: boolean }> {
    const res = await deliver(payload);
    assert.equal(res.status, 200, res.text);
    return res.body;
  }

  async function subscribePaid(account: Account, plan = 'pro', cycle = 'monthly'): Promise<string> {
    const res = await api.request('POST', '/subscriptions', { token: account.token, body: { plan_code: plan, billing_cycle: cycle } });
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.subscription.status, 'incomplete');
    assert.equal(res.body.subscription.credits_remaining, 0);
    assert.match(res.body.checkout_url, /^https:\/\//);
    return res.body.subscription.id;
  }

  async function state(subscriptionId: string) {
    const sub = await api.ctx.models.Subscription.findByPk(subscriptionId, { raw: true });
    const ledger = await api.ctx.models.CreditTransaction.findAll({ where: { subscription_id: subscriptionId }, order: [['created_at', 'ASC']], raw: true });
    return { sub: sub!, ledger: ledger.map((t) => [t.transaction_type, t.credits_amount, t.credits_balance, t.description?.split(':')[0]]) };
  }

  async function contentOf(userId: string): Promise<string> {
    const project = await api.ctx.models.Project.create({ user_id: userId, organization_id: null, name: 'P', vertical: 'finance' } as never);
    return (await api.ctx.models.Content.create({ project_id: project.id, title: 'C', script: { hook: '', body: [], cta: '', full_text: '' } } as never)).id;
  }

  const refused = (err: unknown) => err instanceof NoCreditsError && err.reason === 'no_subscription';

  it('grants nothing to a paid plan until a signed paid event, then the plan’s credits once', async () => {
    const me = await createAccount(api, 'payer');
    const ours = await subscribePaid(me);
    assert.deepEqual((await state(ours)).ledger, []);
    await assert.rejects(chargeContent(api.ctx.sequelize, await contentOf(me.userId), 'unpaid'), refused);
    const again = await api.request('POST', '/subscriptions', { token: me.token, body: { plan_code: 'business' } });
    assert.equal(again.status, 409, 'a pending checkout blocks a second one');

    const subId = id('sub');
    assert.deepEqual(await accepted(checkoutCompleted(ours, subId, 'in_first_1')), { received: true, duplicate: false });
    const { sub, ledger } = await state(ours);
    assert.deepEqual([sub.status, sub.credits_remaining, sub.stripe_subscription_id], ['active', 120, subId]);
    assert.deepEqual(ledger, [['reset', 120, 120, 'Stripe invoice in_first_1']]);
    assert.ok(await api.ctx.db.billing.customerFor({ kind: 'user', userId: me.userId }), 'the Stripe customer is kept for the owner');
    assert.equal((await chargeContent(api.ctx.sequelize, await contentOf(me.userId), 'paid')).balance, 119);
  });

  it('applies the same event delivered three times once, and one invoice once whichever events bring it', async () => {
    const me = await createAccount(api, 'payer');
    const ours = await subscribePaid(me);
    const subId = id('sub');
    const start = new Date();
    const paid = invoiceEvent('invoice.paid', { ours, stripeSubscription: subId, invoice: 'in_thrice', price: PRICES.pro.monthly, start, end: addUtcMonths(start, 1) });
    const outcomes = [await accepted(paid), await accepted(paid), await accepted(paid)];
    assert.deepEqual(outcomes.map((o) => o.duplicate), [false, true, true]);
    // Another event (Checkout's) naming the same invoice grants nothing more.
    await accepted(checkoutCompleted(ours, subId, 'in_thrice'));
    const { sub, ledger } = await state(ours);
    assert.deepEqual(ledger, [['reset', 120, 120, 'Stripe invoice in_thrice']]);
    assert.deepEqual([sub.status, sub.payment_method_id], ['active', 'pm_card_visa']);
  });

  it('ends in the right state when invoice.paid comes before checkout.session.completed', async () => {
    const me = await createAccount(api, 'payer');
    const ours = await subscribePaid(me, 'starter', 'yearly');
    const subId = id('sub');
    const start = new Date(Date.UTC(2031, 0, 31, 12));
    const end = addUtcMonths(start, 12);
    await accepted(invoiceEvent('invoice.paid', { ours, stripeSubscription: subId, invoice: 'in_early', price: PRICES.starter.yearly, start, end }));
    await accepted(checkoutCompleted(ours, subId, 'in_early'));
    const { sub, ledger } = await state(ours);
    assert.deepEqual(
      [sub.status, sub.stripe_subscription_id, sub.billing_cycle, sub.current_period_start?.toISOString(), sub.current_period_end?.toISOString(), sub.credits_remaining],
      ['active', subId, 'yearly', start.toISOString(), end.toISOString(), 30],
    );
    assert.deepEqual(ledger, [['reset', 30, 30, 'Stripe invoice in_early']]);
  });

  it('pauses on a failed payment (charges are refused) and resumes with the next paid invoice', async () => {
    const me = await createAccount(api, 'payer');
    const ours = await subscribePaid(me);
    const subId = id('sub');
    await accepted(checkoutCompleted(ours, subId, 'in_one'));
    await chargeContent(api.ctx.sequelize, await contentOf(me.userId), 'used one');
    const start = new Date();
    const renewal = { stripeSubscription: subId, invoice: 'in_two', price: PRICES.pro.monthly, start, end: addUtcMonths(start, 1) };
    await accepted(invoiceEvent('invoice.payment_failed', renewal));
    assert.equal((await state(ours)).sub.status, 'paused');
    await assert.rejects(chargeContent(api.ctx.sequelize, await contentOf(me.userId), 'while paused'), refused);

    await accepted(invoiceEvent('invoice.paid', renewal));
    const { sub, ledger } = await state(ours);
    assert.deepEqual([sub.status, sub.credits_remaining], ['active', 120]);
    assert.deepEqual(ledger, [
      ['reset', 120, 120, 'Stripe invoice in_one'],
      ['usage', -1, 119, 'used one'],
      ['reset', 1, 120, 'Stripe invoice in_two'],
    ]);
    // The failure of that invoice delivered late (a new event id) pauses nothing: it was paid.
    await accepted(invoiceEvent('invoice.payment_failed', renewal));
    assert.equal((await state(ours)).sub.status, 'active');
  });

  it('subscribe → cancel → subscribe grants nothing without a new paid invoice', async () => {
    const me = await createAccount(api, 'looper');
    const first = await subscribePaid(me, 'business');
    const subId = id('sub');
    await accepted(checkoutCompleted(first, subId, 'in_loop'));
    const cancelled = await api.request('POST', `/subscriptions/${first}/cancel`, { token: me.token });
    assert.equal(cancelled.status, 200, cancelled.text);
    assert.equal(cancelled.body.subscription.status, 'cancelled');

    const second = await subscribePaid(me, 'business');
    // Replays of the old invoice, under new event ids and naming the new subscription, grant nothing.
    await accepted(checkoutCompleted(second, id('sub'), 'in_loop'));
    const start = new Date();
    await accepted(invoiceEvent('invoice.paid', { ours: second, stripeSubscription: subId, invoice: 'in_loop', price: PRICES.business.monthly, start, end: addUtcMonths(start, 1) }));
    assert.deepEqual((await state(second)).ledger, []);
    assert.notEqual((await state(second)).sub.status, 'active');
    assert.equal((await state(first)).sub.status, 'cancelled');
    assert.equal(await api.ctx.models.CreditTransaction.count({ where: { subscription_id: [first, second] } }), 1);
  });

  it('refuses unsigned, wrongly signed, tampered and stale events with 400 and changes nothing', async () => {
    const me = await createAccount(api, 'payer');
    const ours = await subscribePaid(me);
    const good = checkoutCompleted(ours, id('sub'), 'in_forged');
    const body = JSON.stringify(good);
    const before = await state(ours);
    const attempts = [
      await deliver(good, { header: null }),
      await deliver(good, { secret: `whsec_${randomBytes(16).toString('hex')}` }),
      await deliver(good, { header: 't=1,v1=deadbeef' }),
      await deliver(body.replace('in_forged', 'in_forgee'), { header: stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) }),
      await deliver(good, { timestamp: seconds(new Date()) - 400 }),
      await api.request('POST', '/billing/stripe/webhook', { body: good }),
    ];
    for (const res of attempts) {
      assert.equal(res.status, 400, res.text);
      assert.ok(!res.text.includes(SECRET) && !res.text.includes('in_forged'), 'the answer names neither the secret nor the payload');
    }
    assert.deepEqual(attempts.map((r) => r.body.error.code), ['invalid_signature', 'invalid_signature', 'invalid_signature', 'invalid_signature', 'invalid_signature', 'invalid_signature']);
    assert.deepEqual(await state(ours), before);
    assert.equal(await api.ctx.db.billing.eventRecorded(good.id as string), false);
  });

  it('refuses (409) an event about a subscription it does not know, recording nothing, so Stripe delivers it again', async () => {
    const start = new Date();
    const orphan = invoiceEvent('invoice.paid', { stripeSubscription: id('sub'), invoice: id('in'), price: PRICES.pro.monthly, start, end: addUtcMonths(start, 1) });
    const res = await deliver(orphan);
    assert.equal(res.status, 409, res.text);
    assert.equal(await api.ctx.db.billing.eventRecorded(orphan.id as string), false);
  });

  it('changes plan on customer.subscription.updated with the credits of the next paid invoice, and cancels on deletion', async () => {
    const me = await createAccount(api, 'upgrader');
    const ours = await subscribePaid(me, 'pro');
    const subId = id('sub');
    await accepted(checkoutCompleted(ours, subId, 'in_pro'));
    await accepted(subscriptionEvent('customer.subscription.updated', subId, PRICES.business.monthly));
    let { sub } = await state(ours);
    const business = await api.ctx.models.SubscriptionPlan.findOne({ where: { code: 'business' } });
    assert.deepEqual([sub.plan_id, sub.credits_remaining, sub.payment_method_id], [business!.id, 120, 'pm_card_mastercard']);

    const start = new Date();
    await accepted(invoiceEvent('invoice.paid', { stripeSubscription: subId, invoice: 'in_business', price: PRICES.business.monthly, start, end: addUtcMonths(start, 1) }));
    ({ sub } = await state(ours));
    assert.deepEqual([sub.status, sub.credits_remaining], ['active', 500]);

    await accepted(subscriptionEvent('customer.subscription.deleted', subId, PRICES.business.monthly, 'canceled'));
    ({ sub } = await state(ours));
    assert.equal(sub.status, 'cancelled');
    await assert.rejects(chargeContent(api.ctx.sequelize, await contentOf(me.userId), 'after deletion'), refused);
  });

  it('answers the owner a billing-portal URL, and nobody else', async () => {
    const me = await createAccount(api, 'portal');
    const ours = await subscribePaid(me);
    const res = await api.request('POST', `/subscriptions/${ours}/portal`, { token: me.token });
    assert.equal(res.status, 200, res.text);
    assert.match(res.body.url, /^https:\/\//);
    const stranger = await createAccount(api, 'stranger');
    assert.equal((await api.request('POST', `/subscriptions/${ours}/portal`, { token: stranger.token })).status, 404);
  });

  it('grants bonus credits only through the administrators’ command, recording who and why', async () => {
    const me = await createAccount(api, 'lucky');
    const ours = await subscribePaid(me);
    await accepted(checkoutCompleted(ours, id('sub'), id('in')));
    const run = (...args: string[]) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/credits.ts', ...args], {
        cwd: path.join(__dirname, '..', '..'),
        encoding: 'utf8',
        env: { ...process.env, DATABASE_URL: api.ctx.config.databaseUrl },
      });
    const missingReason = run('bonus', ours, '5', '--by', 'admin@example.com');
    assert.equal(missingReason.status, 2, missingReason.stderr);
    const granted = run('bonus', ours, '5', '--by', 'admin@example.com', '--reason', 'outage on 2031-01-02');
    assert.equal(granted.status, 0, granted.stderr);
    const { sub, ledger } = await state(ours);
    assert.equal(sub.credits_remaining, 125);
    const bonus = await api.ctx.models.CreditTransaction.findOne({ where: { subscription_id: ours, transaction_type: 'bonus' } });
    assert.deepEqual([bonus?.credits_amount, bonus?.credits_balance, bonus?.description], [5, 125, 'bonus granted by admin@example.com: outage on 2031-01-02']);
    assert.equal(ledger.length, 2);
  });
});
