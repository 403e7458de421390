import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { captionsStep, renderStep, speechStep } from '../../workflows';
import { stepWorkflowId } from '../../workflows/single-step';
import { Gate, startWorkflowTestEnv, type Scenario, type WorkflowTestEnv } from '../support/workflow-env';
import { workflowFailure } from '../support/wait';

/**
 * The single steps' workflows with stub activities on real workers (no stack): what each runs, in
 * which order and on which queue, the credit taken by the paid ones and given back exactly once on
 * every failure and cancellation, and the row's end recorded last.
 */
describe('single step workflows (stub activities)', { concurrency: true }, () => {
  let t: WorkflowTestEnv;

  before(async () => {
    t = await startWorkflowTestEnv('single-step');
  });
  after(async () => {
    await t?.close();
  });

  function newContentId(label: string): string {
    return `${label}-${randomBytes(4).toString('hex')}`;
  }

  async function start<W extends typeof speechStep | typeof captionsStep | typeof renderStep>(
    workflow: W,
    contentId: string,
    scenario: Scenario = {},
    extra: Record<string, unknown> = {},
  ): Promise<WorkflowHandle<W>> {
    t.stubs.scenario(contentId, scenario);
    return t.client.workflow.start(workflow, {
      taskQueue: t.taskQueue,
      workflowId: stepWorkflowId(contentId),
      // A short heartbeat timeout so a cancellation reaches a running media stub within a second.
      args: [{ contentId, mediaTaskQueue: t.mediaTaskQueue, mediaHeartbeatTimeout: '1 second', ...extra }],
    } as never) as Promise<WorkflowHandle<W>>;
  }

  const names = (contentId: string) => t.stubs.calls(contentId).map((c) => c.name);

  /** The one finishStep call, last of all, with the outcome and error expected. */
  function assertFinished(contentId: string, outcome: 'completed' | 'failed' | 'cancelled', error?: RegExp): void {
    const finishes = t.stubs.inputs(contentId, 'finishStep');
    assert.equal(finishes.length, 1, JSON.stringify(finishes));
    assert.equal(finishes[0]!.outcome, outcome);
    if (error) assert.match(finishes[0]!.error ?? '', error);
    else assert.equal(finishes[0]!.error, undefined);
    assert.equal(t.stubs.calls(contentId).at(-1)?.name, 'finishStep');
  }

  it('a speech step takes one credit named after its workflow and run, speaks on the media queue and ends completed', async () => {
    const contentId = newContentId('speech');
    const handle = await start(speechStep, contentId);
    const result = await handle.result();
    assert.equal(result.durationSec, 21.5);
    assert.deepEqual(names(contentId), ['chargeCredit', 'synthesizeSpeech', 'finishStep']);
    assert.deepEqual(t.stubs.inputs(contentId, 'chargeCredit'), [{ contentId, reference: (await handle.describe()).runId, workflow: 'speechStep' }]);
    assert.equal(t.stubs.calls(contentId)[1]!.taskQueue, t.mediaTaskQueue);
    assertFinished(contentId, 'completed');
  });

  it('a render over an uploaded voice measures it, then makes the scene images and renders; over a speech it renders that speech', async () => {
    const uploaded = newContentId('render-voice');
    await (await start(renderStep, uploaded, {}, { audioKey: 'orgs/o/projects/p/uploads/voice.wav' })).result();
    assert.deepEqual(names(uploaded), ['chargeCredit', 'measureUploadedVoice', 'createSceneImages', 'renderVideo', 'finishStep']);
    assert.equal(t.stubs.inputs(uploaded, 'renderVideo')[0]!.speech.manifestKey, `${uploaded}/voice.json`);

    const spoken = newContentId('render-speech');
    const speech = { audioKey: 'speech/voice.m4a', manifestKey: 'speech/speech.json', durationSec: 8 };
    await (await start(renderStep, spoken, {}, { speech })).result();
    assert.deepEqual(names(spoken), ['chargeCredit', 'createSceneImages', 'renderVideo', 'finishStep']);
    assert.deepEqual(t.stubs.inputs(spoken, 'renderVideo')[0]!.speech, speech);
    assertFinished(spoken, 'completed');
  });

  it('a captions step takes no credit and gives none back when it fails', async () => {
    const contentId = newContentId('captions');
    const handle = await start(captionsStep, contentId, {
      overrides: {
        writeCaptions: async () => {
          throw ApplicationFailure.nonRetryable('there are no words to caption', 'NoWords');
        },
      },
    });
    await workflowFailure(handle);
    assert.deepEqual(names(contentId), ['writeCaptions', 'finishStep']);
    assertFinished(contentId, 'failed', /no words to caption/);
  });

  it('a failing render gives the credit back once, with the reason, before the row ends failed', async () => {
    const contentId = newContentId('render-fails');
    const handle = await start(renderStep, contentId, {
      overrides: {
        renderVideo: async () => {
          throw ApplicationFailure.nonRetryable("the creator's media of scene 1 is no longer in the bucket", 'UserMediaMissing');
        },
      },
    }, { speech: { audioKey: 'a.m4a', manifestKey: 'a.json', durationSec: 3 } });
    await workflowFailure(handle);
    assert.deepEqual(names(contentId), ['chargeCredit', 'createSceneImages', 'renderVideo', 'refundCredit', 'finishStep']);
    assert.match(t.stubs.inputs(contentId, 'refundCredit')[0]!.reason, /no longer in the bucket/);
    assertFinished(contentId, 'failed', /no longer in the bucket/);
  });

  it('NoCredits fails at once: nothing else runs, and the refund it asks for finds nothing to give back', async () => {
    const contentId = newContentId('no-credits');
    const handle = await start(speechStep, contentId, {
      overrides: {
        chargeCredit: async () => {
          throw ApplicationFailure.nonRetryable('no credits left in the current period of the subscription', 'NoCredits');
        },
      },
    });
    await workflowFailure(handle);
    assert.deepEqual(names(contentId), ['chargeCredit', 'refundCredit', 'finishStep']);
    assertFinished(contentId, 'failed', /no credits left/);
  });

  it('a cancellation stops the running media activity, gives the credit back once and ends the row cancelled', async () => {
    const contentId = newContentId('cancelled');
    const gate = new Gate();
    const handle = await start(speechStep, contentId, {
      overrides: {
        synthesizeSpeech: async (_input, ctx) => {
          await gate.pass(ctx);
          return { audioKey: 'never', manifestKey: 'never', durationSec: 1 };
        },
      },
    });
    await t.stubs.called(contentId, 'synthesizeSpeech');
    await handle.cancel();
    const err = await workflowFailure(handle);
    assert.ok(err.cause instanceof CancelledFailure, String(err.cause));
    assert.equal(t.stubs.calls(contentId).find((c) => c.name === 'synthesizeSpeech')?.outcome, 'cancelled', 'the activity stopped before the cleanup');
    assert.deepEqual(names(contentId), ['chargeCredit', 'synthesizeSpeech', 'refundCredit', 'finishStep']);
    assert.equal(t.stubs.inputs(contentId, 'refundCredit')[0]!.reason, 'cancelled');
    assertFinished(contentId, 'cancelled', /^cancelled$/);
  });
});
