import type { SpokenWord } from '../captions';
import type { SubtitleCue } from '../types';
import type { VoicePart } from './voice-command';

/**
 * The timeline of a voice track the speech engines build from separately synthesized pieces:
 * where each piece, cue and segment (scene) falls once the pauses are added.
 */

/** A synthesized piece of one segment. */
export interface TimedPiece {
  segment: number;
  wavPath: string;
  durationSec: number;
  /** Its subtitle cues and its words, timed from the piece's start. */
  cues: readonly SubtitleCue[];
  words: readonly SubtitleCue[];
  /** The pause after it when it is not its segment's last piece. */
  pauseAfterSec: number;
}

export interface VoiceTimeline {
  parts: VoicePart[];
  cues: SubtitleCue[];
  words: SpokenWord[];
  segments: { startSec: number; endSec: number }[];
  durationSec: number;
}

export function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The pieces of each segment one after another, each followed by its pause and a segment's last
 * piece by the segment pause; a segment without pieces is a silence.
 */
export function voiceTimeline(segmentCount: number, pieces: readonly TimedPiece[], pauses: { segmentPauseSec: number; silentSegmentSec: number }): VoiceTimeline {
  const parts: VoicePart[] = [];
  const cues: SubtitleCue[] = [];
  const words: SpokenWord[] = [];
  const segments: { startSec: number; endSec: number }[] = [];
  let cursor = 0;
  for (let segment = 0; segment < segmentCount; segment++) {
    const startSec = cursor;
    const ofSegment = pieces.filter((piece) => piece.segment === segment);
    if (ofSegment.length === 0) {
      parts.push({ kind: 'silence', durationSec: pauses.silentSegmentSec });
      cursor += pauses.silentSegmentSec;
    }
    for (const [position, piece] of ofSegment.entries()) {
      const pauseAfterSec = position === ofSegment.length - 1 ? pauses.segmentPauseSec : piece.pauseAfterSec;
      parts.push({ kind: 'speech', path: piece.wavPath, pauseAfterSec });
      for (const cue of piece.cues) cues.push({ startSec: round3(cursor + cue.startSec), endSec: round3(cursor + cue.endSec), text: cue.text });
      for (const word of piece.words) words.push({ text: word.text, startSec: round3(cursor + word.startSec), endSec: round3(cursor + word.endSec), segment });
      cursor += piece.durationSec + pauseAfterSec;
    }
    segments.push({ startSec: round3(startSec), endSec: round3(cursor) });
  }
  return { parts, cues, words, segments, durationSec: cursor };
}
