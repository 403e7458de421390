import { assFilter, formatNumber, type FfmpegCommand } from '../ffmpeg/command';
import type { ChunkPart, Timeline, TimelineChunk } from './timeline';

/**
 * The ffmpeg runs of a render. Each chunk of the timeline is one run: its shots become streams of
 * exactly their frames (a picture is a single-frame input that `zoompan` or `loop` turns into its
 * frames, a clip is looped and cut to them), blended with `xfade` or joined with `concat`, with the
 * captions and titles burnt in by libass; the chunks are then joined with the
 * mixed audio by the concat demuxer without encoding the video again.
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

/** How a picture moves through its shot: still, a slow zoom in or out, or a pan. */
export type PictureMotion = 'still' | 'zoom_in' | 'zoom_out' | 'pan_right' | 'pan_left';

/** The moves a `ken_burns` template takes in turn, shot after shot. */
export const KEN_BURNS_MOVES: readonly PictureMotion[] = ['zoom_in', 'pan_right', 'zoom_out', 'pan_left'];

/**
 * zoompan expressions for a move over `frames` frames, reaching `zoom` (e.g. 1.1). zoompan truncates
 * the crop size to whole pixels and floors its origin to even ones in yuv420p, so a plain `1+k*on`
 * zoom shakes by a pixel or two; stepping the crop width by 4 px (the epsilon survives the
 * truncation) keeps the origin exact and the motion monotonic.
 */
export function motionExpressions(motion: Exclude<PictureMotion, 'still'>, zoom: number, frames: number): string {
  const rise = formatNumber(zoom - 1, 4);
  const progress = `on/${Math.max(1, frames - 1)}`;
  const stepped = (factor: string): string => `iw/(iw-4*round(iw*(1-1/(${factor}))/4)+0.001)`;
  const centred = `x='round((iw-iw/zoom)/2)':y='round((ih-ih/zoom)/2)'`;
  switch (motion) {
    case 'zoom_in':
      return `z='${stepped(`1+${rise}*${progress}`)}':${centred}`;
    case 'zoom_out':
      return `z='${stepped(`1+${rise}*(1-${progress})`)}':${centred}`;
    case 'pan_right':
      return `z='${stepped(`1+${rise}`)}':x='round((iw-iw/zoom)*${progress})':y='round((ih-ih/zoom)/2)'`;
    case 'pan_left':
      return `z='${stepped(`1+${rise}`)}':x='round((iw-iw/zoom)*(1-${progress}))':y='round((ih-ih/zoom)/2)'`;
  }
}

export interface ShotSource {
  path: string;
  kind: 'image' | 'video';
  motion: PictureMotion;
}

export interface ChunkCommandOptions {
  width: number;
  height: number;
  timeline: Timeline;
  chunk: TimelineChunk;
  /** The source of every shot of the timeline, by shot index. */
  sources: readonly ShotSource[];
  /** Zoom reached by a moving picture. */
  zoom: number;
  /** xfade's transition name (fade, slideup, …) or 'cut'. */
  transition: string;
  /** A picture laid over every frame in the top right corner, under the captions and titles (the white-label logo). */
  logoPath?: string;
  /** ASS files burnt in, in order (captions, then titles), timed from the chunk's start. */
  assFiles: readonly string[];
  /** A folder of fonts libass reads besides the system's. */
  fontsDir?: string;
  videoArgs: string[];
  outputPath: string;
}

/** The input of a shot's part: a single frame for a picture, a clip looped long enough for a video. */
function partInput(source: ShotSource, part: ChunkPart, fps: number): string[] {
  if (source.kind === 'image') return ['-i', source.path];
  // The clip plays from its start for the part's frames (looped when shorter), plus a margin.
  return ['-stream_loop', '-1', '-t', formatNumber(part.toFrame / fps + 1, 3), '-i', source.path];
}

function partFilter(input: number, source: ShotSource, part: ChunkPart, streamFrames: number, options: ChunkCommandOptions, label: string): string {
  const { width, height } = options;
  const { fps } = options.timeline;
  const fit = `scale=${width}:${height}:force_original_aspect_ratio=increase,crop=${width}:${height},setsar=1,format=yuv420p`;
  const cut = `trim=start_frame=${part.fromFrame}:end_frame=${part.toFrame},setpts=PTS-STARTPTS`;
  if (source.kind === 'video') return `[${input}:v]fps=${fps},${fit},${cut}[${label}]`;
  if (source.motion === 'still') return `[${input}:v]${fit},loop=loop=${streamFrames - 1}:size=1:start=0,setpts=N/(${fps}*TB),fps=${fps},${cut}[${label}]`;
  const move = motionExpressions(source.motion, options.zoom, streamFrames);
  return `[${input}:v]${fit},zoompan=${move}:d=${streamFrames}:s=${width}x${height}:fps=${fps},${cut}[${label}]`;
}

