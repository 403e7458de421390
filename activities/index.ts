import type { AppContext } from '../lib/app-context';
import { createSystemActivities } from './system';

/**
 * Activities are created around the process's connections (the samples' dependency-injection
 * pattern) and registered with the worker by name.
 */
export function createActivities(ctx: AppContext) {
  return {
    ...createSystemActivities(ctx),
  };
}

export type Activities = ReturnType<typeof createActivities>;
