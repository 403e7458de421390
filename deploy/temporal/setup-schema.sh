#!/bin/sh
# Creates (when missing) and upgrades Temporal's persistence and visibility schemas in PostgreSQL.
# Safe to run on every start: `create` ignores an existing database, `setup-schema -v 0.0` keeps a
# newer recorded version, and `update-schema` applies only the versions not yet applied, which is
# also how a new server image's schema changes get in. temporal-sql-tool reads SQL_PLUGIN,
# SQL_HOST, SQL_PORT, SQL_USER and SQL_PASSWORD from the environment (no password on a command line).
set -eu

: "${SQL_PLUGIN:?SQL_PLUGIN is required}"
: "${SQL_HOST:?SQL_HOST is required}"
: "${SQL_PORT:?SQL_PORT is required}"
: "${SQL_USER:?SQL_USER is required}"
: "${SQL_PASSWORD:?SQL_PASSWORD is required}"
SCHEMA_DIR=/etc/temporal/schema/postgresql/v12

attempt=0
until nc -z "$SQL_HOST" "$SQL_PORT"; do
  attempt=$((attempt + 1))
  if [ "$attempt" -ge 60 ]; then
    echo "PostgreSQL at $SQL_HOST:$SQL_PORT is not reachable after $attempt attempts" >&2
    exit 1
  fi
  sleep 2
done

temporal-sql-tool --db temporal create
temporal-sql-tool --db temporal setup-schema -v 0.0
temporal-sql-tool --db temporal update-schema -d "$SCHEMA_DIR/temporal/versioned"

temporal-sql-tool --db temporal_visibility create
temporal-sql-tool --db temporal_visibility setup-schema -v 0.0
temporal-sql-tool --db temporal_visibility update-schema -d "$SCHEMA_DIR/visibility/versioned"

echo "Temporal schemas are up to date"
