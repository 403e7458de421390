import type { Logger } from 'pino';
import type { BillingCycle } from '../db/models';
import type { BillingEventWork, BillingRepository, BillingSubscription } from '../db/repositories/billing';
import { addUtcMonths } from '../db/rollover';
import type { StripeConfig } from '../lib/config';
import { SUBSCRIPTION_METADATA_KEY, type StripeEventEnvelope, type StripePayments } from '../providers/payments/stripe';

/**
 * What Stripe's webhook events do to subscriptions and credits. It lives in control/ because the
 * API calls it synchronously for each delivery (no workflow: a delivery is applied or refused
 * within the request, and Stripe itself retries a refused one); the writes go through
 * db/repositories/billing.ts and the ledger.
 *
 * - `checkout.session.completed` links the Stripe subscription (and, when paid, grants its first
 *   invoice); `invoice.paid` starts or renews the period of the invoice and grants the plan's
 *   monthly credits. Both grant through the ledger, once per invoice id, whichever comes first.
 * - `invoice.payment_failed` pauses an active subscription (the ledger charges active ones only)
 *   unless that invoice was paid meanwhile; the next paid invoice makes it active again.
 * - `customer.subscription.updated` records a plan change at once (limits and features); credits
 *   do not move until the next paid invoice, which resets the balance to the new plan's monthly
 *   credits. An invoice carries its price, so the plan it pays for wins whatever the order.
 * - `customer.subscription.deleted` cancels it: nothing is charged from it any more; the rollover
 *   expires it at the end of its period.
 *
 * Every event id is applied once (BillingRepository.applyEvent). An event about a subscription
 * we do not know yet is refused (409): nothing is recorded and Stripe delivers it again later.
 */

export class UnknownSubscriptionError extends Error {
  constructor(eventType: string) {
    super(`${eventType}: no subscription of ours is known for it yet; Stripe will deliver it again`);
    this.name = 'UnknownSubscriptionError';
  }
}

export type EventOutcome = 'processed' | 'duplicate';

type Json = Record<string, unknown>;

function obj(value: unknown): Json | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

function str(value: unknown): string | undefined {
  if (typeof value === 'string' && value) return value;
  // An expanded object in place of an id.
  const id = obj(value)?.id;
  return typeof id === 'string' && id ? id : undefined;
}

function metadataId(value: unknown): string | undefined {
  return str(obj(value)?.[SUBSCRIPTION_METADATA_KEY]);
}

/** The Stripe subscription id and our id an invoice names, in the API's current shape (parent.subscription_details) or the older one. */
function invoiceSubscription(invoice: Json): { stripeSubscriptionId?: string; subscriptionId?: string } {
  const details = obj(obj(invoice.parent)?.subscription_details) ?? obj(invoice.subscription_details);
  const firstLine = obj((obj(invoice.lines)?.data as unknown[] | undefined)?.[0]);
  return {
    stripeSubscriptionId: str(details?.subscription) ?? str(invoice.subscription),
    subscriptionId: metadataId(details?.metadata) ?? metadataId(firstLine?.metadata) ?? metadataId(invoice.metadata),
  };
}

/** The period the invoice pays (its subscription line's), and the price it pays for. */
function invoiceLine(invoice: Json): { start?: Date; end?: Date; priceId?: string } {
  const lines = (obj(invoice.lines)?.data as unknown[] | undefined) ?? [];
  const line = lines.map(obj).find((l) => l && obj(l.period)) ?? obj(lines[0]);
  const period = obj(line?.period);
  const seconds = (v: unknown) => (typeof v === 'number' && v > 0 ? new Date(v * 1000) : undefined);
  const priceId = str(obj(obj(line?.pricing)?.price_details)?.price) ?? str(line?.price);
  return { start: seconds(period?.start), end: seconds(period?.end), priceId };
}

function paymentMethodOf(object: Json): string | undefined {
  return str(object.default_payment_method) ?? str(obj(object.payment_settings)?.default_payment_method);
}

export class StripeWebhookHandler {
  constructor(
    private readonly billing: BillingRepository,
    private readonly payments: StripePayments,
    private readonly config: StripeConfig,
    private readonly log: Logger,
  ) {}

  /** Plan code and cycle of a configured Stripe price. */
  private planOfPrice(priceId: string | undefined): { code: string; cycle: BillingCycle } | undefined {
    if (!priceId) return undefined;
    for (const [code, cycles] of Object.entries(this.config.prices)) {
      if (cycles.monthly === priceId) return { code, cycle: 'monthly' };
      if (cycles.yearly === priceId) return { code, cycle: 'yearly' };
    }
    return undefined;
  }

  /** Verifies, then applies the event once. Throws WebhookSignatureError (400) before anything is written. */
  async receive(rawBody: Buffer, signature: string | undefined): Promise<{ outcome: EventOutcome; event: StripeEventEnvelope }> {
    const event = this.payments.constructEvent(rawBody, signature);
    const outcome = await this.billing.applyEvent(event, (work) => this.apply(work, event));
    this.log.info({ eventId: event.id, eventType: event.type, outcome }, 'stripe event');
    return { outcome, event };
  }

  private async apply(work: BillingEventWork, event: StripeEventEnvelope): Promise<void> {
    const object = event.data.object;
    switch (event.type) {
      case 'checkout.session.completed':
        return this.checkoutCompleted(work, event, object);
      case 'invoice.paid':
        return this.invoicePaid(work, event, object);
      case 'invoice.payment_failed':
        return this.invoiceFailed(work, event, object);
      case 'customer.subscription.updated':
        return this.subscriptionUpdated(work, event, object);
      case 'customer.subscription.deleted':
        return this.subscriptionDeleted(work, event, object);
      default:
        // Recorded, not acted on: Stripe sends what the endpoint subscribes to, and a wider
        // subscription in the dashboard must not fail deliveries.
        return undefined;
    }
  }

