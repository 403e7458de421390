-- API keys (issue 14, the plan feature api_access): long-lived credentials for scripts and
-- integrations, owned by a user (a personal key, acting as that user) or by an organization (acting
-- as its creator, capped at the key's role and limited to that organization). Only the SHA-256 of
-- the key's random secret is stored; `prefix` is the public part of the key
-- (ak_<prefix>_<secret>) through which a request finds its row. A key is revoked by setting
-- revoked_at, never deleted (no DELETE grant: migration 008's default privileges apply).
CREATE TABLE api_keys (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id         UUID CONSTRAINT fk_api_keys_users REFERENCES users(id) ON DELETE CASCADE,
    organization_id UUID CONSTRAINT fk_api_keys_organizations REFERENCES organizations(id) ON DELETE CASCADE,
    created_by      UUID NOT NULL CONSTRAINT fk_api_keys_users_created_by REFERENCES users(id) ON DELETE CASCADE,
    name            VARCHAR(100) NOT NULL,
    prefix          VARCHAR(32) NOT NULL,
    secret_hash     VARCHAR(64) NOT NULL,
    role            VARCHAR(20) NOT NULL,
    last_used_at    TIMESTAMP WITH TIME ZONE,
    expires_at      TIMESTAMP WITH TIME ZONE,
    revoked_at      TIMESTAMP WITH TIME ZONE,
    created_at      TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT uq_api_keys_prefix UNIQUE (prefix),
    CONSTRAINT chk_api_keys_owner CHECK (
        (user_id IS NOT NULL AND organization_id IS NULL) OR
        (user_id IS NULL AND organization_id IS NOT NULL)
    ),
    CONSTRAINT chk_api_keys_role CHECK (role IN ('owner', 'admin', 'editor', 'viewer'))
);

-- Listing a user's or an organization's keys, newest first; the creator's keys (the FK's index).
CREATE INDEX idx_api_keys_user ON api_keys(user_id, created_at) WHERE user_id IS NOT NULL;
CREATE INDEX idx_api_keys_org ON api_keys(organization_id, created_at) WHERE organization_id IS NOT NULL;
CREATE INDEX idx_api_keys_created_by ON api_keys(created_by);
