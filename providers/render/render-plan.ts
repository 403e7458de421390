import { join, resolve } from 'node:path';
import { fontForLanguage, fontSizeForLanguage, toAss, toWebVtt, type CaptionCue } from '../captions';
import { PermanentProviderError } from '../errors';
import { commandArgs, type FfmpegCommand } from '../ffmpeg/command';
import { requireStream, type MediaInfo } from '../ffmpeg/runner';
import type { RenderRequest, RenderTitle } from '../types';
import { buildAudioMixCommand, buildLoudnessMeasureCommand, levelingFor, type AudioMixOptions, type LoudnessMeasurement } from './audio-mix';
import {
  buildChunkCommand,
  buildJoinCommand,
  buildThumbnailCommand,
  chooseEncoder,
  concatList,
  H264_ENCODERS,
  KEN_BURNS_MOVES,
  type ShotSource,
  type VideoEncoderProfile,
  type X264Preset,
} from './render-command';
import { planTimeline, type Timeline } from './timeline';
import { titlesAss, type TitleCard } from './titles';

/**
 * The ffmpeg render planned in one pure call, as Immich builds a whole transcode command: from the
 * request and what was found out before (the voice's probe, the encoders of the ffmpeg build) to
 * every file and argument of the render — the timeline, each chunk's run and its ASS overlays, the
 * two audio passes, the join and the thumbnail. The renderer probes, plans, writes the files and
 * runs the commands in order.
 */

/** How the video is encoded and cut; every field has a default. */
export interface RenderSettings {
  preset?: X264Preset;
  crf?: number;
  /** Zoom factor a moving picture reaches. */
  zoom?: number;
  /** Length of a transition between shots. */
  transitionSec?: number;
  /** A chunk (one ffmpeg run) ends at the first shot boundary past this length. */
  chunkSec?: number;
  audioBitrate?: string;
  thumbnailWidth?: number;
  /** Encoders to try in order; H.264 by default. */
  encoders?: readonly VideoEncoderProfile[];
  /** A folder of fonts libass reads besides the system's (the script fonts). */
  fontsDir?: string;
}

/** What the renderer found out before planning. */
export interface RenderInputs {
  /** The probe of the request's voice track. */
  voice: MediaInfo;
  /** The encoders the ffmpeg build has. */
  encoders: ReadonlySet<string>;
}

/** One ffmpeg run: its parts, and the argument list `runFfmpeg` takes. */
export interface FfmpegInvocation extends FfmpegCommand {
  args: string[];
}

/** A text file the plan's runs read. */
export interface PlannedFile {
  path: string;
  text: string;
}

export interface PlannedChunk {
  video: FfmpegInvocation;
  outputPath: string;
  frames: number;
  /** The ASS overlays it burns, written before it runs. */
  files: PlannedFile[];
}

export interface RenderPlan {
  timeline: Timeline;
  chunks: PlannedChunk[];
  /** The audio's passes: the mix measured, then measured again leveled from the first measurement, then mixed from both. */
  measureAudio: FfmpegInvocation;
  measureLeveled: (raw: LoudnessMeasurement) => FfmpegInvocation;
  mixAudio: (raw: LoudnessMeasurement, leveled: LoudnessMeasurement) => FfmpegInvocation;
  /** The chunk list, then the join of the chunks and the mixed audio. */
  chunkList: PlannedFile;
  join: FfmpegInvocation;
  thumbnail: FfmpegInvocation;
  /** The captions as WebVTT, on the video's timeline. */
  captions?: PlannedFile;
  videoPath: string;
  thumbnailPath: string;
  durationSec: number;
  totalFrames: number;
  /** Encoder and preset, as the usage record names the model. */
  encoding: string;
}

const TRANSITIONS = { cut: 'cut', fade: 'fade', slide: 'slideleft' } as const;

/** Refuses a request no render can satisfy, before anything is probed or drawn for it. */
export function checkRenderRequest(request: RenderRequest): void {
  const { look, fps } = request;
  if (request.scenes.length === 0) throw new PermanentProviderError('render request has no scenes');
  if (request.scenes.some((scene) => scene.shots.length === 0)) throw new PermanentProviderError('every scene needs at least one picture or clip');
  if (!(fps > 0 && fps <= 120)) throw new PermanentProviderError(`invalid frame rate ${fps}`);
  // yuv420p needs even dimensions.
  if (![look.width, look.height].every((side) => Number.isInteger(side) && side > 0 && side % 2 === 0)) {
    throw new PermanentProviderError(`frame size ${look.width}x${look.height} must be positive even numbers`);
  }
  const starts = request.scenes.map((scene) => scene.startSec);
  if (starts.some((start, index) => !Number.isFinite(start) || (index > 0 && start <= (starts[index - 1] as number)))) {
    throw new PermanentProviderError('each scene must start after the scene before it');
  }
  for (const [name, title] of [['intro', request.design.intro], ['outro', request.design.outro]] as const) {
    if (title && !(Number.isFinite(title.durationSec) && title.durationSec >= 0)) throw new PermanentProviderError(`the ${name} lasts ${title.durationSec} s`);
  }
}

function invocation(command: FfmpegCommand): FfmpegInvocation {
  return { ...command, args: commandArgs(command) };
}

function shifted(cues: readonly CaptionCue[], bySec: number): CaptionCue[] {
  return cues.map((cue) => ({
    ...cue,
    startSec: cue.startSec + bySec,
    endSec: cue.endSec + bySec,
    words: cue.words.map((word) => ({ ...word, startSec: word.startSec + bySec, endSec: word.endSec + bySec })),
  }));
}

