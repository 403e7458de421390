import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Context } from '@temporalio/activity';
import type { WorkflowHandle } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure, type Duration } from '@temporalio/common';
import { produceContent } from '../../workflows';
import {
  approveSignal,
  cancelSignal,
  produceContentWorkflowId,
  progressQuery,
  rejectSignal,
  type ProductionProgress,
} from '../../workflows/produce-content';
import { PipelineStepKey } from '../../workflows/search-attributes';
import { eventually, Gate, startWorkflowTestEnv, videoUrl, type Scenario, type WorkflowTestEnv } from '../support/workflow-env';
import { workflowFailure } from '../support/wait';

/**
 * produceContent's logic with stub activities on real workers (no stack): the credit refund on
 * every failure and cancellation path, approval, partial publishing, and the progress query.
 * Failures are non-retryable (or carry a tiny nextRetryDelay) so nothing waits for a retry backoff.
 */
const SEVEN_DAYS_SEC = 7 * 24 * 60 * 60;

describe('produceContent workflow (stub activities)', { concurrency: true }, () => {
  let t: WorkflowTestEnv;

  before(async () => {
    t = await startWorkflowTestEnv('produce-content');
  });

  after(async () => {
    await t?.close();
  });

  function newContentId(label: string): string {
    return `${label}-${randomBytes(4).toString('hex')}`;
  }

  async function start(contentId: string, scenario: Scenario = {}, extra: { approvalTimeout?: Duration; mediaHeartbeatTimeout?: Duration } = {}): Promise<WorkflowHandle<typeof produceContent>> {
    t.stubs.scenario(contentId, scenario);
    return t.client.workflow.start(produceContent, {
      taskQueue: t.taskQueue,
      workflowId: produceContentWorkflowId(contentId),
      // A short heartbeat timeout so a cancellation reaches a running media stub within a second.
      args: [{ contentId, mediaTaskQueue: t.mediaTaskQueue, mediaHeartbeatTimeout: '1 second', ...extra }],
    });
  }

  async function waitForStep(handle: WorkflowHandle, step: ProductionProgress['step']): Promise<ProductionProgress> {
    return eventually(`step ${step}`, async () => {
      const progress = await handle.query(progressQuery);
      return progress.step === step ? progress : undefined;
    });
  }

  /** The end of a run: refunds given (with their reasons) and the one finishRun call. */
  function assertSettled(
    contentId: string,
    expected: { refunds: number; refundReason?: RegExp; outcome: 'completed' | 'failed' | 'cancelled'; keepReady: boolean; error?: RegExp },
  ): void {
    const refunds = t.stubs.inputs(contentId, 'refundCredit');
    assert.equal(refunds.length, expected.refunds, `refunds: ${JSON.stringify(refunds)}`);
    if (expected.refundReason) assert.match(refunds[0]!.reason, expected.refundReason);
    const finishes = t.stubs.inputs(contentId, 'finishRun');
    assert.equal(finishes.length, 1, `finishRun calls: ${JSON.stringify(finishes)}`);
    const finish = finishes[0]!;
    assert.equal(finish.outcome, expected.outcome);
    assert.equal(finish.keepReady, expected.keepReady);
    if (expected.error) assert.match(finish.error ?? '', expected.error);
    else assert.equal(finish.error, undefined);
    // Cleanup comes last: nothing of the production runs after the run is finished.
    assert.equal(t.stubs.calls(contentId).at(-1)?.name, 'finishRun');
  }

  function names(contentId: string): string[] {
    return t.stubs.calls(contentId).map((c) => c.name);
  }

  /** A stub that waits at `gate` (heartbeating, so a cancellation reaches it) and then answers `value`. */
  function gated<T>(gate: Gate, value: T): (input: unknown, ctx: Context) => Promise<T> {
    return async (_input, ctx) => {
      await gate.pass(ctx);
      return value;
    };
  }

  describe('failures refund the credit exactly once', { concurrency: true }, () => {
    it('no credits: nothing was charged, so nothing is refunded and nothing else runs', async () => {
      const contentId = newContentId('no-credits');
      const handle = await start(contentId, {
        overrides: {
          chargeCredit: async () => {
            throw ApplicationFailure.nonRetryable('the organization has no credits left', 'NoCredits');
          },
        },
      });
      const err = await workflowFailure(handle);
      assert.ok(err.cause instanceof ActivityFailure);
      assert.equal((err.cause.cause as ApplicationFailure).type, 'NoCredits');
      assert.deepEqual(names(contentId), ['chargeCredit', 'finishRun']);
      assertSettled(contentId, { refunds: 0, outcome: 'failed', keepReady: false, error: /no credits left/ });
      const progress = await handle.query(progressQuery);
      assert.equal(progress.step, 'failed');
      assert.match(progress.error ?? '', /no credits left/);
    });

    it('script fails non-retryably: refunded, no media work', async () => {
      const contentId = newContentId('script-fails');
      const handle = await start(contentId, {
        overrides: {
          writeScript: async () => {
            throw ApplicationFailure.nonRetryable('the model refused the topic', 'ScriptRefused');
          },
        },
      });
      await workflowFailure(handle);
      assert.equal(t.stubs.count(contentId, 'writeScript'), 1, 'non-retryable: one attempt');
      assert.deepEqual(names(contentId), ['chargeCredit', 'writeScript', 'refundCredit', 'finishRun']);
      assertSettled(contentId, { refunds: 1, refundReason: /the model refused the topic/, outcome: 'failed', keepReady: false, error: /the model refused the topic/ });
      assert.equal(t.stubs.inputs(contentId, 'chargeCredit')[0]?.reference, (await handle.describe()).runId, 'charged with the run id as reference');
    });

    it('a retried step that then succeeds charges once and refunds nothing', async () => {
      const contentId = newContentId('script-retried');
      const handle = await start(contentId, {
        overrides: {
          writeScript: async (_input, ctx) => {
            if (ctx.info.attempt === 1) throw ApplicationFailure.create({ message: 'model overloaded (503)', nextRetryDelay: '10ms' });
            return { title: 'Second time lucky', sections: 3, source: 'writer' };
          },
        },
      });
      const result = await handle.result();
      assert.equal(result.step, 'ready', 'no channels: stays ready');
      assert.deepEqual(t.stubs.calls(contentId).filter((c) => c.name === 'writeScript').map((c) => c.attempt), [1, 2]);
      assert.equal(t.stubs.count(contentId, 'chargeCredit'), 1);
      assertSettled(contentId, { refunds: 0, outcome: 'completed', keepReady: true });
    });

    it('safety rejected: fails with SafetyRejected and the flags, refunded', async () => {
      const contentId = newContentId('unsafe');
      const flags = [{ code: 'medical_claim', severity: 'high' as const, message: 'promises a cure' }];
      const handle = await start(contentId, { overrides: { checkSafety: async () => ({ passed: false, score: 0.91, flags }) } });
      const err = await workflowFailure(handle);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'SafetyRejected');
      assert.equal(err.cause.nonRetryable, true);
      assert.deepEqual(err.cause.details, [flags]);
      assert.match(err.cause.message, /safety check failed \(score 0\.91\): medical_claim/);
      assert.equal(t.stubs.count(contentId, 'synthesizeSpeech'), 0);
      assertSettled(contentId, { refunds: 1, refundReason: /safety check failed/, outcome: 'failed', keepReady: false, error: /medical_claim/ });
    });

    it('speech fails: refunded, nothing rendered', async () => {
      const contentId = newContentId('tts-fails');
      const handle = await start(contentId, {
        overrides: {
          synthesizeSpeech: async () => {
            throw ApplicationFailure.nonRetryable('voice not available for ko-KR', 'VoiceUnavailable');
          },
        },
      });
      await workflowFailure(handle);
      assert.equal(t.stubs.count(contentId, 'renderVideo'), 0);
      assert.equal(t.stubs.count(contentId, 'synthesizeSpeech'), 1);
      assertSettled(contentId, { refunds: 1, refundReason: /voice not available/, outcome: 'failed', keepReady: false, error: /voice not available/ });
    });

    it('speech fails: the scene images are cancelled, and the run cleans up once they have stopped', async () => {
      const contentId = newContentId('tts-fails-images-stop');
      const gate = new Gate();
      let stoppedAt = Infinity;
      const handle = await start(contentId, {
        overrides: {
          synthesizeSpeech: async () => {
            await t.stubs.called(contentId, 'createSceneImages');
            throw ApplicationFailure.nonRetryable('voice not available for ko-KR', 'VoiceUnavailable');
          },
          createSceneImages: async (_input, ctx) => {
            try {
              await gate.pass(ctx);
              return { imageKeys: [] };
            } catch (err) {
              await new Promise((resolve) => setTimeout(resolve, 500));
              stoppedAt = Date.now();
              throw err;
            }
          },
        },
      }, { mediaHeartbeatTimeout: '5 seconds' });
      await workflowFailure(handle);
      const images = await t.stubs.called(contentId, 'createSceneImages');
      assert.equal(images.outcome, 'cancelled');
      assert.ok(t.stubs.calls(contentId).find((c) => c.name === 'refundCredit')!.at >= stoppedAt, 'refunded after the images stopped');
      assertSettled(contentId, { refunds: 1, refundReason: /voice not available/, outcome: 'failed', keepReady: false, error: /voice not available/ });
    });

    it('render fails: refunded, never marked ready', async () => {
      const contentId = newContentId('render-fails');
      const handle = await start(contentId, {
        overrides: {
          renderVideo: async () => {
            throw ApplicationFailure.nonRetryable('ffmpeg exited with 1: invalid filter graph', 'RenderFailed');
          },
        },
      });
      await workflowFailure(handle);
      assert.equal(t.stubs.count(contentId, 'markReadyForPublishing'), 0);
      const render = t.stubs.inputs(contentId, 'renderVideo')[0]!;
      assert.equal(render.speech.audioKey, `${contentId}/voice.m4a`, 'the render gets the speech and images outputs');
      assert.equal(render.images.imageKeys.length, 3);
      assertSettled(contentId, { refunds: 1, refundReason: /invalid filter graph/, outcome: 'failed', keepReady: false, error: /invalid filter graph/ });
      assert.equal((await handle.query(progressQuery)).step, 'failed');
    });
  });

  describe('retries outlast a database or Redis failover', { concurrency: true }, () => {
    it('a 16-second database outage after the render: retried through it, the video is kept, no refund', async () => {
      const contentId = newContentId('outage');
      let outageEnds: number | undefined;
      const handle = await start(contentId, {
        overrides: {
          markReadyForPublishing: async () => {
            outageEnds ??= Date.now() + 16_000;
            if (Date.now() < outageEnds) throw ApplicationFailure.retryable('connect ECONNREFUSED 127.0.0.1:5432', 'SequelizeConnectionRefusedError');
            return { autoPublish: false, channels: [] };
          },
        },
      });
      const result = await handle.result();
      assert.equal(result.step, 'ready');
      const attempts = t.stubs.calls(contentId).filter((c) => c.name === 'markReadyForPublishing').map((c) => c.attempt);
      assert.ok(attempts.length > 5, `retried past the old five attempts: ${attempts.join(', ')}`);
      assertSettled(contentId, { refunds: 0, outcome: 'completed', keepReady: true });
    });

    it('every activity retries with backoff capped at 30 s for at least 10 minutes, not for a fixed number of attempts', async () => {
      const contentId = newContentId('policies');
      const handle = await start(contentId, { overrides: { writeScript: async () => {
        throw ApplicationFailure.nonRetryable('the model refused the topic', 'ScriptRefused');
      } } });
      await workflowFailure(handle);
      const history = await handle.fetchHistory();
      const scheduled = (history.events ?? []).flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes] : []));
      assert.deepEqual(scheduled.map((a) => a.activityType?.name), ['chargeCredit', 'writeScript', 'refundCredit', 'finishRun']);
      for (const activity of scheduled) {
        const name = activity.activityType?.name;
        assert.equal(activity.retryPolicy?.maximumAttempts ?? 0, 0, `${name}: no attempt cap`);
        assert.ok(Number(activity.retryPolicy?.maximumInterval?.seconds) <= 30, `${name}: backoff capped at 30 s`);
        assert.ok(Number(activity.scheduleToCloseTimeout?.seconds) >= 600, `${name}: retried for at least 10 minutes`);
      }
      assert.equal(t.stubs.count(contentId, 'writeScript'), 1, 'a non-retryable error still fails at once');
    });
  });

  describe('cancellation refunds unless something was published', { concurrency: true }, () => {
    it('the cancel signal during the render: the render is cancelled, refunded once, the run ends "cancelled"', async () => {
      const contentId = newContentId('cancel-render');
      const gate = new Gate();
      const handle = await start(contentId, { channels: ['ch-1'], overrides: { renderVideo: gated(gate, { videoKey: 'v', thumbnailKey: 't', durationSec: 1 }) } });
      await t.stubs.called(contentId, 'renderVideo');
      await handle.signal(cancelSignal, { reason: 'changed my mind' });
      const result = await handle.result();
      assert.equal(result.step, 'cancelled');
      assert.equal(result.error, 'cancelled');
      assertSettled(contentId, { refunds: 1, refundReason: /^cancelled$/, outcome: 'cancelled', keepReady: false, error: /^cancelled$/ });
      assert.equal(t.stubs.count(contentId, 'markReadyForPublishing'), 0);
      // The cancellation reaches the media activity on its next heartbeat (its ffmpeg would be killed).
      const render = await t.stubs.called(contentId, 'renderVideo');
      await eventually('the render stub to see the cancellation', async () => render.outcome === 'cancelled', 5_000);
      assert.equal((await handle.describe()).status.name, 'COMPLETED', 'a cancel signal ends the workflow normally');
    });

    it("the workflow's own cancellation during the render: refunded once, then the workflow is cancelled", async () => {
      const contentId = newContentId('cancel-wf');
      const gate = new Gate();
      const handle = await start(contentId, { overrides: { renderVideo: gated(gate, { videoKey: 'v', thumbnailKey: 't', durationSec: 1 }) } });
      await t.stubs.called(contentId, 'renderVideo');
      await handle.cancel();
      const err = await workflowFailure(handle);
      assert.ok(err.cause instanceof CancelledFailure, String(err.cause));
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
      assertSettled(contentId, { refunds: 1, refundReason: /^cancelled$/, outcome: 'cancelled', keepReady: false, error: /^cancelled$/ });
      assert.equal((await handle.query(progressQuery)).step, 'cancelled');
      const render = await t.stubs.called(contentId, 'renderVideo');
      await eventually('the render stub to see the cancellation', async () => render.outcome === 'cancelled', 5_000);
    });

    it('the cleanup waits until the cancelled render has stopped', async () => {
      const contentId = newContentId('cancel-waits');
      const gate = new Gate();
      let stoppedAt = Infinity;
      const handle = await start(contentId, {
        overrides: {
          renderVideo: async (_input, ctx) => {
            try {
              await gate.pass(ctx);
              return { videoKey: 'v', thumbnailKey: 't', durationSec: 1 };
            } catch (err) {
              await new Promise((resolve) => setTimeout(resolve, 1500)); // ffmpeg closing its output after SIGINT
              stoppedAt = Date.now();
              throw err;
            }
          },
        },
      }, { mediaHeartbeatTimeout: '5 seconds' });
      await t.stubs.called(contentId, 'renderVideo');
      await handle.cancel();
      await workflowFailure(handle);
      const refund = await t.stubs.called(contentId, 'refundCredit');
      assert.ok(refund.at >= stoppedAt, `refunded ${refund.at - stoppedAt} ms after the render stopped`);
      assertSettled(contentId, { refunds: 1, refundReason: /^cancelled$/, outcome: 'cancelled', keepReady: false, error: /^cancelled$/ });
    });

    it('a render whose worker died is cancelled all the same: it times out, the run ends cancelled and refunded', async () => {
      const contentId = newContentId('cancel-dead-worker');
      let alive = true;
      const handle = await start(contentId, {
        overrides: {
          renderVideo: async (_input, ctx) => {
            while (alive) {
              ctx.heartbeat();
              await new Promise((resolve) => setTimeout(resolve, 100));
            }
            await new Promise((resolve) => setTimeout(resolve, 5000));
            return { videoKey: 'v', thumbnailKey: 't', durationSec: 1 };
          },
        },
      });
      await t.stubs.called(contentId, 'renderVideo');
      alive = false;
      await handle.cancel();
      const err = await workflowFailure(handle);
      assert.ok(err.cause instanceof CancelledFailure, String(err.cause));
      assert.equal((await handle.describe()).status.name, 'CANCELLED');
      assertSettled(contentId, { refunds: 1, refundReason: /^cancelled$/, outcome: 'cancelled', keepReady: false, error: /^cancelled$/ });
      assert.equal((await handle.query(progressQuery)).step, 'cancelled');
    });

    it('the cancel signal after the render, while awaiting approval: nothing published, so refunded once', async () => {
      const contentId = newContentId('cancel-ready');
      const handle = await start(contentId, { channels: ['ch-1'] });
      await waitForStep(handle, 'awaiting_approval');
      await handle.signal(cancelSignal);
      const result = await handle.result();
      assert.equal(result.step, 'cancelled');
      assert.deepEqual(result.published, []);
      assertSettled(contentId, { refunds: 1, refundReason: /^cancelled$/, outcome: 'cancelled', keepReady: false, error: /^cancelled$/ });
      assert.equal(t.stubs.count(contentId, 'preparePublication'), 0);
    });

    /** Two channels on auto-publish; ch-slow's upload waits at `slow` (heartbeating) until opened or cancelled. */
    function slowPublishing(slow: Gate, fastChannels: string[]): Scenario {
      return {
        channels: [...fastChannels, 'ch-slow'],
        autoPublish: true,
        overrides: {
          uploadToChannel: async ({ contentId: id, channelId, uploadId }, ctx) => {
            if (channelId === 'ch-slow') await slow.pass(ctx);
            return { uploadId, platformVideoId: `vid-${channelId}`, url: videoUrl(id, channelId) };
          },
        },
      };
    }

    it('the cancel signal while publishing, after one channel was published: the credit stays spent', async () => {
      const contentId = newContentId('cancel-publishing');
      const slow = new Gate();
      const handle = await start(contentId, slowPublishing(slow, ['ch-fast']));
      try {
        await t.stubs.called(contentId, 'uploadToChannel', 2);
        await eventually('the fast upload to finish', async () => t.stubs.calls(contentId).some((c) => c.name === 'uploadToChannel' && c.outcome === 'completed'));
        await handle.signal(cancelSignal);
        const result = await handle.result();
        // The cancel reaches the unfinished child; the run still ends published on the channel that made it.
        assert.equal(result.step, 'published');
        assert.deepEqual(result.published.find((p) => p.channelId === 'ch-fast'), { channelId: 'ch-fast', url: videoUrl(contentId, 'ch-fast') });
        const cancelled = result.published.find((p) => p.channelId === 'ch-slow');
        assert.ok(cancelled && cancelled.url === undefined && 'error' in cancelled, `the cancelled channel: ${JSON.stringify(cancelled)}`);
        assert.deepEqual(t.stubs.inputs(contentId, 'markUploadFailed').map((i) => i.uploadId), [`upload:${contentId}:ch-slow`]);
        assertSettled(contentId, { refunds: 0, outcome: 'completed', keepReady: true });
      } finally {
        slow.open();
      }
    });

    it(
      'the cancel signal while publishing, before any channel was published: refunded once',
      async () => {
        const contentId = newContentId('cancel-publishing-none');
        const slow = new Gate();
        const handle = await start(contentId, slowPublishing(slow, []));
        try {
          await t.stubs.called(contentId, 'uploadToChannel');
          await handle.signal(cancelSignal);
          const result = await handle.result();
          assert.deepEqual(result.published.filter((p) => p.url), []);
          assert.equal(t.stubs.count(contentId, 'refundCredit'), 1, 'nothing was published: the credit comes back');
          assert.equal(result.step, 'cancelled');
        } finally {
          slow.open();
        }
      },
    );
  });

  describe('approval', { concurrency: true }, () => {
    it('reject: recorded with its reason, nothing published, no refund; a later approve is ignored', async () => {
      const contentId = newContentId('reject');
      const handle = await start(contentId, { channels: ['ch-1', 'ch-2'] });
      await waitForStep(handle, 'awaiting_approval');
      await handle.signal(rejectSignal, { reason: 'off-brand thumbnail' });
      await handle.signal(approveSignal);
      const result = await handle.result();
      assert.equal(result.step, 'rejected');
      assert.deepEqual(t.stubs.inputs(contentId, 'recordRejection'), [{ contentId, reason: 'off-brand thumbnail' }]);
      assert.equal(t.stubs.count(contentId, 'preparePublication'), 0);
      assertSettled(contentId, { refunds: 0, outcome: 'completed', keepReady: true });
    });

    it('approve with channel ids and a time: only those channels, each child gets scheduledAt and waits for it', async () => {
      const contentId = newContentId('approve');
      const handle = await start(contentId, { channels: ['ch-a', 'ch-b', 'ch-c'] });
      await waitForStep(handle, 'awaiting_approval');
      const scheduledAt = new Date(Date.now() + 1_500).toISOString();
      await handle.signal(approveSignal, { channelIds: ['ch-c', 'ch-a'], scheduledAt });
      const result = await handle.result();
      assert.equal(result.step, 'published');
      assert.deepEqual(
        t.stubs.inputs(contentId, 'preparePublication').sort((a, b) => a.channelId.localeCompare(b.channelId)),
        ['ch-a', 'ch-c'].map((channelId) => ({ contentId, channelId, scheduledAt, workflowId: `publish-${contentId}-${channelId}` })),
      );
      assert.deepEqual(
        [...result.published].sort((a, b) => a.channelId.localeCompare(b.channelId)),
        ['ch-a', 'ch-c'].map((channelId) => ({ channelId, url: videoUrl(contentId, channelId) })),
      );
      for (const upload of t.stubs.calls(contentId).filter((c) => c.name === 'uploadToChannel')) {
        assert.ok(upload.at >= Date.parse(scheduledAt) - 50, `uploaded at ${new Date(upload.at).toISOString()}, not before ${scheduledAt}`);
      }
      assert.equal(t.stubs.count(contentId, 'refreshChannelToken'), 2);
      assertSettled(contentId, { refunds: 0, outcome: 'completed', keepReady: true });
    });

    it('the default approval wait is a durable 7-day timer', async () => {
      const contentId = newContentId('approval-default');
      const handle = await start(contentId, { channels: ['ch-1'] });
      await waitForStep(handle, 'awaiting_approval');
      const history = await handle.fetchHistory();
      const timers = (history.events ?? []).filter((e) => e.timerStartedEventAttributes).map((e) => e.timerStartedEventAttributes!);
      assert.equal(timers.length, 1, 'one timer: the approval wait');
      assert.equal(Number(timers[0]!.startToFireTimeout?.seconds), SEVEN_DAYS_SEC);
      await handle.signal(rejectSignal);
      assert.equal((await handle.result()).step, 'rejected');
    });

    it('the approval wait times out: the video stays ready, unpublished, not refunded', async () => {
      const contentId = newContentId('approval-timeout');
      const handle = await start(contentId, { channels: ['ch-1'] }, { approvalTimeout: '1 second' });
      const result = await handle.result();
      assert.equal(result.step, 'ready');
      assert.equal(result.percent, 100);
      assert.deepEqual(result.published, []);
      assert.equal(t.stubs.count(contentId, 'recordRejection'), 0);
      assert.equal(t.stubs.count(contentId, 'preparePublication'), 0);
      assertSettled(contentId, { refunds: 0, outcome: 'completed', keepReady: true });
      const history = await handle.fetchHistory();
      assert.ok((history.events ?? []).some((e) => e.timerFiredEventAttributes), 'the approval timer fired');
    });
  });

  describe('publishing', { concurrency: true }, () => {
    /** Auto-publish to ch-ok and ch-bad; ch-bad's upload fails for good with `reason`. */
    function oneBadChannel(reason: string, channels = ['ch-ok', 'ch-bad']): Scenario {
      return {
        channels,
        autoPublish: true,
        overrides: {
          uploadToChannel: async ({ contentId: id, channelId, uploadId }) => {
            if (channelId === 'ch-bad') throw ApplicationFailure.nonRetryable(reason, 'QuotaExceeded');
            return { uploadId, platformVideoId: `vid-${channelId}`, url: videoUrl(id, channelId) };
          },
        },
      };
    }

    it('one channel of two fails: published, the failed channel carries an error, no refund', async () => {
      const contentId = newContentId('partial');
      const handle = await start(contentId, oneBadChannel('upload quota exceeded for today'));
      const result = await handle.result();
      assert.equal(result.step, 'published');
      assert.equal(result.published.length, 2);
      const [ok, bad] = result.published;
      assert.deepEqual(ok, { channelId: 'ch-ok', url: videoUrl(contentId, 'ch-ok') });
      assert.equal(bad?.channelId, 'ch-bad');
      assert.equal(bad?.url, undefined);
      assert.ok(bad?.error, 'the failed channel has an error');
      assert.deepEqual(await handle.query(progressQuery), { step: 'published', percent: 100, published: result.published });
      assert.deepEqual(t.stubs.inputs(contentId, 'markUploadFailed'), [{ uploadId: `upload:${contentId}:ch-bad`, error: 'upload quota exceeded for today' }]);
      assertSettled(contentId, { refunds: 0, outcome: 'completed', keepReady: true });
    });

    it(
      "a failed channel's error names the platform's reason",
      async () => {
        const contentId = newContentId('partial-reason');
        const result = await (await start(contentId, oneBadChannel('upload quota exceeded for today'))).result();
        assert.match(result.published.find((p) => p.channelId === 'ch-bad')?.error ?? '', /upload quota exceeded for today/);
      },
    );

    it('every channel fails: the video stays ready, no refund', async () => {
      const contentId = newContentId('all-fail');
      const handle = await start(contentId, oneBadChannel('channel suspended', ['ch-bad']));
      const result = await handle.result();
      assert.equal(result.step, 'ready');
      assert.equal(result.published.length, 1);
      assert.equal(result.published[0]?.url, undefined);
      assert.ok(result.published[0]?.error);
      assertSettled(contentId, { refunds: 0, outcome: 'completed', keepReady: true });
    });
  });

  it('the progress query reports each step as the production moves; media runs on the media task queue', async () => {
    const contentId = newContentId('progress');
    const gates = {
      chargeCredit: new Gate(),
      writeScript: new Gate(),
      checkSafety: new Gate(),
      synthesizeSpeech: new Gate(),
      renderVideo: new Gate(),
      uploadToChannel: new Gate(),
    };
    const handle = await start(contentId, {
      channels: ['ch-1'],
      overrides: {
        chargeCredit: gated(gates.chargeCredit, { subscriptionId: 's', transactionId: 'tx', balance: 1, applied: true }),
        writeScript: gated(gates.writeScript, { title: 'T', sections: 2, source: 'writer' }),
        checkSafety: gated(gates.checkSafety, { passed: true, score: 0, flags: [] }),
        synthesizeSpeech: gated(gates.synthesizeSpeech, { audioKey: 'a', manifestKey: 'm', durationSec: 3 }),
        renderVideo: gated(gates.renderVideo, { videoKey: 'v', thumbnailKey: 't', durationSec: 3 }),
        uploadToChannel: gated(gates.uploadToChannel, { uploadId: 'u', platformVideoId: 'p', url: videoUrl(contentId, 'ch-1') }),
      },
    });
    const steps: [keyof typeof gates, ProductionProgress['step'], number][] = [
      ['chargeCredit', 'charging', 2],
      ['writeScript', 'script', 10],
      ['checkSafety', 'safety', 20],
      ['synthesizeSpeech', 'media', 35],
      ['renderVideo', 'render', 60],
    ];
    for (const [activity, step, percent] of steps) {
      await t.stubs.called(contentId, activity);
      const progress = await handle.query(progressQuery);
      assert.deepEqual({ step: progress.step, percent: progress.percent }, { step, percent }, `while ${activity} runs`);
      gates[activity].open();
    }
    assert.deepEqual(await waitForStep(handle, 'awaiting_approval'), { step: 'awaiting_approval', percent: 95, published: [] });
    await handle.signal(approveSignal);
    await t.stubs.called(contentId, 'uploadToChannel');
    assert.equal((await handle.query(progressQuery)).step, 'publishing');
    assert.equal((await handle.query(progressQuery)).percent, 97);
    gates.uploadToChannel.open();
    const result = await handle.result();
    assert.deepEqual(result, { contentId, step: 'published', percent: 100, published: [{ channelId: 'ch-1', url: videoUrl(contentId, 'ch-1') }] });
    assert.deepEqual(await handle.query(progressQuery), { step: 'published', percent: 100, published: result.published });
    assert.equal((await handle.describe()).typedSearchAttributes.get(PipelineStepKey), 'published');

    const queues = new Map(t.stubs.calls(contentId).map((c) => [c.name, c.taskQueue]));
    for (const name of ['synthesizeSpeech', 'createSceneImages', 'renderVideo'] as const) assert.equal(queues.get(name), t.mediaTaskQueue, name);
    for (const name of ['chargeCredit', 'writeScript', 'checkSafety', 'markReadyForPublishing', 'uploadToChannel', 'finishRun'] as const) assert.equal(queues.get(name), t.taskQueue, name);
  });
});
