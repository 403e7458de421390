import type { Language, SubtitleCue } from '../types';
import { cleanText, textWidthEm } from '../text-layout';
import { assColor, assDocument, assText, assTime } from '../render/titles';

/**
 * Captions that follow the voice word by word. The speech engines time each word (ElevenLabs from
 * its character alignment, espeak-ng from the pauses measured in each line's audio); speech
 * recorded before that has only timed lines, which `spokenWords` cuts into words timed by their
 * share of the line's width. The words are grouped into the template's captions: whole lines with
 * the spoken word highlighted (karaoke), a few words popping up at a time (popup), or plain lines
 * (classic). The same cues give the ASS overlay the renderer burns, the WebVTT file published
 * beside the video and the SRT a cloud renderer takes.
 */

/** A word as the voice speaks it, on the voice's timeline; `segment` is its scene. */
export interface SpokenWord {
  text: string;
  startSec: number;
  endSec: number;
  segment: number;
}

export type CaptionMode = 'karaoke' | 'popup' | 'classic';

export const CAPTION_MODES: readonly CaptionMode[] = ['karaoke', 'popup', 'classic'];

export interface CaptionStyle {
  mode: CaptionMode;
  font: string;
  fontSize: number;
  bold: boolean;
  /** '#RRGGBB' of the words; the spoken one takes `highlightColor`. */
  color: string;
  highlightColor: string;
  outlineColor: string;
  /** '#RRGGBB' or '#RRGGBBAA': a box behind each line instead of an outline. */
  background?: string;
  position: 'top' | 'center' | 'bottom';
  /** Widest line in em (a Hangul or kanji is 1 em, a Latin letter about half). */
  maxEm: number;
  /** Words a popup caption shows at once. */
  wordsPerGroup: number;
}

/** One caption on screen: a line (or a popup group) and its words. */
export interface CaptionCue {
  startSec: number;
  endSec: number;
  text: string;
  words: SpokenWord[];
}

/** Languages written without spaces between words: their words come from ICU's dictionary segmentation. */
const UNSPACED: ReadonlySet<Language> = new Set<Language>(['ja', 'zh']);

/** A gap shorter than this between two captions is closed, so the text does not flicker off and on. */
const BRIDGE_SEC = 0.6;

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function joinWords(words: readonly string[], language: Language): string {
  return words.join(UNSPACED.has(language) ? '' : ' ');
}

/** The words of a line; punctuation stays with the word before it. */
export function splitWords(text: string, language: Language): string[] {
  const clean = cleanText(text).replace(/\n/g, ' ');
  if (!UNSPACED.has(language)) return clean.split(' ').filter((word) => word.length > 0);
  const words: string[] = [];
  for (const part of new Intl.Segmenter(language, { granularity: 'word' }).segment(clean)) {
    const piece = part.segment.trim();
    if (piece === '') continue;
    if (!part.isWordLike && words.length > 0) words[words.length - 1] += piece;
    else words.push(piece);
  }
  return words;
}

/**
 * The words of the speech's timed lines: each line's time shared among its words by width, each
 * word in the scene (`segments`) its line starts in.
 */
export function spokenWords(cues: readonly SubtitleCue[], segments: readonly { startSec: number; endSec: number }[], language: Language): SpokenWord[] {
  const sceneAt = (sec: number): number => {
    const index = segments.findIndex((segment) => sec < segment.endSec);
    return index === -1 ? Math.max(0, segments.length - 1) : index;
  };
  return cues.flatMap((cue) => {
    const words = splitWords(cue.text, language);
    const total = words.reduce((sum, word) => sum + textWidthEm(word), 0);
    if (total === 0) return [];
    const segment = sceneAt(cue.startSec);
    let startSec = cue.startSec;
    return words.map((text) => {
      const endSec = startSec + ((cue.endSec - cue.startSec) * textWidthEm(text)) / total;
      const word = { text, startSec: round3(startSec), endSec: round3(endSec), segment };
      startSec = endSec;
      return word;
    });
  });
}

