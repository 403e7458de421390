import { inspect } from 'node:util';
import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { hiddenFromSerialisation, uuidPrimaryKey, withoutKeys, withTimestamps } from './columns';
import type { ApiUsage } from './api-usage';
import type { OAuthProvider, UserStatus } from './enums';
import type { NotificationSettings } from './json';
import type { OrganizationMember } from './organization-member';
import type { Project } from './project';
import type { Subscription } from './subscription';
import type { Template } from './template';

const HIDDEN = ['password_hash'] as const;

/** users (seed §3.1.1). deleted_at is a plain column: soft deletion is the caller's decision. */
export class User extends Model<InferAttributes<User>, InferCreationAttributes<User>> {
  declare id: CreationOptional<string>;
  declare email: string;
  /** Read it as `user.password_hash`; it never appears in toJSON or any serialisation. Null for OAuth users. */
  declare password_hash: string | null;
  declare name: string;
  declare avatar_url: string | null;
  declare phone: string | null;
  declare oauth_provider: OAuthProvider | null;
  declare oauth_id: string | null;
  declare status: CreationOptional<UserStatus>;
  declare email_verified: CreationOptional<boolean>;
  declare locale: CreationOptional<string>;
  declare timezone: CreationOptional<string>;
  declare notification_settings: CreationOptional<NotificationSettings>;
  declare last_login_at: Date | null;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;
  declare deleted_at: Date | null;

  declare memberships?: NonAttribute<OrganizationMember[]>;
  declare sent_invitations?: NonAttribute<OrganizationMember[]>;
  declare subscriptions?: NonAttribute<Subscription[]>;
  declare projects?: NonAttribute<Project[]>;
  declare templates?: NonAttribute<Template[]>;
  declare api_usages?: NonAttribute<ApiUsage[]>;

  override toJSON<T extends InferAttributes<User>>(): T;
  override toJSON(): object;
  override toJSON(): object {
    return withoutKeys(super.toJSON(), HIDDEN);
  }

  [inspect.custom](): object {
    return this.toJSON();
  }
}

export function initUser(sequelize: Sequelize): typeof User {
  class BoundUser extends User {}
  BoundUser.init(
    {
      id: uuidPrimaryKey(),
      email: { type: DataTypes.STRING(255), allowNull: false },
      password_hash: { type: DataTypes.STRING(255), get: hiddenFromSerialisation<BoundUser>('password_hash') },
      name: { type: DataTypes.STRING(100), allowNull: false },
      avatar_url: DataTypes.STRING(500),
      phone: DataTypes.STRING(20),
      oauth_provider: DataTypes.STRING(20),
      oauth_id: DataTypes.STRING(255),
      status: DataTypes.STRING(20),
      email_verified: DataTypes.BOOLEAN,
      locale: DataTypes.STRING(10),
      timezone: DataTypes.STRING(50),
      notification_settings: DataTypes.JSONB,
      last_login_at: DataTypes.DATE,
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
      deleted_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'User', tableName: 'users', underscored: true, ...withTimestamps },
  );
  return BoundUser;
}
