DROP TABLE IF EXISTS data_source_items;
