import type { ApiDeps } from '../deps';
import type { AnyRouteSpec } from '../registry';
import { accountEmailRoutes } from './account-email';
import { apiKeyRoutes } from './api-keys';
import { authRoutes } from './auth';
import { billingRoutes } from './billing';
import { channelConnectRoutes } from './channel-connect';
import { channelRoutes } from './channels';
import { contentRoutes } from './contents';
import { dataSourceRoutes } from './data-sources';
import { docsRoutes } from './docs';
import { healthRoutes } from './health';
import { notificationSettingsRoutes } from './notification-settings';
import { oidcRoutes } from './oidc';
import { operatorRoutes } from './operator';
import { organizationRoutes } from './organizations';
import { projectRoutes } from './projects';
import { providerKeyRoutes } from './provider-keys';
import { reviewRoutes } from './review';
import { stepRoutes } from './steps';
import { templateRoutes } from './templates';
import { uploadRoutes } from './uploads';
import { usageRoutes } from './usage';
import { webhookRoutes } from './webhooks';

/** Every route of the API, in one list: mounted by the app and described by the OpenAPI document. */
export function allRoutes(deps: ApiDeps): AnyRouteSpec[] {
  const routes = [...healthRoutes(deps), ...authRoutes(deps), ...accountEmailRoutes(deps), ...notificationSettingsRoutes(deps), ...oidcRoutes(deps), ...apiKeyRoutes(deps), ...projectRoutes(deps), ...uploadRoutes(deps), ...channelRoutes(deps), ...channelConnectRoutes(deps), ...templateRoutes(deps), ...dataSourceRoutes(deps), ...organizationRoutes(deps), ...providerKeyRoutes(deps), ...billingRoutes(deps), ...usageRoutes(deps), ...contentRoutes(deps), ...stepRoutes(deps), ...webhookRoutes(deps), ...operatorRoutes(deps), ...reviewRoutes(deps)];
  routes.push(...docsRoutes(() => routes));
  return routes;
}
