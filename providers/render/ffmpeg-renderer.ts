import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { availableEncoders, probe, requireStream, runFfmpeg } from '../ffmpeg/runner';
import type { CallOptions, RenderRequest, RenderResult, Renderer } from '../types';
import { checkRenderRequest, planRender, type RenderSettings } from './render-plan';
import { renderSubtitleStrips } from './subtitle-strips';

export interface FfmpegRendererOptions extends RenderSettings {
  /** Font file for subtitles; resolved from the look's font when absent. */
  fontFile?: string;
  /** Stops the render (SIGINT, then SIGKILL) when it takes longer. */
  timeoutMs?: number;
  killGraceMs?: number;
  ffmpegPath?: string;
  ffprobePath?: string;
}

/**
 * Renders a video from scene cards, subtitle cues and a voice track with one ffmpeg run, so the
 * cost is close to the cost of encoding the frames. It probes the voice and the ffmpeg build,
 * draws the subtitle strips, and runs what `planRender` makes of them. Outputs go to `outDir`:
 * video.mp4 and thumbnail.jpg; the strips live in a temporary folder there and are removed.
 */
export class FfmpegRenderer implements Renderer {
  readonly name = 'ffmpeg';

  constructor(private readonly options: FfmpegRendererOptions = {}) {}

  async render(request: RenderRequest, callOptions: CallOptions = {}): Promise<RenderResult> {
    const { signal, onProgress } = callOptions;
    const { ffmpegPath, ffprobePath } = this.options;
    const started = Date.now();
    checkRenderRequest(request);
    const voice = await probe(resolve(request.audioPath), { signal, ffprobePath });
    const encoders = await availableEncoders(ffmpegPath);

    await mkdir(request.outDir, { recursive: true });
    const workDir = await mkdtemp(join(request.outDir, '.render-'));
    try {
      const strips = await renderSubtitleStrips({ cues: request.cues, look: request.look, outDir: workDir, fontFile: this.options.fontFile, signal, ffmpegPath });
      const plan = planRender(request, { voice, encoders, strips }, this.options);
      await runFfmpeg(plan.video.args, {
        signal,
        ffmpegPath,
        totalDurationSec: plan.durationSec,
        timeoutMs: this.options.timeoutMs,
        killGraceMs: this.options.killGraceMs,
        onProgress: (percent) => onProgress?.(Math.min(99, percent)),
      });
      await runFfmpeg(plan.thumbnail.args, { signal, ffmpegPath });

      const output = await probe(plan.videoPath, { signal, ffprobePath });
      const video = requireStream(output, 'video');
      const { size } = await stat(plan.videoPath);
      onProgress?.(100);
      return {
        videoPath: plan.videoPath,
        thumbnailPath: plan.thumbnailPath,
        durationSec: output.durationSec,
        width: video.width ?? request.look.width,
        height: video.height ?? request.look.height,
        sizeBytes: size,
        usage: {
          service: 'ffmpeg',
          operation: 'render',
          inputUnits: Math.round(plan.durationSec * 1000) / 1000,
          outputUnits: plan.totalFrames,
          durationMs: Date.now() - started,
          estimatedCostUsd: 0,
          model: plan.encoding,
        },
      };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}
