import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';

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
  return sequelize.transaction(async (t) => {
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
}

/** Gives back the credit `contentId` holds, if it holds one. Returns undefined when there is nothing to refund. */
export async function refundContent(sequelize: Sequelize, contentId: string, description: string): Promise<LedgerEntry | undefined> {
  return sequelize.transaction(async (t) => {
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
