-- Provider keys per organization (issue 14): an organization may store its own ElevenLabs, Gemini,
-- OpenAI, Pexels or Creatomate key, used by its productions instead of the platform's. The key is
-- sealed in the application (lib/secrets.ts, AES-256-GCM, bound to its row: context
-- `organization_provider_keys.sealed_key:<id>`); key_hint keeps its last 4 characters to show which
-- key it is. The key itself is never returned.
CREATE TABLE organization_provider_keys (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id UUID NOT NULL CONSTRAINT fk_organization_provider_keys_organizations REFERENCES organizations(id) ON DELETE CASCADE,
    provider        VARCHAR(20) NOT NULL,
    sealed_key      TEXT NOT NULL,
    key_hint        VARCHAR(4) NOT NULL,
    created_by      UUID CONSTRAINT fk_organization_provider_keys_users REFERENCES users(id) ON DELETE SET NULL,
    created_at      TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at      TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT uq_organization_provider_keys UNIQUE (organization_id, provider),
    CONSTRAINT chk_organization_provider_keys_provider CHECK (provider IN ('elevenlabs', 'gemini', 'openai', 'pexels', 'creatomate'))
);
CREATE INDEX idx_organization_provider_keys_created_by ON organization_provider_keys(created_by);
CREATE TRIGGER trg_organization_provider_keys_updated_at BEFORE UPDATE ON organization_provider_keys
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A key can be removed (DELETE /organizations/:id/provider-keys/:provider).
GRANT DELETE ON organization_provider_keys TO app_readwrite;

-- Who paid for a provider call: the platform's key, or the organization's own.
ALTER TABLE api_usages ADD COLUMN billed_to VARCHAR(20) NOT NULL DEFAULT 'platform'
    CONSTRAINT chk_api_usages_billed_to CHECK (billed_to IN ('platform', 'organization'));

-- A partition is attached only if it holds every CHECK of api_usages: the monthly partitions are
-- now created with the parent's constraints (INCLUDING CONSTRAINTS). Same function otherwise,
-- with 008's SECURITY DEFINER and search_path (CREATE OR REPLACE resets them; grants are kept).
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
        EXECUTE format('CREATE TABLE %I (LIKE api_usages INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', partition_name);
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
