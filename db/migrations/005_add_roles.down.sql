-- Reverses 005_add_roles in this database. The roles themselves are dropped only when no other
-- database of the cluster still grants them anything; otherwise they stay for those databases.
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL PRIVILEGES ON TABLES FROM app_readonly, app_readwrite, app_admin;
REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM app_readonly, app_readwrite, app_admin;
REVOKE USAGE ON SCHEMA public FROM app_readonly, app_readwrite, app_admin;

DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['app_readonly', 'app_readwrite', 'app_admin'] LOOP
        BEGIN
            EXECUTE format('DROP ROLE IF EXISTS %I', role_name);
        EXCEPTION WHEN dependent_objects_still_exist THEN
            NULL;
        END;
    END LOOP;
END;
$$;
