import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { publishToChannel } from '../../workflows';
import { Gate, startWorkflowTestEnv, videoUrl, type Scenario, type WorkflowTestEnv } from '../support/workflow-env';
import { workflowFailure } from '../support/wait';

/**
 * publishToChannel on its own (produceContent starts it as a child): the wait for the scheduled
 * time, the token refresh, the upload, and the upload row marked failed on every way out but success.
 */
describe('publishToChannel workflow (stub activities)', { concurrency: true }, () => {
  let t: WorkflowTestEnv;

  before(async () => {
    t = await startWorkflowTestEnv('publish-to-channel');
  });

  after(async () => {
    await t?.close();
  });

  async function start(scenario: Scenario = {}, scheduledAt?: string): Promise<{ contentId: string; channelId: string; handle: WorkflowHandle<typeof publishToChannel> }> {
    const contentId = `pub-${randomBytes(4).toString('hex')}`;
    const channelId = 'ch-1';
    t.stubs.scenario(contentId, scenario);
    const handle = await t.client.workflow.start(publishToChannel, {
      taskQueue: t.taskQueue,
      workflowId: `publish-${contentId}-${channelId}`,
      args: [{ contentId, channelId, scheduledAt }],
    });
    return { contentId, channelId, handle };
  }

  async function timersOf(handle: WorkflowHandle): Promise<number[]> {
    const history = await handle.fetchHistory();
    return (history.events ?? []).flatMap((e) => {
      const d = e.timerStartedEventAttributes?.startToFireTimeout;
      return d ? [Number(d.seconds ?? 0) * 1000 + Math.round((d.nanos ?? 0) / 1e6)] : [];
    });
  }

  it('unscheduled: prepares the upload row under its workflow id, refreshes the token, uploads at once', async () => {
    const { contentId, channelId, handle } = await start();
    const result = await handle.result();
    const uploadId = `upload:${contentId}:${channelId}`;
    assert.deepEqual(result, { uploadId, platformVideoId: `vid-${channelId}`, url: videoUrl(contentId, channelId) });
    assert.deepEqual(t.stubs.calls(contentId).map((c) => c.name), ['preparePublication', 'refreshChannelToken', 'uploadToChannel']);
    assert.deepEqual(t.stubs.inputs(contentId, 'preparePublication'), [{ contentId, channelId, workflowId: handle.workflowId }]);
    assert.deepEqual(t.stubs.inputs(contentId, 'uploadToChannel'), [{ contentId, channelId, uploadId }]);
    assert.deepEqual(await timersOf(handle), []);
  });

  it("waits durably until the row's scheduled time (e.g. from the channel's calendar), then uploads", async () => {
    const scheduledAt = new Date(Date.now() + 1_000).toISOString();
    const { contentId, handle } = await start({
      overrides: { preparePublication: async ({ contentId: id, channelId }) => ({ uploadId: `upload:${id}:${channelId}`, scheduledAt }) },
    });
    await handle.result();
    const [timer, ...more] = await timersOf(handle);
    assert.equal(more.length, 0);
    assert.ok(timer !== undefined && timer > 0 && timer <= 1_000, `one timer up to the scheduled time, got ${timer} ms`);
    const upload = t.stubs.calls(contentId).find((c) => c.name === 'uploadToChannel')!;
    assert.ok(upload.at >= Date.parse(scheduledAt) - 50, 'not uploaded before the scheduled time');
  });

  it('a scheduled time already past: no timer', async () => {
    const { handle } = await start({}, '2020-01-01T00:00:00Z');
    await handle.result();
    assert.deepEqual(await timersOf(handle), []);
  });

  it('honours a Retry-After (nextRetryDelay) from the platform and succeeds on the next attempt', async () => {
    const { contentId, handle } = await start({
      overrides: {
        uploadToChannel: async ({ contentId: id, channelId, uploadId }, ctx) => {
          if (ctx.info.attempt === 1) throw ApplicationFailure.create({ message: 'rate limited (429)', type: 'RateLimited', nextRetryDelay: '20ms' });
          return { uploadId, platformVideoId: 'vid', url: videoUrl(id, channelId) };
        },
      },
    });
    await handle.result();
    assert.deepEqual(t.stubs.calls(contentId).filter((c) => c.name === 'uploadToChannel').map((c) => c.attempt), [1, 2]);
    assert.equal(t.stubs.count(contentId, 'markUploadFailed'), 0);
  });

  it('an upload that fails for good marks the row failed with the reason and fails the workflow', async () => {
    const { contentId, channelId, handle } = await start({
      overrides: {
        uploadToChannel: async () => {
          throw ApplicationFailure.nonRetryable('video rejected: duplicate content', 'UploadRejected');
        },
      },
    });
    const err = await workflowFailure(handle);
    assert.ok(err.cause instanceof ActivityFailure);
    assert.equal((err.cause.cause as ApplicationFailure).type, 'UploadRejected');
    assert.deepEqual(t.stubs.inputs(contentId, 'markUploadFailed'), [{ uploadId: `upload:${contentId}:${channelId}`, error: 'video rejected: duplicate content' }]);
  });

  it('a revoked channel token fails before any upload and marks the row failed', async () => {
    const { contentId, handle } = await start({
      overrides: {
        refreshChannelToken: async () => {
          throw ApplicationFailure.nonRetryable('refresh token revoked by the user', 'ChannelAuthRevoked');
        },
      },
    });
    await workflowFailure(handle);
    assert.equal(t.stubs.count(contentId, 'uploadToChannel'), 0);
    assert.deepEqual(t.stubs.inputs(contentId, 'markUploadFailed').map((i) => i.error), ['refresh token revoked by the user']);
  });

  /** Starts an upload that waits (heartbeating) until cancelled, cancels the workflow, and returns what markUploadFailed got. */
  async function cancelDuringUpload(): Promise<{ error: string }[]> {
    const gate = new Gate();
    const { contentId, handle } = await start({
      overrides: {
        uploadToChannel: async ({ contentId: id, channelId, uploadId }, ctx) => {
          await gate.pass(ctx);
          return { uploadId, platformVideoId: 'vid', url: videoUrl(id, channelId) };
        },
      },
    });
    try {
      await t.stubs.called(contentId, 'uploadToChannel');
      await handle.cancel();
      const err = await workflowFailure(handle);
      assert.ok(err.cause instanceof CancelledFailure, String(err.cause));
      return t.stubs.inputs(contentId, 'markUploadFailed');
    } finally {
      gate.open();
    }
  }

  it('cancelled during the upload: the row is still marked failed, then the workflow is cancelled', async () => {
    assert.equal((await cancelDuringUpload()).length, 1);
  });

  it(
    'a cancelled upload is marked failed with a reason',
    async () => {
      const [failed] = await cancelDuringUpload();
      assert.ok(failed?.error, `markUploadFailed error: ${JSON.stringify(failed?.error)}`);
    },
  );
});
