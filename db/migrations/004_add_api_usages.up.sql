-- API usage ledger (seed §3.7.1, §5.1), partitioned by month on created_at (seed §9.1).

-- A partitioned table's primary key must contain the partition key, so the key is (id, created_at)
-- rather than id alone; created_at becomes NOT NULL as part of it. id stays unique in practice
-- (gen_random_uuid) and no table references api_usages.
CREATE TABLE api_usages (
    id              UUID NOT NULL DEFAULT gen_random_uuid(),
    user_id         UUID CONSTRAINT fk_api_usages_users REFERENCES users(id),
    organization_id UUID CONSTRAINT fk_api_usages_organizations REFERENCES organizations(id),
    service         VARCHAR(30) NOT NULL,
    operation       VARCHAR(50) NOT NULL,
    input_units     INTEGER DEFAULT 0,
    output_units    INTEGER DEFAULT 0,
    duration_ms     INTEGER,
    estimated_cost  DECIMAL(10,6),
    content_id      UUID CONSTRAINT fk_api_usages_contents REFERENCES contents(id),
    job_id          UUID CONSTRAINT fk_api_usages_content_jobs REFERENCES content_jobs(id),
    status_code     INTEGER,
    error_message   TEXT,
    created_at      TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

-- Catches every row outside the monthly partitions, so no insert is ever refused for lack of one.
CREATE TABLE api_usages_default PARTITION OF api_usages DEFAULT;

CREATE INDEX idx_api_usages_user ON api_usages(user_id);
CREATE INDEX idx_api_usages_org ON api_usages(organization_id);
CREATE INDEX idx_api_usages_service ON api_usages(service);
CREATE INDEX idx_api_usages_created ON api_usages(created_at DESC);
-- The seed's date_trunc('month', created_at) cannot be indexed: on timestamptz it depends on the
-- session TimeZone (STABLE, not IMMUTABLE). Converting to UTC first makes it immutable, so months
-- are UTC months, as are the partition bounds. Monthly queries must use this same expression.
CREATE INDEX idx_api_usages_user_month ON api_usages(user_id, date_trunc('month', created_at AT TIME ZONE 'UTC'));

-- Creates the monthly partitions api_usages_YYYY_MM (UTC months) for `months` months from the
-- month of from_month; existing ones are skipped, so it is safe to call on a schedule. Rows of a
-- new month already caught by api_usages_default move into the new partition, because attaching
-- a range that the default partition still holds rows for is refused.
CREATE FUNCTION create_api_usages_partitions(from_month date, months int)
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

-- The current UTC month and the next three; a scheduled job keeps creating months ahead.
SELECT create_api_usages_partitions((NOW() AT TIME ZONE 'UTC')::date, 4);
