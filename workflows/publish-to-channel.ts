import { CancellationScope, proxyActivities, sleep, workflowInfo } from '@temporalio/workflow';
import type { PublishActivities } from '../activities/publish';
import { OUTLASTS_FAILOVER, rootMessage } from './failures';

export interface PublishToChannelInput {
  contentId: string;
  channelId: string;
  /** RFC 3339; default: the channel's publishing calendar (upload_settings), or now. */
  scheduledAt?: string;
}

export interface PublishResult {
  uploadId: string;
  platformVideoId: string;
  url: string;
}

/**
 * Publishes one content to one channel: a `content_uploads` row, a durable wait until its
 * scheduled time, a token refresh, the upload with heartbeated progress, the platform's id and URL.
 */
export async function publishToChannel(input: PublishToChannelInput): Promise<PublishResult> {
  const light = proxyActivities<PublishActivities>({
    startToCloseTimeout: '1 minute',
    scheduleToCloseTimeout: '15 minutes',
    retry: OUTLASTS_FAILOVER,
  });
  const transfer = proxyActivities<PublishActivities>({
    startToCloseTimeout: '2 hours',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '5 minutes', maximumAttempts: 8 },
  });

  const upload = await light.preparePublication({ ...input, workflowId: workflowInfo().workflowId });
  try {
    if (upload.scheduledAt) {
      const wait = Date.parse(upload.scheduledAt) - Date.now();
      if (wait > 0) await sleep(wait);
    }
    await light.refreshChannelToken({ contentId: input.contentId, channelId: input.channelId });
    return await transfer.uploadToChannel({ contentId: input.contentId, channelId: input.channelId, uploadId: upload.uploadId });
  } catch (err) {
    await CancellationScope.nonCancellable(() => light.markUploadFailed({ uploadId: upload.uploadId, error: rootMessage(err) }));
    throw err;
  }
}
