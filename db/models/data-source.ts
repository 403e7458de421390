import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { requiredUuid, uuidPrimaryKey, withTimestamps } from './columns';
import type { DataSourceType } from './enums';
import type { DataSourceConfig, DataSourceConfigs, DataSourceSpec } from './json';
import type { Project } from './project';

/** The keys without which a config of each source type cannot be fetched. */
const REQUIRED_CONFIG_KEYS: { [T in DataSourceType]: (keyof DataSourceConfigs[T])[] } = {
  youtube_channel: ['channel_id', 'extract_mode'],
  rss: ['feed_url'],
  api: ['api_type', 'data_type'],
  keyword: ['keywords', 'sources'],
};

/** data_sources (seed §3.6.1): config's shape depends on source_type. */
export class DataSource extends Model<InferAttributes<DataSource>, InferCreationAttributes<DataSource>> {
  declare id: CreationOptional<string>;
  declare project_id: string;
  declare name: string;
  declare source_type: DataSourceType;
  declare config: DataSourceConfig;
  /** Five-field cron expression, e.g. '0 9 * * *'. */
  declare schedule_cron: string | null;
  declare is_active: CreationOptional<boolean>;
  declare last_fetched_at: Date | null;
  declare created_at: CreationOptional<Date>;
  declare updated_at: CreationOptional<Date>;

  declare project?: NonAttribute<Project>;

  /** Type and config as one discriminated union, so a `switch` narrows the config. */
  spec(): DataSourceSpec {
    return { source_type: this.source_type, config: this.config } as DataSourceSpec;
  }
}

export function initDataSource(sequelize: Sequelize): typeof DataSource {
  class BoundDataSource extends DataSource {}
  BoundDataSource.init(
    {
      id: uuidPrimaryKey(),
      project_id: requiredUuid(),
      name: { type: DataTypes.STRING(100), allowNull: false },
      source_type: { type: DataTypes.STRING(30), allowNull: false },
      config: { type: DataTypes.JSONB, allowNull: false },
      schedule_cron: DataTypes.STRING(50),
      is_active: DataTypes.BOOLEAN,
      last_fetched_at: DataTypes.DATE,
      created_at: DataTypes.DATE,
      updated_at: DataTypes.DATE,
    },
    {
      sequelize,
      modelName: 'DataSource',
      tableName: 'data_sources',
      underscored: true,
      ...withTimestamps,
      validate: {
        // JSONB accepts any object; a config of the wrong type would only fail at fetch time.
        configMatchesSourceType(this: BoundDataSource) {
          const required: readonly string[] | undefined = REQUIRED_CONFIG_KEYS[this.source_type];
          if (!required) return;
          const config = this.config as unknown as Record<string, unknown> | null;
          const missing = required.filter((key) => config?.[key] === undefined || config[key] === null);
          if (missing.length > 0) throw new Error(`a ${this.source_type} data source config needs ${missing.join(', ')}`);
        },
      },
    },
  );
  return BoundDataSource;
}
