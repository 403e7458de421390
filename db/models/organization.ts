import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { uuidPrimaryKey, withTimestamps } from './columns';
import type { ApiUsage } from './api-usage';
import type { OrganizationStatus, PlanType } from './enums';
import type { BrandColors, JsonObject } from './json';
import type { OrganizationMember } from './organization-member';
import type { Project } from './project';
import type { Subscription } from './subscription';
import type { Template } from './template';

/** organizations (seed §3.1.2). */
export class Organization extends Model<InferAttributes<Organization>, InferCreationAttributes<Organization>> {
  declare id: CreationOptional<string>;
  declare name: string;
  declare slug: string;
  declare logo_url: string | null;
  declare plan_type: CreationOptional<PlanType>;
  declare settings: CreationOptional<JsonObject>;
  declare brand_colors: CreationOptional<BrandColors>;
  declare custom_domain: string | null;
  declare status: CreationOptional<OrganizationStatus>;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare members?: NonAttribute<OrganizationMember[]>;
  declare subscriptions?: NonAttribute<Subscription[]>;
  declare projects?: NonAttribute<Project[]>;
  declare templates?: NonAttribute<Template[]>;
  declare api_usages?: NonAttribute<ApiUsage[]>;
}

export function initOrganization(sequelize: Sequelize): typeof Organization {
  class BoundOrganization extends Organization {}
  BoundOrganization.init(
    {
      id: uuidPrimaryKey(),
      name: { type: DataTypes.STRING(100), allowNull: false },
      slug: { type: DataTypes.STRING(100), allowNull: false },
      logo_url: DataTypes.STRING(500),
      plan_type: DataTypes.STRING(20),
      settings: DataTypes.JSONB,
      brand_colors: DataTypes.JSONB,
      custom_domain: DataTypes.STRING(255),
      status: DataTypes.STRING(20),
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'Organization', tableName: 'organizations', underscored: true, ...withTimestamps },
  );
  return BoundOrganization;
}
