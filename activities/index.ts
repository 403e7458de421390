import type { AppContext } from '../control/app-context';
import type { ProviderServices, Providers } from '../providers';
import type { SourceSettings } from '../providers/sources';
import { createContentActivities } from './content';
import { createEmailActivities } from './email';
import { createIngestActivities } from './ingest';
import { createUpkeepActivities } from './upkeep';
import { createMediaActivities } from './media';
import { ProvidersFor } from './providers-for';
import { createPublishActivities, type PlatformClients } from './publish';
import { createRecoveryActivities } from './recovery';
import { createSystemActivities } from './system';
import { createWebhookActivities } from './webhooks';

export interface ActivityDeps {
  providers: Providers;
  /**
   * What `providers` were built with beyond the configuration: given, an organization's own
   * provider keys replace the platform's for its contents (activities/providers-for.ts).
   */
  providerServices?: ProviderServices;
  platforms: PlatformClients;
  sources: SourceSettings;
}

/**
 * Activities are created around the process's connections and engines (the samples'
 * dependency-injection pattern) and registered with a worker by name. The light ones run on the
 * orchestration task queue; the media ones on their own queue, so they scale separately.
 */
export function createActivities(ctx: AppContext, deps: ActivityDeps) {
  return {
    ...createSystemActivities(ctx),
    ...createContentActivities(ctx, deps.providers, providersFor(ctx, deps)),
    ...createPublishActivities(ctx, deps.platforms),
    ...createIngestActivities(ctx, deps.sources),
    ...createUpkeepActivities(ctx),
    ...createRecoveryActivities(ctx),
    ...createWebhookActivities(ctx),
    ...createEmailActivities(ctx),
  };
}

export function createMediaWorkerActivities(ctx: AppContext, deps: Pick<ActivityDeps, 'providers' | 'providerServices'>) {
  return createMediaActivities(ctx, deps.providers, ctx.config.media.workDir, providersFor(ctx, deps));
}

/** The engines per content: with the organization's own keys when the deps say how to build them. */
function providersFor(ctx: AppContext, deps: Pick<ActivityDeps, 'providers' | 'providerServices'>): ProvidersFor {
  if (!deps.providerServices) return ProvidersFor.fixed(deps.providers, ctx.config);
  return new ProvidersFor(deps.providers, ctx.config, deps.providerServices, ctx.db.providerKeys);
}

export type Activities = ReturnType<typeof createActivities>;
