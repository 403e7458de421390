import type { Transaction, WhereOptions } from 'sequelize';
import type { Models, Project, SubscriptionPlan } from '../db/models';
import type { PlanFlag } from '../db/repositories/plans';
import type { AppContext } from '../control/app-context';
import { HttpError } from './errors';
import { lockForTransaction } from '../db/locks';

/**
 * Plan limits (subscription_plans.max_projects, max_channels, features.team_seats) of the owner of
 * a project or an organization: a user or an organization. Without an active subscription the
 * starter plan's limits apply, so a new account can set up a project before it pays (credits, not
 * projects, are what cost money); only when not even the starter plan exists is the create refused.
 * Every row counts, whatever its status: deleting a project or channel (or removing a member) is
 * what frees a place. The plan's boolean features (advanced templates, custom voices, …) are
 * checked with `requirePlanFeature`.
 */
export type PlanLimit = 'max_projects' | 'max_channels' | 'team_seats';

export interface OwnerColumns {
  user_id: string | null;
  organization_id: string | null;
}

const WHAT: Record<PlanLimit, string> = { max_projects: 'projects', max_channels: 'channels', team_seats: 'members (team seats)' };

function ownerWhere(owner: OwnerColumns): WhereOptions<Project> {
  return owner.organization_id ? { organization_id: owner.organization_id } : { user_id: owner.user_id, organization_id: null };
}

async function countUsed(ctx: AppContext, owner: OwnerColumns, limit: PlanLimit, transaction: Transaction): Promise<number> {
  const models: Models = ctx.models;
  if (limit === 'max_projects') return models.Project.count({ where: ownerWhere(owner), transaction });
  if (limit === 'team_seats') return owner.organization_id ? ctx.db.plans.seatsTaken(owner.organization_id, transaction) : 1;
  return models.Channel.count({
    include: [{ model: models.Project, as: 'project', where: ownerWhere(owner), attributes: [] }],
    transaction,
  });
}

function allowedBy(plan: SubscriptionPlan, limit: PlanLimit): number {
  if (limit !== 'team_seats') return plan[limit];
  const seats = Number(plan.features?.team_seats);
  return Number.isFinite(seats) && seats >= 1 ? seats : 1;
}

/**
 * Runs `create` only if the owner is below `limit`, in one transaction holding an advisory lock
 * per owner, so two concurrent creates cannot both take the last place.
 */
export async function createWithinPlanLimit<T>(ctx: AppContext, owner: OwnerColumns, limit: PlanLimit, create: (transaction: Transaction) => Promise<T>): Promise<T> {
  const ownerKey = owner.organization_id ? `organization:${owner.organization_id}` : `user:${owner.user_id}`;
  return ctx.sequelize.transaction(async (transaction) => {
    await lockForTransaction(ctx.sequelize, `plan-limits:${ownerKey}`, transaction);
    const plan = await ctx.db.plans.forOwner(owner, transaction);
    if (!plan) throw new HttpError(403, 'plan_limit', `no active subscription: ${WHAT[limit]} cannot be added`, { limit });
    const allowed = allowedBy(plan, limit);
    if ((await countUsed(ctx, owner, limit, transaction)) >= allowed) {
      throw new HttpError(403, 'plan_limit', `the ${plan.name} plan allows at most ${allowed} ${WHAT[limit]} (${limit})`, { limit, allowed: String(allowed), plan: plan.code });
    }
    return create(transaction);
  });
}

const FEATURE_NAMES: Record<PlanFlag, string> = {
  advanced_templates: 'premium templates',
  priority_rendering: 'priority rendering',
  api_access: 'API access',
  white_label: 'white label',
  analytics_pro: 'advanced analytics',
  custom_voices: 'custom voices',
};

/** Whether the owner's plan has `feature`. */
export async function planHasFeature(ctx: Pick<AppContext, 'db'>, owner: OwnerColumns, feature: PlanFlag): Promise<boolean> {
  const { features } = await ctx.db.plans.featuresOf(owner);
  return features[feature] === true;
}

/** 403 `plan_feature` (the one error shape) unless the owner's plan has `feature`; `field` names what asked for it. */
export async function requirePlanFeature(ctx: Pick<AppContext, 'db'>, owner: OwnerColumns, feature: PlanFlag, field: string): Promise<void> {
  const { plan, features } = await ctx.db.plans.featuresOf(owner);
  if (features[feature] === true) return;
  const name = plan ? `the ${plan.name} plan` : 'without a plan, the account';
  throw new HttpError(403, 'plan_feature', `${name} does not include ${FEATURE_NAMES[feature]} (${feature})`, {
    feature,
    [field]: `needs a plan with ${feature}`,
    ...(plan ? { plan: plan.code } : {}),
  });
}