/** Whether a word ends a sentence, where a caption line ends too. */
function endsSentence(word: string): boolean {
  return /[.!?。！？…]["'”’)\]]*$/u.test(word);
}

/**
 * The captions of the words in the style's mode: lines no wider than `maxEm` (popup: groups of
 * `wordsPerGroup` words), never across a scene or a sentence. Each shows from its first word until
 * the next caption when the pause between them is short, else until its last word ends.
 */
export function captionCues(words: readonly SpokenWord[], style: CaptionStyle, language: Language): CaptionCue[] {
  const groups: SpokenWord[][] = [];
  let group: SpokenWord[] = [];
  for (const word of words) {
    const previous = group[group.length - 1];
    const full =
      previous !== undefined &&
      (previous.segment !== word.segment ||
        endsSentence(previous.text) ||
        (style.mode === 'popup' && group.length >= style.wordsPerGroup) ||
        textWidthEm(joinWords([...group.map((w) => w.text), word.text], language)) > style.maxEm);
    if (full) {
      groups.push(group);
      group = [];
    }
    group.push(word);
  }
  if (group.length > 0) groups.push(group);
  return groups.map((members, index) => {
    const first = members[0] as SpokenWord;
    const last = members[members.length - 1] as SpokenWord;
    const next = groups[index + 1]?.[0];
    const endSec = next && next.startSec - last.endSec < BRIDGE_SEC ? next.startSec : last.endSec;
    return { startSec: first.startSec, endSec: round3(Math.max(endSec, last.endSec)), text: joinWords(members.map((w) => w.text), language), words: members };
  });
}

/** Scripts no CJK font covers: their Noto family, whatever the template asks for. */
const SCRIPT_FONTS: Partial<Record<Language, string>> = { hi: 'Noto Sans Devanagari', ar: 'Noto Sans Arabic' };

/**
 * The font every text of a video in that language is drawn in (captions, titles, scene cards): the
 * Noto family of its script for Hindi and Arabic; a Noto CJK family swapped for the language's own
 * variant for Korean, Japanese and Chinese; else the template's font.
 */
export function fontForLanguage(language: Language, preferred: string): string {
  const script = SCRIPT_FONTS[language];
  if (script) return script;
  const cjk = /^Noto (Sans|Serif) CJK (KR|JP|SC|TC|HK)$/.exec(preferred);
  if (!cjk) return preferred;
  const region = { ko: 'KR', ja: 'JP', zh: 'SC' }[language as 'ko' | 'ja' | 'zh'] ?? cjk[2];
  return `Noto ${cjk[1]} CJK ${region}`;
}

/**
 * libass sizes a font by its ascent plus descent: 1.45 em in Noto Sans CJK, for which the
 * templates' sizes are set, but 2.11 em in Noto Sans Arabic and 1.30 em in Noto Sans Devanagari.
 * These scales give their letters the em of Noto Sans CJK at the template's size.
 */
const SIZE_SCALES: Partial<Record<Language, number>> = { ar: 1.46, hi: 0.9 };

/** The libass font size drawing `fontForLanguage`'s font as large as the template's size means. */
export function fontSizeForLanguage(language: Language, size: number): number {
  return Math.round(size * (SIZE_SCALES[language] ?? 1));
}

const ALIGNMENT = { top: 8, center: 5, bottom: 2 } as const;

/**
 * Vertical margin of a caption: clear of the title bar at the top and of the platforms' buttons
 * and description at the bottom, which cover more of a portrait frame.
 */
function marginV(position: CaptionStyle['position'], frame: { width: number; height: number }): number {
  const portrait = frame.height > frame.width;
  if (position === 'center') return 0;
  return Math.round(frame.height * (position === 'top' ? (portrait ? 0.12 : 0.06) : portrait ? 0.2 : 0.08));
}

/** One caption's text with word `spoken` in the highlight colour (none: all plain). */
function highlighted(cue: CaptionCue, spoken: number, style: CaptionStyle, language: Language): string {
  const plain = `{\\1c${assColor(style.color)}}`;
  const hot = `{\\1c${assColor(style.highlightColor)}}`;
  return joinWords(
    cue.words.map((word, index) => (index === spoken ? `${hot}${assText(word.text)}${plain}` : assText(word.text))),
    language,
  );
}

/**
 * The captions as a whole ASS document for a frame of that size, timed from `offsetSec` of the
 * cues' timeline. Karaoke and popup captions get one event per spoken word, from its start to the
 * next word's, the word highlighted; popup groups scale in as they appear. Arabic lines take their
 * direction from the text (Encoding -1).
 */
export function toAss(cues: readonly CaptionCue[], style: CaptionStyle, frame: { width: number; height: number }, language: Language, offsetSec = 0): string {
  const boxed = style.background !== undefined;
  const outline = Math.max(2, Math.round(style.fontSize * (boxed ? 0.04 : 0.07)));
  const marginH = Math.round(frame.width * 0.08);
  // libass's BorderStyle 4 draws one box (BackColour, padded by Shadow) behind the whole caption, however its words are coloured.
  const styleLine = [
    'Style: Caption',
    fontForLanguage(language, style.font),
    fontSizeForLanguage(language, style.fontSize),
    assColor(style.color),
    assColor(style.highlightColor),
    assColor(style.outlineColor),
    boxed ? assColor(style.background as string) : '&H80000000',
    style.bold ? -1 : 0,
    0, 0, 0, 100, 100, 0, 0,
    boxed ? 4 : 1,
    outline,
    boxed ? Math.round(style.fontSize * 0.25) : Math.max(1, Math.round(style.fontSize * 0.03)),
    ALIGNMENT[style.position],
    marginH,
    marginH,
    marginV(style.position, frame),
    language === 'ar' ? -1 : 1,
  ].join(',');
  const event = (startSec: number, endSec: number, text: string) =>
    `Dialogue: 0,${assTime(startSec - offsetSec)},${assTime(endSec - offsetSec)},Caption,,0,0,0,,${text}`;
  const events = cues.flatMap((cue) => {
    if (style.mode === 'classic') return [event(cue.startSec, cue.endSec, assText(cue.text))];
    return cue.words.map((word, index) => {
      const startSec = index === 0 ? cue.startSec : word.startSec;
      const endSec = index === cue.words.length - 1 ? cue.endSec : (cue.words[index + 1] as SpokenWord).startSec;
      const pop = style.mode === 'popup' && index === 0 ? '{\\fscx80\\fscy80\\t(0,120,\\fscx100\\fscy100)}' : '';
      return event(startSec, endSec, pop + highlighted(cue, index, style, language));
    });
  });
  return assDocument(frame, 0, [styleLine], events);
}

function clockTime(seconds: number, separator: '.' | ','): string {
  const millis = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(millis / 3_600_000);
  const m = Math.floor((millis % 3_600_000) / 60_000);
  const s = Math.floor((millis % 60_000) / 1000);
  const pad = (value: number, width = 2) => String(value).padStart(width, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(millis % 1000, 3)}`;
}

/** Caption text as one line that cannot read as the end of a cue. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/-->/g, '→');
}

/** The captions as WebVTT, for players and the platforms' caption upload. */
export function toWebVtt(cues: readonly CaptionCue[]): string {
  return ['WEBVTT', '', ...cues.flatMap((cue) => [`${clockTime(cue.startSec, '.')} --> ${clockTime(cue.endSec, '.')}`, oneLine(cue.text).replace(/&/g, '&amp;').replace(/</g, '&lt;'), ''])].join('\n');
}

/** The captions as SubRip, numbered from 1. */
export function toSrt(cues: readonly CaptionCue[]): string {
  return cues.map((cue, index) => `${index + 1}\n${clockTime(cue.startSec, ',')} --> ${clockTime(cue.endSec, ',')}\n${oneLine(cue.text)}\n`).join('\n');
}
