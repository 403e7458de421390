import type { Sequelize } from 'sequelize';
import { associate } from './associations';
import { ApiKey, initApiKey } from './api-key';
import { ApiUsage, initApiUsage } from './api-usage';
import { Channel, initChannel } from './channel';
import { Content, initContent } from './content';
import { ContentJob, initContentJob } from './content-job';
import { ContentUpload, initContentUpload } from './content-upload';
import { CreditTransaction, initCreditTransaction } from './credit-transaction';
import { DataSource, initDataSource } from './data-source';
import { DataSourceItem, initDataSourceItem } from './data-source-item';
import { Organization, initOrganization } from './organization';
import { OrganizationMember, initOrganizationMember } from './organization-member';
import { OrganizationProviderKey, initOrganizationProviderKey } from './organization-provider-key';
import { Project, initProject } from './project';
import { StripeCustomer, initStripeCustomer } from './stripe-customer';
import { WebhookDelivery, WebhookEndpoint, initWebhookDelivery, initWebhookEndpoint } from './webhook';
import { Subscription, initSubscription } from './subscription';
import { SubscriptionPlan, initSubscriptionPlan } from './subscription-plan';
import { Template, initTemplate } from './template';
import { User, initUser } from './user';

export { ApiKey, ApiUsage, Channel, Content, ContentJob, ContentUpload, CreditTransaction, DataSource, DataSourceItem };
export { Organization, OrganizationMember, OrganizationProviderKey, Project, StripeCustomer, Subscription, SubscriptionPlan, Template, User, WebhookDelivery, WebhookEndpoint };
export type { ChannelTokens } from './channel';
export * from './enums';
export type * from './json';
export { EMPTY_SCRIPT, NOT_PRODUCED_YET, stepRequestOf } from './json';

/** The model classes bound to one Sequelize instance. */
export interface Models {
  User: typeof User;
  Organization: typeof Organization;
  OrganizationMember: typeof OrganizationMember;
  SubscriptionPlan: typeof SubscriptionPlan;
  Subscription: typeof Subscription;
  Project: typeof Project;
  Channel: typeof Channel;
  Content: typeof Content;
  ContentJob: typeof ContentJob;
  ContentUpload: typeof ContentUpload;
  Template: typeof Template;
  DataSource: typeof DataSource;
  DataSourceItem: typeof DataSourceItem;
  ApiUsage: typeof ApiUsage;
  CreditTransaction: typeof CreditTransaction;
  StripeCustomer: typeof StripeCustomer;
  ApiKey: typeof ApiKey;
  OrganizationProviderKey: typeof OrganizationProviderKey;
  WebhookEndpoint: typeof WebhookEndpoint;
  WebhookDelivery: typeof WebhookDelivery;
}

const bound = new WeakMap<Sequelize, Models>();

/**
 * Binds the models to `sequelize` and returns them; a second call with the same instance returns
 * the same classes. Each instance gets its own subclasses (a Sequelize model class belongs to one
 * instance), so two instances in one process do not steal each other's models. Query through the
 * returned classes (`models.Content.findByPk`); the exported classes are for types, `instanceof`
 * and their instance methods, and are not bound to any database.
 */
export function initModels(sequelize: Sequelize): Models {
  const existing = bound.get(sequelize);
  if (existing) return existing;
  const models: Models = {
    User: initUser(sequelize),
    Organization: initOrganization(sequelize),
    OrganizationMember: initOrganizationMember(sequelize),
    SubscriptionPlan: initSubscriptionPlan(sequelize),
    Subscription: initSubscription(sequelize),
    Project: initProject(sequelize),
    Channel: initChannel(sequelize),
    Content: initContent(sequelize),
    ContentJob: initContentJob(sequelize),
    ContentUpload: initContentUpload(sequelize),
    Template: initTemplate(sequelize),
    DataSource: initDataSource(sequelize),
    DataSourceItem: initDataSourceItem(sequelize),
    ApiUsage: initApiUsage(sequelize),
    CreditTransaction: initCreditTransaction(sequelize),
    StripeCustomer: initStripeCustomer(sequelize),
    ApiKey: initApiKey(sequelize),
    OrganizationProviderKey: initOrganizationProviderKey(sequelize),
    WebhookEndpoint: initWebhookEndpoint(sequelize),
    WebhookDelivery: initWebhookDelivery(sequelize),
  };
  associate(models);
  bound.set(sequelize, models);
  return models;
}
