import { DataTypes, Model } from 'sequelize';
import type { CreationOptional, InferAttributes, InferCreationAttributes, NonAttribute, Sequelize } from 'sequelize';
import { createdAtOnly, requiredUuid, uuidPrimaryKey } from './columns';
import type { Content } from './content';
import type { DataSource } from './data-source';

/**
 * data_source_items (migration 007): what a data source already turned into content, one row per
 * source item key, so no item is produced twice however ingest runs overlap or retry.
 */
export class DataSourceItem extends Model<InferAttributes<DataSourceItem>, InferCreationAttributes<DataSourceItem>> {
  declare id: CreationOptional<string>;
  declare data_source_id: string;
  declare item_key: string;
  declare content_id: string | null;
  declare title: string | null;
  declare url: string | null;
  declare published_at: Date | null;
  declare created_at: CreationOptional<Date>;

  declare data_source?: NonAttribute<DataSource>;
  declare content?: NonAttribute<Content | null>;
}

export function initDataSourceItem(sequelize: Sequelize): typeof DataSourceItem {
  class BoundDataSourceItem extends DataSourceItem {}
  BoundDataSourceItem.init(
    {
      id: uuidPrimaryKey(),
      data_source_id: requiredUuid(),
      item_key: { type: DataTypes.STRING(500), allowNull: false },
      content_id: DataTypes.UUID,
      title: DataTypes.STRING(500),
      url: DataTypes.TEXT,
      published_at: DataTypes.DATE,
      created_at: DataTypes.DATE,
    },
    { sequelize, modelName: 'DataSourceItem', tableName: 'data_source_items', underscored: true, ...createdAtOnly },
  );
  return BoundDataSourceItem;
}
