import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { captionCues, spokenWords, type CaptionStyle } from '../providers/captions';
import { runFfmpeg } from '../providers/ffmpeg/runner';
import { SceneCardImageProvider } from '../providers/images/scene-cards';
import { FfmpegRenderer } from '../providers/render/ffmpeg-renderer';
import type { X264Preset } from '../providers/render/render-command';
import type { TitleStyle } from '../providers/render/titles';
import type { RenderRequest, SubtitleCue, TemplateLook } from '../providers/types';

/**
 * Render benchmark (not a test): 20 s of voice at 1080x1920@30 between a 3 s intro title and a
 * 4 s outro call to action (the short system template's), five scenes of Hangul picture cards
 * moving (ken_burns) and fading into each other, karaoke captions and AAC, rendered by
 * FfmpegRenderer and compared with x264 encoding the same number of frames of a test pattern at
 * the same settings. Prints medians, peak memory and a preset sweep with SSIM against a lossless
 * render of the same graph.
 *
 * Then two cases of stock footage: a 60 s 1080x1920 video of six clips (one per scene, 720x1280
 * as stock HD clips come, looped and scaled) with word captions, fades and ducked music, beside x264
 * encoding the same frames; and a long 1920x1080 video of the same clips (20 minutes unless
 * `--long-minutes` says otherwise), rendered once, whose peak memory should stay that of the 60 s
 * one (the renderer works in chunks). Its last line:
 * `clips <ratio> of floor, <speed>x real time, <MiB> MiB peak; long <MiB> MiB peak`.
 *
 *   npx tsx scripts/bench-render.ts [--runs 3] [--long-minutes 20] [--keep]
 */

const execFileAsync = promisify(execFile);
const WIDTH = 1080;
const HEIGHT = 1920;
const FPS = 30;
const VOICE_SEC = 20;
const INTRO_SEC = 3;
const OUTRO_SEC = 4;
const DURATION_SEC = INTRO_SEC + VOICE_SEC + OUTRO_SEC;
const SSIM_FLOOR = 0.99;
const LOOK: TemplateLook = { width: WIDTH, height: HEIGHT, colors: { primary: '#0F766E', secondary: '#1E3A8A' }, font: 'Noto Sans CJK KR' };
const SCENES = [
  '아침 공복에 물 한 잔, 정말 건강에 좋을까요?',
  '밤새 부족해진 수분을 채워 줍니다',
  '위장을 부드럽게 깨워 소화를 돕습니다',
  '차가운 물보다 미지근한 물이 좋아요',
  '오늘부터 물 한 잔으로 하루를 시작해 보세요',
];
const CAPTION_STYLE: CaptionStyle = {
  mode: 'karaoke',
  font: LOOK.font,
  fontSize: 64,
  bold: true,
  color: '#FFFFFF',
  highlightColor: LOOK.colors.primary,
  outlineColor: '#000000',
  background: '#000000B3',
  position: 'center',
  maxEm: 14,
  wordsPerGroup: 3,
};
const titleStyle = (fontSize: number): TitleStyle => ({ font: LOOK.font, fontSize, bold: true, position: 'center', color: '#FFFFFF', outlineColor: '#000000' });

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/**
 * Peak memory of this process's ffmpeg children while `work` runs: at each sample the peak resident
 * memory (VmHWM) of every ffmpeg alive then, summed, since the sound's passes run beside a chunk's.
 */
async function withPeakFfmpegMemory<T>(work: () => Promise<T>): Promise<{ value: T; peakMiB: number }> {
  let peakKiB = 0;
  const sample = (): void => {
    let aliveKiB = 0;
    for (const pid of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        if (!/^Name:\s+ffmpeg$/m.test(status) || Number(/^PPid:\s+(\d+)/m.exec(status)?.[1]) !== process.pid) continue;
        aliveKiB += Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
      } catch {
        // the process ended between listing and reading
      }
    }
    peakKiB = Math.max(peakKiB, aliveKiB);
  };
  const timer = setInterval(sample, 50);
  try {
    const value = await work();
    return { value, peakMiB: peakKiB / 1024 };
  } finally {
    clearInterval(timer);
  }
}