/** The render's runs for a request `checkRenderRequest` accepted. */
export function planRender(request: RenderRequest, inputs: RenderInputs, settings: RenderSettings = {}): RenderPlan {
  const { look, fps, design } = request;
  requireStream(inputs.voice, 'audio');
  const voiceSec = inputs.voice.durationSec;
  if (!(voiceSec > 0)) throw new Error(`${request.audioPath} has no duration`);
  const late = request.scenes.findIndex((scene, index) => index > 0 && scene.startSec >= voiceSec);
  if (late !== -1) throw new PermanentProviderError(`scene ${late} starts after the voice ends (${voiceSec} s)`);
  const introSec = design.intro?.durationSec ?? 0;
  const outroSec = design.outro?.durationSec ?? 0;
  const timeline = planTimeline({
    fps,
    voiceSec,
    introSec,
    outroSec,
    scenes: request.scenes.map((scene) => ({ startSec: scene.startSec, shots: scene.shots.length })),
    transitionSec: design.transition === 'cut' ? 0 : (settings.transitionSec ?? 0.5),
    chunkSec: settings.chunkSec ?? 30,
  });
  const durationSec = timeline.totalFrames / fps;
  const frame = { width: look.width, height: look.height };
  const sources: ShotSource[] = request.scenes
    .flatMap((scene) => scene.shots)
    .map((shot, index) => ({
      path: resolve(shot.path),
      kind: shot.kind,
      motion: shot.kind === 'image' && design.motion === 'ken_burns' ? (KEN_BURNS_MOVES[index % KEN_BURNS_MOVES.length] as ShotSource['motion']) : 'still',
    }));

  const titles: TitleCard[] = [];
  const inLanguage = (title: RenderTitle) => ({
    ...title,
    style: { ...title.style, font: fontForLanguage(request.language, title.style.font), fontSize: fontSizeForLanguage(request.language, title.style.fontSize) },
  });
  if (design.intro) titles.push({ ...inLanguage(design.intro), startSec: 0, endSec: timeline.introFrames / fps });
  if (design.outro) titles.push({ ...inLanguage(design.outro), startSec: (timeline.totalFrames - timeline.outroFrames) / fps, endSec: durationSec });
  const cues = design.captions ? shifted(design.captions.cues, timeline.introFrames / fps) : [];
  const rightToLeft = request.language === 'ar';

  const encoder = chooseEncoder(settings.encoders ?? H264_ENCODERS, inputs.encoders);
  const preset = settings.preset ?? 'veryfast';
  const videoArgs = encoder.args({ preset, crf: settings.crf ?? 23 });
  const renderDir = join(request.outDir, '.render');
  const chunks: PlannedChunk[] = timeline.chunks.map((chunk, index) => {
    const window = { fromSec: chunk.startFrame / fps, toSec: chunk.endFrame / fps };
    const files: PlannedFile[] = [];
    const captionsHere = cues.filter((cue) => cue.endSec > window.fromSec && cue.startSec < window.toSec);
    if (design.captions && captionsHere.length > 0) {
      files.push({ path: join(renderDir, `captions-${index}.ass`), text: toAss(captionsHere, design.captions.style, frame, request.language, window.fromSec) });
    }
    if (titles.some((card) => card.endSec > window.fromSec && card.startSec < window.toSec)) {
      files.push({ path: join(renderDir, `titles-${index}.ass`), text: titlesAss(titles, frame, window, rightToLeft) });
    }
    const outputPath = join(renderDir, `chunk-${String(index).padStart(4, '0')}.mp4`);
    const video = buildChunkCommand({
      width: look.width,
      height: look.height,
      timeline,
      chunk,
      sources,
      zoom: settings.zoom ?? 1.1,
      transition: TRANSITIONS[design.transition],
      assFiles: files.map((file) => file.path),
      ...(request.logo ? { logoPath: resolve(request.logo.path) } : {}),
      ...(settings.fontsDir ? { fontsDir: settings.fontsDir } : {}),
      videoArgs,
      outputPath,
    });
    return { video: invocation(video), outputPath, frames: chunk.endFrame - chunk.startFrame, files };
  });

  const audioPath = join(renderDir, 'audio.m4a');
  const mix: AudioMixOptions = { voicePath: resolve(request.audioPath), delaySec: timeline.introFrames / fps, durationSec, ...(request.music ? { music: { path: resolve(request.music.path), volume: request.music.volume } } : {}) };
  const chunkList: PlannedFile = { path: join(renderDir, 'chunks.txt'), text: concatList(chunks.map((chunk) => chunk.outputPath)) };
  const videoPath = join(request.outDir, 'video.mp4');
  const thumbnailPath = join(request.outDir, 'thumbnail.jpg');
  const bitrate = settings.audioBitrate ?? '160k';
  return {
    timeline,
    chunks,
    measureAudio: invocation(buildLoudnessMeasureCommand(mix)),
    measureLeveled: (raw) => invocation(buildLoudnessMeasureCommand(mix, levelingFor(raw))),
    mixAudio: (raw, leveled) => invocation(buildAudioMixCommand({ ...mix, leveling: levelingFor(raw), measured: leveled, bitrate, outputPath: audioPath })),
    chunkList,
    join: invocation(buildJoinCommand({ listPath: chunkList.path, audioPath, durationSec, outputPath: videoPath })),
    thumbnail: invocation(
      buildThumbnailCommand({ videoPath, atSec: Math.min(durationSec / 2, Math.max(0.5, (timeline.introFrames / fps) * 0.6)), width: settings.thumbnailWidth ?? Math.round(look.width / 2), outputPath: thumbnailPath }),
    ),
    ...(design.captions ? { captions: { path: join(request.outDir, 'video.vtt'), text: toWebVtt(cues) } } : {}),
    videoPath,
    thumbnailPath,
    durationSec,
    totalFrames: timeline.totalFrames,
    encoding: `${encoder.encoder}/${preset}`,
  };
}
