import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { createdAtOnly, decimal, uuidPrimaryKey } from './columns';
import type { PlanFeatures } from './json';
import type { Subscription } from './subscription';

/** subscription_plans (seed §3.2.1). Prices read as numbers (see `decimal`), in `currency`. */
export class SubscriptionPlan extends Model<InferAttributes<SubscriptionPlan>, InferCreationAttributes<SubscriptionPlan>> {
  declare id: CreationOptional<string>;
  declare name: string;
  /** starter, pro, business: the stable key of a plan. */
  declare code: string;
  declare price_monthly: number;
  declare price_yearly: number | null;
  declare currency: CreationOptional<string>;
  declare monthly_credits: number;
  declare max_channels: CreationOptional<number>;
  declare max_projects: CreationOptional<number>;
  declare features: PlanFeatures;
  declare is_active: CreationOptional<boolean>;
  declare display_order: CreationOptional<number>;
  declare created_at: CreationOptional<Date>;

  declare subscriptions?: NonAttribute<Subscription[]>;
}

export function initSubscriptionPlan(sequelize: Sequelize): typeof SubscriptionPlan {
  class BoundSubscriptionPlan extends SubscriptionPlan {}
  BoundSubscriptionPlan.init(
    {
      id: uuidPrimaryKey(),
      name: { type: DataTypes.STRING(50), allowNull: false },
      code: { type: DataTypes.STRING(20), allowNull: false },
      price_monthly: decimal<BoundSubscriptionPlan>('price_monthly', 10, 2, false),
      price_yearly: decimal<BoundSubscriptionPlan>('price_yearly', 10, 2),
      currency: DataTypes.STRING(3),
      monthly_credits: { type: DataTypes.INTEGER, allowNull: false },
      max_channels: DataTypes.INTEGER,
      max_projects: DataTypes.INTEGER,
      // NOT NULL with a '{}' default in SQL, but a plan without its flags is a mistake.
      features: { type: DataTypes.JSONB, allowNull: false },
      is_active: DataTypes.BOOLEAN,
      display_order: DataTypes.INTEGER,
      created_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'SubscriptionPlan', tableName: 'subscription_plans', underscored: true, ...createdAtOnly },
  );
  return BoundSubscriptionPlan;
}
