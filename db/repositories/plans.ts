import type { Sequelize, Transaction } from 'sequelize';
import type { BrandColors, Models, PlanFeatures, SubscriptionPlan } from '../models';

/** Who a plan binds: a user (personal) or an organization. */
export interface PlanOwner {
  user_id: string | null;
  organization_id: string | null;
}

/** The boolean features of a plan (subscription_plans.features), each enforced somewhere. */
export type PlanFlag = { [K in keyof PlanFeatures]-?: PlanFeatures[K] extends boolean ? K : never }[keyof PlanFeatures];

/** What an owner without any plan (not even the starter one) may do: nothing beyond the basics. */
export const NO_FEATURES: Readonly<PlanFeatures> = {
  advanced_templates: false,
  priority_rendering: false,
  api_access: false,
  white_label: false,
  analytics_pro: false,
  custom_voices: false,
  team_seats: 1,
};

/** The plan binding an owner, with its features filled in (a key the JSON lacks is off). */
export interface OwnerPlan {
  /** null when not even the starter plan exists. */
  plan: SubscriptionPlan | null;
  features: PlanFeatures;
}

/** An organization's white-label look: its brand colours and logo. */
export interface Branding {
  colors: BrandColors;
  logoUrl: string | null;
}

/**
 * Plans and their features as they bind an owner: the plan of the owner's newest active
 * subscription, else the starter plan (so a new account can set things up before it pays).
 */
export class PlanRepository {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Models,
  ) {}

  async forOwner(owner: PlanOwner, transaction?: Transaction): Promise<SubscriptionPlan | null> {
    const { Subscription, SubscriptionPlan } = this.models;
    const subscription = await Subscription.findOne({
      where: { ...(owner.organization_id ? { organization_id: owner.organization_id } : { user_id: owner.user_id }), status: 'active' },
      include: [{ model: SubscriptionPlan, as: 'plan' }],
      order: [['started_at', 'DESC']],
      transaction,
    });
    return subscription?.plan ?? (await SubscriptionPlan.findOne({ where: { code: 'starter' }, transaction }));
  }

  async featuresOf(owner: PlanOwner, transaction?: Transaction): Promise<OwnerPlan> {
    const plan = await this.forOwner(owner, transaction);
    return { plan, features: { ...NO_FEATURES, ...(plan?.features ?? {}) } };
  }

  /** The organization's members: each takes one of the plan's `team_seats`. */
  async seatsTaken(organizationId: string, transaction?: Transaction): Promise<number> {
    return this.models.OrganizationMember.count({ where: { organization_id: organizationId }, transaction });
  }

  /** The organization's brand colours and logo (organizations.brand_colors, logo_url); null for a personal owner. */
  async brandingOf(owner: PlanOwner): Promise<Branding | null> {
    if (!owner.organization_id) return null;
    const organization = await this.models.Organization.findByPk(owner.organization_id, { attributes: ['id', 'brand_colors', 'logo_url'] });
    if (!organization) return null;
    return { colors: organization.brand_colors ?? {}, logoUrl: organization.logo_url };
  }

  /**
   * Counts one use of a template for one production run, once: the render job's row of the run
   * (`content_jobs`, one per job and run) is marked `result.template_use_counted` in the same
   * statement that adds one to `templates.usage_count`, so a retried render attempt, or one
   * whose completion was lost, never counts twice. True when this call counted it.
   */
  async countTemplateUseOnce(templateId: string, renderJobId: string): Promise<boolean> {
    const [rows] = await this.sequelize.query(
      `WITH marked AS (
         UPDATE content_jobs
            SET result = COALESCE(result, '{}'::jsonb) || '{"template_use_counted": true}'::jsonb
          WHERE id = :renderJobId AND COALESCE(result->>'template_use_counted', 'false') <> 'true'
          RETURNING id
       )
       UPDATE templates SET usage_count = COALESCE(usage_count, 0) + 1
        WHERE id = :templateId AND EXISTS (SELECT 1 FROM marked)
        RETURNING id`,
      { replacements: { templateId, renderJobId } },
    );
    return (rows as unknown[]).length > 0;
  }
}
