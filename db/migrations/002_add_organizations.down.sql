-- Reverses 002_add_organizations. Dropping the column drops its FK and idx_projects_org with it.
ALTER TABLE projects DROP COLUMN organization_id;
DROP TABLE credit_transactions;
DROP TABLE subscriptions;
DROP TABLE subscription_plans;
DROP TABLE organization_members;
DROP TABLE organizations;
