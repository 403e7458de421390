import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { decimal, requiredUuid, uuidPrimaryKey, withTimestamps } from './columns';
import type { ApiUsage } from './api-usage';
import type { ContentJob } from './content-job';
import type { ContentUpload } from './content-upload';
import type { CreditTransaction } from './credit-transaction';
import type { ContentSourceType, ContentStatus, ContentStep } from './enums';
import type { ContentScript, JsonValue, MediaAsset, Resolution } from './json';
import type { Project } from './project';

/** contents (seed §3.4.1). Durations (seconds) and safety_score (0..1) read as numbers. */
export class Content extends Model<InferAttributes<Content>, InferCreationAttributes<Content>> {
  declare id: CreationOptional<string>;
  declare project_id: string;
  declare title: string;
  declare description: string | null;
  declare script: ContentScript;
  declare tags: string[] | null;
  declare thumbnail_url: string | null;
  declare media_assets: CreationOptional<MediaAsset[]>;
  declare audio_url: string | null;
  declare audio_duration: number | null;
  declare video_url: string | null;
  declare video_duration: number | null;
  declare video_resolution: Resolution | null;
  declare status: CreationOptional<ContentStatus>;
  declare safety_score: number | null;
  declare safety_flags: CreationOptional<JsonValue[]>;
  declare source_type: ContentSourceType | null;
  declare source_url: string | null;
  declare source_data: JsonValue | null;
  /** The single step this row runs (its request in `source_data`); null for a production. */
  declare step: CreationOptional<ContentStep | null>;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;
  declare published_at: Date | null;

  declare project?: NonAttribute<Project>;
  declare jobs?: NonAttribute<ContentJob[]>;
  declare uploads?: NonAttribute<ContentUpload[]>;
  declare credit_transactions?: NonAttribute<CreditTransaction[]>;
  declare api_usages?: NonAttribute<ApiUsage[]>;
}

export function initContent(sequelize: Sequelize): typeof Content {
  class BoundContent extends Content {}
  BoundContent.init(
    {
      id: uuidPrimaryKey(),
      project_id: requiredUuid(),
      title: { type: DataTypes.STRING(200), allowNull: false },
      description: DataTypes.TEXT,
      script: { type: DataTypes.JSONB, allowNull: false },
      tags: DataTypes.ARRAY(DataTypes.TEXT),
      thumbnail_url: DataTypes.STRING(500),
      media_assets: DataTypes.JSONB,
      audio_url: DataTypes.STRING(500),
      audio_duration: decimal<BoundContent>('audio_duration', 10, 2),
      video_url: DataTypes.STRING(500),
      video_duration: decimal<BoundContent>('video_duration', 10, 2),
      video_resolution: DataTypes.STRING(20),
      status: DataTypes.STRING(20),
      safety_score: decimal<BoundContent>('safety_score', 3, 2),
      safety_flags: DataTypes.JSONB,
      source_type: DataTypes.STRING(20),
      source_url: DataTypes.STRING(500),
      source_data: DataTypes.JSONB,
      step: DataTypes.STRING(20),
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
      published_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'Content', tableName: 'contents', underscored: true, ...withTimestamps },
  );
  return BoundContent;
}
