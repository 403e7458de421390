import type { ApiDeps } from '../deps';
import type { AnyRouteSpec } from '../registry';
import { authRoutes } from './auth';
import { healthRoutes } from './health';

/** Every route of the API, in one list: mounted by the app and described by the OpenAPI document. */
export function allRoutes(deps: ApiDeps): AnyRouteSpec[] {
  return [...healthRoutes(deps), ...authRoutes(deps)];
}
