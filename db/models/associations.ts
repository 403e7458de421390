import type { Models } from './index';

type OnDelete = 'CASCADE' | 'NO ACTION' | 'SET NULL';

/**
 * Both sides of one foreign key. `onDelete` and `onUpdate` mirror the SQL of db/migrations
 * (Sequelize would otherwise assume SET NULL / CASCADE); the migrations, not Sequelize, create them.
 */
function foreignKey(foreignKeyName: string, onDelete: OnDelete) {
  return { foreignKey: foreignKeyName, onDelete, onUpdate: 'NO ACTION' } as const;
}

/** One association pair per foreign key of seed §3; aliases are the JSON keys of includes. */
export function associate(m: Models): void {
  const { User, Organization, OrganizationMember, SubscriptionPlan, Subscription, Project, Channel } = m;
  const { Content, ContentJob, ContentUpload, Template, DataSource, DataSourceItem, ApiUsage, CreditTransaction } = m;

  Organization.hasMany(OrganizationMember, { as: 'members', ...foreignKey('organization_id', 'CASCADE') });
  OrganizationMember.belongsTo(Organization, { as: 'organization', ...foreignKey('organization_id', 'CASCADE') });
  User.hasMany(OrganizationMember, { as: 'memberships', ...foreignKey('user_id', 'CASCADE') });
  OrganizationMember.belongsTo(User, { as: 'user', ...foreignKey('user_id', 'CASCADE') });
  User.hasMany(OrganizationMember, { as: 'sent_invitations', ...foreignKey('invited_by', 'NO ACTION') });
  OrganizationMember.belongsTo(User, { as: 'inviter', ...foreignKey('invited_by', 'NO ACTION') });

  User.hasMany(Subscription, { as: 'subscriptions', ...foreignKey('user_id', 'CASCADE') });
  Subscription.belongsTo(User, { as: 'user', ...foreignKey('user_id', 'CASCADE') });
  Organization.hasMany(Subscription, { as: 'subscriptions', ...foreignKey('organization_id', 'CASCADE') });
  Subscription.belongsTo(Organization, { as: 'organization', ...foreignKey('organization_id', 'CASCADE') });
  // stripe_customers (migration 009): one Stripe customer per user or organization.
  User.hasMany(m.StripeCustomer, { as: 'stripe_customers', ...foreignKey('user_id', 'CASCADE') });
  m.StripeCustomer.belongsTo(User, { as: 'user', ...foreignKey('user_id', 'CASCADE') });
  Organization.hasMany(m.StripeCustomer, { as: 'stripe_customers', ...foreignKey('organization_id', 'CASCADE') });
  m.StripeCustomer.belongsTo(Organization, { as: 'organization', ...foreignKey('organization_id', 'CASCADE') });
  // api_keys (migration 010): a personal or an organization's key, and the user who made it.
  User.hasMany(m.ApiKey, { as: 'api_keys', ...foreignKey('user_id', 'CASCADE') });
  m.ApiKey.belongsTo(User, { as: 'user', ...foreignKey('user_id', 'CASCADE') });
  Organization.hasMany(m.ApiKey, { as: 'api_keys', ...foreignKey('organization_id', 'CASCADE') });
  m.ApiKey.belongsTo(Organization, { as: 'organization', ...foreignKey('organization_id', 'CASCADE') });
  User.hasMany(m.ApiKey, { as: 'created_api_keys', ...foreignKey('created_by', 'CASCADE') });
  m.ApiKey.belongsTo(User, { as: 'creator', ...foreignKey('created_by', 'CASCADE') });
  // organization_provider_keys (migration 011): an organization's own provider keys, and who stored them.
  Organization.hasMany(m.OrganizationProviderKey, { as: 'provider_keys', ...foreignKey('organization_id', 'CASCADE') });
  m.OrganizationProviderKey.belongsTo(Organization, { as: 'organization', ...foreignKey('organization_id', 'CASCADE') });
  User.hasMany(m.OrganizationProviderKey, { as: 'stored_provider_keys', ...foreignKey('created_by', 'SET NULL') });
  m.OrganizationProviderKey.belongsTo(User, { as: 'creator', ...foreignKey('created_by', 'SET NULL') });
  // webhook_endpoints and webhook_deliveries (migration 016).
  User.hasMany(m.WebhookEndpoint, { as: 'webhook_endpoints', ...foreignKey('user_id', 'CASCADE') });
  m.WebhookEndpoint.belongsTo(User, { as: 'user', ...foreignKey('user_id', 'CASCADE') });
  Organization.hasMany(m.WebhookEndpoint, { as: 'webhook_endpoints', ...foreignKey('organization_id', 'CASCADE') });
  m.WebhookEndpoint.belongsTo(Organization, { as: 'organization', ...foreignKey('organization_id', 'CASCADE') });
  User.hasMany(m.WebhookEndpoint, { as: 'created_webhook_endpoints', ...foreignKey('created_by', 'SET NULL') });
  m.WebhookEndpoint.belongsTo(User, { as: 'creator', ...foreignKey('created_by', 'SET NULL') });
  m.WebhookEndpoint.hasMany(m.WebhookDelivery, { as: 'deliveries', ...foreignKey('endpoint_id', 'CASCADE') });
  m.WebhookDelivery.belongsTo(m.WebhookEndpoint, { as: 'endpoint', ...foreignKey('endpoint_id', 'CASCADE') });
  SubscriptionPlan.hasMany(Subscription, { as: 'subscriptions', ...foreignKey('plan_id', 'NO ACTION') });
  Subscription.belongsTo(SubscriptionPlan, { as: 'plan', ...foreignKey('plan_id', 'NO ACTION') });

  Subscription.hasMany(CreditTransaction, { as: 'credit_transactions', ...foreignKey('subscription_id', 'NO ACTION') });
  CreditTransaction.belongsTo(Subscription, { as: 'subscription', ...foreignKey('subscription_id', 'NO ACTION') });
  Content.hasMany(CreditTransaction, { as: 'credit_transactions', ...foreignKey('content_id', 'SET NULL') });
  CreditTransaction.belongsTo(Content, { as: 'content', ...foreignKey('content_id', 'SET NULL') });

  User.hasMany(Project, { as: 'projects', ...foreignKey('user_id', 'CASCADE') });
  Project.belongsTo(User, { as: 'user', ...foreignKey('user_id', 'CASCADE') });
  Organization.hasMany(Project, { as: 'projects', ...foreignKey('organization_id', 'CASCADE') });
  Project.belongsTo(Organization, { as: 'organization', ...foreignKey('organization_id', 'CASCADE') });

  Project.hasMany(Channel, { as: 'channels', ...foreignKey('project_id', 'CASCADE') });
  Channel.belongsTo(Project, { as: 'project', ...foreignKey('project_id', 'CASCADE') });
  Project.hasMany(Content, { as: 'contents', ...foreignKey('project_id', 'CASCADE') });
  Content.belongsTo(Project, { as: 'project', ...foreignKey('project_id', 'CASCADE') });
  Project.hasMany(DataSource, { as: 'data_sources', ...foreignKey('project_id', 'CASCADE') });
  DataSource.belongsTo(Project, { as: 'project', ...foreignKey('project_id', 'CASCADE') });
  DataSource.hasMany(DataSourceItem, { as: 'items', ...foreignKey('data_source_id', 'CASCADE') });
  DataSourceItem.belongsTo(DataSource, { as: 'data_source', ...foreignKey('data_source_id', 'CASCADE') });
  Content.hasMany(DataSourceItem, { as: 'source_items', ...foreignKey('content_id', 'SET NULL') });
  DataSourceItem.belongsTo(Content, { as: 'content', ...foreignKey('content_id', 'SET NULL') });

  Content.hasMany(ContentJob, { as: 'jobs', ...foreignKey('content_id', 'CASCADE') });
  ContentJob.belongsTo(Content, { as: 'content', ...foreignKey('content_id', 'CASCADE') });
  Content.hasMany(ContentUpload, { as: 'uploads', ...foreignKey('content_id', 'CASCADE') });
  ContentUpload.belongsTo(Content, { as: 'content', ...foreignKey('content_id', 'CASCADE') });
  Channel.hasMany(ContentUpload, { as: 'uploads', ...foreignKey('channel_id', 'CASCADE') });
  ContentUpload.belongsTo(Channel, { as: 'channel', ...foreignKey('channel_id', 'CASCADE') });

  User.hasMany(Template, { as: 'templates', ...foreignKey('user_id', 'CASCADE') });
  Template.belongsTo(User, { as: 'user', ...foreignKey('user_id', 'CASCADE') });
  Organization.hasMany(Template, { as: 'templates', ...foreignKey('organization_id', 'CASCADE') });
  Template.belongsTo(Organization, { as: 'organization', ...foreignKey('organization_id', 'CASCADE') });

  User.hasMany(ApiUsage, { as: 'api_usages', ...foreignKey('user_id', 'NO ACTION') });
  ApiUsage.belongsTo(User, { as: 'user', ...foreignKey('user_id', 'NO ACTION') });
  Organization.hasMany(ApiUsage, { as: 'api_usages', ...foreignKey('organization_id', 'NO ACTION') });
  ApiUsage.belongsTo(Organization, { as: 'organization', ...foreignKey('organization_id', 'NO ACTION') });
  Content.hasMany(ApiUsage, { as: 'api_usages', ...foreignKey('content_id', 'SET NULL') });
  ApiUsage.belongsTo(Content, { as: 'content', ...foreignKey('content_id', 'SET NULL') });
  ContentJob.hasMany(ApiUsage, { as: 'api_usages', ...foreignKey('job_id', 'SET NULL') });
  ApiUsage.belongsTo(ContentJob, { as: 'job', ...foreignKey('job_id', 'SET NULL') });
}
