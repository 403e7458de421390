import { MockActivityEnvironment } from '@temporalio/testing';
import type { MediaActivities } from '../../activities/media';
import { recordingInterceptor } from '../../activities/recording';
import type { PipelineHarness } from './pipeline';

/** One attempt of a media activity of a content's run, recorded by the worker's interceptor on the real stores. */
export type MediaAttempt = <A extends keyof MediaActivities>(
  activityType: A,
  input: Parameters<MediaActivities[A]>[0],
  run: { contentId: string; runId: string; attempt: number },
) => Promise<Awaited<ReturnType<MediaActivities[A]>>>;

/** Runs attempts of `media()`'s activities (read at each attempt, so a suite may build them in `before`). */
export function mediaAttempts(h: () => PipelineHarness, media: () => MediaActivities): MediaAttempt {
  return (activityType, input, run) => {
    const env = new MockActivityEnvironment(
      { activityType, attempt: run.attempt, workflowExecution: { workflowId: `content-${run.contentId}`, runId: run.runId } },
      { interceptors: [recordingInterceptor(h().ctx.db)] },
    );
    return env.run(media()[activityType] as (arg: typeof input) => Promise<Awaited<ReturnType<MediaActivities[typeof activityType]>>>, input);
  };
}
