import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { countCredits } from '../../lib/metrics';

/**
 * The credit ledger. Every change of a subscription's balance happens under a row lock on that
 * subscription (SELECT … FOR UPDATE) and writes one `credit_transactions` row with the balance after
 * it, so two concurrent charges can never overdraw and the ledger always explains the balance.
 *
 * A content's net charge (the sum of its usage and refund rows) is -1 while it holds a credit and 0
 * otherwise: charging a content that already holds one, or refunding one that holds none, changes
 * nothing. That makes both operations idempotent under activity retries, and a failed content can be
 * charged again when it is retried after its refund.
 */
export class NoCreditsError extends Error {
  constructor(readonly reason: 'no_subscription' | 'no_credits', message: string) {
    super(message);
    this.name = 'NoCreditsError';
  }
}

export interface LedgerEntry {
  subscriptionId: string;
  transactionId: string;
  balance: number;
  /** False when the operation had already been done (a retry): nothing was written. */
  applied: boolean;
}

/**
 * From a project `p` to the subscription of its owner (the user, or the organization) that grants
 * credits now: active, in its period. The newest wins when there are several. Every query that asks
 * "which subscription pays for this" joins through this one fragment.
 */
export const OWNER_ACTIVE_SUBSCRIPTION = `JOIN subscriptions s ON (s.user_id = p.user_id OR s.organization_id = p.organization_id)
        AND s.status = 'active'
        AND (s.current_period_end IS NULL OR s.current_period_end > NOW())`;

interface LockedSubscription {
  id: string;
  credits_remaining: number;
}

async function lockOwnerSubscription(sequelize: Sequelize, t: Transaction, contentId: string): Promise<LockedSubscription | undefined> {
  const rows = await sequelize.query<LockedSubscription>(
    `SELECT s.id, s.credits_remaining
       FROM contents c
       JOIN projects p ON p.id = c.project_id
       ${OWNER_ACTIVE_SUBSCRIPTION}
      WHERE c.id = :contentId
      ORDER BY s.created_at DESC
      LIMIT 1
      FOR UPDATE OF s`,
    { replacements: { contentId }, type: QueryTypes.SELECT, transaction: t },
  );
  return rows[0];
}

async function netCharge(sequelize: Sequelize, t: Transaction, contentId: string): Promise<{ net: number; lastId?: string; subscriptionId?: string }> {
  const rows = await sequelize.query<{ net: string; last_id: string | null; subscription_id: string | null }>(
    `SELECT COALESCE(SUM(credits_amount), 0) AS net,
            (ARRAY_AGG(id ORDER BY created_at DESC))[1] AS last_id,
            (ARRAY_AGG(subscription_id ORDER BY created_at DESC))[1] AS subscription_id
       FROM credit_transactions
      WHERE content_id = :contentId AND transaction_type IN ('usage', 'refund')`,
    { replacements: { contentId }, type: QueryTypes.SELECT, transaction: t },
  );
  const row = rows[0];
  return { net: Number(row?.net ?? 0), lastId: row?.last_id ?? undefined, subscriptionId: row?.subscription_id ?? undefined };
}

async function writeEntry(
  sequelize: Sequelize,
  t: Transaction,
  subscriptionId: string,
  contentId: string,
  type: 'usage' | 'refund',
  description: string,
): Promise<LedgerEntry> {
  const amount = type === 'usage' ? -1 : 1;
  const [updated] = await sequelize.query<{ credits_remaining: number }>(
    `UPDATE subscriptions
        SET credits_remaining = credits_remaining + :amount,
            credits_used = GREATEST(credits_used - :amount, 0)
      WHERE id = :subscriptionId
      RETURNING credits_remaining`,
    { replacements: { amount, subscriptionId }, type: QueryTypes.SELECT, transaction: t },
  );
  const balance = updated!.credits_remaining;
  const [tx] = await sequelize.query<{ id: string }>(
    `INSERT INTO credit_transactions (subscription_id, transaction_type, credits_amount, credits_balance, content_id, description)
     VALUES (:subscriptionId, :type, :amount, :balance, :contentId, :description)
     RETURNING id`,
    { replacements: { subscriptionId, type, amount, balance, contentId, description }, type: QueryTypes.SELECT, transaction: t },
  );
  return { subscriptionId, transactionId: tx!.id, balance, applied: true };
}

