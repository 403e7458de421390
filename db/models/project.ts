import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { uuidPrimaryKey, withTimestamps } from './columns';
import type { Channel } from './channel';
import type { Content } from './content';
import type { DataSource } from './data-source';
import { isLanguage, UnsupportedLanguageError, type ContentFormat, type Language, type ProjectStatus, type TargetPlatform, type Tone, type Vertical } from './enums';
import type { JsonObject } from './json';
import type { Organization } from './organization';
import type { User } from './user';

/** projects (seed §3.3.1), owned by a user or an organization. */
export class Project extends Model<InferAttributes<Project>, InferCreationAttributes<Project>> {
  declare id: CreationOptional<string>;
  declare user_id: string | null;
  declare organization_id: string | null;
  declare name: string;
  declare description: string | null;
  declare vertical: Vertical;
  declare sub_category: string | null;
  declare content_format: CreationOptional<ContentFormat>;
  declare language: CreationOptional<string>;
  declare target_platforms: CreationOptional<TargetPlatform[]>;
  declare tone: CreationOptional<Tone>;
  declare style_preset: CreationOptional<JsonObject>;
  declare status: CreationOptional<ProjectStatus>;
  declare is_auto_publish: CreationOptional<boolean>;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare user?: NonAttribute<User | null>;
  declare organization?: NonAttribute<Organization | null>;
  declare channels?: NonAttribute<Channel[]>;
  declare contents?: NonAttribute<Content[]>;
  declare data_sources?: NonAttribute<DataSource[]>;

  /**
   * The language the project's videos are written and spoken in (Korean when unset). A language the
   * platform does not speak is refused by name rather than replaced: the API accepts only LANGUAGES.
   */
  mediaLanguage(): Language {
    const language = this.language ?? 'ko';
    if (!isLanguage(language)) throw new UnsupportedLanguageError(language);
    return language;
  }
}

export function initProject(sequelize: Sequelize): typeof Project {
  class BoundProject extends Project {}
  BoundProject.init(
    {
      id: uuidPrimaryKey(),
      user_id: DataTypes.UUID,
      organization_id: DataTypes.UUID,
      name: { type: DataTypes.STRING(100), allowNull: false },
      description: DataTypes.TEXT,
      vertical: { type: DataTypes.STRING(30), allowNull: false },
      sub_category: DataTypes.STRING(50),
      content_format: DataTypes.STRING(20),
      language: DataTypes.STRING(10),
      target_platforms: DataTypes.JSONB,
      tone: DataTypes.STRING(30),
      style_preset: DataTypes.JSONB,
      status: DataTypes.STRING(20),
      is_auto_publish: DataTypes.BOOLEAN,
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'Project', tableName: 'projects', underscored: true, ...withTimestamps },
  );
  return BoundProject;
}
