-- Reverses 009_stripe_billing. Subscriptions still waiting for their first payment ('incomplete')
-- never granted anything: they become 'expired' so the seed's status list holds again.
DROP INDEX IF EXISTS idx_credit_tx_stripe_invoice;
DROP TABLE IF EXISTS stripe_events;
DROP TABLE IF EXISTS stripe_customers;
DROP INDEX IF EXISTS idx_subscriptions_stripe;

UPDATE subscriptions SET status = 'expired' WHERE status = 'incomplete';
ALTER TABLE subscriptions DROP CONSTRAINT chk_subscriptions_status;
ALTER TABLE subscriptions ADD CONSTRAINT chk_subscriptions_status CHECK (status IN ('active', 'paused', 'cancelled', 'expired'));