/** Takes one credit for producing `contentId` from its owner's active subscription. */
export async function chargeContent(sequelize: Sequelize, contentId: string, description: string): Promise<LedgerEntry> {
  const entry = await sequelize.transaction(async (t) => {
    const subscription = await lockOwnerSubscription(sequelize, t, contentId);
    if (!subscription) throw new NoCreditsError('no_subscription', 'the owner of this content has no active subscription');
    const held = await netCharge(sequelize, t, contentId);
    if (held.net < 0 && held.lastId && held.subscriptionId) {
      return { subscriptionId: held.subscriptionId, transactionId: held.lastId, balance: subscription.credits_remaining, applied: false };
    }
    if (subscription.credits_remaining < 1) {
      throw new NoCreditsError('no_credits', 'no credits left in the current period of the subscription');
    }
    return writeEntry(sequelize, t, subscription.id, contentId, 'usage', description);
  });
  // Counted once committed; a retry that finds the credit already held writes nothing and counts nothing.
  if (entry.applied) countCredits('charged', 1);
  return entry;
}

/** Gives back the credit `contentId` holds, if it holds one. Returns undefined when there is nothing to refund. */
export async function refundContent(sequelize: Sequelize, contentId: string, description: string): Promise<LedgerEntry | undefined> {
  const entry = await sequelize.transaction(async (t) => {
    const peek = await netCharge(sequelize, t, contentId);
    if (peek.net >= 0 || !peek.subscriptionId) return undefined;
    await sequelize.query('SELECT id FROM subscriptions WHERE id = :id FOR UPDATE', {
      replacements: { id: peek.subscriptionId },
      type: QueryTypes.SELECT,
      transaction: t,
    });
    // Re-read under the lock: a concurrent refund may have landed between the peek and the lock.
    const held = await netCharge(sequelize, t, contentId);
    if (held.net >= 0) return undefined;
    return writeEntry(sequelize, t, peek.subscriptionId, contentId, 'refund', description);
  });
  if (entry) countCredits('refunded', 1);
  return entry;
}

/** What a paid Stripe invoice grants: its subscription's plan credits for the period it pays. */
export interface InvoiceGrant {
  subscriptionId: string;
  invoiceId: string;
  periodStart: Date;
  periodEnd: Date;
  /** The plan the invoice pays for (its price), when known; else the subscription's plan. */
  planId?: string;
}

export interface GrantOutcome {
  /** False when nothing was written: this invoice was granted already, or the subscription is over. */
  applied: boolean;
  reason?: 'already_granted' | 'not_billable';
  balance: number;
}

/** The description of an invoice's grant; its first part (up to the first ':') is unique (migration 009). */
export function invoiceReference(invoiceId: string): string {
  return `Stripe invoice ${invoiceId}`;
}

interface LockedForGrant {
  id: string;
  status: string;
  billing_cycle: string;
  credits_remaining: number;
  plan_id: string;
}

/**
 * Grants the credits of a paid Stripe invoice, exactly once per invoice, inside `t` (the webhook's
 * transaction): under the subscription's row lock, when no `reset` row names the invoice yet, the
 * subscription becomes active for the invoice's period (on the invoice's plan) and its balance the
 * plan's monthly credits, with one `reset` row "Stripe invoice <id>: …". A cancelled or expired
 * subscription is granted nothing.
 */
export async function grantInvoiceCredits(sequelize: Sequelize, t: Transaction, grant: InvoiceGrant): Promise<GrantOutcome> {
  const [locked] = await sequelize.query<LockedForGrant>(
    'SELECT id, status, billing_cycle, credits_remaining, plan_id FROM subscriptions WHERE id = :id FOR UPDATE',
    { replacements: { id: grant.subscriptionId }, type: QueryTypes.SELECT, transaction: t },
  );
  if (!locked) throw new Error(`subscription ${grant.subscriptionId} does not exist`);
  const reference = invoiceReference(grant.invoiceId);
  const [done] = await sequelize.query<{ id: string }>(
    `SELECT id FROM credit_transactions
      WHERE transaction_type = 'reset' AND description LIKE 'Stripe invoice %' AND split_part(description, ':', 1) = :reference`,
    { replacements: { reference }, type: QueryTypes.SELECT, transaction: t },
  );
  if (done) return { applied: false, reason: 'already_granted', balance: locked.credits_remaining };
  if (locked.status === 'cancelled' || locked.status === 'expired') return { applied: false, reason: 'not_billable', balance: locked.credits_remaining };
  const planId = grant.planId ?? locked.plan_id;
  const [plan] = await sequelize.query<{ name: string; monthly_credits: number }>('SELECT name, monthly_credits FROM subscription_plans WHERE id = :planId', {
    replacements: { planId },
    type: QueryTypes.SELECT,
    transaction: t,
  });
  if (!plan) throw new Error(`plan ${planId} does not exist`);
  await sequelize.query(
    `UPDATE subscriptions
        SET status = 'active', plan_id = :planId, current_period_start = :start, current_period_end = :end,
            credits_remaining = :credits, credits_used = 0
      WHERE id = :id`,
    { replacements: { id: locked.id, planId, start: grant.periodStart, end: grant.periodEnd, credits: plan.monthly_credits }, type: QueryTypes.UPDATE, transaction: t },
  );
  const period = `period from ${grant.periodStart.toISOString()} to ${grant.periodEnd.toISOString()}`;
  await sequelize.query(
    `INSERT INTO credit_transactions (subscription_id, transaction_type, credits_amount, credits_balance, content_id, description)
     VALUES (:id, 'reset', :amount, :balance, NULL, :description)`,
    {
      replacements: {
        id: locked.id,
        amount: plan.monthly_credits - locked.credits_remaining,
        balance: plan.monthly_credits,
        description: `${reference}: ${plan.name} plan (${locked.billing_cycle}): ${period}`,
      },
      type: QueryTypes.INSERT,
      transaction: t,
    },
  );
  return { applied: true, balance: plan.monthly_credits };
}

