import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { QueryTypes, type Sequelize } from 'sequelize';
import { chargeContent, NoCreditsError } from '../../db/repositories/ledger';
import { migrateUp } from '../../db/migrate';
import { initModels, type BillingCycle, type Models, type SubscriptionStatus } from '../../db/models';
import { addUtcMonths, rollOverSubscriptions } from '../../db/rollover';
import { seedReferenceData } from '../../db/seeds/reference-data';
import { createSequelize } from '../../db/sequelize';
import { createScratchDatabase, type ScratchDatabase } from '../support/database';

interface Fixture {
  code?: 'starter' | 'pro' | 'business';
  cycle?: BillingCycle;
  status?: SubscriptionStatus;
  startedAt: Date;
  /** Defaults to `startedAt`. */
  periodStart?: Date;
  /** Defaults to one billing cycle after `startedAt`. */
  periodEnd?: Date;
  credits: number;
}

interface ResetRow {
  credits_amount: number;
  credits_balance: number;
  description: string;
  created_at: Date;
}

const at = (iso: string) => new Date(iso);

describe('subscription rollover', () => {
  let db: ScratchDatabase;
  let sequelize: Sequelize;
  /** A second connection pool, standing for another worker process. */
  let otherWorker: Sequelize;
  let models: Models;

  before(async () => {
    db = await createScratchDatabase('rollover_test');
    await migrateUp(db.url);
    sequelize = createSequelize({ databaseUrl: db.url, databasePoolMax: 4 });
    otherWorker = createSequelize({ databaseUrl: db.url, databasePoolMax: 4 });
    models = initModels(sequelize);
    await seedReferenceData(sequelize);
  });
  after(async () => {
    await sequelize?.close();
    await otherWorker?.close();
    await db?.drop();
  });

  async function newUser(): Promise<string> {
    const user = await models.User.create({ email: `rollover-${randomBytes(5).toString('hex')}@example.com`, name: 'Subscriber' });
    return user.id;
  }

  /** A subscription of a new user with the opening `reset` row the API writes, dated at its start. */
  async function subscription(fixture: Fixture, userId?: string): Promise<string> {
    const plan = await models.SubscriptionPlan.findOne({ where: { code: fixture.code ?? 'pro' } });
    assert.ok(plan);
    const cycle = fixture.cycle ?? 'monthly';
    const created = await models.Subscription.create({
      user_id: userId ?? (await newUser()),
      organization_id: null,
      plan_id: plan.id,
      status: fixture.status ?? 'active',
      billing_cycle: cycle,
      started_at: fixture.startedAt,
      current_period_start: fixture.periodStart ?? fixture.startedAt,
      current_period_end: fixture.periodEnd ?? addUtcMonths(fixture.startedAt, cycle === 'yearly' ? 12 : 1),
      cancelled_at: fixture.status === 'cancelled' ? fixture.startedAt : null,
      payment_method_id: null,
      stripe_subscription_id: null,
      credits_used: plan.monthly_credits - fixture.credits,
      credits_remaining: fixture.credits,
    });
    await sequelize.query(
      `INSERT INTO credit_transactions (subscription_id, transaction_type, credits_amount, credits_balance, description, created_at)
       VALUES (:id, 'reset', :credits, :credits, 'opening', :at)`,
      { replacements: { id: created.id, credits: plan.monthly_credits, at: fixture.startedAt }, type: QueryTypes.INSERT },
    );
    return created.id;
  }

  async function state(id: string) {
    const row = await models.Subscription.findByPk(id, { rejectOnEmpty: true });
    return {
      status: row.status,
      start: row.current_period_start?.toISOString(),
      end: row.current_period_end?.toISOString(),
      remaining: row.credits_remaining,
      used: row.credits_used,
    };
  }

  /** The `reset` rows of a subscription after its opening one, oldest first. */
  async function resets(id: string): Promise<ResetRow[]> {
    return sequelize.query<ResetRow>(
      `SELECT credits_amount, credits_balance, description, created_at FROM credit_transactions
        WHERE subscription_id = :id AND transaction_type = 'reset' AND description <> 'opening'
        ORDER BY created_at, id`,
      { replacements: { id }, type: QueryTypes.SELECT },
    );
  }

  it('renews a monthly subscription whose period ended: next period, full credits, one reset row', async () => {
    const id = await subscription({ startedAt: at('2025-02-10T09:00:00Z'), credits: 7 });
    const now = at('2025-03-15T12:00:00Z');
    const summary = await rollOverSubscriptions(sequelize, now);
    assert.ok(summary.renewedIds.includes(id));
    assert.equal(summary.renewed, summary.renewedIds.length);
    assert.deepEqual(await state(id), { status: 'active', start: '2025-03-10T09:00:00.000Z', end: '2025-04-10T09:00:00.000Z', remaining: 120, used: 0 });
    const rows = await resets(id);
    assert.equal(rows.length, 1);
    assert.deepEqual(
      { amount: rows[0]!.credits_amount, balance: rows[0]!.credits_balance, at: rows[0]!.created_at.toISOString() },
      { amount: 113, balance: 120, at: now.toISOString() },
    );
    assert.match(rows[0]!.description, /^Pro plan \(monthly\): period from 2025-03-10T09:00:00\.000Z to 2025-04-10T09:00:00\.000Z$/);
  });

  it('after missed months grants one reset, and keeps the anchor day at month ends', async () => {
    const id = await subscription({ startedAt: at('2024-12-31T00:00:00Z'), credits: 40 });
    await rollOverSubscriptions(sequelize, at('2025-03-31T12:00:00Z'));
    assert.deepEqual(await state(id), { status: 'active', start: '2025-03-31T00:00:00.000Z', end: '2025-04-30T00:00:00.000Z', remaining: 120, used: 0 });
    assert.equal((await resets(id)).length, 1);

    await rollOverSubscriptions(sequelize, at('2025-04-29T23:59:59Z'));
    assert.equal((await resets(id)).length, 1);

    await rollOverSubscriptions(sequelize, at('2025-04-30T00:00:00Z'));
    assert.deepEqual(await state(id), { status: 'active', start: '2025-04-30T00:00:00.000Z', end: '2025-05-31T00:00:00.000Z', remaining: 120, used: 0 });
    assert.equal((await resets(id)).length, 2);
  });

  it('renews from the old end when the stored period was not on the anchor', async () => {
    const id = await subscription({ startedAt: at('2025-01-10T00:00:00Z'), periodEnd: at('2025-02-20T00:00:00Z'), credits: 1 });
    await rollOverSubscriptions(sequelize, at('2025-02-21T00:00:00Z'));
    const { start, end } = await state(id);
    assert.deepEqual([start, end], ['2025-02-20T00:00:00.000Z', '2025-03-10T00:00:00.000Z']);
  });

  it('gives a yearly subscription its monthly credits at each month boundary of its year, once', async () => {
    const id = await subscription({ code: 'business', cycle: 'yearly', startedAt: at('2025-01-15T08:00:00Z'), credits: 20 });
    const year = { status: 'active', start: '2025-01-15T08:00:00.000Z', end: '2026-01-15T08:00:00.000Z' };

    assert.ok(!(await rollOverSubscriptions(sequelize, at('2025-02-15T07:59:59Z'))).refilledIds.includes(id));
    assert.equal((await resets(id)).length, 0);

    const summary = await rollOverSubscriptions(sequelize, at('2025-02-15T08:00:00Z'));
    assert.ok(summary.refilledIds.includes(id));
    assert.ok(!summary.renewedIds.includes(id));
    assert.deepEqual(await state(id), { ...year, remaining: 500, used: 0 });
    let rows = await resets(id);
    assert.deepEqual(
      rows.map((r) => [r.credits_amount, r.credits_balance, r.description]),
      [[480, 500, 'Business plan (yearly): month from 2025-02-15T08:00:00.000Z']],
    );

    await models.Subscription.update({ credits_remaining: 430, credits_used: 70 }, { where: { id } });
    assert.ok(!(await rollOverSubscriptions(sequelize, at('2025-03-01T00:00:00Z'))).refilledIds.includes(id));
    assert.equal((await state(id)).remaining, 430);

    // March and April went by without a run: May 1 grants April's month once.
    await rollOverSubscriptions(sequelize, at('2025-05-01T00:00:00Z'));
    await rollOverSubscriptions(sequelize, at('2025-05-02T00:00:00Z'));
    rows = await resets(id);
    assert.deepEqual(rows.slice(1).map((r) => [r.credits_amount, r.description]), [[70, 'Business plan (yearly): month from 2025-04-15T08:00:00.000Z']]);

    // The year ended two months ago: one renewal, no extra month on top of it.
    const renewal = await rollOverSubscriptions(sequelize, at('2026-03-01T00:00:00Z'));
    assert.ok(renewal.renewedIds.includes(id));
    await rollOverSubscriptions(sequelize, at('2026-03-02T00:00:00Z'));
    assert.deepEqual(await state(id), { status: 'active', start: '2026-01-15T08:00:00.000Z', end: '2027-01-15T08:00:00.000Z', remaining: 500, used: 0 });
    rows = await resets(id);
    assert.equal(rows.length, 3);
    assert.equal(rows[2]!.description, 'Business plan (yearly): period from 2026-01-15T08:00:00.000Z to 2027-01-15T08:00:00.000Z');

    await rollOverSubscriptions(sequelize, at('2026-03-15T08:00:00Z'));
    assert.equal((await resets(id)).at(-1)!.description, 'Business plan (yearly): month from 2026-03-15T08:00:00.000Z');
  });

  it('expires cancelled subscriptions whose period ended and leaves paused, expired and running ones alone', async () => {
    const startedAt = at('2025-05-01T00:00:00Z');
    const now = at('2025-06-10T00:00:00Z');
    const withCredits = await subscription({ status: 'cancelled', startedAt, credits: 5 });
    const empty = await subscription({ status: 'cancelled', startedAt, credits: 0 });
    const stillRunning = await subscription({ status: 'cancelled', startedAt, periodEnd: at('2025-06-20T00:00:00Z'), credits: 9 });
    const paused = await subscription({ status: 'paused', startedAt, credits: 3 });
    const expired = await subscription({ status: 'expired', startedAt, credits: 0 });
    const before = await Promise.all([stillRunning, paused, expired].map(state));

    const summary = await rollOverSubscriptions(sequelize, now);
    assert.deepEqual(summary.expiredIds.filter((id) => [withCredits, empty].includes(id)).sort(), [withCredits, empty].sort());
    assert.equal(summary.expired, summary.expiredIds.length);
    for (const id of [withCredits, empty]) assert.deepEqual(await state(id), { status: 'expired', start: startedAt.toISOString(), end: '2025-06-01T00:00:00.000Z', remaining: 0, used: id === empty ? 120 : 115 });
    const rows = await resets(withCredits);
    assert.deepEqual(
      rows.map((r) => [r.credits_amount, r.credits_balance, r.description]),
      [[-5, 0, 'Pro plan (monthly): expired at the end of its period on 2025-06-01T00:00:00.000Z']],
    );
    assert.deepEqual(await resets(empty), []);
    assert.deepEqual(await Promise.all([stillRunning, paused, expired].map(state)), before);
    for (const id of [stillRunning, paused, expired]) assert.deepEqual(await resets(id), []);

    await rollOverSubscriptions(sequelize, now);
    assert.equal((await resets(withCredits)).length, 1);
  });

  it('resets exactly once when run twice, and when runs race in one process and across processes', async () => {
    const startedAt = at('2025-07-01T00:00:00Z');
    const now = at('2025-08-15T00:00:00Z');
    const subscriptions = [
      await subscription({ startedAt, credits: 3 }),
      await subscription({ cycle: 'yearly', startedAt, credits: 2 }),
      await subscription({ status: 'cancelled', startedAt, credits: 4 }),
    ];
    const first = await rollOverSubscriptions(sequelize, now);
    const again = await rollOverSubscriptions(sequelize, now);
    for (const id of subscriptions) {
      assert.ok([...first.renewedIds, ...first.refilledIds, ...first.expiredIds].includes(id));
      assert.ok(![...again.renewedIds, ...again.refilledIds, ...again.expiredIds, ...again.skippedIds].includes(id));
      assert.equal((await resets(id)).length, 1);
    }

    for (const round of [1, 2, 3]) {
      const racing = [
        await subscription({ startedAt, credits: 3 }),
        await subscription({ cycle: 'yearly', startedAt, credits: 2 }),
        await subscription({ status: 'cancelled', startedAt, credits: 4 }),
      ];
      const runs = await Promise.all([sequelize, sequelize, otherWorker, otherWorker].map((pool) => rollOverSubscriptions(pool, now)));
      for (const id of racing) {
        const done = runs.flatMap((r) => [...r.renewedIds, ...r.refilledIds, ...r.expiredIds]).filter((x) => x === id);
        assert.equal(done.length, 1, `round ${round}: applied by exactly one run`);
        assert.equal((await resets(id)).length, 1, `round ${round}: one reset row`);
      }
    }
  });

  it('skips a subscription another transaction holds and renews it on the next run', async () => {
    const id = await subscription({ startedAt: at('2025-09-01T00:00:00Z'), credits: 0 });
    const now = at('2025-10-05T00:00:00Z');
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = otherWorker.transaction(async (t) => {
      await otherWorker.query('SELECT id FROM subscriptions WHERE id = :id FOR UPDATE', { replacements: { id }, type: QueryTypes.SELECT, transaction: t });
      locked();
      await released;
    });
    await isLocked;
    const blocked = await rollOverSubscriptions(sequelize, now);
    release();
    await holder;
    assert.ok(blocked.skippedIds.includes(id));
    assert.equal(blocked.skipped, blocked.skippedIds.length);
    assert.equal((await state(id)).remaining, 0);

    assert.ok((await rollOverSubscriptions(sequelize, now)).renewedIds.includes(id));
    assert.equal((await state(id)).remaining, 120);
  });

  it('a charge after the renewal spends from the new period', async () => {
    const userId = await newUser();
    const startedAt = new Date(addUtcMonths(new Date(), -1).getTime() - 60_000);
    const id = await subscription({ code: 'starter', startedAt, credits: 2 }, userId);
    const project = await models.Project.create({ user_id: userId, organization_id: null, name: 'Rollover', vertical: 'tech' } as never);
    const content = await models.Content.create({ project_id: project.id, title: 'After the rollover', script: { hook: '', body: [], cta: '', full_text: '' } } as never);

    await assert.rejects(chargeContent(sequelize, content.id, 'render'), (error) => error instanceof NoCreditsError && error.reason === 'no_subscription');
    assert.ok((await rollOverSubscriptions(sequelize)).renewedIds.includes(id));

    const entry = await chargeContent(sequelize, content.id, 'render');
    assert.deepEqual([entry.subscriptionId, entry.balance, entry.applied], [id, 29, true]);
    const renewed = await state(id);
    assert.deepEqual([renewed.end, renewed.remaining, renewed.used], [addUtcMonths(startedAt, 2).toISOString(), 29, 1]);
    const [ledger] = await sequelize.query<{ balance: number }>(
      `SELECT credits_balance AS balance FROM credit_transactions WHERE subscription_id = :id ORDER BY created_at DESC, id LIMIT 1`,
      { replacements: { id }, type: QueryTypes.SELECT },
    );
    assert.equal(ledger?.balance, 29);
  });

  it('renews free plans only: a paid (Stripe) subscription waits for its paid invoice, and a pending checkout is left alone', async () => {
    const startedAt = new Date(addUtcMonths(new Date(), -1).getTime() - 60_000);
    const paid = await subscription({ code: 'pro', startedAt, credits: 3 });
    await models.Subscription.update({ stripe_subscription_id: `sub_${randomBytes(6).toString('hex')}` }, { where: { id: paid } });
    const pending = await subscription({ code: 'pro', status: 'incomplete', startedAt, credits: 0 });
    const free = await subscription({ code: 'starter', startedAt, credits: 1 });
    const summary = await rollOverSubscriptions(sequelize);
    assert.ok(summary.renewedIds.includes(free));
    assert.ok(!summary.renewedIds.includes(paid) && !summary.renewedIds.includes(pending));
    const [paidState, pendingState] = [await state(paid), await state(pending)];
    assert.deepEqual([paidState.end, paidState.remaining], [addUtcMonths(startedAt, 1).toISOString(), 3]);
    assert.equal(pendingState.remaining, 0);
  });
});
