import type { CaptionsOutput, SpeechOutput } from '../activities/media';
import { runSingleStep, stepMediaActivities, type StepInput } from './single-step';

export interface CaptionsStepInput extends StepInput {
  /** The speech step whose word timings are captioned; without it, the words of the row's request. */
  speech?: SpeechOutput;
}

/** Captions alone: word timings grouped into the template's captions, as SubRip, WebVTT and ASS in S3. */
export async function captionsStep(input: CaptionsStepInput): Promise<CaptionsOutput> {
  const { contentId, speech } = input;
  return runSingleStep(input, 'captions', () => stepMediaActivities(input).writeCaptions({ contentId, ...(speech ? { speech } : {}) }));
}
