import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import type { BillingCycle, SubscriptionStatus } from './models';

/**
 * The rollover of subscription periods, run every hour. Each subscription is changed in its own
 * transaction under the row lock the ledger takes (db/repositories/ledger.ts), and writes one `reset` row to
 * `credit_transactions` with the balance after it:
 *
 * - an active subscription whose period has ended is renewed: the period moves on by whole billing
 *   cycles until it contains `now` (a run after a long outage grants one period's credits, not one
 *   per missed period) and the balance becomes the plan's monthly credits, `credits_used` 0. Only
 *   free plans (no `stripe_subscription_id`) are renewed here: a paid plan's next period comes from
 *   Stripe's paid invoice (control/billing.ts), and until it comes the ledger charges nothing;
 * - an active yearly subscription gets its plan's monthly credits again at each month boundary
 *   inside its year (see `dueAction`), paid ones too: their year is paid;
 * - a cancelled subscription whose period has ended becomes expired with no credits left.
 *
 * Periods and month boundaries are counted in UTC calendar months from `started_at`, the billing
 * anchor: a subscription started on 31 January renews on the 28th (or 29th) of February, then on
 * 31 March, 30 April, and so on, never drifting to the 28th.
 *
 * Rows another transaction holds (a concurrent rollover, a charge in flight) are skipped and left to
 * the next run; every decision is taken again on the locked row, so two runs, sequential or
 * concurrent, change a subscription once.
 */

export interface RolloverSummary {
  /** Active subscriptions whose ended period was renewed. */
  renewed: number;
  renewedIds: string[];
  /** Active yearly subscriptions given their monthly credits inside their year. */
  refilled: number;
  refilledIds: string[];
  /** Cancelled subscriptions whose period ended, now expired. */
  expired: number;
  expiredIds: string[];
  /** Subscriptions that were due but locked by another transaction; the next run handles them. */
  skipped: number;
  skippedIds: string[];
}

interface SubscriptionRow {
  id: string;
  status: SubscriptionStatus;
  billing_cycle: BillingCycle;
  started_at: Date;
  current_period_start: Date | null;
  current_period_end: Date;
  credits_remaining: number;
  stripe_subscription_id: string | null;
  plan_name: string;
  monthly_credits: number;
}

type Action =
  | { kind: 'renew'; start: Date; end: Date }
  | { kind: 'refill'; monthStart: Date }
  | { kind: 'expire' };

type Outcome = 'renewed' | 'refilled' | 'expired' | 'skipped' | 'unchanged';

const CYCLE_MONTHS: Record<BillingCycle, number> = { monthly: 1, yearly: 12 };

const SUBSCRIPTION_COLUMNS = `s.id, s.status, s.billing_cycle, s.started_at, s.current_period_start, s.current_period_end,
       s.credits_remaining, s.stripe_subscription_id, p.name AS plan_name, p.monthly_credits`;

/** `months` calendar months after `date` in UTC, on the same day or the month's last day (Jan 31 → Feb 28). */
export function addUtcMonths(date: Date, months: number): Date {
  const target = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + months, 1, date.getUTCHours(), date.getUTCMinutes(), date.getUTCSeconds(), date.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(date.getUTCDate(), lastDay));
  return target;
}

