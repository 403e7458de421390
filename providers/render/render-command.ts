import { formatNumber, type FfmpegCommand } from '../ffmpeg/command';

/**
 * The render as one ffmpeg filter graph: each scene card is a single-frame input that `zoompan`
 * turns into exactly its scene's frames (a looped input would multiply frames and freeze the
 * first scene), the scenes are concatenated, subtitle strips are overlaid in their time windows,
 * and the voice (with optional music) is mapped alongside.
 */

export type X264Preset = 'ultrafast' | 'superfast' | 'veryfast' | 'faster' | 'fast' | 'medium' | 'slow' | 'slower' | 'veryslow';

export interface VideoQuality {
  preset: X264Preset;
  crf: number;
}

export interface VideoEncoderProfile {
  encoder: string;
  args(quality: VideoQuality): string[];
}

/** H.264 encoders in order of preference; the first one the ffmpeg build has is used. */
export const H264_ENCODERS: readonly VideoEncoderProfile[] = [
  { encoder: 'libx264', args: ({ preset, crf }) => ['-c:v', 'libx264', '-preset', preset, '-crf', String(crf), '-pix_fmt', 'yuv420p'] },
  // Builds without GPL encoders often still have Cisco's; it has no CRF, so a bitrate stands in.
  { encoder: 'libopenh264', args: () => ['-c:v', 'libopenh264', '-b:v', '4M', '-pix_fmt', 'yuv420p'] },
];

export function chooseEncoder(profiles: readonly VideoEncoderProfile[], available: ReadonlySet<string>): VideoEncoderProfile {
  const profile = profiles.find((candidate) => available.has(candidate.encoder));
  if (!profile) throw new Error(`ffmpeg has none of the encoders ${profiles.map((candidate) => candidate.encoder).join(', ')}`);
  return profile;
}

/**
 * Frames per scene from the scene start times, quantised on the whole timeline so that rounding
 * never accumulates: scene i runs from its start to the next scene's start, the last one to the end.
 */
export function sceneFrameCounts(startTimes: readonly number[], durationSec: number, fps: number): number[] {
  const total = Math.round(durationSec * fps);
  const boundaries = startTimes.map((start, index) => (index === 0 ? 0 : Math.min(total, Math.max(0, Math.round(start * fps)))));
  return boundaries.map((boundary, index) => Math.max(1, (boundaries[index + 1] ?? total) - boundary));
}

export interface StripWindow {
  startFrame: number;
  endFrame: number;
}

/**
 * Frames during which each subtitle shows, as [start, end). A line stays up through a short pause
 * before the next one so that the subtitle does not flicker between the lines of a sentence, but
 * not across a scene cut (`cutFrames`: the first frame of each scene).
 */
export function stripWindows(
  cues: readonly { startSec: number; endSec: number }[],
  fps: number,
  totalFrames: number,
  cutFrames: readonly number[] = [],
  holdGapSec = 0.6,
): StripWindow[] {
  return cues.map((cue, index) => {
    const next = cues[index + 1];
    const startFrame = Math.min(totalFrames, Math.round(cue.startSec * fps));
    const spokenEnd = Math.min(totalFrames, Math.round(cue.endSec * fps));
    const holdEnd = next && next.startSec - cue.endSec <= holdGapSec ? Math.min(totalFrames, Math.round(next.startSec * fps)) : spokenEnd;
    const cut = cutFrames.find((frame) => frame >= spokenEnd && frame < holdEnd);
    return { startFrame, endFrame: Math.max(startFrame, cut ?? holdEnd) };
  });
}

/** `between` bounds half a frame off the frame times, so each frame is inside or outside for sure. */
export function enableExpression(window: StripWindow, fps: number): string {
  const start = formatNumber(Math.max(0, (window.startFrame - 0.5) / fps), 4);
  const end = formatNumber((window.endFrame - 0.5) / fps, 4);
  return `between(t,${start},${end})`;
}

/**
 * A slow centred zoom from 1 to `zoomEnd` over `frames`. zoompan truncates the crop size to whole
 * pixels and floors its origin to even ones in yuv420p, so the plain `1+k*on` zoom shakes by a
 * pixel or two; stepping the crop width by 4 px (the epsilon survives the truncation) keeps the
 * horizontal origin exact and the motion monotonic.
 */
