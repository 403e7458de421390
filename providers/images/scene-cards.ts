import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { commandArgs } from '../ffmpeg/command';
import { fontsDirFromEnv } from '../ffmpeg/fonts';
import { runFfmpeg } from '../ffmpeg/runner';
import type { CallOptions, ImageProvider, SceneImage, SceneImageRequest, ProviderUsage } from '../types';
import { buildCardsCommand, cardAss, cardText, sceneGradient, type CardSpec } from './card-commands';

export interface SceneCardOptions {
  /** A folder of fonts libass reads besides the system's; AUTOCLIP_FONTS_DIR's by default. */
  fontsDir?: string;
  timeoutMs?: number;
  ffmpegPath?: string;
}

/**
 * Offline scene images: a gradient in the template's colours with the scene's number and a
 * headline of its first words (the captions carry the whole text). All cards come from one ffmpeg run.
 */
export class SceneCardImageProvider implements ImageProvider {
  readonly name = 'local-cards';

  constructor(private readonly options: SceneCardOptions = {}) {}

  async createSceneImages(request: SceneImageRequest, callOptions: CallOptions = {}): Promise<{ images: SceneImage[]; usage: ProviderUsage }> {
    const started = Date.now();
    const { look, scenes, outDir, language } = request;
    const frame = { width: look.width, height: look.height };
    const style = { font: look.font, textColor: look.colors.text ?? '#FFFFFF', boxColor: look.colors.background ?? '#000000' };
    await mkdir(outDir, { recursive: true });
    const assDir = await mkdtemp(join(outDir, '.card-text-'));
    try {
      const cards: CardSpec[] = await Promise.all(
        scenes.map(async (scene) => {
          const assFile = join(assDir, `scene-${scene.index}.ass`);
          await writeFile(assFile, cardAss(cardText(scene.index, scene.text, language, frame), style, frame, language), 'utf8');
          return {
            outputPath: join(outDir, `scene-${String(scene.index).padStart(2, '0')}.png`),
            gradient: sceneGradient(scene.index, look.width, look.height, look.colors.primary, look.colors.secondary),
            assFile,
          };
        }),
      );
      if (cards.length > 0) {
        const fontsDir = this.options.fontsDir ?? fontsDirFromEnv();
        const command = buildCardsCommand({ ...frame, ...(fontsDir ? { fontsDir } : {}), cards });
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
          model: 'ffmpeg-libass',
        },
      };
    } finally {
      await rm(assDir, { recursive: true, force: true });
    }
  }
}
