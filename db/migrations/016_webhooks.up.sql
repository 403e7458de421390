-- Webhooks (issue 17): endpoints of a user or an organization (exactly one) that receive the
-- platform's events signed as the Standard Webhooks specification says. The endpoint's signing
-- secret is sealed in the application (lib/secrets.ts, bound to its row: context
-- `webhook_endpoints.secret:<id>`) and shown once, when the endpoint is made. An endpoint whose
-- deliveries keep failing for three days is disabled ('disabled', with the reason); a removed one
-- is kept as 'deleted' so that its delivery log stays readable for accounting.
CREATE TABLE webhook_endpoints (
    id               UUID PRIMARY KEY,
    user_id          UUID CONSTRAINT fk_webhook_endpoints_users REFERENCES users(id) ON DELETE CASCADE,
    organization_id  UUID CONSTRAINT fk_webhook_endpoints_organizations REFERENCES organizations(id) ON DELETE CASCADE,
    created_by       UUID CONSTRAINT fk_webhook_endpoints_users_created_by REFERENCES users(id) ON DELETE SET NULL,
    url              VARCHAR(2000) NOT NULL,
    event_types      TEXT[] NOT NULL,
    description      VARCHAR(200),
    secret           TEXT NOT NULL,
    status           VARCHAR(20) NOT NULL DEFAULT 'active',
    disabled_reason  TEXT,
    disabled_at      TIMESTAMP WITH TIME ZONE,
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    updated_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT chk_webhook_endpoints_owner CHECK ((user_id IS NULL) <> (organization_id IS NULL)),
    CONSTRAINT chk_webhook_endpoints_status CHECK (status IN ('active', 'disabled', 'deleted')),
    CONSTRAINT chk_webhook_endpoints_events CHECK (cardinality(event_types) > 0)
);

CREATE TRIGGER trg_webhook_endpoints_updated_at BEFORE UPDATE ON webhook_endpoints
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

CREATE INDEX idx_webhook_endpoints_user ON webhook_endpoints(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX idx_webhook_endpoints_organization ON webhook_endpoints(organization_id) WHERE organization_id IS NOT NULL;

-- One row per event and endpoint: the event's id is the message's `webhook-id`, the same on every
-- attempt, so a receiver recognises a repeat; (endpoint_id, event_id) is unique, so an event that
-- is emitted again (a retried activity) is delivered once.
CREATE TABLE webhook_deliveries (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id      UUID NOT NULL CONSTRAINT fk_webhook_deliveries_webhook_endpoints REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id         VARCHAR(200) NOT NULL,
    event_type       VARCHAR(50) NOT NULL,
    payload          JSONB NOT NULL,
    status           VARCHAR(20) NOT NULL DEFAULT 'pending',
    attempts         INTEGER NOT NULL DEFAULT 0,
    redeliveries     INTEGER NOT NULL DEFAULT 0,
    last_status_code INTEGER,
    last_error       TEXT,
    last_attempt_at  TIMESTAMP WITH TIME ZONE,
    delivered_at     TIMESTAMP WITH TIME ZONE,
    created_at       TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    CONSTRAINT uq_webhook_deliveries_event UNIQUE (endpoint_id, event_id),
    CONSTRAINT chk_webhook_deliveries_status CHECK (status IN ('pending', 'delivered', 'failed'))
);

CREATE INDEX idx_webhook_deliveries_endpoint ON webhook_deliveries(endpoint_id, created_at DESC);
