-- Paid plans through Stripe (issue 14): credits of a paid plan are granted only from a verified,
-- paid Stripe invoice, exactly once per invoice.

-- 'incomplete': a subscription to a paid plan whose Stripe Checkout has not been paid yet. It grants
-- nothing (the ledger charges 'active' subscriptions only) until checkout.session.completed or
-- invoice.paid makes it active. The seed's values (active, paused, cancelled, expired) keep their
-- meaning; 'paused' is also what a failed Stripe payment (invoice.payment_failed) leaves.
ALTER TABLE subscriptions DROP CONSTRAINT chk_subscriptions_status;
ALTER TABLE subscriptions ADD CONSTRAINT chk_subscriptions_status
    CHECK (status IN ('active', 'paused', 'cancelled', 'expired', 'incomplete'));

-- One of our subscriptions per Stripe subscription: events find their row through it.
CREATE UNIQUE INDEX idx_subscriptions_stripe ON subscriptions(stripe_subscription_id) WHERE stripe_subscription_id IS NOT NULL;

-- The Stripe customer of an owner (a user or an organization), created at its first checkout and
-- reused afterwards. A table of its own rather than a column of users/organizations, which keep the
-- seed's columns (seed §3.1).
CREATE TABLE stripe_customers (
    id                 UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id            UUID CONSTRAINT fk_stripe_customers_users REFERENCES users(id) ON DELETE CASCADE,
    organization_id    UUID CONSTRAINT fk_stripe_customers_organizations REFERENCES organizations(id) ON DELETE CASCADE,
    stripe_customer_id VARCHAR(255) NOT NULL UNIQUE,
    created_at         TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    CONSTRAINT chk_stripe_customers_owner CHECK (
        (user_id IS NOT NULL AND organization_id IS NULL) OR
        (user_id IS NULL AND organization_id IS NOT NULL)
    )
);

CREATE UNIQUE INDEX idx_stripe_customers_user ON stripe_customers(user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX idx_stripe_customers_org ON stripe_customers(organization_id) WHERE organization_id IS NOT NULL;

-- Every Stripe event id once: a redelivery or a replay of a processed event changes nothing.
CREATE TABLE stripe_events (
    id           VARCHAR(255) PRIMARY KEY,
    type         VARCHAR(100) NOT NULL,
    received_at  TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW(),
    processed_at TIMESTAMP WITH TIME ZONE
);

-- At most one credit grant per Stripe invoice, whichever event (checkout.session.completed,
-- invoice.paid) brings it and however often: the ledger (db/repositories/ledger.ts) writes the
-- grant as a 'reset' row described "Stripe invoice <id>: …" and checks under the subscription's
-- row lock; this index is the backstop.
CREATE UNIQUE INDEX idx_credit_tx_stripe_invoice ON credit_transactions ((split_part(description, ':', 1)))
    WHERE transaction_type = 'reset' AND description LIKE 'Stripe invoice %';
