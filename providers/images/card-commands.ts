import { fontForLanguage, fontSizeForLanguage, splitWords } from '../captions';
import { assFilter, ffmpegColor, type FfmpegCommand } from '../ffmpeg/command';
import { assColor, assDocument, assText } from '../render/titles';
import { wrapLines } from '../text-layout';
import type { Language } from '../types';

/**
 * Layout and ffmpeg command for scene cards. The captions already show every word the voice says,
 * so a card does not print its scene's text again: over a gradient in the template's colours it
 * shows the scene's number, large and faint, and a headline of the scene's first words in a box.
 * The text is drawn by libass, as the captions are (shaped, and right to left for Arabic); all
 * cards of a video come from one ffmpeg run with one output per card.
 */

export interface CardSpec {
  outputPath: string;
  /** ffmpeg colours and the gradient line, in pixels. */
  gradient: { from: string; to: string; x0: number; y0: number; x1: number; y1: number };
  /** The card's ASS document (see `cardAss`). */
  assFile: string;
}

export interface CardText {
  /** The scene's number, from 01. */
  number: string;
  /** The headline's lines. */
  headline: string[];
}

export interface CardStyle {
  /** The template's font: the number's; `fontForLanguage` picks the headline's. */
  font: string;
  /** '#RRGGBB' of the text. */
  textColor: string;
  /** '#RRGGBB' of the box behind the headline (drawn at 30 % opacity). */
  boxColor: string;
}

const HEADLINE_WIDTH = 0.78; // of the frame: the slow zoom crops up to 4 % per side
const HEADLINE_LINES = 2;
const HEADLINE_WORDS = 5;
// Centres, as shares of the height: in the upper third, clear of captions and titles in the centre or at the bottom.
const NUMBER_Y = 0.12;
const HEADLINE_Y = 0.32;

/** Languages written without spaces between words. */
const UNSPACED: ReadonlySet<Language> = new Set<Language>(['ja', 'zh']);

/** Headline size: large, and at most two lines that stay clear of the number in a wide frame. */
export function headlineFontSize(frame: { width: number; height: number }): number {
  return Math.round(Math.min(frame.width * 0.09, frame.height * 0.075));
}

/**
 * The headline of a scene: its first words (at most five, on at most two lines of `maxEm`), with
 * an ellipsis when the scene says more.
 */
export function cardHeadline(text: string, language: Language, maxEm: number): string[] {
  const words = splitWords(text, language);
  const joiner = UNSPACED.has(language) ? '' : ' ';
  const lead: string[] = [];
  for (const word of words.slice(0, HEADLINE_WORDS)) {
    if (lead.length > 0 && wrapLines([...lead, word].join(joiner), maxEm).length > HEADLINE_LINES) break;
    lead.push(word);
  }
  const headline = lead.join(joiner);
  const cut = lead.length < words.length ? `${headline.replace(/[\s\p{P}]+$/u, '')}…` : headline;
  return wrapLines(cut, maxEm).slice(0, HEADLINE_LINES);
}

/** The number and headline of scene `index` (from 0). */
export function cardText(index: number, text: string, language: Language, frame: { width: number; height: number }): CardText {
  const maxEm = (frame.width * HEADLINE_WIDTH) / headlineFontSize(frame);
  return { number: String(index + 1).padStart(2, '0'), headline: cardHeadline(text, language, maxEm) };
}

/** A card's text as a whole ASS document for a one-frame picture of that size. */
export function cardAss(card: CardText, style: CardStyle, frame: { width: number; height: number }, language: Language): string {
  const font = fontForLanguage(language, style.font);
  const fontSize = fontSizeForLanguage(language, headlineFontSize(frame));
  const numberSize = Math.round(Math.min(frame.width, frame.height) * 0.3);
  const x = Math.round(frame.width / 2);
  const margin = Math.round(frame.width * 0.08);
  const encoding = language === 'ar' ? -1 : 1;
  const faint = assColor(`${style.textColor}59`);
  // BorderStyle 4: one box in BackColour behind the whole headline, padded by Shadow.
  const styles = [
    // Digits in the template's font, the same in every language.
    ['Style: Number', style.font, numberSize, faint, faint, '&HFF000000', '&HFF000000', -1, 0, 0, 0, 100, 100, 0, 0, 1, 0, 0, 5, 0, 0, 0, encoding],
    [
      'Style: Headline', font, fontSize,
      assColor(style.textColor), assColor(style.textColor), '&H73000000', assColor(`${style.boxColor}4D`),
      -1, 0, 0, 0, 100, 100, 0, 0,
      4, Math.max(2, Math.round(fontSize / 24)), Math.round(fontSize * 0.35),
      5, margin, margin, 0, encoding,
    ],
  ].map((fields) => fields.join(','));
  const event = (styleName: string, y: number, text: string) =>
    `Dialogue: 0,0:00:00.00,0:00:01.00,${styleName},,0,0,0,,{\\an5\\pos(${x},${Math.round(frame.height * y)})}${text}`;
  return assDocument(frame, 2, styles, [
    event('Number', NUMBER_Y, card.number),
    ...(card.headline.length > 0 ? [event('Headline', HEADLINE_Y, card.headline.map(assText).join('\\N'))] : []),
  ]);
}

/**
 * Gradient direction and colour order cycled per scene, so that consecutive cards differ at a
 * glance: top to bottom, then corner to corner, each time with the colours swapped.
 */
export function sceneGradient(index: number, width: number, height: number, primary: string, secondary: string): CardSpec['gradient'] {
  // gradients replaces a point outside the frame (x >= w, y >= h) with a random one: stay inside.
  const [x0, y0, x1, y1] = index % 2 === 0 ? [Math.round(width / 2), 0, Math.round(width / 2), height - 1] : [0, 0, width - 1, height - 1];
  const [from, to] = index % 4 < 2 ? [primary, secondary] : [secondary, primary];
  return { from: ffmpegColor(from), to: ffmpegColor(to), x0, y0, x1, y1 };
}

/** One output per card: a 1-frame gradient with the card's ASS burnt in. */
export function buildCardsCommand(options: { width: number; height: number; fontsDir?: string; cards: CardSpec[] }): FfmpegCommand {
  const { width, height, fontsDir, cards } = options;
  const chains = cards.map((card, index) => {
    const { from, to, x0, y0, x1, y1 } = card.gradient;
    const filters = [
      `gradients=s=${width}x${height}:c0=${from}:c1=${to}:x0=${x0}:y0=${y0}:x1=${x1}:y1=${y1}:n=2:seed=0:r=1:d=1`,
      'format=rgb24',
      assFilter(card.assFile, fontsDir),
    ];
    return `${filters.join(',')}[card${index}]`;
  });
  return {
    inputs: [],
    filterGraph: chains.join(';'),
    outputArgs: cards.flatMap((card, index) => ['-map', `[card${index}]`, '-frames:v', '1', '-update', '1', card.outputPath]),
  };
}
