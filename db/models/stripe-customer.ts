import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { createdAtOnly, uuidPrimaryKey } from './columns';
import type { Organization } from './organization';
import type { User } from './user';

/**
 * stripe_customers (migration 009): the Stripe customer of a user or an organization, created at its
 * first paid checkout and reused afterwards (db/repositories/billing.ts writes it).
 */
export class StripeCustomer extends Model<InferAttributes<StripeCustomer>, InferCreationAttributes<StripeCustomer>> {
  declare id: CreationOptional<string>;
  declare user_id: string | null;
  declare organization_id: string | null;
  declare stripe_customer_id: string;
  declare created_at: CreationOptional<Date>;

  declare user?: NonAttribute<User | null>;
  declare organization?: NonAttribute<Organization | null>;
}

export function initStripeCustomer(sequelize: Sequelize): typeof StripeCustomer {
  class BoundStripeCustomer extends StripeCustomer {}
  BoundStripeCustomer.init(
    {
      id: uuidPrimaryKey(),
      user_id: DataTypes.UUID,
      organization_id: DataTypes.UUID,
      stripe_customer_id: { type: DataTypes.STRING(255), allowNull: false },
      created_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'StripeCustomer', tableName: 'stripe_customers', underscored: true, ...createdAtOnly },
  );
  return BoundStripeCustomer;
}
