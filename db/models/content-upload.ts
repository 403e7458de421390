import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { SecretBox } from '../../lib/secrets';
import { hiddenFromSerialisation, requiredUuid, uuidPrimaryKey, withTimestamps } from './columns';
import type { Channel } from './channel';
import type { Content } from './content';
import type { UploadStatus } from './enums';
import type { UploadMetrics } from './json';

function sealedOnly(value: unknown): void {
  if (value !== null && value !== undefined && (typeof value !== 'string' || !SecretBox.isSealed(value))) {
    throw new Error('an upload session is stored sealed: use upload.setSession(box, session)');
  }
}

/**
 * content_uploads (seed §3.4.3): one content published (or scheduled) on one channel.
 * upload_session (migration 013) holds the platform's upload session while the video goes out,
 * as SecretBox ciphertext bound to this row: in through `setSession`, out through `readSession`.
 */
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
  /** Sealed; write with setSession. */
  declare upload_session: CreationOptional<string | null>;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare content?: NonAttribute<Content>;
  declare channel?: NonAttribute<Channel>;

  /** Seals the platform's upload session into the row (not saved until `save()`). */
  setSession(box: SecretBox, session: string): void {
    this.upload_session = box.encrypt(session, this.sessionContext());
  }

  readSession(box: SecretBox): string | null {
    const sealed = this.getDataValue('upload_session');
    return sealed === null || sealed === undefined ? null : box.decrypt(sealed, this.sessionContext());
  }

  /** Binds a sealed session to its row, so a value copied to another upload does not open. */
  private sessionContext(): string {
    if (!this.id) throw new Error('an upload session needs the upload id: load the row with its id');
    return `content_uploads.upload_session:${this.id}`;
  }
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
      upload_session: { type: DataTypes.TEXT, get: hiddenFromSerialisation<BoundContentUpload>('upload_session'), validate: { sealedOnly } },
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'ContentUpload', tableName: 'content_uploads', underscored: true, ...withTimestamps },
  );
  return BoundContentUpload;
}
