import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPublishActivities } from '../../activities/publish';
import type { AppContext } from '../../control/app-context';
import { EMPTY_SCRIPT } from '../../db/models';
import { InstagramClient } from '../../providers/platforms/instagram';
import { TikTokClient } from '../../providers/platforms/tiktok';
import { YouTubeClient } from '../../providers/platforms/youtube';
import { publishToChannel } from '../../workflows/publish-to-channel';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { workflowFailure } from '../support/wait';

/**
 * A channel whose token refresh the platform refuses (the user revoked the app: invalid_grant) is
 * put in `error` with the platform's answer as its reason, and the next production that would
 * publish to it lists it and fails that publication at once, saying which channel and why, without
 * asking the platform again.
 */
describe('a channel whose token refresh is refused', () => {
  let h: PipelineHarness;
  let ctx: AppContext;
  let tenant: Tenant;

  before(async () => {
    h = await createPipelineHarness();
    ctx = h.isolated('refresh-refused');
    await h.startWorkers(ctx, ['orchestration']);
    tenant = await createTenant(h, { credits: 5, withChannel: true });
  });

  after(async () => {
    await h?.close();
  });

  async function readyContent(title: string): Promise<string> {
    const content = await h.ctx.models.Content.create({ project_id: tenant.projectId, title, script: EMPTY_SCRIPT, source_type: 'manual', status: 'ready', video_duration: 30 } as never);
    return content.id;
  }

  function publish(contentId: string): Promise<WorkflowHandle<typeof publishToChannel>> {
    return ctx.temporal.workflow.start(publishToChannel, {
      taskQueue: ctx.config.temporal.taskQueue,
      workflowId: `publish-${contentId}-${tenant.channelId}`,
      args: [{ contentId, channelId: tenant.channelId! }],
    });
  }

  /** The ApplicationFailure a publication ended with. */
  async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
    const cause = (await workflowFailure(handle)).cause?.cause;
    assert.ok(cause instanceof ApplicationFailure, String(cause));
    return cause;
  }

  const tokenRequests = (): number => h.youtube.state.requests.filter((r) => r.path === '/token').length;

  it('puts the channel in error with the platform’s reason, and the next production names the channel and why', async () => {
    h.youtube.state.revokeRefreshToken();
    const refused = await failureOf(await publish(await readyContent('첫 번째 영상')));
    assert.equal(refused.type, 'auth_revoked');
    const channel = await h.ctx.models.Channel.findByPk(tenant.channelId!, { rejectOnEmpty: true });
    assert.equal(channel.status, 'error');
    assert.match(channel.status_reason ?? '', /^YouTube oauth_refresh failed with HTTP 400 \(invalid_grant\): Token has been expired or revoked\./);

    // The next production: the channel is still among those it would publish to…
    const next = await readyContent('두 번째 영상');
    const activities = createPublishActivities(h.ctx, {
      youtube: new YouTubeClient({ endpoints: { oauthUrl: h.youtube.baseUrl, uploadUrl: h.youtube.baseUrl, apiUrl: h.youtube.baseUrl } }),
      tiktok: new TikTokClient({ baseUrl: 'http://127.0.0.1:1' }),
      instagram: new InstagramClient({ graphUrl: 'http://127.0.0.1:1' }),
    });
    const env = new MockActivityEnvironment({ activityType: 'markReadyForPublishing', workflowExecution: { workflowId: `content-${next}`, runId: randomUUID() } });
    const targets: Awaited<ReturnType<typeof activities.markReadyForPublishing>> = await env.run(activities.markReadyForPublishing, { contentId: next });
    assert.deepEqual(targets.channels, [{ channelId: tenant.channelId, platform: 'youtube' }]);

    // …and its publication there fails at once, saying which channel must be reconnected and why.
    const asked = tokenRequests();
    const failure = await failureOf(await publish(next));
    assert.equal(failure.type, 'ChannelNotConnected');
    assert.equal(failure.nonRetryable, true);
    assert.equal(
      failure.message,
      `the youtube channel "Test channel" (${tenant.channelId}) needs reconnecting: ${channel.status_reason}`,
    );
    assert.equal(tokenRequests(), asked, 'YouTube is not asked again');
  });
});