/**
 * Adds `amount` bonus credits to a subscription (a platform administrator's decision, from the
 * `npm run credits -- bonus` command only), under its row lock, with who and why in the description.
 */
export async function grantBonus(sequelize: Sequelize, subscriptionId: string, amount: number, description: string): Promise<LedgerEntry> {
  if (!Number.isInteger(amount) || amount < 1) throw new Error('a bonus is a positive whole number of credits');
  return sequelize.transaction(async (t) => {
    const [locked] = await sequelize.query<{ id: string; status: string }>('SELECT id, status FROM subscriptions WHERE id = :id FOR UPDATE', {
      replacements: { id: subscriptionId },
      type: QueryTypes.SELECT,
      transaction: t,
    });
    if (!locked) throw new Error(`no subscription ${subscriptionId}`);
    if (locked.status === 'expired') throw new Error(`subscription ${subscriptionId} is expired: a bonus on it could never be used`);
    const [updated] = await sequelize.query<{ credits_remaining: number }>(
      'UPDATE subscriptions SET credits_remaining = credits_remaining + :amount WHERE id = :id RETURNING credits_remaining',
      { replacements: { id: subscriptionId, amount }, type: QueryTypes.SELECT, transaction: t },
    );
    const balance = updated!.credits_remaining;
    const [tx] = await sequelize.query<{ id: string }>(
      `INSERT INTO credit_transactions (subscription_id, transaction_type, credits_amount, credits_balance, content_id, description)
       VALUES (:id, 'bonus', :amount, :balance, NULL, :description)
       RETURNING id`,
      { replacements: { id: subscriptionId, amount, balance, description }, type: QueryTypes.SELECT, transaction: t },
    );
    return { subscriptionId, transactionId: tx!.id, balance, applied: true };
  });
}

/** The ledger as the activities use it: charge and refund a content, read what a data source's owner has left. */
export class LedgerRepository {
  constructor(private readonly sequelize: Sequelize) {}

  charge(contentId: string, description: string): Promise<LedgerEntry> {
    return chargeContent(this.sequelize, contentId, description);
  }

  refund(contentId: string, description: string): Promise<LedgerEntry | undefined> {
    return refundContent(this.sequelize, contentId, description);
  }

  /** Grants a paid Stripe invoice's credits inside the caller's transaction (see grantInvoiceCredits). */
  grantInvoice(t: Transaction, grant: InvoiceGrant): Promise<GrantOutcome> {
    return grantInvoiceCredits(this.sequelize, t, grant);
  }

  bonus(subscriptionId: string, amount: number, description: string): Promise<LedgerEntry> {
    return grantBonus(this.sequelize, subscriptionId, amount, description);
  }

  /** Credits left in the active subscription of the owner of a data source's project (0 without one). */
  async creditsForSource(dataSourceId: string): Promise<number> {
    const [row] = await this.sequelize.query<{ credits_remaining: number }>(
      `SELECT s.credits_remaining FROM data_sources d
         JOIN projects p ON p.id = d.project_id
         ${OWNER_ACTIVE_SUBSCRIPTION}
        WHERE d.id = :dataSourceId
        ORDER BY s.created_at DESC LIMIT 1`,
      { replacements: { dataSourceId }, type: QueryTypes.SELECT },
    );
    return Math.max(0, row?.credits_remaining ?? 0);
  }
}
