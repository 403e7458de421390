import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { uuidPrimaryKey, withTimestamps } from './columns';
import type { ContentFormat, TemplateType, Vertical } from './enums';
import type { TemplateData } from './json';
import type { Organization } from './organization';
import type { User } from './user';

/** templates (seed §3.5.1). Both owners null means a system template. */
export class Template extends Model<InferAttributes<Template>, InferCreationAttributes<Template>> {
  declare id: CreationOptional<string>;
  declare user_id: string | null;
  declare organization_id: string | null;
  declare name: string;
  declare description: string | null;
  declare thumbnail_url: string | null;
  declare template_type: TemplateType;
  declare vertical: Vertical | null;
  declare content_format: ContentFormat | null;
  declare template_data: TemplateData;
  declare is_active: CreationOptional<boolean>;
  declare is_premium: CreationOptional<boolean>;
  declare usage_count: CreationOptional<number>;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare user?: NonAttribute<User | null>;
  declare organization?: NonAttribute<Organization | null>;
}

export function initTemplate(sequelize: Sequelize): typeof Template {
  class BoundTemplate extends Template {}
  BoundTemplate.init(
    {
      id: uuidPrimaryKey(),
      user_id: DataTypes.UUID,
      organization_id: DataTypes.UUID,
      name: { type: DataTypes.STRING(100), allowNull: false },
      description: DataTypes.TEXT,
      thumbnail_url: DataTypes.STRING(500),
      template_type: { type: DataTypes.STRING(20), allowNull: false },
      vertical: DataTypes.STRING(30),
      content_format: DataTypes.STRING(20),
      template_data: { type: DataTypes.JSONB, allowNull: false },
      is_active: DataTypes.BOOLEAN,
      is_premium: DataTypes.BOOLEAN,
      usage_count: DataTypes.INTEGER,
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'Template', tableName: 'templates', underscored: true, ...withTimestamps },
  );
  return BoundTemplate;
}
