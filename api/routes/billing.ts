import Joi from 'joi';
import { Op, literal, type Transaction } from 'sequelize';
import { BILLING_CYCLES, PLAN_TYPES, type BillingCycle, type PlanType, type Role, type Subscription } from '../../db/models';
import { addUtcMonths } from '../../db/rollover';
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
 */

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
      summary: 'Subscribe the caller, or an organization (its owner), to a plan; grants the plan’s monthly credits',
      tag: 'billing',
      auth: 'user',
      body: Joi.object<{ plan_code: string; billing_cycle: BillingCycle; organization_id?: string }>({
        plan_code: Joi.string().trim().max(20).required(),
        billing_cycle: Joi.string().valid(...BILLING_CYCLES).default('monthly'),
        organization_id: schemas.id,
      }).required(),
      responses: { 201: 'the subscription', 409: 'the owner already has an active subscription' },
      handler: async (req, res, { body }) => {
        const owner = await ownerFor(ctx.models, req.auth!.userId, body.organization_id, 'owner');
        const plan = await SubscriptionPlan.findOne({ where: { code: body.plan_code, is_active: true } });
        if (!plan) throw new HttpError(400, 'validation_failed', 'the request is invalid', { 'body.plan_code': 'no active plan with this code' });
        const columns = ownerColumns(owner);
        const ownerWhere = owner.kind === 'user' ? { user_id: owner.userId } : { organization_id: owner.organizationId };
        const subscription = await sequelize.transaction(async (transaction) => {
          await lockOwner(owner, transaction);
          const now = new Date();
          // An 'active' row whose period has ended no longer grants credits (db/repositories/ledger.ts skips it).
          await Subscription.update({ status: 'expired' }, { where: { ...ownerWhere, status: 'active', current_period_end: { [Op.lte]: now } }, transaction });
          if (await Subscription.findOne({ where: { ...ownerWhere, status: 'active' }, attributes: ['id'], transaction })) {
            throw new HttpError(409, 'conflict', 'there is an active subscription already: cancel it first');
          }
          const created = await Subscription.create(
            {
              ...columns,
              plan_id: plan.id,
              status: 'active',
              billing_cycle: body.billing_cycle,
              started_at: now,
              current_period_start: now,
              current_period_end: addUtcMonths(now, body.billing_cycle === 'yearly' ? 12 : 1),
              cancelled_at: null,
              payment_method_id: null,
              stripe_subscription_id: null,
              credits_remaining: plan.monthly_credits,
            },
            { transaction },
          );
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
        res.status(201).json({ subscription: serializeSubscription(subscription, plan) });
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
      summary: 'Cancel a subscription now (its owner); no credit is charged from it afterwards',
      tag: 'billing',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'the cancelled subscription', 409: 'it is not active' },
      handler: async (req, res, { params }) => {
        const found = await loadSubscription(req.auth!.userId, params.id, 'owner');
        const subscription = await sequelize.transaction(async (transaction) => {
          // The same row lock the ledger takes, so no charge lands half-way through the cancellation.
          const locked = (await Subscription.findByPk(found.id, { transaction, lock: transaction.LOCK.UPDATE }))!;
          if (locked.status !== 'active') throw new HttpError(409, 'conflict', `the subscription is ${locked.status}, not active`);
          await locked.update({ status: 'cancelled', cancelled_at: new Date() }, { transaction });
          if (locked.organization_id) await Organization.update({ plan_type: 'starter' }, { where: { id: locked.organization_id }, transaction });
          return locked;
        });
        res.json({ subscription: serializeSubscription(subscription, found.plan!) });
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
