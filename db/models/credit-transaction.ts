import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { createdAtOnly, requiredUuid, uuidPrimaryKey } from './columns';
import type { Content } from './content';
import type { TransactionType } from './enums';
import type { Subscription } from './subscription';

/** credit_transactions (seed §3.7.2): the append-only credit ledger of a subscription. */
export class CreditTransaction extends Model<InferAttributes<CreditTransaction>, InferCreationAttributes<CreditTransaction>> {
  declare id: CreationOptional<string>;
  declare subscription_id: string;
  declare transaction_type: TransactionType;
  /** Positive adds credits, negative spends them. */
  declare credits_amount: number;
  /** Balance after this transaction. */
  declare credits_balance: number;
  declare content_id: string | null;
  declare description: string | null;
  declare created_at: CreationOptional<Date>;

  declare subscription?: NonAttribute<Subscription>;
  declare content?: NonAttribute<Content | null>;
}

export function initCreditTransaction(sequelize: Sequelize): typeof CreditTransaction {
  class BoundCreditTransaction extends CreditTransaction {}
  BoundCreditTransaction.init(
    {
      id: uuidPrimaryKey(),
      subscription_id: requiredUuid(),
      transaction_type: { type: DataTypes.STRING(20), allowNull: false },
      credits_amount: { type: DataTypes.INTEGER, allowNull: false },
      credits_balance: { type: DataTypes.INTEGER, allowNull: false },
      content_id: DataTypes.UUID,
      description: DataTypes.TEXT,
      created_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'CreditTransaction', tableName: 'credit_transactions', underscored: true, ...createdAtOnly },
  );
  return BoundCreditTransaction;
}
