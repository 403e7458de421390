import Joi from 'joi';
import { Op, literal, type Transaction } from 'sequelize';
import { BILLING_CYCLES, PLAN_TYPES, type BillingCycle, type PlanType, type Role, type Subscription, type SubscriptionPlan } from '../../db/models';
import { addUtcMonths } from '../../db/rollover';
import { StripeWebhookHandler, UnknownSubscriptionError } from '../../control/billing';
import { moduleLogger } from '../../lib/logger';
import { createStripePayments, PaymentProviderError, WebhookSignatureError } from '../../providers/payments/stripe';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { NEWEST_FIRST, pageOf } from '../pagination';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { serializeCreditTransaction, serializePlan, serializeSubscription } from '../serializers/billing';
import { forbidden, notFound, ownerColumns, ownerFor, requireOrganizationRole, roleAtLeast, roleOver, type Owner } from '../tenancy';

/**
 * Plans, subscriptions and the credit ledger. A subscription belongs to a user or an organization:
 * any member reads the organization's subscription, its owner creates and cancels it, and its
 * owners and admins read the ledger. A personal subscription is its user's alone.
 *
 * Credits move only through the ledger and only from a verified cause: a plan with a price is paid
 * through Stripe Checkout and grants nothing ('incomplete') until Stripe's signed webhook says an
 * invoice is paid (control/billing.ts); a plan priced 0 is granted at once. No route grants bonus
 * credits: only a platform administrator does, with `npm run credits -- bonus`.
 */

const log = moduleLogger('billing');

/** Stripe Checkout Sessions expire after 24 h: an 'incomplete' subscription older than that was abandoned. */
const CHECKOUT_LIFETIME_MS = 24 * 3600 * 1000;

/** The price of `plan` for `cycle` (the yearly price, else twelve months), in the plan's currency. */
function priceOf(plan: SubscriptionPlan, cycle: BillingCycle): number {
  const monthly = Number(plan.price_monthly);
  return cycle === 'yearly' ? Number(plan.price_yearly ?? monthly * 12) : monthly;
}

function paymentsNotConfigured(detail?: string): HttpError {
  return new HttpError(503, 'payments_not_configured', `payments are not configured${detail ? `: ${detail}` : ''}; paid plans cannot be subscribed to`);
}

