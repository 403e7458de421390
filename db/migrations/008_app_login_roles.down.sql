-- Reverses 008_app_login_roles in this database. The login roles autoclip_app and
-- autoclip_backup stay: they belong to the whole cluster, other databases may still log in with
-- them, and their passwords are the deployment's. Without the grants of 005 and 008 they hold no
-- privilege here.
REVOKE EXECUTE ON FUNCTION create_api_usages_partitions(date, int) FROM app_readwrite, app_admin;
GRANT EXECUTE ON FUNCTION create_api_usages_partitions(date, int) TO PUBLIC;
ALTER FUNCTION create_api_usages_partitions(date, int) SECURITY INVOKER RESET search_path;

ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL PRIVILEGES ON SEQUENCES FROM app_readonly, app_readwrite, app_admin;
REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM app_readonly, app_readwrite, app_admin;

GRANT SELECT, INSERT, UPDATE ON schema_migrations TO app_readwrite;
REVOKE DELETE ON contents, projects, channels, data_sources, templates, organization_members FROM app_readwrite;

-- CREATE on schema public stays revoked from PUBLIC, as PostgreSQL 15 creates it.
