import { splitWords } from '../captions';
import { subtitleLines } from '../text-layout';
import type { Language, SubtitleCue } from '../types';
import { round3 } from './voice-timeline';

/**
 * Subtitle cues and words from a speech provider's character timings (ElevenLabs' `alignment`):
 * the text is cut into the same subtitle lines the offline voice speaks one by one (or into its
 * words), and each piece is timed by the characters it holds.
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

/** Pieces of a text (lines or words) timed by the characters they hold; see `alignmentCues`. */
function timedPieces(pieces: readonly string[], alignment: CharacterAlignment, durationSec: number): SubtitleCue[] {
  const spoken = alignment.characters.flatMap((char, index) => (isSpace(char) ? [] : [index]));
  const sized = pieces.map((text) => ({ text, size: nonSpaceCount(text) }));
  const total = sized.reduce((sum, piece) => sum + piece.size, 0);
  if (spoken.length === 0 || total === 0) return [];

  const spokenIndex = (position: number): number => Math.round((position * spoken.length) / total);
  let position = 0;
  let previousEndSec = 0;
  return sized.map((piece) => {
    const first = Math.min(spokenIndex(position), spoken.length - 1);
    const last = Math.max(first, spokenIndex(position + piece.size) - 1);
    position += piece.size;
    const indexes = spoken.slice(first, last + 1);
    const start = Math.min(...indexes.map((index) => alignment.startSec[index] as number));
    const end = Math.max(...indexes.map((index) => alignment.endSec[index] as number));
    const startSec = Math.min(Math.max(start, previousEndSec), durationSec);
    const endSec = Math.min(Math.max(end, startSec), durationSec);
    previousEndSec = endSec;
    return { startSec: round3(startSec), endSec: round3(endSec), text: piece.text };
  });
}

/**
 * The subtitle lines of `text` (sentences, wrapped to one line each) timed from the start of their
 * first character to the end of their last, within audio `durationSec` long. Characters are
 * matched by position among the non-space ones; when the provider counted them differently (a
 * normalised text), positions are mapped proportionally. Cues stay inside the audio, in order and
 * without overlap.
 */
export function alignmentCues(text: string, alignment: CharacterAlignment, durationSec: number): SubtitleCue[] {
  return timedPieces(
    subtitleLines(text).map((line) => line.text),
    alignment,
    durationSec,
  );
}

/** The words of `text` timed like `alignmentCues` times lines: from their first character's start to their last one's end. */
export function alignmentWords(text: string, language: Language, alignment: CharacterAlignment, durationSec: number): SubtitleCue[] {
  return timedPieces(splitWords(text, language), alignment, durationSec);
}
