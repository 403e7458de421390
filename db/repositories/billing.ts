import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { PLAN_TYPES, type BillingCycle, type SubscriptionStatus } from '../models';
import { grantInvoiceCredits, type GrantOutcome, type InvoiceGrant } from './ledger';

/**
 * Stripe's side of billing in PostgreSQL: the Stripe customer of each owner (`stripe_customers`),
 * every webhook event id once (`stripe_events`), and the subscription changes those events bring.
 * An event is applied in one transaction that first records its id: a redelivery (or a concurrent
 * delivery of the same event, which waits on the primary key) finds it and changes nothing, and a
 * failure rolls the id back with everything else, so Stripe's retry applies it whole.
 */

export type BillingOwner = { kind: 'user'; userId: string } | { kind: 'organization'; organizationId: string };

/** The columns event handling decides on, read under the subscription's row lock. */
export interface BillingSubscription {
  id: string;
  user_id: string | null;
  organization_id: string | null;
  plan_id: string;
  plan_code: string;
  status: SubscriptionStatus;
  billing_cycle: BillingCycle;
  stripe_subscription_id: string | null;
  payment_method_id: string | null;
}

function ownerWhere(owner: BillingOwner): { column: 'user_id' | 'organization_id'; id: string } {
  return owner.kind === 'user' ? { column: 'user_id', id: owner.userId } : { column: 'organization_id', id: owner.organizationId };
}

/** The writes of one webhook event, all inside its transaction. */
export class BillingEventWork {
  constructor(
    private readonly sequelize: Sequelize,
    readonly transaction: Transaction,
  ) {}

  private async select<T extends object>(sql: string, replacements: Record<string, unknown>): Promise<T[]> {
    return this.sequelize.query<T>(sql, { replacements, type: QueryTypes.SELECT, transaction: this.transaction });
  }

  private async update(sql: string, replacements: Record<string, unknown>): Promise<void> {
    await this.sequelize.query(sql, { replacements, type: QueryTypes.UPDATE, transaction: this.transaction });
  }

  /**
   * Our subscription behind a Stripe subscription, locked (the ledger's lock): by its Stripe id
   * once linked, else by our id from the metadata or client_reference_id Checkout carried.
   */
  async lockSubscription(ref: { stripeSubscriptionId?: string; subscriptionId?: string }): Promise<BillingSubscription | undefined> {
    const select = `SELECT s.id, s.user_id, s.organization_id, s.plan_id, p.code AS plan_code, s.status, s.billing_cycle,
                           s.stripe_subscription_id, s.payment_method_id
                      FROM subscriptions s JOIN subscription_plans p ON p.id = s.plan_id`;
    if (ref.stripeSubscriptionId) {
      const [found] = await this.select<BillingSubscription>(`${select} WHERE s.stripe_subscription_id = :ref FOR UPDATE OF s`, { ref: ref.stripeSubscriptionId });
      if (found) return found;
    }
    if (ref.subscriptionId && /^[0-9a-f-]{36}$/i.test(ref.subscriptionId)) {
      const [found] = await this.select<BillingSubscription>(`${select} WHERE s.id = :ref FOR UPDATE OF s`, { ref: ref.subscriptionId });
      return found;
    }
    return undefined;
  }

  /** Fills the Stripe ids a subscription learns from events (never replaces a linked Stripe subscription). */
  async link(subscription: BillingSubscription, ids: { stripeSubscriptionId?: string; paymentMethodId?: string }): Promise<void> {
    const stripeId = subscription.stripe_subscription_id ?? ids.stripeSubscriptionId ?? null;
    const paymentMethod = ids.paymentMethodId ?? subscription.payment_method_id;
    if (stripeId === subscription.stripe_subscription_id && paymentMethod === subscription.payment_method_id) return;
    await this.update('UPDATE subscriptions SET stripe_subscription_id = :stripeId, payment_method_id = :paymentMethod WHERE id = :id', {
      id: subscription.id,
      stripeId,
      paymentMethod,
    });
    subscription.stripe_subscription_id = stripeId;
    subscription.payment_method_id = paymentMethod;
  }

  async invoiceGranted(invoiceId: string): Promise<boolean> {
    const rows = await this.select<{ id: string }>(
      `SELECT id FROM credit_transactions
        WHERE transaction_type = 'reset' AND description LIKE 'Stripe invoice %' AND split_part(description, ':', 1) = :reference`,
      { reference: `Stripe invoice ${invoiceId}` },
    );
    return rows.length > 0;
  }