function providerFailed(err: unknown): never {
  if (err instanceof PaymentProviderError) {
    log.warn({ status: err.status, reason: err.message }, 'stripe call failed');
    throw new HttpError(502, 'payment_provider_error', 'the payment provider refused or failed the request; try again later');
  }
  throw err;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Cursors are the last row's id, opaque to clients; the schema turns one back into that id. */
const cursor = schemas.cursor.custom((value: string, helpers) => {
  const id = Buffer.from(value, 'base64url').toString('utf8');
  return UUID.test(id) ? id : helpers.message({ custom: '{{#label}} is not a cursor of this list' });
});

function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

function isPlanType(code: string): code is PlanType {
  return (PLAN_TYPES as readonly string[]).includes(code);
}

export function billingRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { sequelize } = ctx;
  const { CreditTransaction, Organization, Subscription, SubscriptionPlan, User } = ctx.models;
  const planInclude = [{ model: SubscriptionPlan, as: 'plan', required: true }];
  const payments = createStripePayments(ctx.config.stripe);
  const webhooks = payments ? new StripeWebhookHandler(ctx.db.billing, payments, ctx.config.stripe, log) : undefined;

  /** The owner's Stripe customer, created at its first checkout and reused afterwards. */
  async function stripeCustomer(owner: Owner, userId: string): Promise<string> {
    const billingOwner = owner.kind === 'user' ? owner : { kind: 'organization' as const, organizationId: owner.organizationId };
    const known = await ctx.db.billing.customerFor(billingOwner);
    if (known) return known;
    const user = await User.findByPk(userId, { attributes: ['email', 'name'] });
    const organization = owner.kind === 'organization' ? await Organization.findByPk(owner.organizationId, { attributes: ['name'] }) : null;
    const created = await payments!.createCustomer({
      email: user?.email,
      name: organization?.name ?? user?.name ?? 'AutoClip customer',
      ownerRef: owner.kind === 'user' ? `user:${owner.userId}` : `organization:${owner.organizationId}`,
    });
    return ctx.db.billing.saveCustomer(billingOwner, created);
  }

  /** Loads a subscription the caller may act on with `need`; 404 when it is not theirs to see. */
  async function loadSubscription(userId: string, id: string, need: Role): Promise<Subscription> {
    const subscription = await Subscription.findByPk(id, { include: planInclude });
    if (!subscription) throw notFound('subscription');
    const role = await roleOver(ctx.models, userId, subscription);
    if (!role) throw notFound('subscription');
    if (!roleAtLeast(role, need)) throw forbidden(need);
    return subscription;
  }

  /** Serializes subscription changes per owner by locking the owner's row. */
  async function lockOwner(owner: Owner, transaction: Transaction): Promise<void> {
    const lock = { attributes: ['id'], transaction, lock: transaction.LOCK.UPDATE };
    if (owner.kind === 'user') await User.findByPk(owner.userId, lock);
    else await Organization.findByPk(owner.organizationId, lock);
  }

  return [
    route({
      method: 'get',
      path: '/plans',
      summary: 'The active subscription plans with their limits and features',
      tag: 'billing',
      auth: 'public',
      responses: { 200: '{ items }: the plans, in display order' },
      handler: async (_req, res) => {
        const plans = await SubscriptionPlan.findAll({
          where: { is_active: true },
          order: [
            ['display_order', 'ASC'],
            ['code', 'ASC'],
          ],
        });
        res.json({ items: plans.map(serializePlan) });
      },
    }),
    route({
      method: 'get',
      path: '/subscriptions',
      summary: 'The caller’s subscriptions, or an organization’s (members), newest first',
      tag: 'billing',
      auth: 'user',
      query: Joi.object<{ organization_id?: string }>({ organization_id: schemas.id }),
      responses: { 200: '{ items }: the subscriptions' },
      handler: async (req, res, { query }) => {
        const userId = req.auth!.userId;
        if (query.organization_id) await requireOrganizationRole(ctx.models, userId, query.organization_id, 'viewer');
        const subscriptions = await Subscription.findAll({
          where: query.organization_id ? { organization_id: query.organization_id } : { user_id: userId },
          include: planInclude,
          order: [
            ['created_at', 'DESC'],
            ['id', 'DESC'],
          ],
        });
        res.json({ items: subscriptions.map((s) => serializeSubscription(s, s.plan!)) });
      },
    }),
    route({
      method: 'post',
      path: '/subscriptions',
      summary: 'Subscribe the caller, or an organization (its owner), to a plan: a paid plan answers a Stripe Checkout URL and grants its credits once Stripe says it is paid',
      tag: 'billing',
      auth: 'user',
      body: Joi.object<{ plan_code: string; billing_cycle: BillingCycle; organization_id?: string }>({
        plan_code: Joi.string().trim().max(20).required(),
        billing_cycle: Joi.string().valid(...BILLING_CYCLES).default('monthly'),
        organization_id: schemas.id,
      }).required(),
      responses: {
        201: '{ subscription, checkout_url }: a plan priced 0 is active with its credits (checkout_url null); a paid plan is incomplete, with no credits, until its Checkout is paid',
        409: 'the owner has an active, paused or pending subscription already',
        502: 'Stripe failed the request',
        503: 'payments are not configured (paid plans only)',
      },
      handler: async (req, res, { body }) => {
        const userId = req.auth!.userId;
        const owner = await ownerFor(ctx.models, userId, body.organization_id, 'owner');
        const plan = await SubscriptionPlan.findOne({ where: { code: body.plan_code, is_active: true } });
        if (!plan) throw new HttpError(400, 'validation_failed', 'the request is invalid', { 'body.plan_code': 'no active plan with this code' });
        const paid = priceOf(plan, body.billing_cycle) > 0;
        const priceId = ctx.config.stripe.prices[plan.code]?.[body.billing_cycle];
        if (paid && !payments) throw paymentsNotConfigured();
        if (paid && !priceId) throw paymentsNotConfigured(`no Stripe price for the ${plan.code} plan (${body.billing_cycle})`);
        const columns = ownerColumns(owner);
        const ownerWhere = owner.kind === 'user' ? { user_id: owner.userId } : { organization_id: owner.organizationId };
        const subscription = await sequelize.transaction(async (transaction) => {
          await lockOwner(owner, transaction);
          const now = new Date();
          // An 'active' row whose period has ended no longer grants credits (db/repositories/ledger.ts skips it),
          // and an 'incomplete' one older than a Checkout Session's life was abandoned.
          await Subscription.update({ status: 'expired' }, { where: { ...ownerWhere, status: 'active', current_period_end: { [Op.lte]: now } }, transaction });
          await Subscription.update(
            { status: 'expired' },
            { where: { ...ownerWhere, status: 'incomplete', created_at: { [Op.lte]: new Date(now.getTime() - CHECKOUT_LIFETIME_MS) } }, transaction },
          );
          const open = await Subscription.findOne({ where: { ...ownerWhere, status: ['active', 'paused', 'incomplete'] }, attributes: ['id', 'status'], transaction });
          if (open) {
            const what = open.status === 'active' ? 'an active subscription' : open.status === 'paused' ? 'a paused subscription (its payment failed)' : 'a subscription waiting for its payment';
            throw new HttpError(409, 'conflict', `there is ${what} already: cancel it first`);
          }
          const created = await Subscription.create(
            {
              ...columns,
              plan_id: plan.id,
              status: paid ? 'incomplete' : 'active',
              billing_cycle: body.billing_cycle,
              started_at: now,
              current_period_start: paid ? null : now,
              current_period_end: paid ? null : addUtcMonths(now, body.billing_cycle === 'yearly' ? 12 : 1),
              cancelled_at: null,
              payment_method_id: null,
              stripe_subscription_id: null,
              credits_remaining: paid ? 0 : plan.monthly_credits,
            },
            { transaction },
          );
          if (paid) return created;
          await CreditTransaction.create(
            {
              subscription_id: created.id,
              transaction_type: 'reset',
              credits_amount: plan.monthly_credits,
              credits_balance: plan.monthly_credits,
              content_id: null,
              description: `${plan.name} plan (${body.billing_cycle}): period from ${now.toISOString()}`,
            },
            { transaction },
          );
          if (owner.kind === 'organization' && isPlanType(plan.code)) {
            await Organization.update({ plan_type: plan.code }, { where: { id: owner.organizationId }, transaction });
          }
          return created;
        });
        let checkoutUrl: string | null = null;
        if (paid) {
          try {
            const checkout = await payments!.createCheckout({
              customerId: await stripeCustomer(owner, userId),
              priceId: priceId!,
              subscriptionId: subscription.id,
              successUrl: ctx.config.stripe.successUrl,
              cancelUrl: ctx.config.stripe.cancelUrl,
            });
            checkoutUrl = checkout.url;
          } catch (err) {
            // Nothing to pay: the pending row must not block the owner's next attempt.
            await subscription.update({ status: 'expired' });
            providerFailed(err);
          }
        }
        res.status(201).json({ subscription: serializeSubscription(subscription, plan), checkout_url: checkoutUrl });
      },
    }),
    route({
      method: 'get',
      path: '/subscriptions/:id',
      summary: 'A subscription: its plan, current period and credits',
      tag: 'billing',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'the subscription' },
      handler: async (req, res, { params }) => {
        const subscription = await loadSubscription(req.auth!.userId, params.id, 'viewer');
        res.json({ subscription: serializeSubscription(subscription, subscription.plan!) });
      },
    }),
    route({
      method: 'post',
      path: '/subscriptions/:id/cancel',
      summary: 'Cancel a subscription now (its owner), on Stripe too when it is paid there; no credit is charged from it afterwards',
      tag: 'billing',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'the cancelled subscription', 409: 'it is cancelled or expired already', 502: 'Stripe failed the request', 503: 'payments are not configured' },
      handler: async (req, res, { params }) => {
        const found = await loadSubscription(req.auth!.userId, params.id, 'owner');
        const cancellable = ['active', 'paused', 'incomplete'];
        if (!cancellable.includes(found.status)) throw new HttpError(409, 'conflict', `the subscription is ${found.status}, not active`);
        if (found.stripe_subscription_id) {
          // Stripe first: if it refuses, nothing changes here and the owner may try again.
          if (!payments) throw paymentsNotConfigured();
          await payments.cancelSubscription(found.stripe_subscription_id).catch(providerFailed);
        }
        const subscription = await sequelize.transaction(async (transaction) => {
          // The same row lock the ledger takes, so no charge lands half-way through the cancellation.
          const locked = (await Subscription.findByPk(found.id, { transaction, lock: transaction.LOCK.UPDATE }))!;
          if (!cancellable.includes(locked.status)) throw new HttpError(409, 'conflict', `the subscription is ${locked.status}, not active`);
          await locked.update({ status: 'cancelled', cancelled_at: new Date() }, { transaction });
          if (locked.organization_id) await Organization.update({ plan_type: 'starter' }, { where: { id: locked.organization_id }, transaction });
          return locked;
        });
        res.json({ subscription: serializeSubscription(subscription, found.plan!) });
      },
    }),
    route({
      method: 'post',
      path: '/subscriptions/:id/portal',
      summary: 'A Stripe billing-portal session for the subscription’s owner: payment method, invoices, plan changes',
      tag: 'billing',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ url }: the portal session', 409: 'its owner has no Stripe customer (never paid a plan)', 502: 'Stripe failed the request', 503: 'payments are not configured' },
      handler: async (req, res, { params }) => {
        const subscription = await loadSubscription(req.auth!.userId, params.id, 'owner');
        if (!payments) throw paymentsNotConfigured();
        const owner = subscription.user_id ? { kind: 'user' as const, userId: subscription.user_id } : { kind: 'organization' as const, organizationId: subscription.organization_id! };
        const customerId = await ctx.db.billing.customerFor(owner);
        if (!customerId) throw new HttpError(409, 'conflict', 'this subscription’s owner has no Stripe customer: subscribe to a paid plan first');
        const url = await payments.createPortal({ customerId, returnUrl: ctx.config.stripe.portalReturnUrl }).catch(providerFailed);
        res.json({ url });
      },
    }),
    route({
      method: 'post',
      path: '/billing/stripe/webhook',
      summary: 'Stripe’s webhook: the raw event, verified by its Stripe-Signature header, applied once',
      tag: 'billing',
      auth: 'public',
      // The raw bytes (api/app.ts mounts express.raw for this path): the signature covers them exactly.
      body: Joi.binary().required(),
      responses: {
        200: '{ received, duplicate }: applied, or an event id applied before (nothing changes)',
        400: 'no, a wrong or a stale (over 300 s) signature: nothing changes',
        409: 'the event names a subscription not known yet: nothing changes, Stripe delivers it again',
        503: 'payments are not configured',
      },
      handler: async (req, res, { body }) => {
        if (!webhooks) throw paymentsNotConfigured();
        try {
          const { outcome } = await webhooks.receive(body as Buffer, req.get('stripe-signature'));
          res.json({ received: true, duplicate: outcome === 'duplicate' });
        } catch (err) {
          if (err instanceof WebhookSignatureError) {
            // The reason only: neither the payload nor the header is logged.
            log.warn({ reason: err.message, requestId: req.get('x-request-id') }, 'stripe webhook refused');
            throw new HttpError(400, 'invalid_signature', 'the Stripe signature is missing, wrong or too old');
          }
          if (err instanceof UnknownSubscriptionError) throw new HttpError(409, 'conflict', err.message);
          if (err instanceof PaymentProviderError) providerFailed(err);
          throw err;
        }
      },
    }),
    route({
      method: 'get',
      path: '/subscriptions/:id/credit-transactions',
      summary: 'The credit ledger of a subscription, newest first (its user, or the organization’s owners and admins)',
      tag: 'billing',
      auth: 'user',
      params: schemas.idParams,
      query: Joi.object<{ limit: number; cursor?: string }>({ limit: schemas.limit, cursor }),
      responses: { 200: '{ items, next_cursor }: one page of the ledger' },
      handler: async (req, res, { params, query }) => {
        const subscription = await loadSubscription(req.auth!.userId, params.id, 'admin');
        const where = { subscription_id: subscription.id };
        if (query.cursor && !(await CreditTransaction.findOne({ where: { ...where, id: query.cursor }, attributes: ['id'] }))) {
          throw new HttpError(400, 'validation_failed', 'the request is invalid', { 'query.cursor': 'cursor is not a cursor of this list' });
        }
        // Compared in SQL as a (created_at, id) pair: JavaScript dates would drop the microseconds.
        const after = query.cursor
          ? { [Op.and]: [literal(`(created_at, id) < (SELECT created_at, id FROM credit_transactions WHERE id = ${sequelize.escape(query.cursor)})`)] }
          : {};
        const rows = await CreditTransaction.findAll({
          where: { ...where, ...after },
          order: NEWEST_FIRST,
          limit: query.limit + 1,
        });
        const { page, nextCursor } = pageOf(rows, query.limit, (last) => encodeCursor(last.id));
        res.json({ items: page.map(serializeCreditTransaction), next_cursor: nextCursor });
      },
    }),
  ];
}
