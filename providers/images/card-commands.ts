import { drawText, ffmpegColor, type FfmpegCommand } from '../ffmpeg/command';
import { wrapLines } from '../text-layout';

/**
 * Layout and ffmpeg command for scene cards. All cards of a video are drawn by one ffmpeg run with
 * one output per card (text through `drawText`).
 */

export interface CardLine {
  textFile: string;
  baselineY: number;
}

export interface CardSpec {
  outputPath: string;
  /** ffmpeg colours and the gradient line, in pixels. */
  gradient: { from: string; to: string; x0: number; y0: number; x1: number; y1: number };
  band: { y: number; height: number; color: string };
  lines: CardLine[];
  fontSize: number;
  textColor: string;
}

export interface CardLayout {
  fontSize: number;
  lines: { text: string; baselineY: number }[];
  band: { y: number; height: number };
}

const CARD_TEXT_WIDTH = 0.78; // of the frame: the slow zoom crops up to 4 % per side
const CARD_MAX_LINES = 7;
const CARD_TEXT_CENTER = 0.4; // of the height: above the captions
const CJK_ASCENT = 0.88; // Noto Sans CJK ascender, in em

/** The largest font size at which the text fits in at most seven centred lines. */
export function layoutCard(text: string, width: number, height: number): CardLayout {
  const maxWidth = width * CARD_TEXT_WIDTH;
  const minSize = Math.round(width * 0.045);
  let fontSize = Math.round(width * 0.09);
  let lines = wrapLines(text, maxWidth / fontSize);
  while (lines.length > CARD_MAX_LINES && fontSize > minSize) {
    fontSize = Math.max(minSize, Math.floor(fontSize * 0.92));
    lines = wrapLines(text, maxWidth / fontSize);
  }
  if (lines.length > CARD_MAX_LINES) lines = [...lines.slice(0, CARD_MAX_LINES - 1), `${lines[CARD_MAX_LINES - 1] ?? ''}…`];
  const lineHeight = Math.round(fontSize * 1.35);
  const blockTop = Math.round(height * CARD_TEXT_CENTER - (lines.length * lineHeight) / 2);
  const firstBaseline = blockTop + Math.round((lineHeight - fontSize) / 2 + fontSize * CJK_ASCENT);
  const padding = Math.round(fontSize * 0.6);
  return {
    fontSize,
    lines: lines.map((line, index) => ({ text: line, baselineY: firstBaseline + index * lineHeight })),
    band: { y: blockTop - padding, height: lines.length * lineHeight + 2 * padding },
  };
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

/** One output per card: 1-frame source, band behind the text, one centred drawtext per line. */
export function buildCardsCommand(options: { width: number; height: number; fontFile: string; cards: CardSpec[] }): FfmpegCommand {
  const { width, height, fontFile, cards } = options;
  const chains = cards.map((card, index) => {
    const { from, to, x0, y0, x1, y1 } = card.gradient;
    const filters = [
      `gradients=s=${width}x${height}:c0=${from}:c1=${to}:x0=${x0}:y0=${y0}:x1=${x1}:y1=${y1}:n=2:seed=0:r=1:d=1`,
      'format=rgb24',
      `drawbox=x=0:y=${card.band.y}:w=iw:h=${card.band.height}:color=${card.band.color}:t=fill`,
      ...card.lines.map((line) =>
        drawText(fontFile, line.textFile, card.fontSize, card.textColor, [
          `borderw=${Math.max(2, Math.round(card.fontSize / 24))}`,
          'bordercolor=black@0.45',
          'x=(w-text_w)/2',
          `y=${line.baselineY}-ascent`,
        ]),
      ),
    ];
    return `${filters.join(',')}[card${index}]`;
  });
  return {
    inputs: [],
    filterGraph: chains.join(';'),
    outputArgs: cards.flatMap((card, index) => ['-map', `[card${index}]`, '-frames:v', '1', '-update', '1', card.outputPath]),
  };
}
