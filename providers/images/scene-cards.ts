import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commandArgs, ffmpegColor } from '../ffmpeg/command';
import { hangulFontFile } from '../ffmpeg/fonts';
import { runFfmpeg } from '../ffmpeg/runner';
import type { CallOptions, ImageProvider, SceneImage, SceneImageRequest, TemplateLook, ProviderUsage } from '../types';
import { buildCardsCommand, layoutCard, sceneGradient, type CardSpec } from './card-commands';

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
