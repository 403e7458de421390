import { subtitleLines } from '../text-layout';
import type { SubtitleCue } from '../types';
import { round3 } from './voice-timeline';

/**
 * Subtitle cues from a speech provider's character timings (ElevenLabs' `alignment`): the text is
 * cut into the same subtitle lines the offline voice speaks one by one, and each line is timed by
 * the characters it holds.
 */

/** When each character of a text is spoken: parallel arrays of the same length. */
export interface CharacterAlignment {
  characters: string[];
  startSec: number[];
  endSec: number[];
}

function isSpace(char: string): boolean {
  return char.trim() === '';
}

function nonSpaceCount(text: string): number {
  return [...text].filter((char) => !isSpace(char)).length;
}

/**
 * The subtitle lines of `text` (sentences, wrapped to one line each) timed from the start of their
 * first character to the end of their last, within audio `durationSec` long. Characters are
 * matched by position among the non-space ones; when the provider counted them differently (a
 * normalised text), positions are mapped proportionally. Cues stay inside the audio, in order and
 * without overlap.
 */
export function alignmentCues(text: string, alignment: CharacterAlignment, durationSec: number): SubtitleCue[] {
  const spoken = alignment.characters.flatMap((char, index) => (isSpace(char) ? [] : [index]));
  const lines = subtitleLines(text).map((line) => ({ text: line.text, size: nonSpaceCount(line.text) }));
  const total = lines.reduce((sum, line) => sum + line.size, 0);
  if (spoken.length === 0 || total === 0) return [];

  const spokenIndex = (position: number): number => Math.round((position * spoken.length) / total);
  let position = 0;
  let previousEndSec = 0;
  return lines.map((line) => {
    const first = Math.min(spokenIndex(position), spoken.length - 1);
    const last = Math.max(first, spokenIndex(position + line.size) - 1);
    position += line.size;
    const indexes = spoken.slice(first, last + 1);
    const start = Math.min(...indexes.map((index) => alignment.startSec[index] as number));
    const end = Math.max(...indexes.map((index) => alignment.endSec[index] as number));
    const startSec = Math.min(Math.max(start, previousEndSec), durationSec);
    const endSec = Math.min(Math.max(end, startSec), durationSec);
    previousEndSec = endSec;
    return { startSec: round3(startSec), endSec: round3(endSec), text: line.text };
  });
}
