import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { createdAtOnly, requiredUuid, uuidPrimaryKey } from './columns';
import type { ApiUsage } from './api-usage';
import type { Content } from './content';
import type { JobStatus, JobType } from './enums';
import type { JsonValue } from './json';

/** content_jobs (seed §3.4.2): one row per pipeline step of a content, with its attempts. */
export class ContentJob extends Model<InferAttributes<ContentJob>, InferCreationAttributes<ContentJob>> {
  declare id: CreationOptional<string>;
  declare content_id: string;
  declare job_type: JobType;
  declare status: CreationOptional<JobStatus>;
  /** 0-100. */
  declare progress: CreationOptional<number>;
  declare started_at: Date | null;
  declare completed_at: Date | null;
  declare result: JsonValue | null;
  declare error_message: string | null;
  declare retry_count: CreationOptional<number>;
  /** Id of the job at an outside service (Creatomate render, …). */
  declare external_job_id: string | null;
  declare created_at: CreationOptional<Date>;

  declare content?: NonAttribute<Content>;
  declare api_usages?: NonAttribute<ApiUsage[]>;
}

export function initContentJob(sequelize: Sequelize): typeof ContentJob {
  class BoundContentJob extends ContentJob {}
  BoundContentJob.init(
    {
      id: uuidPrimaryKey(),
      content_id: requiredUuid(),
      job_type: { type: DataTypes.STRING(30), allowNull: false },
      status: DataTypes.STRING(20),
      progress: DataTypes.INTEGER,
      started_at: DataTypes.DATE,
      completed_at: DataTypes.DATE,
      result: DataTypes.JSONB,
      error_message: DataTypes.TEXT,
      retry_count: DataTypes.INTEGER,
      external_job_id: DataTypes.STRING(255),
      created_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'ContentJob', tableName: 'content_jobs', underscored: true, ...createdAtOnly },
  );
  return BoundContentJob;
}
