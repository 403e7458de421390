-- Reverses 011_organization_provider_keys: organizations' own provider keys are forgotten and
-- api_usages no longer says who paid. The partition function is 004's again (with 008's settings).
CREATE OR REPLACE FUNCTION create_api_usages_partitions(from_month date, months int)
RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    first_month date := date_trunc('month', from_month)::date;
    month_start date;
    -- Bounds are written with an explicit +00 offset so neither TimeZone nor DateStyle matter.
    lower_bound text;
    upper_bound text;
    partition_name text;
BEGIN
    IF months IS NULL OR months < 0 THEN
        RAISE EXCEPTION 'months must be zero or more, got %', months;
    END IF;
    FOR i IN 0 .. months - 1 LOOP
        month_start := (first_month + i * interval '1 month')::date;
        partition_name := 'api_usages_' || to_char(month_start, 'YYYY_MM');
        CONTINUE WHEN to_regclass(partition_name) IS NOT NULL;
        lower_bound := to_char(month_start, 'YYYY-MM-DD') || ' 00:00:00+00';
        upper_bound := to_char(month_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00';
        EXECUTE format('CREATE TABLE %I (LIKE api_usages INCLUDING DEFAULTS)', partition_name);
        EXECUTE format(
            'WITH moved AS (
                 DELETE FROM api_usages_default
                 WHERE created_at >= %L::timestamptz AND created_at < %L::timestamptz
                 RETURNING *)
             INSERT INTO %I SELECT * FROM moved',
            lower_bound, upper_bound, partition_name);
        EXECUTE format('ALTER TABLE api_usages ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
            partition_name, lower_bound, upper_bound);
        RETURN NEXT partition_name;
    END LOOP;
END;
$$;
ALTER FUNCTION create_api_usages_partitions(date, int) SECURITY DEFINER SET search_path = public, pg_temp;

ALTER TABLE api_usages DROP COLUMN IF EXISTS billed_to;
DROP TABLE IF EXISTS organization_provider_keys;
