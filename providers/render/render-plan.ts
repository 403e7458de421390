import { join, resolve } from 'node:path';
import { PermanentProviderError } from '../errors';
import { commandArgs, type FfmpegCommand } from '../ffmpeg/command';
import { requireStream, type MediaInfo } from '../ffmpeg/runner';
import type { RenderRequest } from '../types';
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
import type { SubtitleStrip } from './subtitle-strips';

/**
 * The ffmpeg render planned in one pure call, as Immich builds a whole transcode command: from the
 * request and what was found out before (the voice's probe, the encoders of the ffmpeg build, the
 * subtitle strips already drawn) to every argument of the render and of its thumbnail. The
 * renderer probes, calls `planRender`, and runs what it returns.
 */

/** How the video is encoded; every field has a default. */
export interface RenderSettings {
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
}

/** What the renderer found out before planning. */
export interface RenderInputs {
  /** The probe of the request's voice track. */
  voice: MediaInfo;
  /** The encoders the ffmpeg build has. */
  encoders: ReadonlySet<string>;
  /** The subtitle lines drawn as strips, in time order. */
  strips: readonly SubtitleStrip[];
}

/** One ffmpeg run: its parts, and the argument list `runFfmpeg` takes. */
export interface FfmpegInvocation extends FfmpegCommand {
  args: string[];
}

export interface RenderPlan {
  /** Every scene card, strip, the voice and the music, the filter graph and the output options. */
  video: FfmpegInvocation;
  thumbnail: FfmpegInvocation;
  videoPath: string;
  thumbnailPath: string;
  /** The voice's length, which the video takes. */
  durationSec: number;
  totalFrames: number;
  /** Encoder and preset, as the usage record names the model. */
  encoding: string;
}

/** Refuses a request no render can satisfy, before anything is probed or drawn for it. */
export function checkRenderRequest(request: RenderRequest): void {
  const { look, fps } = request;
  if (request.scenes.length === 0) throw new PermanentProviderError('render request has no scenes');
  if (!(fps > 0 && fps <= 120)) throw new PermanentProviderError(`invalid frame rate ${fps}`);
  // yuv420p needs even dimensions.
  if (![look.width, look.height].every((side) => Number.isInteger(side) && side > 0 && side % 2 === 0)) {
    throw new PermanentProviderError(`frame size ${look.width}x${look.height} must be positive even numbers`);
  }
  const starts = request.scenes.map((scene) => scene.startSec);
  if (starts.some((start, index) => index > 0 && start < (starts[index - 1] as number))) throw new PermanentProviderError('scenes must be in time order');
}

function invocation(command: FfmpegCommand): FfmpegInvocation {
  return { ...command, args: commandArgs(command) };
}

/** The render and thumbnail runs of a request `checkRenderRequest` accepted. */
export function planRender(request: RenderRequest, inputs: RenderInputs, settings: RenderSettings = {}): RenderPlan {
  const { look, fps } = request;
  const voiceStream = requireStream(inputs.voice, 'audio');
  const durationSec = inputs.voice.durationSec;
  if (!(durationSec > 0)) throw new Error(`${request.audioPath} has no duration`);
  const frames = sceneFrameCounts(request.scenes.map((scene) => scene.startSec), durationSec, fps);
  const totalFrames = Math.round(durationSec * fps);
  let sceneStart = 0;
  const cutFrames = frames.map((count) => (sceneStart += count) - count); // each scene's first frame
  const windows = stripWindows(inputs.strips, fps, totalFrames, cutFrames);
  const preset = settings.preset ?? 'veryfast';
  const encoder = chooseEncoder(settings.encoders ?? H264_ENCODERS, inputs.encoders);
  const videoPath = join(request.outDir, 'video.mp4');
  const thumbnailPath = join(request.outDir, 'thumbnail.jpg');
  const video = buildRenderCommand({
    width: look.width,
    height: look.height,
    fps,
    scenes: request.scenes.map((scene, index) => ({ imagePath: resolve(scene.imagePath), frames: frames[index] as number })),
    zoomEnd: settings.zoomEnd ?? 1.08,
    strips: inputs.strips
      .map((strip, index) => ({ imagePath: strip.path, y: strip.y, window: windows[index] as (typeof windows)[number] }))
      .filter((strip) => strip.window.endFrame > strip.window.startFrame),
    voicePath: resolve(request.audioPath),
    copyVoice: voiceStream.codec === 'aac',
    music: request.music && { path: resolve(request.music.path), volume: request.music.volume, duck: settings.duckMusic ?? true },
    durationSec,
    videoArgs: encoder.args({ preset, crf: settings.crf ?? 23 }),
    audioBitrate: settings.audioBitrate ?? '128k',
    outputPath: videoPath,
  });
  const firstScene = request.scenes[0] as RenderRequest['scenes'][number];
  const thumbnail = buildThumbnailCommand({ imagePath: resolve(firstScene.imagePath), width: settings.thumbnailWidth ?? Math.round(look.width / 2), outputPath: thumbnailPath });
  return { video: invocation(video), thumbnail: invocation(thumbnail), videoPath, thumbnailPath, durationSec, totalFrames, encoding: `${encoder.encoder}/${preset}` };
}