function zoomExpressions(zoomEnd: number, frames: number): string {
  const target = `(1+${formatNumber(zoomEnd - 1, 4)}*on/${frames})`;
  return `z='iw/(iw-4*round(iw*(1-1/${target})/4)+0.001)':x='round((iw-iw/zoom)/2)':y='round((ih-ih/zoom)/2)'`;
}

export interface RenderCommandOptions {
  width: number;
  height: number;
  fps: number;
  scenes: { imagePath: string; frames: number }[];
  /** The zoom factor reached at the end of each scene. */
  zoomEnd: number;
  strips: { imagePath: string; y: number; window: StripWindow }[];
  voicePath: string;
  /** Copy the voice as it is (already AAC) instead of encoding it again. */
  copyVoice: boolean;
  music?: { path: string; volume: number; duck: boolean };
  durationSec: number;
  videoArgs: string[];
  audioBitrate: string;
  outputPath: string;
}

export function buildRenderCommand(plan: RenderCommandOptions): FfmpegCommand {
  const { width, height, fps } = plan;
  const size = `${width}x${height}`;
  const inputs: string[][] = [
    ...plan.scenes.map((scene) => ['-i', scene.imagePath]),
    ...plan.strips.map((strip) => ['-i', strip.imagePath]),
    ['-i', plan.voicePath],
  ];
  const voiceInput = plan.scenes.length + plan.strips.length;
  if (plan.music) inputs.push(['-stream_loop', '-1', '-i', plan.music.path]);

  const graph = plan.scenes.map(
    (scene, index) =>
      `[${index}:v]scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height},setsar=1,format=yuv420p,` +
      `zoompan=${zoomExpressions(plan.zoomEnd, scene.frames)}:d=${scene.frames}:s=${size}:fps=${fps}[scene${index}]`,
  );
  const sceneLabels = plan.scenes.map((_, index) => `[scene${index}]`).join('');
  let video = plan.strips.length === 0 ? '[video]' : '[slides]';
  graph.push(`${sceneLabels}concat=n=${plan.scenes.length}:v=1:a=0${video}`);
  plan.strips.forEach((strip, index) => {
    const output = index === plan.strips.length - 1 ? '[video]' : `[sub${index}]`;
    graph.push(`${video}[${plan.scenes.length + index}:v]overlay=x=0:y=${strip.y}:enable='${enableExpression(strip.window, fps)}'${output}`);
    video = output;
  });

  let audioMap = `${voiceInput}:a`;
  let audioArgs = plan.copyVoice ? ['-c:a', 'copy'] : ['-c:a', 'aac', '-b:a', plan.audioBitrate];
  if (plan.music) {
    const musicInput = voiceInput + 1;
    const volume = formatNumber(plan.music.volume, 3);
    if (plan.music.duck) {
      // The voice keys a compressor on the music, which dips while someone speaks.
      graph.push(
        `[${voiceInput}:a]asplit=2[voice][key]`,
        `[${musicInput}:a]volume=${volume}[bed]`,
        '[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[ducked]',
        '[voice][ducked]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[audio]',
      );
    } else {
      graph.push(`[${musicInput}:a]volume=${volume}[bed]`, `[${voiceInput}:a][bed]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[audio]`);
    }
    audioMap = '[audio]';
    audioArgs = ['-c:a', 'aac', '-b:a', plan.audioBitrate];
  }

  return {
    inputs,
    filterGraph: graph.join(';'),
    outputArgs: [
      '-map', '[video]',
      '-map', audioMap,
      ...plan.videoArgs,
      ...audioArgs,
      '-t', formatNumber(plan.durationSec),
      '-movflags', '+faststart',
      plan.outputPath,
    ],
  };
}

/** A JPEG of the first card, scaled: made from the PNG, so the video is never decoded again. */
export function buildThumbnailCommand(options: { imagePath: string; width: number; outputPath: string }): FfmpegCommand {
  return {
    inputs: [['-i', options.imagePath]],
    filterGraph: `[0:v]scale=${options.width}:-2[thumb]`,
    outputArgs: ['-map', '[thumb]', '-frames:v', '1', '-q:v', '3', '-update', '1', options.outputPath],
  };
}
