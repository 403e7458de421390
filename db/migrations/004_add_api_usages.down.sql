-- Reverses 004_add_api_usages. Dropping the partitioned table drops every partition.
DROP FUNCTION create_api_usages_partitions(date, int);
DROP TABLE api_usages;