  /** The invoice's credits, once (db/repositories/ledger.ts); an organization's plan_type follows the paid plan. */
  async grant(subscription: BillingSubscription, grant: Omit<InvoiceGrant, 'subscriptionId'>): Promise<GrantOutcome> {
    const outcome = await grantInvoiceCredits(this.sequelize, this.transaction, { ...grant, subscriptionId: subscription.id });
    if (outcome.applied) {
      const [plan] = await this.select<{ code: string }>('SELECT code FROM subscription_plans WHERE id = :id', { id: grant.planId ?? subscription.plan_id });
      subscription.status = 'active';
      if (plan) subscription.plan_code = plan.code;
      await this.organizationPlan(subscription, subscription.plan_code);
    }
    return outcome;
  }

  async setStatus(subscription: BillingSubscription, status: 'paused' | 'cancelled'): Promise<void> {
    await this.update(`UPDATE subscriptions SET status = :status${status === 'cancelled' ? ', cancelled_at = NOW()' : ''} WHERE id = :id`, { id: subscription.id, status });
    subscription.status = status;
    if (status === 'cancelled') await this.organizationPlan(subscription, 'starter');
  }

  /** A plan change: the plan (its limits and features) and cycle now; the credits wait for the next paid invoice. */
  async changePlan(subscription: BillingSubscription, planId: string, cycle: BillingCycle): Promise<void> {
    await this.update('UPDATE subscriptions SET plan_id = :planId, billing_cycle = :cycle WHERE id = :id', { id: subscription.id, planId, cycle });
    const [plan] = await this.select<{ code: string }>('SELECT code FROM subscription_plans WHERE id = :id', { id: planId });
    subscription.plan_id = planId;
    subscription.billing_cycle = cycle;
    if (plan) subscription.plan_code = plan.code;
    if (subscription.status === 'active' && plan) await this.organizationPlan(subscription, plan.code);
  }

  async planIdByCode(code: string): Promise<string | undefined> {
    const [plan] = await this.select<{ id: string }>('SELECT id FROM subscription_plans WHERE code = :code', { code });
    return plan?.id;
  }

  private async organizationPlan(subscription: BillingSubscription, code: string): Promise<void> {
    if (!subscription.organization_id || !(PLAN_TYPES as readonly string[]).includes(code)) return;
    await this.update('UPDATE organizations SET plan_type = :code WHERE id = :id', { id: subscription.organization_id, code });
  }
}

export class BillingRepository {
  constructor(private readonly sequelize: Sequelize) {}

  async customerFor(owner: BillingOwner): Promise<string | undefined> {
    const { column, id } = ownerWhere(owner);
    const [row] = await this.sequelize.query<{ stripe_customer_id: string }>(`SELECT stripe_customer_id FROM stripe_customers WHERE ${column} = :id`, {
      replacements: { id },
      type: QueryTypes.SELECT,
    });
    return row?.stripe_customer_id;
  }

  /** Keeps `customerId` as the owner's Stripe customer unless one was saved first; returns the one kept. */
  async saveCustomer(owner: BillingOwner, customerId: string): Promise<string> {
    const { column, id } = ownerWhere(owner);
    await this.sequelize.query(`INSERT INTO stripe_customers (${column}, stripe_customer_id) VALUES (:id, :customerId) ON CONFLICT DO NOTHING`, {
      replacements: { id, customerId },
      type: QueryTypes.INSERT,
    });
    return (await this.customerFor(owner)) ?? customerId;
  }

  /**
   * Applies one Stripe event once: records its id, runs `work` in the same transaction, marks it
   * processed. 'duplicate' when the id was recorded before: nothing ran.
   */
  async applyEvent(event: { id: string; type: string }, work: (tx: BillingEventWork) => Promise<void>): Promise<'processed' | 'duplicate'> {
    return this.sequelize.transaction(async (t) => {
      const inserted = await this.sequelize.query<{ id: string }>(
        'INSERT INTO stripe_events (id, type) VALUES (:id, :type) ON CONFLICT (id) DO NOTHING RETURNING id',
        { replacements: { id: event.id, type: event.type.slice(0, 100) }, type: QueryTypes.SELECT, transaction: t },
      );
      if (inserted.length === 0) return 'duplicate';
      await work(new BillingEventWork(this.sequelize, t));
      await this.sequelize.query('UPDATE stripe_events SET processed_at = NOW() WHERE id = :id', { replacements: { id: event.id }, type: QueryTypes.UPDATE, transaction: t });
      return 'processed';
    });
  }

  /** Whether an event id was recorded (tests and support). */
  async eventRecorded(id: string): Promise<boolean> {
    const rows = await this.sequelize.query('SELECT 1 FROM stripe_events WHERE id = :id', { replacements: { id }, type: QueryTypes.SELECT });
    return rows.length > 0;
  }
}
