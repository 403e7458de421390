import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { createdAtOnly, decimal, uuidPrimaryKey } from './columns';
import type { Content } from './content';
import type { BilledTo } from './enums';
import type { ContentJob } from './content-job';
import type { Organization } from './organization';
import type { User } from './user';

/**
 * api_usages (seed §3.7.1), partitioned by month on created_at, so its primary key is
 * (id, created_at). Sequelize sets created_at before the INSERT, which routes the row to its
 * partition and lets later saves address the row by both key columns. estimated_cost is in USD.
 */
export class ApiUsage extends Model<InferAttributes<ApiUsage>, InferCreationAttributes<ApiUsage>> {
  declare id: CreationOptional<string>;
  declare user_id: string | null;
  declare organization_id: string | null;
  /** gemini, elevenlabs, creatomate, openai, or a local provider's name. */
  declare service: string;
  /** text_generation, tts, render, … */
  declare operation: string;
  declare input_units: CreationOptional<number>;
  declare output_units: CreationOptional<number>;
  declare duration_ms: number | null;
  declare estimated_cost: number | null;
  declare content_id: string | null;
  declare job_id: string | null;
  declare status_code: number | null;
  declare error_message: string | null;
  /** Whose key paid for the call (migration 011). */
  declare billed_to: CreationOptional<BilledTo>;
  declare created_at: CreationOptional<Date>;

  declare user?: NonAttribute<User | null>;
  declare organization?: NonAttribute<Organization | null>;
  declare content?: NonAttribute<Content | null>;
  declare job?: NonAttribute<ContentJob | null>;
}

export function initApiUsage(sequelize: Sequelize): typeof ApiUsage {
  class BoundApiUsage extends ApiUsage {}
  BoundApiUsage.init(
    {
      id: uuidPrimaryKey(),
      user_id: DataTypes.UUID,
      organization_id: DataTypes.UUID,
      service: { type: DataTypes.STRING(30), allowNull: false },
      operation: { type: DataTypes.STRING(50), allowNull: false },
      input_units: DataTypes.INTEGER,
      output_units: DataTypes.INTEGER,
      duration_ms: DataTypes.INTEGER,
      estimated_cost: decimal<BoundApiUsage>('estimated_cost', 10, 6),
      content_id: DataTypes.UUID,
      job_id: DataTypes.UUID,
      status_code: DataTypes.INTEGER,
      error_message: DataTypes.TEXT,
      billed_to: DataTypes.STRING(20),
      created_at: { type: DataTypes.DATE, primaryKey: true },
    },
    { sequelize, modelName: 'ApiUsage', tableName: 'api_usages', underscored: true, ...createdAtOnly },
  );
  return BoundApiUsage;
}
