import type { SubtitleCue } from './types';

/**
 * Text preparation shared by speech, cards and subtitles: cleaning, sentence splitting and line
 * wrapping by estimated display width (Hangul and other CJK glyphs are about twice as wide as
 * Latin letters, so counting characters would overflow Korean lines).
 */

/** Emoji and their joiners: espeak-ng reads out their names and CJK fonts draw them as boxes. */
const PICTOGRAPHS = /\p{Extended_Pictographic}|\p{Regional_Indicator}|\p{Emoji_Modifier}|\u200D|\uFE0E|\uFE0F|\u20E3/gu;
// Control characters other than newline would reach espeak-ng and the ASS files.
// eslint-disable-next-line no-control-regex
const CONTROLS = /[\u0000-\u0009\u000B-\u001F\u007F]/g;

/** NFC-normalised text without emoji or control characters, spaces collapsed, lines kept. */
export function cleanText(text: string): string {
  return text
    .normalize('NFC')
    .replace(PICTOGRAPHS, '')
    .replace(CONTROLS, ' ')
    .split(/\r?\n/)
    .map((line) => line.replace(/\s+/g, ' ').trim())
    .filter((line) => line.length > 0)
    .join('\n');
}

const SENTENCE_END = /(?<=[.!?。！？…]+["'”’)\]]*)\s+/u;
// Spoken Korean sentence endings, for scripts written without punctuation.
const KOREAN_ENDING = /(?<=(?:니다|세요|어요|아요|에요|예요|네요|까요|해요|군요|지요|죠))\s+/u;

/** Splits at sentence punctuation (Latin and CJK), at Korean sentence endings and at newlines. */
export function splitSentences(text: string): string[] {
  return cleanText(text)
    .split('\n')
    .flatMap((line) => line.split(SENTENCE_END))
    .flatMap((sentence) => sentence.split(KOREAN_ENDING))
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence.length > 0);
}

/** Hangul, CJK ideographs, kana and full-width forms: about one em wide in a CJK font. */
function isWide(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return (
    (code >= 0x1100 && code <= 0x11ff) ||
    (code >= 0x2e80 && code <= 0xa4cf) ||
    (code >= 0xa960 && code <= 0xa97f) ||
    (code >= 0xac00 && code <= 0xd7ff) ||
    (code >= 0xf900 && code <= 0xfaff) ||
    (code >= 0xfe30 && code <= 0xfe4f) ||
    (code >= 0xff00 && code <= 0xff60) ||
    (code >= 0xffe0 && code <= 0xffe6) ||
    (code >= 0x20000 && code <= 0x3fffd)
  );
}

/** Estimated advance width in em for Noto Sans CJK: wide glyphs 1, spaces 0.25, the rest 0.56. */
export function textWidthEm(text: string): number {
  let width = 0;
  for (const char of text) width += isWide(char) ? 1 : char === ' ' ? 0.25 : 0.56;
  return width;
}

/** A word longer than a line is cut into pieces that fit. */
function splitLongWord(word: string, maxEm: number): string[] {
  const pieces: string[] = [];
  let piece = '';
  for (const char of word) {
    if (piece && textWidthEm(piece + char) > maxEm) {
      pieces.push(piece);
      piece = '';
    }
    piece += char;
  }
  if (piece) pieces.push(piece);
  return pieces;
}

function greedyWrap(words: string[], limitEm: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of words) {
    const candidate = line ? `${line} ${word}` : word;
    if (line && textWidthEm(candidate) > limitEm) {
      lines.push(line);
      line = word;
    } else {
      line = candidate;
    }
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * Wraps at spaces into lines no wider than `maxEm`, balanced so that the last line is not a
 * lone word: the fewest lines greedy wrapping needs, at the narrowest width that still needs no more.
 */
export function wrapLines(text: string, maxEm: number): string[] {
  const words = cleanText(text)
    .split(/\s+/)
    .filter((word) => word.length > 0)
    .flatMap((word) => splitLongWord(word, maxEm));
  if (words.length === 0) return [];
  const lineCount = greedyWrap(words, maxEm).length;
  const total = textWidthEm(words.join(' '));
  for (let limit = Math.min(maxEm, total / lineCount); limit < maxEm; limit += 0.25) {
    const lines = greedyWrap(words, limit);
    if (lines.length <= lineCount && lines.every((line) => textWidthEm(line) <= maxEm)) return lines;
  }
  return greedyWrap(words, maxEm);
}

/** Subtitle lines for a short vertical video: about 16 Hangul or 28 Latin characters each. */
const SUBTITLE_LINE_EM = 16;

/** One subtitle line per entry: sentences first, then each sentence wrapped. */
export function subtitleLines(text: string, maxEm = SUBTITLE_LINE_EM): { text: string; endsSentence: boolean }[] {
  return splitSentences(text).flatMap((sentence) => {
    const lines = wrapLines(sentence, maxEm);
    return lines.map((line, index) => ({ text: line, endsSentence: index === lines.length - 1 }));
  });
}

/**
 * Cues from any speech provider made to fit one subtitle line each: emoji dropped, empty cues
 * removed, and a long cue split into lines that share its time in proportion to their width.
 */
export function fitCues(cues: readonly SubtitleCue[], maxEm = SUBTITLE_LINE_EM): SubtitleCue[] {
  return cues.flatMap((cue) => {
    const lines = wrapLines(cue.text, maxEm);
    const total = lines.reduce((sum, line) => sum + textWidthEm(line), 0);
    let startSec = cue.startSec;
    return lines.map((text) => {
      const endSec = startSec + ((cue.endSec - cue.startSec) * textWidthEm(text)) / total;
      const fitted = { startSec: Math.round(startSec * 1000) / 1000, endSec: Math.round(endSec * 1000) / 1000, text };
      startSec = endSec;
      return fitted;
    });
  });
}
