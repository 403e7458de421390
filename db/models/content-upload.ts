import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { requiredUuid, uuidPrimaryKey, withTimestamps } from './columns';
import type { Channel } from './channel';
import type { Content } from './content';
import type { UploadStatus } from './enums';
import type { UploadMetrics } from './json';

/** content_uploads (seed §3.4.3): one content published (or scheduled) on one channel. */
export class ContentUpload extends Model<InferAttributes<ContentUpload>, InferCreationAttributes<ContentUpload>> {
  declare id: CreationOptional<string>;
  declare content_id: string;
  declare channel_id: string;
  declare platform_video_id: string | null;
  declare platform_url: string | null;
  declare status: CreationOptional<UploadStatus>;
  declare scheduled_at: Date | null;
  declare published_at: Date | null;
  declare metrics: CreationOptional<UploadMetrics>;
  declare error_message: string | null;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare content?: NonAttribute<Content>;
  declare channel?: NonAttribute<Channel>;
}

export function initContentUpload(sequelize: Sequelize): typeof ContentUpload {
  class BoundContentUpload extends ContentUpload {}
  BoundContentUpload.init(
    {
      id: uuidPrimaryKey(),
      content_id: requiredUuid(),
      channel_id: requiredUuid(),
      platform_video_id: DataTypes.STRING(255),
      platform_url: DataTypes.STRING(500),
      status: DataTypes.STRING(20),
      scheduled_at: DataTypes.DATE,
      published_at: DataTypes.DATE,
      metrics: DataTypes.JSONB,
      error_message: DataTypes.TEXT,
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'ContentUpload', tableName: 'content_uploads', underscored: true, ...withTimestamps },
  );
  return BoundContentUpload;
}
