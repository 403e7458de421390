import type { SpeechOutput } from '../activities/media';
import { runSingleStep, stepMediaActivities, type StepInput } from './single-step';

/** Text to speech alone: the row's segments spoken, the audio and its word timings kept in S3. */
export async function speechStep(input: StepInput): Promise<SpeechOutput> {
  return runSingleStep(input, 'speech', () => stepMediaActivities(input).synthesizeSpeech({ contentId: input.contentId }));
}
