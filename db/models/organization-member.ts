import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { requiredUuid, uuidPrimaryKey } from './columns';
import type { Role } from './enums';
import type { MemberPermissions } from './json';
import type { Organization } from './organization';
import type { User } from './user';

/**
 * organization_members (seed §3.1.3): joined_at is its only timestamp. `role` must be given: the
 * SQL default 'member' is not one of the roles the application grants.
 */
export class OrganizationMember extends Model<InferAttributes<OrganizationMember>, InferCreationAttributes<OrganizationMember>> {
  declare id: CreationOptional<string>;
  declare organization_id: string;
  declare user_id: string;
  declare role: Role;
  declare permissions: CreationOptional<MemberPermissions>;
  declare invited_by: string | null;
  declare joined_at: CreationOptional<Date>;

  declare organization?: NonAttribute<Organization>;
  declare user?: NonAttribute<User>;
  declare inviter?: NonAttribute<User | null>;
}

export function initOrganizationMember(sequelize: Sequelize): typeof OrganizationMember {
  class BoundOrganizationMember extends OrganizationMember {}
  BoundOrganizationMember.init(
    {
      id: uuidPrimaryKey(),
      organization_id: requiredUuid(),
      user_id: requiredUuid(),
      role: { type: DataTypes.STRING(20), allowNull: false },
      permissions: DataTypes.JSONB,
      invited_by: DataTypes.UUID,
      joined_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'OrganizationMember', tableName: 'organization_members', underscored: true, timestamps: false },
  );
  return BoundOrganizationMember;
}
