import { ApplicationFailure } from '@temporalio/workflow';
import type { RenderOutput, SpeechOutput } from '../activities/media';
import { runSingleStep, stepMediaActivities, type StepInput } from './single-step';

export interface RenderStepInput extends StepInput {
  /** The voice: a speech step's (its scene timings and words too) … */
  speech?: SpeechOutput;
  /** … or an audio upload of the project, timed by the scene lengths of the row's request. */
  audioKey?: string;
}

/**
 * A render of a scene list alone: the row's scenes (the creator's pictures and clips, the images
 * provider's for the others) over the voice, in the project's template, to an MP4, its thumbnail
 * and, when the voice has word timings, its captions as WebVTT.
 */
export async function renderStep(input: RenderStepInput): Promise<RenderOutput> {
  const { contentId, audioKey } = input;
  return runSingleStep(input, 'render', async () => {
    const media = stepMediaActivities(input);
    const speech = input.speech ?? (audioKey ? await media.measureUploadedVoice({ contentId, audioKey }) : undefined);
    if (!speech) throw ApplicationFailure.nonRetryable('a render step needs a speech step or an audio upload as its voice', 'NoVoice');
    const images = await media.createSceneImages({ contentId });
    return media.renderVideo({ contentId, speech, images });
  });
}
