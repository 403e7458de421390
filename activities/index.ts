import type { AppContext } from '../control/app-context';
import type { Providers } from '../providers';
import type { SourceSettings } from '../providers/sources';
import { createContentActivities } from './content';
import { createIngestActivities } from './ingest';
import { createUpkeepActivities } from './upkeep';
import { createMediaActivities } from './media';
import { createPublishActivities, type PlatformClients } from './publish';
import { createSystemActivities } from './system';

export interface ActivityDeps {
  providers: Providers;
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
    ...createContentActivities(ctx, deps.providers),
    ...createPublishActivities(ctx, deps.platforms),
    ...createIngestActivities(ctx, deps.sources),
    ...createUpkeepActivities(ctx),
  };
}

export function createMediaWorkerActivities(ctx: AppContext, deps: Pick<ActivityDeps, 'providers'>) {
  return createMediaActivities(ctx, deps.providers, ctx.config.media.workDir);
}

export type Activities = ReturnType<typeof createActivities>;
