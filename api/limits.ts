import type { Transaction, WhereOptions } from 'sequelize';
import type { Models, Project, SubscriptionPlan } from '../db/models';
import type { AppContext } from '../control/app-context';
import { HttpError } from './errors';
import { lockForTransaction } from '../db/locks';

/**
 * Plan limits (subscription_plans.max_projects, max_channels) of the owner of a project: a user
 * or an organization. Without an active subscription the starter plan's limits apply, so a new
 * account can set up a project before it pays (credits, not projects, are what cost money); only
 * when not even the starter plan exists is the create refused. Every row counts, whatever its
 * status: deleting a project or channel is what frees a place.
 */
export type PlanLimit = 'max_projects' | 'max_channels';

export interface OwnerColumns {
  user_id: string | null;
  organization_id: string | null;
}

const WHAT: Record<PlanLimit, string> = { max_projects: 'projects', max_channels: 'channels' };

function ownerWhere(owner: OwnerColumns): WhereOptions<Project> {
  return owner.organization_id ? { organization_id: owner.organization_id } : { user_id: owner.user_id, organization_id: null };
}

/** The plan whose limits bind the owner: its newest active subscription's, else the starter plan. */
async function planFor(models: Models, owner: OwnerColumns, transaction?: Transaction): Promise<SubscriptionPlan | null> {
  const subscription = await models.Subscription.findOne({
    where: { ...(owner.organization_id ? { organization_id: owner.organization_id } : { user_id: owner.user_id }), status: 'active' },
    include: [{ model: models.SubscriptionPlan, as: 'plan' }],
    order: [['started_at', 'DESC']],
    transaction,
  });
  return subscription?.plan ?? (await models.SubscriptionPlan.findOne({ where: { code: 'starter' }, transaction }));
}

async function countUsed(models: Models, owner: OwnerColumns, limit: PlanLimit, transaction: Transaction): Promise<number> {
  if (limit === 'max_projects') return models.Project.count({ where: ownerWhere(owner), transaction });
  return models.Channel.count({
    include: [{ model: models.Project, as: 'project', where: ownerWhere(owner), attributes: [] }],
    transaction,
  });
}

/**
 * Runs `create` only if the owner is below `limit`, in one transaction holding an advisory lock
 * per owner, so two concurrent creates cannot both take the last place.
 */
export async function createWithinPlanLimit<T>(ctx: AppContext, owner: OwnerColumns, limit: PlanLimit, create: (transaction: Transaction) => Promise<T>): Promise<T> {
  const ownerKey = owner.organization_id ? `organization:${owner.organization_id}` : `user:${owner.user_id}`;
  return ctx.sequelize.transaction(async (transaction) => {
    await lockForTransaction(ctx.sequelize, `plan-limits:${ownerKey}`, transaction);
    const plan = await planFor(ctx.models, owner, transaction);
    if (!plan) throw new HttpError(403, 'plan_limit', `no active subscription: ${WHAT[limit]} cannot be added`, { limit });
    const allowed = plan[limit];
    if ((await countUsed(ctx.models, owner, limit, transaction)) >= allowed) {
      throw new HttpError(403, 'plan_limit', `the ${plan.name} plan allows at most ${allowed} ${WHAT[limit]} (${limit})`, { limit, allowed: String(allowed), plan: plan.code });
    }
    return create(transaction);
  });
}