/**
 * Where the logo sits: inside a square of 15 % of the frame's shorter side, a margin of 4 % of it
 * from the right edge, and from the top 4 % of it, or 8 % of the height in a portrait frame, below
 * the platforms' top bar (TikTok's and Reels' tabs, Shorts' search).
 */
export function logoPlacement(width: number, height: number): { box: number; marginX: number; marginY: number } {
  const side = Math.min(width, height);
  const even = (value: number) => 2 * Math.round(value / 2);
  return { box: even(side * 0.15), marginX: even(side * 0.04), marginY: even(height > width ? height * 0.08 : side * 0.04) };
}

export function buildChunkCommand(options: ChunkCommandOptions): FfmpegCommand {
  const { timeline, chunk } = options;
  const { fps } = timeline;
  const inputs: string[][] = [];
  const graph: string[] = [];
  chunk.parts.forEach((part, index) => {
    const shot = timeline.shots[part.shot];
    const source = shot && options.sources[shot.shot];
    if (!shot || !source) throw new Error(`shot ${part.shot} has no source`);
    inputs.push(partInput(source, part, fps));
    graph.push(partFilter(index, source, part, shot.streamFrames, options, `p${index}`));
  });

  let video = '[p0]';
  // xfade with no length drops every stream after its first: shots too short to blend are joined.
  if (chunk.parts.length > 1 && (options.transition === 'cut' || timeline.transitionFrames === 0)) {
    graph.push(`${chunk.parts.map((_, index) => `[p${index}]`).join('')}concat=n=${chunk.parts.length}:v=1:a=0[joined]`);
    video = '[joined]';
  } else {
    const blend = formatNumber(timeline.transitionFrames / fps, 4);
    chunk.blendOffsets.forEach((offset, index) => {
      const output = `[x${index}]`;
      graph.push(`${video}[p${index + 1}]xfade=transition=${options.transition}:duration=${blend}:offset=${formatNumber(offset / fps, 4)}${output}`);
      video = output;
    });
  }

  if (options.logoPath) {
    const logo = logoPlacement(options.width, options.height);
    inputs.push(['-i', options.logoPath]);
    graph.push(`[${inputs.length - 1}:v]scale=${logo.box}:${logo.box}:force_original_aspect_ratio=decrease,format=rgba[logo]`);
    graph.push(`${video}[logo]overlay=x=W-w-${logo.marginX}:y=${logo.marginY}:format=auto[branded]`);
    video = '[branded]';
  }
  const overlays = options.assFiles.map((file) => assFilter(file, options.fontsDir));
  graph.push(`${video}${[...overlays, 'format=yuv420p'].join(',')}[video]`);
  return {
    inputs,
    filterGraph: graph.join(';'),
    outputArgs: ['-map', '[video]', '-an', ...options.videoArgs, '-r', String(fps), '-frames:v', String(chunk.endFrame - chunk.startFrame), options.outputPath],
  };
}

/** The concat demuxer's list of chunk files. */
export function concatList(paths: readonly string[]): string {
  return paths.map((path) => `file '${path.replace(/'/g, "'\\''")}'\n`).join('');
}

/** The chunks joined as they are, with the mixed audio, into the final MP4. */
export function buildJoinCommand(options: { listPath: string; audioPath: string; durationSec: number; outputPath: string }): FfmpegCommand {
  return {
    inputs: [['-f', 'concat', '-safe', '0', '-i', options.listPath], ['-i', options.audioPath]],
    filterGraph: '',
    outputArgs: ['-map', '0:v:0', '-map', '1:a:0', '-c', 'copy', '-t', formatNumber(options.durationSec), '-movflags', '+faststart', options.outputPath],
  };
}

/** A JPEG of one frame of the video, scaled. */
export function buildThumbnailCommand(options: { videoPath: string; atSec: number; width: number; outputPath: string }): FfmpegCommand {
  return {
    inputs: [['-ss', formatNumber(options.atSec), '-i', options.videoPath]],
    filterGraph: `[0:v]scale=${options.width}:-2[thumb]`,
    outputArgs: ['-map', '[thumb]', '-frames:v', '1', '-q:v', '3', '-update', '1', options.outputPath],
  };
}
