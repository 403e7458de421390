-- Reverses 003_add_templates.
DROP TABLE data_sources;
DROP TABLE templates;
