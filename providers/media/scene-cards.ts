import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallOptions, ImageProvider, SceneImage, SceneImageRequest, SubtitleCue, TemplateLook, ProviderUsage } from '../types';
import { buildCardsCommand, buildStripsCommand, layoutCard, layoutStrip, sceneGradient, type CardSpec, type StripLayout, type StripSpec } from './card-commands';
import { commandArgs, ffmpegColor } from './ffmpeg-command';
import { runFfmpeg } from './ffmpeg-runner';
import { hangulFontFile } from './fonts';

export interface SceneCardOptions {
  /** A font file with Hangul glyphs; found through fontconfig from the look's font when absent. */
  fontFile?: string;
  fontStyle?: string;
  timeoutMs?: number;
  ffmpegPath?: string;
}

/** The font file to draw with: an explicit one, or the look's family resolved once. */
function fontFileFor(look: TemplateLook, options: Pick<SceneCardOptions, 'fontFile' | 'fontStyle'>): Promise<string> {
  return options.fontFile ? Promise.resolve(options.fontFile) : hangulFontFile(look.font, options.fontStyle ?? 'Bold');
}

/**
 * Offline scene images: a gradient in the template's colours with the scene's text wrapped,
 * large and centred. All cards come from one ffmpeg run.
 */
export class SceneCardImageProvider implements ImageProvider {
  readonly name = 'local-cards';

  constructor(private readonly options: SceneCardOptions = {}) {}

  async createSceneImages(request: SceneImageRequest, callOptions: CallOptions = {}): Promise<{ images: SceneImage[]; usage: ProviderUsage }> {
    const started = Date.now();
    const { look, scenes, outDir } = request;
    const fontFile = await fontFileFor(look, this.options);
    await mkdir(outDir, { recursive: true });
    const textDir = await mkdtemp(join(outDir, '.card-text-'));
    try {
      const cards: CardSpec[] = [];
      for (const scene of scenes) {
        const layout = layoutCard(scene.text, look.width, look.height);
        const lines = await Promise.all(
          layout.lines.map(async (line, lineIndex) => {
            const textFile = join(textDir, `scene-${scene.index}-line-${lineIndex}.txt`);
            await writeFile(textFile, line.text, 'utf8');
            return { textFile, baselineY: line.baselineY };
          }),
        );
        cards.push({
          outputPath: join(outDir, `scene-${String(scene.index).padStart(2, '0')}.png`),
          gradient: sceneGradient(scene.index, look.width, look.height, look.colors.primary, look.colors.secondary),
          band: { ...layout.band, color: ffmpegColor(look.colors.background ?? 'black', 0.3) },
          lines,
          fontSize: layout.fontSize,
          textColor: ffmpegColor(look.colors.text ?? 'white'),
        });
      }
      if (cards.length > 0) {
        const command = buildCardsCommand({ width: look.width, height: look.height, fontFile, cards });
        await runFfmpeg(commandArgs(command), { signal: callOptions.signal, timeoutMs: this.options.timeoutMs, ffmpegPath: this.options.ffmpegPath });
      }
      callOptions.onProgress?.(100);
      return {
        images: scenes.map((scene, index) => ({ index: scene.index, path: (cards[index] as CardSpec).outputPath, source: 'generated' })),
        usage: {
          service: 'local-cards',
          operation: 'image_gen',
          inputUnits: scenes.length,
          outputUnits: cards.length,
          durationMs: Date.now() - started,
          estimatedCostUsd: 0,
          model: 'ffmpeg-drawtext',
        },
      };
    } finally {
      await rm(textDir, { recursive: true, force: true });
    }
  }
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
  fontFile?: string;
  signal?: AbortSignal;
  ffmpegPath?: string;
}

/** One transparent PNG per cue (the line on a dark box), for the renderer to overlay in time. */
export async function renderSubtitleStrips(request: SubtitleStripRequest): Promise<SubtitleStrip[]> {
  const { cues, look, outDir } = request;
  if (cues.length === 0) return [];
  const fontFile = await fontFileFor(look, { fontFile: request.fontFile });
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
