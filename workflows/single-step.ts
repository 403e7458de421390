import { ActivityCancellationType, CancellationScope, CancelledFailure, isCancellation, proxyActivities, workflowInfo } from '@temporalio/workflow';
import type { Duration } from '@temporalio/common';
import type { ContentActivities } from '../activities/content';
import type { MediaActivities } from '../activities/media';
import type { ContentStep } from '../db/models/enums';
import { failureMessage, OUTLASTS_FAILOVER } from './failures';

/**
 * Single steps asked for through the API (speech, captions, a render of a scene list) run as small
 * workflows on a content row of their own (`contents.step`), so they are recorded, metered and
 * charged by the production's rules: the activities' jobs, usage and logs by the recording
 * interceptor, the credit by the ledger (taken first, given back exactly once when the step fails
 * or is cancelled).
 */
export interface StepInput {
  contentId: string;
  /** The task queue of the media activities. */
  mediaTaskQueue: string;
  /** Heartbeat timeout of the media activities; a dead worker's work is retried after it. */
  mediaHeartbeatTimeout?: Duration;
}

/**
 * What each step costs: speech and a render call the speech engine or the renderer (and the images
 * provider for a render's scenes without media), one credit each like a production; captions are
 * computed from word timings without any provider, for nothing.
 */
export const STEP_CREDITS: Readonly<Record<ContentStep, 0 | 1>> = { speech: 1, captions: 0, render: 1 };

/** One run per step: its row is never run again. */
export function stepWorkflowId(contentId: string): string {
  return `step-${contentId}`;
}

/** The media activities of a step; a cancelled one stops its process before the step cleans up. */
export function stepMediaActivities(input: StepInput) {
  return proxyActivities<MediaActivities>({
    taskQueue: input.mediaTaskQueue,
    startToCloseTimeout: '30 minutes',
    scheduleToCloseTimeout: '2 hours',
    heartbeatTimeout: input.mediaHeartbeatTimeout ?? '30 seconds',
    retry: OUTLASTS_FAILOVER,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

/**
 * Runs a step's work between its charge and its end. The charge waits for its activity even when
 * the step is cancelled meanwhile, and a step that fails or is cancelled always asks for its credit
 * back: the ledger gives back only a credit the row holds, so it is refunded exactly once, whenever
 * the failure came. The row ends `ready` or `failed`, and its run's log says why.
 */
export async function runSingleStep<T>(input: StepInput, step: ContentStep, work: () => Promise<T>): Promise<T> {
  const { contentId } = input;
  const charge = proxyActivities<ContentActivities>({
    startToCloseTimeout: '2 minutes',
    scheduleToCloseTimeout: '15 minutes',
    retry: OUTLASTS_FAILOVER,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const cleanup = proxyActivities<ContentActivities>({ startToCloseTimeout: '1 minute', scheduleToCloseTimeout: '1 hour', retry: OUTLASTS_FAILOVER });
  const paid = STEP_CREDITS[step] > 0;
  let result: T;
  try {
    if (paid) {
      const { workflowType, runId } = workflowInfo();
      await charge.chargeCredit({ contentId, reference: runId, workflow: workflowType });
    }
    result = await work();
  } catch (err) {
    // Once the run is cancelled, whatever its activities then report ends it as cancelled.
    const cancelled = isCancellation(err) || CancellationScope.current().consideredCancelled;
    const message = cancelled ? 'cancelled' : failureMessage(err);
    await CancellationScope.nonCancellable(async () => {
      if (paid) await cleanup.refundCredit({ contentId, reason: message });
      await cleanup.finishStep({ contentId, outcome: cancelled ? 'cancelled' : 'failed', error: message });
    });
    if (cancelled && !isCancellation(err)) throw new CancelledFailure('cancelled', [], err instanceof Error ? err : undefined);
    throw err;
  }
  await CancellationScope.nonCancellable(() => cleanup.finishStep({ contentId, outcome: 'completed' }));
  return result;
}
