import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commandArgs, drawText, type FfmpegCommand } from '../ffmpeg/command';
import { hangulFontFile } from '../ffmpeg/fonts';
import { runFfmpeg } from '../ffmpeg/runner';
import { fitCues, textWidthEm } from '../text-layout';
import type { SubtitleCue, TemplateLook } from '../types';

/**
 * The subtitles of an ffmpeg render: one transparent PNG per subtitle line (the line on a dark
 * box), all drawn by one ffmpeg run, for the render to overlay in their time windows.
 */

export interface StripSpec {
  outputPath: string;
  textFile: string;
  fontSize: number;
  textColor: string;
  boxColor: string;
}

export interface StripLayout {
  fontSize: number;
  stripHeight: number;
  /** Where the strip goes on the frame. */
  y: number;
}

const STRIP_CENTER = 0.76; // of the height: the bottom third, above the players' own buttons

/** Font size that keeps the line inside the frame, and a strip height shared by every cue. */
export function layoutStrip(text: string, width: number, height: number): StripLayout {
  const baseSize = Math.round(width * 0.062);
  const maxTextWidth = width * 0.86 - 2 * Math.round(baseSize * 0.4);
  const fontSize = Math.max(20, Math.min(baseSize, Math.floor(maxTextWidth / Math.max(1, textWidthEm(text)))));
  const stripHeight = 2 * Math.round(baseSize * 1.2);
  return { fontSize, stripHeight, y: 2 * Math.round((height * STRIP_CENTER - stripHeight / 2) / 2) };
}

/** One transparent strip per cue: the line centred on a semi-transparent box. */
export function buildStripsCommand(options: { width: number; stripHeight: number; fontFile: string; strips: StripSpec[] }): FfmpegCommand {
  const { width, stripHeight, fontFile, strips } = options;
  const chains = strips.map((strip, index) => {
    const baseline = Math.round(stripHeight / 2 + strip.fontSize * 0.38);
    const filters = [
      `color=c=black@0:s=${width}x${stripHeight}:r=1:d=1`,
      'format=rgba',
      drawText(fontFile, strip.textFile, strip.fontSize, strip.textColor, [
        'box=1',
        `boxcolor=${strip.boxColor}`,
        `boxborderw=${Math.round(strip.fontSize * 0.4)}`,
        'x=(w-text_w)/2',
        `y=${baseline}-ascent`,
      ]),
    ];
    return `${filters.join(',')}[strip${index}]`;
  });
  return {
    inputs: [],
    filterGraph: chains.join(';'),
    outputArgs: strips.flatMap((strip, index) => ['-map', `[strip${index}]`, '-frames:v', '1', '-update', '1', strip.outputPath]),
  };
}

export interface SubtitleStrip {
  path: string;
  startSec: number;
  endSec: number;
  /** Where the strip's top edge goes on the frame; strips span the frame's width. */
  y: number;
  height: number;
}

export interface SubtitleStripRequest {
  cues: SubtitleCue[];
  look: TemplateLook;
  outDir: string;
  /** A font file with Hangul glyphs; found through fontconfig from the look's font when absent. */
  fontFile?: string;
  signal?: AbortSignal;
  ffmpegPath?: string;
}

/** The strips of a speech provider's cues, fitted to one line each first. */
export async function renderSubtitleStrips(request: SubtitleStripRequest): Promise<SubtitleStrip[]> {
  const { look, outDir } = request;
  const cues = fitCues(request.cues);
  if (cues.length === 0) return [];
  const fontFile = request.fontFile ?? (await hangulFontFile(look.font, 'Bold'));
  await mkdir(outDir, { recursive: true });
  const layouts = cues.map((cue) => layoutStrip(cue.text, look.width, look.height));
  const specs: StripSpec[] = await Promise.all(
    cues.map(async (cue, index) => {
      const textFile = join(outDir, `cue-${index}.txt`);
      await writeFile(textFile, cue.text, 'utf8');
      return {
        outputPath: join(outDir, `cue-${String(index).padStart(3, '0')}.png`),
        textFile,
        fontSize: (layouts[index] as StripLayout).fontSize,
        textColor: 'white',
        boxColor: 'black@0.72',
      };
    }),
  );
  const { stripHeight, y } = layouts[0] as StripLayout;
  const command = buildStripsCommand({ width: look.width, stripHeight, fontFile, strips: specs });
  await runFfmpeg(commandArgs(command), { signal: request.signal, ffmpegPath: request.ffmpegPath });
  return cues.map((cue, index) => ({ path: (specs[index] as StripSpec).outputPath, startSec: cue.startSec, endSec: cue.endSec, y, height: stripHeight }));
}
