import { inspect } from 'node:util';
import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { SecretBox } from '../../lib/secrets';
import { hiddenFromSerialisation, requiredUuid, uuidPrimaryKey, withoutKeys, withTimestamps } from './columns';
import type { ContentUpload } from './content-upload';
import type { ChannelStatus, Platform } from './enums';
import type { UploadSettings } from './json';
import type { Project } from './project';

const TOKEN_COLUMNS = ['access_token', 'refresh_token'] as const;
type TokenColumn = (typeof TOKEN_COLUMNS)[number];

export interface ChannelTokens {
  accessToken: string;
  /** undefined keeps the stored refresh token (a refresh grant often returns none); null removes it. */
  refreshToken?: string | null;
  expiresAt?: Date | null;
}

function sealedOnly(value: unknown): void {
  if (value !== null && value !== undefined && (typeof value !== 'string' || !SecretBox.isSealed(value))) {
    throw new Error('channel tokens are stored sealed: use channel.setTokens(box, tokens)');
  }
}

/**
 * channels (seed §3.3.2). access_token and refresh_token hold SecretBox ciphertext only, bound
 * to this row and column; the plain tokens go in through `setTokens` and come out through
 * `readAccessToken` / `readRefreshToken`, and no serialisation (toJSON, includes, inspect)
 * carries even the ciphertext.
 */
export class Channel extends Model<InferAttributes<Channel>, InferCreationAttributes<Channel>> {
  declare id: CreationOptional<string>;
  declare project_id: string;
  declare platform: Platform;
  /** The channel's id on the platform. */
  declare channel_id: string;
  declare channel_name: string | null;
  declare channel_url: string | null;
  /** Sealed; write with setTokens. */
  declare access_token: CreationOptional<string | null>;
  /** Sealed; write with setTokens. */
  declare refresh_token: CreationOptional<string | null>;
  declare token_expires_at: Date | null;
  declare upload_settings: CreationOptional<UploadSettings>;
  declare status: CreationOptional<ChannelStatus>;
  /** Why the channel is in `error` (the platform's refusal, tokens redacted); null otherwise. */
  declare status_reason: CreationOptional<string | null>;
  declare last_sync_at: Date | null;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare project?: NonAttribute<Project>;
  declare uploads?: NonAttribute<ContentUpload[]>;

  /** Seals the tokens into the row (not saved until `save()`). */
  setTokens(box: SecretBox, tokens: ChannelTokens): void {
    this.access_token = box.encrypt(tokens.accessToken, this.tokenContext('access_token'));
    if (tokens.refreshToken !== undefined) {
      this.refresh_token = tokens.refreshToken === null ? null : box.encrypt(tokens.refreshToken, this.tokenContext('refresh_token'));
    }
    if (tokens.expiresAt !== undefined) this.token_expires_at = tokens.expiresAt;
  }

  readAccessToken(box: SecretBox): string | null {
    return this.readToken(box, 'access_token');
  }

  readRefreshToken(box: SecretBox): string | null {
    return this.readToken(box, 'refresh_token');
  }

  /** Seals new tokens and makes the channel usable again: `connected`, its error reason gone (not saved until `save()`). */
  connectWith(box: SecretBox, tokens: ChannelTokens): void {
    this.setTokens(box, tokens);
    this.status = 'connected';
    this.status_reason = null;
  }

  /** Puts the channel in `error` with why (the platform's refusal), until it is connected again; saved. */
  async markError(reason: string): Promise<void> {
    await this.update({ status: 'error', status_reason: reason.slice(0, 1000) });
  }

  /** Forgets both tokens, e.g. when the user disconnects the channel. */
  clearTokens(): void {
    this.access_token = null;
    this.refresh_token = null;
    this.token_expires_at = null;
  }

  /** True when a token is sealed with a key other than the box's active key. */
  tokensNeedRotation(box: SecretBox): boolean {
    return TOKEN_COLUMNS.some((column) => {
      const sealed = this.getDataValue(column);
      return sealed !== null && sealed !== undefined && box.needsRotation(sealed);
    });
  }

  /** Re-seals the tokens with the active key; returns whether anything changed (then save). */
  rotateTokens(box: SecretBox): boolean {
    let rotated = false;
    for (const column of TOKEN_COLUMNS) {
      const sealed = this.getDataValue(column);
      if (sealed === null || sealed === undefined || !box.needsRotation(sealed)) continue;
      this.setDataValue(column, box.rotate(sealed, this.tokenContext(column)));
      rotated = true;
    }
    return rotated;
  }

  override toJSON<T extends InferAttributes<Channel>>(): T;
  override toJSON(): object;
  override toJSON(): object {
    return withoutKeys(super.toJSON(), TOKEN_COLUMNS);
  }

  [inspect.custom](): object {
    return this.toJSON();
  }

  private readToken(box: SecretBox, column: TokenColumn): string | null {
    const sealed = this.getDataValue(column);
    return sealed === null || sealed === undefined ? null : box.decrypt(sealed, this.tokenContext(column));
  }

  /** Binds a sealed token to its row and column, so a value copied elsewhere does not open. */
  private tokenContext(column: TokenColumn): string {
    if (!this.id) throw new Error('channel tokens need the channel id: load the row with its id');
    return `channels.${column}:${this.id}`;
  }
}

export function initChannel(sequelize: Sequelize): typeof Channel {
  class BoundChannel extends Channel {}
  BoundChannel.init(
    {
      id: uuidPrimaryKey(),
      project_id: requiredUuid(),
      platform: { type: DataTypes.STRING(20), allowNull: false },
      channel_id: { type: DataTypes.STRING(255), allowNull: false },
      channel_name: DataTypes.STRING(255),
      channel_url: DataTypes.STRING(500),
      access_token: { type: DataTypes.TEXT, get: hiddenFromSerialisation<BoundChannel>('access_token'), validate: { sealedOnly } },
      refresh_token: { type: DataTypes.TEXT, get: hiddenFromSerialisation<BoundChannel>('refresh_token'), validate: { sealedOnly } },
      token_expires_at: DataTypes.DATE,
      upload_settings: DataTypes.JSONB,
      status: DataTypes.STRING(20),
      status_reason: DataTypes.TEXT,
      last_sync_at: DataTypes.DATE,
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'Channel', tableName: 'channels', underscored: true, ...withTimestamps },
  );
  return BoundChannel;
}
