import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { requiredUuid, uuidPrimaryKey, withTimestamps } from './columns';
import type { CreditTransaction } from './credit-transaction';
import type { BillingCycle, SubscriptionStatus } from './enums';
import type { Organization } from './organization';
import type { SubscriptionPlan } from './subscription-plan';
import type { User } from './user';

/** subscriptions (seed §3.2.2): owned by exactly one of a user or an organization (chk_owner). */
export class Subscription extends Model<InferAttributes<Subscription>, InferCreationAttributes<Subscription>> {
  declare id: CreationOptional<string>;
  declare user_id: string | null;
  declare organization_id: string | null;
  declare plan_id: string;
  declare status: CreationOptional<SubscriptionStatus>;
  declare billing_cycle: CreationOptional<BillingCycle>;
  declare started_at: Date;
  declare current_period_start: Date | null;
  declare current_period_end: Date | null;
  declare cancelled_at: Date | null;
  declare payment_method_id: string | null;
  declare stripe_subscription_id: string | null;
  declare credits_used: CreationOptional<number>;
  declare credits_remaining: number;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare user?: NonAttribute<User | null>;
  declare organization?: NonAttribute<Organization | null>;
  declare plan?: NonAttribute<SubscriptionPlan>;
  declare credit_transactions?: NonAttribute<CreditTransaction[]>;
}

export function initSubscription(sequelize: Sequelize): typeof Subscription {
  class BoundSubscription extends Subscription {}
  BoundSubscription.init(
    {
      id: uuidPrimaryKey(),
      user_id: DataTypes.UUID,
      organization_id: DataTypes.UUID,
      plan_id: requiredUuid(),
      status: DataTypes.STRING(20),
      billing_cycle: DataTypes.STRING(10),
      started_at: { type: DataTypes.DATE, allowNull: false },
      current_period_start: DataTypes.DATE,
      current_period_end: DataTypes.DATE,
      cancelled_at: DataTypes.DATE,
      payment_method_id: DataTypes.STRING(255),
      stripe_subscription_id: DataTypes.STRING(255),
      credits_used: DataTypes.INTEGER,
      credits_remaining: { type: DataTypes.INTEGER, allowNull: false },
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'Subscription', tableName: 'subscriptions', underscored: true, ...withTimestamps },
  );
  return BoundSubscription;
}