let clockTicks = 100;

/** CPU seconds used by this process's exited children so far (cutime + cstime of /proc/self/stat). */
function childCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) / clockTicks;
}

/** Wall time and the CPU time of the child processes it ran: the latter barely moves when other work shares the cores. */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const cpuBefore = childCpuSeconds();
  const started = process.hrtime.bigint();
  const value = await work();
  return { value, seconds: Number(process.hrtime.bigint() - started) / 1e9, cpuSeconds: childCpuSeconds() - cpuBefore };
}

async function ssim(distorted: string, reference: string): Promise<number> {
  const { stderr } = await execFileAsync('ffmpeg', ['-hide_banner', '-nostats', '-i', distorted, '-i', reference, '-lavfi', '[0:v][1:v]ssim', '-f', 'null', '-'], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const all = /SSIM .*All:([\d.]+)/.exec(stderr)?.[1];
  if (!all) throw new Error(`no SSIM in ffmpeg output:\n${stderr.slice(-1000)}`);
  return Number(all);
}

/** The benchmark's inputs: cards rendered once, a 20 s AAC voice stand-in, a subtitle line every 2 s made into captions. */
async function prepare(dir: string): Promise<RenderRequest> {
  const { images } = await new SceneCardImageProvider().createSceneImages({
    language: 'ko',
    look: LOOK,
    outDir: join(dir, 'cards'),
    scenes: SCENES.map((text, index) => ({ index, text, keywords: [] })),
  });
  const audioPath = join(dir, 'voice.m4a');
  await runFfmpeg(['-f', 'lavfi', '-i', `sine=f=220:sample_rate=44100:d=${VOICE_SEC}`, '-af', 'volume=0.3', '-c:a', 'aac', '-b:a', '128k', audioPath]);
  const sceneSec = VOICE_SEC / SCENES.length;
  const segments = SCENES.map((_, index) => ({ startSec: index * sceneSec, endSec: (index + 1) * sceneSec }));
  const lines: SubtitleCue[] = SCENES.flatMap((text, scene) => {
    const half = text.split(' ');
    const middle = Math.ceil(half.length / 2);
    return [half.slice(0, middle).join(' '), half.slice(middle).join(' ')].map((line, part) => ({
      startSec: scene * sceneSec + part * (sceneSec / 2) + 0.1,
      endSec: scene * sceneSec + (part + 1) * (sceneSec / 2) - 0.1,
      text: line,
    }));
  });
  return {
    look: LOOK,
    fps: FPS,
    language: 'ko',
    audioPath,
    outDir: join(dir, 'render'),
    scenes: images.map((image, index) => ({ ...(segments[index] as { startSec: number; endSec: number }), shots: [{ path: image.path, kind: 'image' }] })),
    design: {
      motion: 'ken_burns',
      transition: 'fade',
      intro: { text: '아침 공복 물 한 잔의 효과', durationSec: INTRO_SEC, animation: 'zoom_in', style: titleStyle(102) },
      outro: { text: '구독하고 건강 습관 더 알아보기', durationSec: OUTRO_SEC, animation: 'fade', style: titleStyle(77) },
      captions: { cues: captionCues(spokenWords(lines, segments, 'ko'), CAPTION_STYLE, 'ko'), style: CAPTION_STYLE },
    },
  };
}

const CLIP_SOURCES = ['testsrc2', 'smptehdbars', 'rgbtestsrc', 'testsrc', 'yuvtestsrc', 'pal100bars'];
const CLIP_SEC = 6;
const SCENE_SEC = 10;

/** Six distinct 720x1280 H.264 clips of CLIP_SEC seconds, shorter than a scene so that they loop, and a stereo music bed. */
async function prepareClips(dir: string): Promise<{ clips: string[]; musicPath: string }> {
  await mkdir(dir, { recursive: true });
  const clips: string[] = [];
  for (const [index, source] of CLIP_SOURCES.entries()) {
    const path = join(dir, `clip-${index}.mp4`);
    await runFfmpeg(['-f', 'lavfi', '-i', `${source}=size=720x1280:rate=25:duration=${CLIP_SEC}`, '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p', path]);
    clips.push(path);
  }
  const musicPath = join(dir, 'music.m4a');
  await runFfmpeg(['-f', 'lavfi', '-i', 'sine=f=330:sample_rate=44100:d=30', '-f', 'lavfi', '-i', 'sine=f=495:sample_rate=44100:d=30', '-filter_complex', 'amerge=inputs=2,volume=0.4', '-c:a', 'aac', '-b:a', '128k', musicPath]);
  return { clips, musicPath };
}

/** A voice stand-in and its word captions, a subtitle line every 2.5 s, over `scenes` scenes of SCENE_SEC. */
async function clipsRequest(dir: string, footage: { clips: string[]; musicPath: string }, look: TemplateLook, scenes: number): Promise<RenderRequest> {
  await mkdir(dir, { recursive: true });
  const voiceSec = scenes * SCENE_SEC;
  const audioPath = join(dir, 'voice.m4a');
  await runFfmpeg(['-f', 'lavfi', '-i', `sine=f=220:sample_rate=44100:d=${voiceSec}`, '-af', 'volume=0.3', '-c:a', 'aac', '-b:a', '96k', audioPath]);
  const segments = Array.from({ length: scenes }, (_, index) => ({ startSec: index * SCENE_SEC, endSec: (index + 1) * SCENE_SEC }));
  const lines: SubtitleCue[] = Array.from({ length: voiceSec / 2.5 }, (_, index) => ({
    startSec: index * 2.5 + 0.1,
    endSec: (index + 1) * 2.5 - 0.1,
    text: (SCENES[index % SCENES.length] as string).split(' ').slice(0, 4).join(' '),
  }));
  return {
    look,
    fps: FPS,
    language: 'ko',
    audioPath,
    outDir: join(dir, 'render'),
    scenes: segments.map((segment, index) => ({ ...segment, shots: [{ path: footage.clips[index % footage.clips.length] as string, kind: 'video' }] })),
    design: {
      motion: 'ken_burns',
      transition: 'fade',
      captions: { cues: captionCues(spokenWords(lines, segments, 'ko'), CAPTION_STYLE, 'ko'), style: CAPTION_STYLE },
    },
    music: { path: footage.musicPath, volume: 0.3 },
  };
}

/** Peak memory of the benchmark process (the worker's part) and of its ffmpeg children, in MiB. */
function processPeakMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

function row(cells: (string | number)[], widths: number[]): string {
  return cells.map((cell, index) => String(cell).padEnd(widths[index] ?? 10)).join('  ');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const runsFlag = args.indexOf('--runs');
  const runs = runsFlag >= 0 ? Number(args[runsFlag + 1]) : 3;
  if (!(runs >= 1)) throw new Error('--runs needs a positive number');
  const dir = await mkdtemp(join(tmpdir(), 'autoclip-bench-'));
  try {
    clockTicks = Number((await execFileAsync('getconf', ['CLK_TCK'])).stdout.trim()) || 100;
    const request = await prepare(dir);
    const frames = DURATION_SEC * FPS;
    console.log(
      `bench: ${DURATION_SEC} s of ${WIDTH}x${HEIGHT}@${FPS} (${frames} frames: ${INTRO_SEC} s intro, ${VOICE_SEC} s voice, ${OUTRO_SEC} s outro), ` +
        `${SCENES.length} scenes, ken_burns + fade, ${request.design.captions?.cues.length ?? 0} captions, medians of ${runs}\n`,
    );

    // Render and encode runs alternate, so that load from other processes hits both alike.
    const encodeArgs = ['-f', 'lavfi', '-i', `testsrc2=s=${WIDTH}x${HEIGHT}:r=${FPS}:d=${DURATION_SEC}`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', join(dir, 'encode-only.mp4')];
    const renders: { seconds: number; cpuSeconds: number; peakMiB: number }[] = [];
    const encodes: { seconds: number; cpuSeconds: number }[] = [];
    for (let run = 0; run < runs; run++) {
      const { value, peakMiB } = await withPeakFfmpegMemory(() => timed(() => new FfmpegRenderer().render(request)));
      renders.push({ seconds: value.seconds, cpuSeconds: value.cpuSeconds, peakMiB });
      encodes.push(await timed(() => runFfmpeg(encodeArgs)));
    }
    const render = median(renders.map((run) => run.seconds));
    const encode = median(encodes.map((run) => run.seconds));
    const renderCpu = median(renders.map((run) => run.cpuSeconds));
    const encodeCpu = median(encodes.map((run) => run.cpuSeconds));
    const pairRatios = renders.map((run, index) => run.seconds / (encodes[index] as { seconds: number }).seconds);
    const widths = [46, 24];
    console.log(row(['metric (veryfast, CRF 23)', 'value'], widths));
    console.log(row(['render, FfmpegRenderer', `${render.toFixed(2)} s wall, ${renderCpu.toFixed(2)} s CPU`], widths));
    console.log(row(['x264 encode only, testsrc2', `${encode.toFixed(2)} s wall, ${encodeCpu.toFixed(2)} s CPU`], widths));
    console.log(row(['ratio render / encode (target ≤ 1.1)', `${(render / encode).toFixed(2)} wall, ${(renderCpu / encodeCpu).toFixed(2)} CPU`], widths));
    console.log(row(['  per run (wall)', pairRatios.map((ratio) => ratio.toFixed(2)).join(', ')], widths));
    console.log(row(['speed', `${(DURATION_SEC / render).toFixed(2)}x real time`], widths));
    console.log(row(['peak ffmpeg memory (VmHWM)', `${Math.max(...renders.map((run) => run.peakMiB)).toFixed(0)} MiB`], widths));
    console.log(row(['peak benchmark process (maxRSS)', `${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`], widths));
    console.log(row(['load average at the end', loadavg().map((load) => load.toFixed(2)).join(' ')], widths));

    const reference = { ...request, outDir: join(dir, 'lossless') };
    await new FfmpegRenderer({ preset: 'ultrafast', crf: 0 }).render(reference);
    const referencePath = join(reference.outDir, 'video.mp4');
    console.log(`\npreset sweep (CRF 23, SSIM against a lossless render of the same graph, floor ${SSIM_FLOOR})`);
    const sweepWidths = [10, 10, 10, 18, 8, 8, 6];
    console.log(row(['preset', 'wall', 'CPU', 'speed', 'SSIM', 'size', 'floor'], sweepWidths));
    const presets: X264Preset[] = ['ultrafast', 'superfast', 'veryfast'];
    let fastestPassing: { preset: X264Preset; speed: number } | undefined;
    for (const preset of presets) {
      const outDir = join(dir, preset);
      await mkdir(outDir, { recursive: true });
      const { value, seconds, cpuSeconds } = await timed(() => new FfmpegRenderer({ preset }).render({ ...request, outDir }));
      const score = await ssim(value.videoPath, referencePath);
      const speed = DURATION_SEC / seconds;
      const passes = score >= SSIM_FLOOR;
      if (passes && !fastestPassing) fastestPassing = { preset, speed };
      console.log(row([preset, `${seconds.toFixed(2)} s`, `${cpuSeconds.toFixed(2)} s`, `${speed.toFixed(2)}x real time`, score.toFixed(4), `${(value.sizeBytes / 1e6).toFixed(1)} MB`, passes ? 'pass' : 'FAIL'], sweepWidths));
    }
    console.log(
      fastestPassing
        ? `\nfastest preset above the floor: ${fastestPassing.preset}, ${fastestPassing.speed.toFixed(2)}x real time (target ≥ 4x)`
        : '\nno preset reached the quality floor',
    );

    const footage = await prepareClips(join(dir, 'clips'));
    const clipScenes = 60 / SCENE_SEC;
    const clipRequest = await clipsRequest(join(dir, 'clips-60'), footage, LOOK, clipScenes);
    const clipFrames = 60 * FPS;
    const clipEncodeArgs = ['-f', 'lavfi', '-i', `testsrc2=s=${WIDTH}x${HEIGHT}:r=${FPS}:d=60`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', join(dir, 'clips-encode.mp4')];
    const clipRenders: { seconds: number; peakMiB: number }[] = [];
    const clipEncodes: number[] = [];
    for (let run = 0; run < runs; run++) {
      const { value, peakMiB } = await withPeakFfmpegMemory(() => timed(() => new FfmpegRenderer().render(clipRequest)));
      clipRenders.push({ seconds: value.seconds, peakMiB });
      clipEncodes.push((await timed(() => runFfmpeg(clipEncodeArgs))).seconds);
    }
    const clipRender = median(clipRenders.map((run) => run.seconds));
    const clipEncode = median(clipEncodes);
    const clipPeak = Math.max(...clipRenders.map((run) => run.peakMiB)) + processPeakMiB();
    console.log(`\nstock footage: 60 s of ${WIDTH}x${HEIGHT}@${FPS} (${clipFrames} frames), ${clipScenes} clips, word captions, fades, ducked music, medians of ${runs}`);
    console.log(row(['render, FfmpegRenderer', `${clipRender.toFixed(2)} s wall`], widths));
    console.log(row(['x264 encode only, testsrc2', `${clipEncode.toFixed(2)} s wall`], widths));
    console.log(row(['ratio render / encode (target ≤ 1.2)', (clipRender / clipEncode).toFixed(2)], widths));
    console.log(row(['speed (target ≥ 2x)', `${(60 / clipRender).toFixed(2)}x real time`], widths));
    console.log(row(['peak ffmpeg + process (target < 1024)', `${clipPeak.toFixed(0)} MiB`], widths));

    const longMinutesFlag = args.indexOf('--long-minutes');
    const longMinutes = longMinutesFlag >= 0 ? Number(args[longMinutesFlag + 1]) : 20;
    if (!(longMinutes > 0)) throw new Error('--long-minutes needs a positive number');
    const landscape: TemplateLook = { ...LOOK, width: HEIGHT, height: WIDTH };
    const longRequest = await clipsRequest(join(dir, 'clips-long'), footage, landscape, Math.round((longMinutes * 60) / SCENE_SEC));
    const long = await withPeakFfmpegMemory(() => timed(() => new FfmpegRenderer().render(longRequest)));
    const longPeak = long.peakMiB + processPeakMiB();
    console.log(`\nlong: ${longMinutes} min of ${HEIGHT}x${WIDTH}@${FPS}, rendered once`);
    console.log(row(['render, FfmpegRenderer', `${long.value.seconds.toFixed(2)} s wall, ${((longMinutes * 60) / long.value.seconds).toFixed(2)}x real time`], widths));
    console.log(row(['peak ffmpeg + process (target ≤ 60 s + 10 %)', `${longPeak.toFixed(0)} MiB`], widths));
    console.log(`\nclips ${(clipRender / clipEncode).toFixed(2)} of floor, ${(60 / clipRender).toFixed(2)}x real time, ${clipPeak.toFixed(0)} MiB peak; long ${longPeak.toFixed(0)} MiB peak`);
  } finally {
    if (args.includes('--keep')) console.log(`\noutputs kept in ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