  private async require(work: BillingEventWork, event: StripeEventEnvelope, ref: { stripeSubscriptionId?: string; subscriptionId?: string }): Promise<BillingSubscription> {
    const subscription = await work.lockSubscription(ref);
    if (!subscription) throw new UnknownSubscriptionError(event.type);
    return subscription;
  }

  /** A Stripe subscription paid for a row that was cancelled meanwhile: stop it on Stripe too; grant nothing. */
  private async stopOrphan(subscription: BillingSubscription, stripeSubscriptionId: string | undefined, event: StripeEventEnvelope): Promise<boolean> {
    if (subscription.status !== 'cancelled' && subscription.status !== 'expired') return false;
    this.log.warn({ eventId: event.id, subscriptionId: subscription.id, status: subscription.status }, 'stripe: payment for a subscription that is no longer open; cancelling it on Stripe');
    if (stripeSubscriptionId) await this.payments.cancelSubscription(stripeSubscriptionId);
    return true;
  }

  private async checkoutCompleted(work: BillingEventWork, event: StripeEventEnvelope, session: Json): Promise<void> {
    if (session.mode !== 'subscription') return;
    const stripeSubscriptionId = str(session.subscription);
    const subscription = await this.require(work, event, {
      stripeSubscriptionId,
      subscriptionId: str(session.client_reference_id) ?? metadataId(session.metadata),
    });
    if (await this.stopOrphan(subscription, stripeSubscriptionId, event)) return;
    await work.link(subscription, { stripeSubscriptionId });
    const invoiceId = str(session.invoice);
    if (!invoiceId || session.payment_status !== 'paid') return; // invoice.paid grants once the payment settles
    const start = new Date(event.created * 1000);
    await work.grant(subscription, { invoiceId, periodStart: start, periodEnd: addUtcMonths(start, subscription.billing_cycle === 'yearly' ? 12 : 1) });
  }

  private async invoicePaid(work: BillingEventWork, event: StripeEventEnvelope, invoice: Json): Promise<void> {
    const invoiceId = str(invoice.id);
    const ref = invoiceSubscription(invoice);
    if (!invoiceId || (!ref.stripeSubscriptionId && !ref.subscriptionId)) return; // not a subscription's invoice
    const subscription = await this.require(work, event, ref);
    if (await this.stopOrphan(subscription, ref.stripeSubscriptionId, event)) return;
    await work.link(subscription, { stripeSubscriptionId: ref.stripeSubscriptionId, paymentMethodId: paymentMethodOf(invoice) });
    const line = invoiceLine(invoice);
    const paidPlan = this.planOfPrice(line.priceId);
    if (paidPlan && (paidPlan.code !== subscription.plan_code || paidPlan.cycle !== subscription.billing_cycle)) {
      const planId = await work.planIdByCode(paidPlan.code);
      if (planId) await work.changePlan(subscription, planId, paidPlan.cycle);
    }
    const start = line.start ?? new Date(event.created * 1000);
    const end = line.end && line.end > start ? line.end : addUtcMonths(start, subscription.billing_cycle === 'yearly' ? 12 : 1);
    const outcome = await work.grant(subscription, { invoiceId, periodStart: start, periodEnd: end });
    if (!outcome.applied) this.log.info({ eventId: event.id, invoiceId, reason: outcome.reason }, 'stripe: invoice granted nothing');
  }

  private async invoiceFailed(work: BillingEventWork, event: StripeEventEnvelope, invoice: Json): Promise<void> {
    const invoiceId = str(invoice.id);
    const ref = invoiceSubscription(invoice);
    if (!invoiceId || (!ref.stripeSubscriptionId && !ref.subscriptionId)) return;
    const subscription = await this.require(work, event, ref);
    await work.link(subscription, { stripeSubscriptionId: ref.stripeSubscriptionId });
    // A late failure of an invoice that was paid since (a retry succeeded) changes nothing.
    if (subscription.status !== 'active' || (await work.invoiceGranted(invoiceId))) return;
    await work.setStatus(subscription, 'paused');
  }

  private async subscriptionUpdated(work: BillingEventWork, event: StripeEventEnvelope, stripeSubscription: Json): Promise<void> {
    const stripeSubscriptionId = str(stripeSubscription.id);
    const subscription = await this.require(work, event, { stripeSubscriptionId, subscriptionId: metadataId(stripeSubscription.metadata) });
    if (subscription.status === 'cancelled' || subscription.status === 'expired') return;
    await work.link(subscription, { stripeSubscriptionId, paymentMethodId: paymentMethodOf(stripeSubscription) });
    if (stripeSubscription.status === 'canceled') return work.setStatus(subscription, 'cancelled');
    const item = obj((obj(stripeSubscription.items)?.data as unknown[] | undefined)?.[0]);
    const plan = this.planOfPrice(str(item?.price));
    if (!plan || (plan.code === subscription.plan_code && plan.cycle === subscription.billing_cycle)) return;
    const planId = await work.planIdByCode(plan.code);
    if (planId) await work.changePlan(subscription, planId, plan.cycle);
  }

  private async subscriptionDeleted(work: BillingEventWork, _event: StripeEventEnvelope, stripeSubscription: Json): Promise<void> {
    const stripeSubscriptionId = str(stripeSubscription.id);
    const subscription = await work.lockSubscription({ stripeSubscriptionId, subscriptionId: metadataId(stripeSubscription.metadata) });
    if (!subscription || subscription.status === 'cancelled' || subscription.status === 'expired') return;
    await work.link(subscription, { stripeSubscriptionId });
    await work.setStatus(subscription, 'cancelled');
  }
}
