import {
  ActivityCancellationType,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  condition,
  defineQuery,
  defineSignal,
  executeChild,
  isCancellation,
  patched,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { TypedSearchAttributes, type Duration } from '@temporalio/common';
import type { ContentActivities } from '../activities/content';
import type { MediaActivities } from '../activities/media';
import type { PublishActivities } from '../activities/publish';
import { publishToChannel } from './publish-to-channel';
import { failureMessage, OUTLASTS_FAILOVER, rootMessage } from './failures';
import { ChannelIdKey, ContentIdKey, OrganizationIdKey, OwnerUserIdKey, PipelineStepKey, ProjectIdKey } from './search-attributes';
import { STEP_PERCENT, type ProductionStep } from './steps';

export interface ProduceContentInput {
  contentId: string;
  /** The task queue of the heavy media activities (TTS, images, render). */
  mediaTaskQueue: string;
  /** How long a content waits for approval before it stays ready, unpublished. Default 7 days. */
  approvalTimeout?: Duration;
  /** Heartbeat timeout of the long media activities; a dead worker's render is retried after it. */
  mediaHeartbeatTimeout?: Duration;
}

export interface ProductionProgress {
  step: ProductionStep;
  percent: number;
  error?: string;
  published: { channelId: string; url?: string; error?: string }[];
}

export interface ProductionResult extends ProductionProgress {
  contentId: string;
}

export interface ApproveArgs {
  /** Publish to these channels only; default every channel of the project's platforms that is connected, or in error (its publish then fails naming why). */
  channelIds?: string[];
  /** RFC 3339 time to publish at; default the channel's calendar. */
  scheduledAt?: string;
}

export const approveSignal = defineSignal<[ApproveArgs?]>('approve');
export const rejectSignal = defineSignal<[{ reason?: string }?]>('reject');
export const cancelSignal = defineSignal<[{ reason?: string }?]>('cancel');
export const progressQuery = defineQuery<ProductionProgress>('progress');

export function produceContentWorkflowId(contentId: string): string {
  return `content-${contentId}`;
}

/** A publishing child's search attributes: its parent's content, project, organization and owner, and its channel. */
function publicationSearchAttributes(channelId: string): TypedSearchAttributes {
  const parent = workflowInfo().typedSearchAttributes;
  const placing = [ContentIdKey, ProjectIdKey, OrganizationIdKey, OwnerUserIdKey].flatMap((key) => {
    const value = parent.get(key);
    return value === undefined ? [] : [{ key, value }];
  });
  return new TypedSearchAttributes([...placing, { key: ChannelIdKey, value: channelId }]);
}


/**
 * The patch under which a run waits for its cancelled media activities to stop
 * (WAIT_CANCELLATION_COMPLETED) and makes speech and images together or not at all; runs recorded
 * before it replay with their try-cancel media steps.
 */
const MEDIA_WAITS_FOR_CANCELLATION = 'media-waits-for-cancellation';

/**
 * Speech and images together: when one fails, the other is cancelled, and the run goes on only once
 * both activities have stopped, so no media process outlives the step.
 */
async function bothOrNeither<A, B>(a: () => Promise<A>, b: () => Promise<B>): Promise<[A, B]> {
  const scope = new CancellationScope();
  return scope.run(async () => {
    const running: [Promise<A>, Promise<B>] = [a(), b()];
    try {
      return await Promise.all(running);
    } catch (err) {
      scope.cancel();
      await Promise.allSettled(running);
      throw err;
    }
  });
}

/**
 * Turns one content row into a video and, once approved (or at once for auto-publishing projects),
 * publishes it to the project's channels. Charges one credit first; any failure before the video is
 * ready, and any cancellation before something is published, gives it back exactly once.
 */
export async function produceContent(input: ProduceContentInput): Promise<ProductionResult> {
  const { contentId } = input;
  const mediaWaitsForCancellation = patched(MEDIA_WAITS_FOR_CANCELLATION);
  const light = proxyActivities<ContentActivities>({
    startToCloseTimeout: '2 minutes',
    scheduleToCloseTimeout: '15 minutes',
    retry: OUTLASTS_FAILOVER,
  });
  const cleanup = proxyActivities<ContentActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '1 hour',
    retry: OUTLASTS_FAILOVER,
  });
  // A cancelled media activity stops its process (ffmpeg, a cloud render) before the run cleans up.
  const media = proxyActivities<MediaActivities>({
    taskQueue: input.mediaTaskQueue,
    startToCloseTimeout: '30 minutes',
    scheduleToCloseTimeout: '2 hours',
    heartbeatTimeout: input.mediaHeartbeatTimeout ?? '30 seconds',
    retry: OUTLASTS_FAILOVER,
    cancellationType: mediaWaitsForCancellation ? ActivityCancellationType.WAIT_CANCELLATION_COMPLETED : ActivityCancellationType.TRY_CANCEL,
  });
  const publish = proxyActivities<PublishActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '15 minutes',
    retry: OUTLASTS_FAILOVER,
  });

  const progress: ProductionProgress = { step: 'queued', percent: 0, published: [] };
  const enter = (step: ProductionStep) => {
    progress.step = step;
    progress.percent = STEP_PERCENT[step];
    upsertSearchAttributes([{ key: PipelineStepKey, value: step }]);
  };
  setHandler(progressQuery, () => progress);

  let decision: { approved: true; args: ApproveArgs } | { approved: false; reason?: string } | undefined;
  setHandler(approveSignal, (args) => {
    decision ??= { approved: true, args: args ?? {} };
  });
  setHandler(rejectSignal, (args) => {
    decision ??= { approved: false, reason: args?.reason };
  });
  const work = new CancellationScope();
  setHandler(cancelSignal, () => work.cancel());

  let charged = false;
  let videoReady = false;
  try {
    await work.run(async () => {
      enter('charging');
      await light.chargeCredit({ contentId, reference: workflowInfo().runId });
      charged = true;

      enter('script');
      await light.writeScript({ contentId });

      enter('safety');
      const safety = await light.checkSafety({ contentId });
      if (!safety.passed) {
        throw ApplicationFailure.nonRetryable(`safety check failed (score ${safety.score}): ${safety.flags.map((f) => f.code).join(', ')}`, 'SafetyRejected', safety.flags);
      }

      enter('media');
      const [speech, images] = mediaWaitsForCancellation
        ? await bothOrNeither(() => media.synthesizeSpeech({ contentId }), () => media.createSceneImages({ contentId }))
        : await Promise.all([media.synthesizeSpeech({ contentId }), media.createSceneImages({ contentId })]);

      enter('render');
      await media.renderVideo({ contentId, speech, images });
      videoReady = true;
      const targets = await publish.markReadyForPublishing({ contentId });
      let channelIds = targets.channels.map((c) => c.channelId);
      let scheduledAt: string | undefined;
      if (channelIds.length > 0 && !targets.autoPublish) {
        enter('awaiting_approval');
        const decided = await condition(() => decision !== undefined, input.approvalTimeout ?? '7 days');
        if (!decided || !decision) {
          enter('ready');
          return;
        }
        if (!decision.approved) {
          await light.recordRejection({ contentId, reason: decision.reason });
          enter('rejected');
          return;
        }
        const chosen = decision.args.channelIds;
        if (chosen) channelIds = channelIds.filter((id) => chosen.includes(id));
        scheduledAt = decision.args.scheduledAt;
      }
      if (channelIds.length === 0) {
        enter('ready');
        return;
      }
      enter('publishing');
      const outcomes = await Promise.allSettled(
        channelIds.map((channelId) =>
          executeChild(publishToChannel, {
            workflowId: `publish-${contentId}-${channelId}`,
            args: [{ contentId, channelId, scheduledAt }],
            typedSearchAttributes: publicationSearchAttributes(channelId),
            memo: { content: contentId, channel: channelId },
          }),
        ),
      );
      progress.published = outcomes.map((o, i) => ({
        channelId: channelIds[i]!,
        ...(o.status === 'fulfilled' ? { url: o.value.url } : { error: rootMessage(o.reason) }),
      }));
      // A cancel that arrived while the children ran, before anything went out, ends the run as cancelled (and refunded).
      if (CancellationScope.current().consideredCancelled && !progress.published.some((p) => p.url)) throw new CancelledFailure('cancelled while publishing');
      enter(progress.published.some((p) => p.url) ? 'published' : 'ready');
    });
  } catch (err) {
    // Once the run is cancelled, whatever its activities then report ends it as cancelled: a media
    // activity whose worker died reports a heartbeat timeout instead of its cancellation.
    const cancelled = isCancellation(err) || work.consideredCancelled;
    const message = cancelled ? 'cancelled' : failureMessage(err);
    await CancellationScope.nonCancellable(async () => {
      const refund = charged && (cancelled ? progress.published.every((p) => !p.url) : !videoReady);
      if (refund) await cleanup.refundCredit({ contentId, reason: message });
      await cleanup.finishRun({ contentId, outcome: cancelled ? 'cancelled' : 'failed', error: message, keepReady: videoReady && !cancelled });
    });
    progress.error = message;
    enter(cancelled ? 'cancelled' : 'failed');
    if (cancelled && work.consideredCancelled && !CancellationScope.current().consideredCancelled) {
      // Cancelled by the signal, not by the workflow's own cancellation: end normally, reporting it.
      return { contentId, ...progress };
    }
    if (cancelled && !isCancellation(err)) throw new CancelledFailure('cancelled', [], err instanceof Error ? err : undefined);
    throw err;
  }
  await CancellationScope.nonCancellable(() => cleanup.finishRun({ contentId, outcome: 'completed', keepReady: true }));
  return { contentId, ...progress };
}