/** The largest number of months `m` with `addUtcMonths(anchor, m) <= now` (negative before the anchor). */
function monthsElapsed(anchor: Date, now: Date): number {
  const months = (now.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + now.getUTCMonth() - anchor.getUTCMonth();
  return addUtcMonths(anchor, months) <= now ? months : months - 1;
}

/**
 * What the rollover owes `subscription` at `now`, given the time of its latest `reset` row.
 *
 * A yearly subscription's monthly credits are tracked with existing columns only: the month that
 * contains `now` starts at the last month boundary counted from `started_at`; when that boundary
 * lies inside the current period (after its start, whose credits the renewal granted) and no
 * `reset` row was written since it, the month's credits are due. Every reset this module writes is
 * stamped with the `now` that decided it, which is at or after the boundary, so the same month is
 * never granted twice, whatever the clock of the database.
 */
function dueAction(subscription: SubscriptionRow, lastResetAt: Date | null, now: Date): Action | undefined {
  const end = subscription.current_period_end;
  if (subscription.status === 'cancelled') return end <= now ? { kind: 'expire' } : undefined;
  if (subscription.status !== 'active') return undefined;
  const anchor = subscription.started_at;
  const elapsed = monthsElapsed(anchor, now);
  if (end <= now) {
    if (subscription.stripe_subscription_id) return undefined; // Stripe renews it with a paid invoice
    const cycle = CYCLE_MONTHS[subscription.billing_cycle];
    const periods = Math.floor(elapsed / cycle);
    const boundary = addUtcMonths(anchor, periods * cycle);
    // The new period never starts before the old one ended, even when the stored period was not on the anchor.
    return { kind: 'renew', start: boundary > end ? boundary : end, end: addUtcMonths(anchor, (periods + 1) * cycle) };
  }
  if (subscription.billing_cycle !== 'yearly') return undefined;
  const monthStart = addUtcMonths(anchor, elapsed);
  const periodStart = subscription.current_period_start;
  if (periodStart && monthStart <= periodStart) return undefined;
  if (lastResetAt && lastResetAt >= monthStart) return undefined;
  return { kind: 'refill', monthStart };
}

async function lastResetAt(sequelize: Sequelize, subscriptionId: string, transaction: Transaction): Promise<Date | null> {
  const [row] = await sequelize.query<{ at: Date | null }>(
    `SELECT MAX(created_at) AS at FROM credit_transactions WHERE subscription_id = :subscriptionId AND transaction_type = 'reset'`,
    { replacements: { subscriptionId }, type: QueryTypes.SELECT, transaction },
  );
  return row?.at ?? null;
}

/** Writes the `reset` row that brings `subscription` to `balance`, stamped `now`. */
async function writeReset(
  sequelize: Sequelize,
  t: Transaction,
  subscription: SubscriptionRow,
  balance: number,
  description: string,
  now: Date,
): Promise<void> {
  await sequelize.query(
    `INSERT INTO credit_transactions (subscription_id, transaction_type, credits_amount, credits_balance, content_id, description, created_at)
     VALUES (:subscriptionId, 'reset', :amount, :balance, NULL, :description, :now)`,
    {
      replacements: { subscriptionId: subscription.id, amount: balance - subscription.credits_remaining, balance, description, now },
      type: QueryTypes.INSERT,
      transaction: t,
    },
  );
}

async function apply(sequelize: Sequelize, t: Transaction, subscription: SubscriptionRow, action: Action, now: Date): Promise<void> {
  const plan = `${subscription.plan_name} plan (${subscription.billing_cycle})`;
  const replacements = { id: subscription.id, credits: subscription.monthly_credits };
  if (action.kind === 'renew') {
    await sequelize.query(
      `UPDATE subscriptions
          SET current_period_start = :start, current_period_end = :end, credits_remaining = :credits, credits_used = 0
        WHERE id = :id`,
      { replacements: { ...replacements, start: action.start, end: action.end }, type: QueryTypes.UPDATE, transaction: t },
    );
    const period = `period from ${action.start.toISOString()} to ${action.end.toISOString()}`;
    await writeReset(sequelize, t, subscription, subscription.monthly_credits, `${plan}: ${period}`, now);
  } else if (action.kind === 'refill') {
    await sequelize.query('UPDATE subscriptions SET credits_remaining = :credits, credits_used = 0 WHERE id = :id', {
      replacements,
      type: QueryTypes.UPDATE,
      transaction: t,
    });
    await writeReset(sequelize, t, subscription, subscription.monthly_credits, `${plan}: month from ${action.monthStart.toISOString()}`, now);
  } else {
    await sequelize.query(`UPDATE subscriptions SET status = 'expired', credits_remaining = 0 WHERE id = :id`, {
      replacements,
      type: QueryTypes.UPDATE,
      transaction: t,
    });
    if (subscription.credits_remaining !== 0) {
      const ended = `${plan}: expired at the end of its period on ${subscription.current_period_end.toISOString()}`;
      await writeReset(sequelize, t, subscription, 0, ended, now);
    }
  }
}

const OUTCOMES: Record<Action['kind'], Outcome> = { renew: 'renewed', refill: 'refilled', expire: 'expired' };

/** Locks one subscription (or skips it when it is locked), decides again on what it holds, and applies that. */
async function rollOver(sequelize: Sequelize, id: string, now: Date): Promise<Outcome> {
  return sequelize.transaction(async (t) => {
    const [subscription] = await sequelize.query<SubscriptionRow>(
      `SELECT ${SUBSCRIPTION_COLUMNS}
         FROM subscriptions s JOIN subscription_plans p ON p.id = s.plan_id
        WHERE s.id = :id AND s.current_period_end IS NOT NULL
        FOR UPDATE OF s SKIP LOCKED`,
      { replacements: { id }, type: QueryTypes.SELECT, transaction: t },
    );
    if (!subscription) return 'skipped';
    // Read in its own statement, after the lock: a run that committed a reset while this one waited
    // is seen here, whereas a subquery of the locking statement would read an older snapshot.
    const action = dueAction(subscription, await lastResetAt(sequelize, id, t), now);
    if (!action) return 'unchanged';
    await apply(sequelize, t, subscription, action, now);
    return OUTCOMES[action.kind];
  });
}

/**
 * Renews, refills and expires the subscriptions due at `now` (see the top of this file). Idempotent:
 * a second run, or one running at the same time, changes nothing already done.
 */
export async function rollOverSubscriptions(sequelize: Sequelize, now: Date = new Date()): Promise<RolloverSummary> {
  const candidates = await sequelize.query<SubscriptionRow & { last_reset_at: Date | null }>(
    `SELECT ${SUBSCRIPTION_COLUMNS},
            (SELECT MAX(t.created_at) FROM credit_transactions t WHERE t.subscription_id = s.id AND t.transaction_type = 'reset') AS last_reset_at
       FROM subscriptions s JOIN subscription_plans p ON p.id = s.plan_id
      WHERE s.current_period_end IS NOT NULL
        AND ((s.status = 'active' AND ((s.current_period_end <= :now AND s.stripe_subscription_id IS NULL) OR s.billing_cycle = 'yearly'))
          OR (s.status = 'cancelled' AND s.current_period_end <= :now))
      ORDER BY s.current_period_end, s.id`,
    { replacements: { now }, type: QueryTypes.SELECT },
  );
  const ids: Record<Outcome, string[]> = { renewed: [], refilled: [], expired: [], skipped: [], unchanged: [] };
  for (const candidate of candidates) {
    if (!dueAction(candidate, candidate.last_reset_at, now)) continue;
    ids[await rollOver(sequelize, candidate.id, now)].push(candidate.id);
  }
  return {
    renewed: ids.renewed.length,
    renewedIds: ids.renewed,
    refilled: ids.refilled.length,
    refilledIds: ids.refilled,
    expired: ids.expired.length,
    expiredIds: ids.expired,
    skipped: ids.skipped.length,
    skippedIds: ids.skipped,
  };
}
