import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { CallOptions, RenderRequest, RenderResult, Renderer } from '../types';
import { commandArgs } from './ffmpeg-command';
import { availableEncoders, probe, requireStream, runFfmpeg } from './ffmpeg-runner';
import {
  buildRenderCommand,
  buildThumbnailCommand,
  chooseEncoder,
  H264_ENCODERS,
  sceneFrameCounts,
  stripWindows,
  type VideoEncoderProfile,
  type X264Preset,
} from './render-command';
import { renderSubtitleStrips } from './scene-cards';
import { fitCues } from './text-layout';
import { PermanentProviderError } from '../errors';

export interface FfmpegRendererOptions {
  preset?: X264Preset;
  crf?: number;
  /** Zoom factor reached at the end of each scene. */
  zoomEnd?: number;
  /** Lower the music while the voice speaks. */
  duckMusic?: boolean;
  audioBitrate?: string;
  thumbnailWidth?: number;
  /** Encoders to try in order; H.264 by default. */
  encoders?: readonly VideoEncoderProfile[];
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
 * cost is close to the cost of encoding the frames. Outputs go to `outDir`: video.mp4 and
 * thumbnail.jpg; intermediate strips live in a temporary folder there and are removed.
 */
export class FfmpegRenderer implements Renderer {
  readonly name = 'ffmpeg';
  private readonly preset: X264Preset;
  private readonly crf: number;

  constructor(private readonly options: FfmpegRendererOptions = {}) {
    this.preset = options.preset ?? 'veryfast';
    this.crf = options.crf ?? 23;
  }

  async render(request: RenderRequest, callOptions: CallOptions = {}): Promise<RenderResult> {
    const { signal, onProgress } = callOptions;
    const started = Date.now();
    const { look, fps } = request;
    if (request.scenes.length === 0) throw new PermanentProviderError('render request has no scenes');
    if (!(fps > 0 && fps <= 120)) throw new PermanentProviderError(`invalid frame rate ${fps}`);
    // yuv420p needs even dimensions.
    if (![look.width, look.height].every((side) => Number.isInteger(side) && side > 0 && side % 2 === 0)) {
      throw new PermanentProviderError(`frame size ${look.width}x${look.height} must be positive even numbers`);
    }
    const starts = request.scenes.map((scene) => scene.startSec);
    if (starts.some((start, index) => index > 0 && start < (starts[index - 1] as number))) throw new PermanentProviderError('scenes must be in time order');

    const ffmpegPath = this.options.ffmpegPath;
    const ffprobePath = this.options.ffprobePath;
    const voice = await probe(resolve(request.audioPath), { signal, ffprobePath });
    const voiceStream = requireStream(voice, 'audio');
    const durationSec = voice.durationSec;
    if (!(durationSec > 0)) throw new Error(`${request.audioPath} has no duration`);
    const frames = sceneFrameCounts(starts, durationSec, fps);
    const totalFrames = Math.round(durationSec * fps);

    await mkdir(request.outDir, { recursive: true });
    const workDir = await mkdtemp(join(request.outDir, '.render-'));
    try {
      const strips = await renderSubtitleStrips({ cues: fitCues(request.cues), look, outDir: workDir, fontFile: this.options.fontFile, signal, ffmpegPath });
      let sceneStart = 0;
      const cutFrames = frames.map((count) => (sceneStart += count) - count); // each scene's first frame
      const windows = stripWindows(strips, fps, totalFrames, cutFrames);
      const encoder = chooseEncoder(this.options.encoders ?? H264_ENCODERS, await availableEncoders(ffmpegPath));
      const videoPath = join(request.outDir, 'video.mp4');
      const command = buildRenderCommand({
        width: look.width,
        height: look.height,
        fps,
        scenes: request.scenes.map((scene, index) => ({ imagePath: resolve(scene.imagePath), frames: frames[index] as number })),
        zoomEnd: this.options.zoomEnd ?? 1.08,
        strips: strips
          .map((strip, index) => ({ imagePath: strip.path, y: strip.y, window: windows[index] as (typeof windows)[number] }))
          .filter((strip) => strip.window.endFrame > strip.window.startFrame),
        voicePath: resolve(request.audioPath),
        copyVoice: voiceStream.codec === 'aac',
        music: request.music && { path: resolve(request.music.path), volume: request.music.volume, duck: this.options.duckMusic ?? true },
        durationSec,
        videoArgs: encoder.args({ preset: this.preset, crf: this.crf }),
        audioBitrate: this.options.audioBitrate ?? '128k',
        outputPath: videoPath,
      });
      await runFfmpeg(commandArgs(command), {
        signal,
        ffmpegPath,
        totalDurationSec: durationSec,
        timeoutMs: this.options.timeoutMs,
        killGraceMs: this.options.killGraceMs,
        onProgress: (percent) => onProgress?.(Math.min(99, percent)),
      });

      const thumbnailPath = join(request.outDir, 'thumbnail.jpg');
      const firstScene = request.scenes[0] as RenderRequest['scenes'][number];
      const thumbnail = buildThumbnailCommand({ imagePath: resolve(firstScene.imagePath), width: this.options.thumbnailWidth ?? Math.round(look.width / 2), outputPath: thumbnailPath });
      await runFfmpeg(commandArgs(thumbnail), { signal, ffmpegPath });

      const output = await probe(videoPath, { signal, ffprobePath });
      const video = requireStream(output, 'video');
      const { size } = await stat(videoPath);
      onProgress?.(100);
      return {
        videoPath,
        thumbnailPath,
        durationSec: output.durationSec,
        width: video.width ?? look.width,
        height: video.height ?? look.height,
        sizeBytes: size,
        usage: {
          service: 'ffmpeg',
          operation: 'render',
          inputUnits: Math.round(durationSec * 1000) / 1000,
          outputUnits: totalFrames,
          durationMs: Date.now() - started,
          estimatedCostUsd: 0,
          model: `${encoder.encoder}/${this.preset}`,
        },
      };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }
}
