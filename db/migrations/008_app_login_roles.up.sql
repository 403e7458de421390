-- Least privilege for the roles of 005 (seed §8.2), and the LOGIN roles that use them:
--   autoclip_app     the api and the workers: a member of app_readwrite;
--   autoclip_backup  pg_dump of the backups: a member of app_readonly.
-- Migrations and seeds keep running as the database owner. The login roles are created here
-- without a password, so they cannot log in until the deployment sets one (the local stack
-- does, from secrets kept in its data folder; docker compose's migrate step, from deploy/.env).
-- Like the group roles they belong to the whole cluster; another database may have created
-- them already, and two databases migrating at once may race, hence the duplicate checks.
DO $$
DECLARE
    login record;
BEGIN
    FOR login IN SELECT * FROM (VALUES ('autoclip_app', 'app_readwrite'), ('autoclip_backup', 'app_readonly')) AS l(role_name, group_name) LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = login.role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT', login.role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        END IF;
        -- Also after 005 was reverted and reapplied elsewhere: a recreated group role has no members.
        IF NOT pg_has_role(login.role_name, login.group_name, 'MEMBER') THEN
            BEGIN
                EXECUTE format('GRANT %I TO %I', login.group_name, login.role_name);
            EXCEPTION WHEN unique_violation THEN
                NULL;
            END;
        END IF;
    END LOOP;
END;
$$;

-- DELETE only where the application deletes rows itself (api/routes, db/repositories): a
-- content, a project, a channel, a data source, a custom template, organization members.
-- Rows removed by ON DELETE CASCADE (content_jobs, content_uploads, data_source_items, and the
-- channels, contents and data sources of a deleted project) need no grant: PostgreSQL runs
-- referential actions as the owner of the referencing table. Nothing else is ever deleted:
-- users and organizations are closed by status, the usage and credit ledgers are kept.
GRANT DELETE ON contents, projects, channels, data_sources, templates, organization_members TO app_readwrite;

-- The migration runner's bookkeeping is not the application's: 005 granted it like every table.
-- app_readonly keeps SELECT (pg_dump reads every table).
REVOKE ALL PRIVILEGES ON schema_migrations FROM app_readwrite;

-- No table has a sequence today (keys are gen_random_uuid()); a later serial column gets these.
-- pg_dump, as app_readonly, reads each sequence's value.
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO app_readonly;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO app_readwrite;
GRANT ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public TO app_admin;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON SEQUENCES TO app_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO app_readwrite;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL PRIVILEGES ON SEQUENCES TO app_admin;
-- Future tables keep 005's defaults: SELECT, INSERT, UPDATE for app_readwrite (no DELETE,
-- TRUNCATE, REFERENCES or TRIGGER); a migration that adds a table the app deletes from grants
-- DELETE on it as this one does.

-- Only owners create objects in the schema (PostgreSQL 15's default, stated for older servers).
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

-- The daily upkeep (upkeep-api-usage-partitions) runs as the application, which may neither
-- create tables nor alter api_usages. The partition function runs as its owner instead (the role
-- that migrates, owner of api_usages), with a fixed search_path, and only the app roles may call
-- it: the application can create api_usages_YYYY_MM partitions and nothing else. The partitions
-- it creates are the owner's, so 005's default privileges apply to them.
ALTER FUNCTION create_api_usages_partitions(date, int) SECURITY DEFINER SET search_path = public, pg_temp;
REVOKE EXECUTE ON FUNCTION create_api_usages_partitions(date, int) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION create_api_usages_partitions(date, int) TO app_readwrite, app_admin;
