-- Organizations, their members, subscription plans, subscriptions and the credit ledger
-- (seed §3.1.2, §3.1.3, §3.2, §3.7.2, §5.2), and the organization owner of projects.

CREATE TABLE organizations (
    id            UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name          VARCHAR(100) NOT NULL,
    slug          VARCHAR(100) NOT NULL UNIQUE,
    logo_url      VARCHAR(500),
    plan_type     VARCHAR(20) DEFAULT 'starter',
    settings      JSONB DEFAULT '{}',
    brand_colors  JSONB DEFAULT '{}',
    custom_domain VARCHAR(255),
    status        VARCHAR(20) DEFAULT 'active',
    created_at    TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at    TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT chk_organizations_plan_type CHECK (plan_type IN ('starter', 'pro', 'business', 'enterprise'))
);

-- Duplicates the UNIQUE constraint's index; kept because the seed names it.
CREATE INDEX idx_organizations_slug ON organizations(slug);

CREATE TABLE organization_members (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    organization_id UUID NOT NULL CONSTRAINT fk_organization_members_organizations REFERENCES organizations(id) ON DELETE CASCADE,
    user_id         UUID NOT NULL CONSTRAINT fk_organization_members_users REFERENCES users(id) ON DELETE CASCADE,
    role            VARCHAR(20) NOT NULL DEFAULT 'member',
    permissions     JSONB DEFAULT '{}',
    invited_by      UUID CONSTRAINT fk_organization_members_users_invited_by REFERENCES users(id),
    joined_at       TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    UNIQUE (organization_id, user_id),
    -- The seed lists owner, admin, editor, viewer but defaults to 'member', so the default is allowed too.
    CONSTRAINT chk_organization_members_role CHECK (role IN ('owner', 'admin', 'editor', 'viewer', 'member'))
);

CREATE INDEX idx_org_members_org ON organization_members(organization_id);
CREATE INDEX idx_org_members_user ON organization_members(user_id);

CREATE TABLE subscription_plans (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name            VARCHAR(50) NOT NULL,
    code            VARCHAR(20) NOT NULL UNIQUE,
    price_monthly   DECIMAL(10,2) NOT NULL,
    price_yearly    DECIMAL(10,2),
    currency        VARCHAR(3) DEFAULT 'KRW',
    monthly_credits INTEGER NOT NULL,
    max_channels    INTEGER DEFAULT 1,
    max_projects    INTEGER DEFAULT 3,
    features        JSONB NOT NULL DEFAULT '{}',
    is_active       BOOLEAN DEFAULT TRUE,
    display_order   INTEGER DEFAULT 0,
    created_at      TIMESTAMP WITH TIME ZONE DEFAULT NOW()
);

CREATE TABLE subscriptions (
    id                     UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                UUID CONSTRAINT fk_subscriptions_users REFERENCES users(id) ON DELETE CASCADE,
    organization_id        UUID CONSTRAINT fk_subscriptions_organizations REFERENCES organizations(id) ON DELETE CASCADE,
    plan_id                UUID NOT NULL CONSTRAINT fk_subscriptions_subscription_plans REFERENCES subscription_plans(id),
    status                 VARCHAR(20) DEFAULT 'active',
    billing_cycle          VARCHAR(10) DEFAULT 'monthly',
    started_at             TIMESTAMP WITH TIME ZONE NOT NULL,
    current_period_start   TIMESTAMP WITH TIME ZONE,
    current_period_end     TIMESTAMP WITH TIME ZONE,
    cancelled_at           TIMESTAMP WITH TIME ZONE,
    payment_method_id      VARCHAR(255),
    stripe_subscription_id VARCHAR(255),
    credits_used           INTEGER DEFAULT 0,
    credits_remaining      INTEGER NOT NULL,
    created_at             TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    updated_at             TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    -- Exactly one owner: a user or an organization.
    CONSTRAINT chk_owner CHECK (
        (user_id IS NOT NULL AND organization_id IS NULL) OR
        (user_id IS NULL AND organization_id IS NOT NULL)
    ),
    CONSTRAINT chk_subscriptions_status CHECK (status IN ('active', 'paused', 'cancelled', 'expired')),
    CONSTRAINT chk_subscriptions_billing_cycle CHECK (billing_cycle IN ('monthly', 'yearly'))
);

CREATE INDEX idx_subscriptions_user ON subscriptions(user_id);
CREATE INDEX idx_subscriptions_org ON subscriptions(organization_id);
CREATE INDEX idx_subscriptions_status ON subscriptions(status);
CREATE INDEX idx_subscriptions_active ON subscriptions(user_id) WHERE status = 'active';

CREATE TABLE credit_transactions (
    id               UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    subscription_id  UUID NOT NULL CONSTRAINT fk_credit_transactions_subscriptions REFERENCES subscriptions(id),
    transaction_type VARCHAR(20) NOT NULL,
    credits_amount   INTEGER NOT NULL,
    credits_balance  INTEGER NOT NULL,
    content_id       UUID CONSTRAINT fk_credit_transactions_contents REFERENCES contents(id),
    description      TEXT,
    created_at       TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT chk_credit_transactions_transaction_type CHECK (transaction_type IN ('usage', 'refund', 'bonus', 'reset'))
);

CREATE INDEX idx_credit_tx_subscription ON credit_transactions(subscription_id);
CREATE INDEX idx_credit_tx_created ON credit_transactions(created_at DESC);

ALTER TABLE projects
    ADD COLUMN organization_id UUID CONSTRAINT fk_projects_organizations REFERENCES organizations(id) ON DELETE CASCADE;

CREATE INDEX idx_projects_org ON projects(organization_id);

CREATE TRIGGER trg_organizations_updated_at BEFORE UPDATE ON organizations
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
CREATE TRIGGER trg_subscriptions_updated_at BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
