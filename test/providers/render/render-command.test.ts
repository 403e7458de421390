import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { commandArgs } from '../../../providers/ffmpeg/command';
import { availableEncoders, runFfmpeg } from '../../../providers/ffmpeg/runner';
import {
  buildChunkCommand,
  buildJoinCommand,
  buildThumbnailCommand,
  chooseEncoder,
  concatList,
  H264_ENCODERS,
  KEN_BURNS_MOVES,
  motionExpressions,
  type ChunkCommandOptions,
  type PictureMotion,
  type ShotSource,
} from '../../../providers/render/render-command';
import { planTimeline, type Timeline, type TimelineChunk } from '../../../providers/render/timeline';

const execFileAsync = promisify(execFile);

/**
 * 6 s at 10 fps, three shots of 2 s with 0.4 s blends, 1 s chunks:
 * [0, 24) red → green at 20; [24, 44) green → blue at 40 (16 in the chunk); [44, 60) blue.
 */
const TIMELINE: Timeline = planTimeline({
  fps: 10,
  voiceSec: 6,
  introSec: 0,
  outroSec: 0,
  scenes: [
    { startSec: 0, shots: 1 },
    { startSec: 2, shots: 1 },
    { startSec: 4, shots: 1 },
  ],
  transitionSec: 0.4,
  chunkSec: 1,
});

const SOURCES: ShotSource[] = [
  { path: '/m/red.png', kind: 'image', motion: 'still' },
  { path: '/m/green.png', kind: 'image', motion: 'zoom_in' },
  { path: '/m/blue.mp4', kind: 'video', motion: 'still' },
];

const X264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
const FIT = 'scale=64:64:force_original_aspect_ratio=increase,crop=64:64,setsar=1,format=yuv420p';

function chunkOf(timeline: Timeline, index: number): TimelineChunk {
  const chunk = timeline.chunks[index];
  assert.ok(chunk, `the timeline has a chunk ${index}`);
  return chunk;
}

function chunkOptions(index: number, overrides: Partial<ChunkCommandOptions> = {}): ChunkCommandOptions {
  return {
    width: 64,
    height: 64,
    timeline: TIMELINE,
    chunk: chunkOf(TIMELINE, index),
    sources: SOURCES,
    zoom: 1.1,
    transition: 'fade',
    assFiles: [],
    videoArgs: X264,
    outputPath: `/r/chunk-${index}.mp4`,
    ...overrides,
  };
}

/** zoompan's z, x and y of a move, evaluated like zoompan does for one output frame `on`. */
function evaluateMove(motion: Exclude<PictureMotion, 'still'>, zoom: number, frames: number, size: { iw: number; ih: number }, on: number) {
  const expressions = Object.fromEntries([...motionExpressions(motion, zoom, frames).matchAll(/(\w)='([^']*)'/g)].map((match) => [match[1], match[2] as string]));
  const evaluate = (expression: string | undefined, zoomValue: number): number => {
    assert.ok(expression !== undefined);
    const body = expression.replace(/\bround\(/g, 'Math.round(');
    return (new Function('iw', 'ih', 'on', 'zoom', `return ${body};`) as (...args: number[]) => number)(size.iw, size.ih, on, zoomValue);
  };
  const z = evaluate(expressions.z, 1);
  return { z, cropWidth: Math.floor(size.iw / z), x: evaluate(expressions.x, z), y: evaluate(expressions.y, z) };
}

describe('render commands', () => {
  it('picks the first available encoder of the fallback chain', () => {
    assert.equal(chooseEncoder(H264_ENCODERS, new Set(['aac', 'libx264', 'libopenh264'])).encoder, 'libx264');
    assert.equal(chooseEncoder(H264_ENCODERS, new Set(['libopenh264'])).encoder, 'libopenh264');
    assert.throws(() => chooseEncoder(H264_ENCODERS, new Set(['mpeg4'])), /none of the encoders libx264, libopenh264/);
  });

  it('gives x264 the preset and CRF, and openh264 a bitrate since it has no CRF', () => {
    const [x264, openh264] = H264_ENCODERS;
    assert.deepEqual(x264?.args({ preset: 'ultrafast', crf: 0 }), ['-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '0', '-pix_fmt', 'yuv420p']);
    assert.deepEqual(openh264?.args({ preset: 'ultrafast', crf: 0 }), ['-c:v', 'libopenh264', '-b:v', '4M', '-pix_fmt', 'yuv420p']);
  });

  it('writes zoompan moves that step the crop by 4 px, keep a centred origin on even pixels and move one way to the zoom', () => {
    assert.equal(
      motionExpressions('zoom_in', 1.08, 121),
      "z='iw/(iw-4*round(iw*(1-1/(1+0.08*on/120))/4)+0.001)':x='round((iw-iw/zoom)/2)':y='round((ih-ih/zoom)/2)'",
    );
    const size = { iw: 1080, ih: 1920 };
    const frames = 90;
    for (const motion of KEN_BURNS_MOVES) {
      assert.notEqual(motion, 'still', 'a ken_burns move moves');
      const move = motion as Exclude<PictureMotion, 'still'>;
      const steps = Array.from({ length: frames }, (_, on) => evaluateMove(move, 1.1, frames, size, on));
      for (const [on, step] of steps.entries()) {
        assert.equal((size.iw - step.cropWidth) % 4, 0, `${motion} frame ${on}: crop width ${step.cropWidth} steps by 4 px`);
        assert.ok(step.x >= 0 && step.x + step.cropWidth <= size.iw, `${motion} frame ${on}: the crop stays inside the picture`);
      }
      const widths = steps.map((step) => step.cropWidth);
      const xs = steps.map((step) => step.x);
      const nearZoomed = (width: number | undefined) => width !== undefined && Math.abs(width - size.iw / 1.1) <= 4;
      switch (motion) {
        case 'zoom_in':
          assert.equal(widths[0], size.iw);
          assert.ok(nearZoomed(widths.at(-1)), `zoom_in ends at ${widths.at(-1)} px`);
          assert.ok(xs.every((x) => x % 2 === 0), 'zoom_in keeps its origin on even pixels');
          widths.slice(1).forEach((width, on) => assert.ok(width <= (widths[on] as number), `zoom_in widens at frame ${on + 1}`));
          break;
        case 'zoom_out':
          assert.ok(nearZoomed(widths[0]), `zoom_out starts at ${widths[0]} px`);
          assert.equal(widths.at(-1), size.iw);
          assert.ok(xs.every((x) => x % 2 === 0), 'zoom_out keeps its origin on even pixels');
          widths.slice(1).forEach((width, on) => assert.ok(width >= (widths[on] as number), `zoom_out narrows at frame ${on + 1}`));
          break;
        case 'pan_right':
        case 'pan_left': {
          assert.ok(widths.every((width) => width === widths[0] && nearZoomed(width)), `${motion} keeps one zoomed crop`);
          const travel = size.iw - (widths[0] as number);
          assert.deepEqual([xs[0], xs.at(-1)], motion === 'pan_right' ? [0, travel] : [travel, 0]);
          xs.slice(1).forEach((x, on) => assert.ok(motion === 'pan_right' ? x >= (xs[on] as number) : x <= (xs[on] as number), `${motion} turns back at frame ${on + 1}`));
          break;
        }
        default:
          assert.fail(`unexpected move ${motion}`);
      }
    }
    assert.deepEqual(new Set(KEN_BURNS_MOVES), new Set(['zoom_in', 'zoom_out', 'pan_right', 'pan_left']), 'a ken_burns template takes every move');
  });

  it('streams each part for its frames, blends with xfade at the offsets and burns the overlays in order', () => {
    const command = buildChunkCommand(chunkOptions(1, { assFiles: ['/r/captions-1.ass', '/r/titles-1.ass'] }));
    assert.deepEqual(command.inputs, [
      ['-i', '/m/green.png'],
      ['-stream_loop', '-1', '-t', '1.4', '-i', '/m/blue.mp4'],
    ]);
    assert.equal(
      command.filterGraph,
      [
        `[0:v]${FIT},zoompan=z='iw/(iw-4*round(iw*(1-1/(1+0.1*on/23))/4)+0.001)':x='round((iw-iw/zoom)/2)':y='round((ih-ih/zoom)/2)':d=24:s=64x64:fps=10,` +
          'trim=start_frame=4:end_frame=24,setpts=PTS-STARTPTS[p0]',
        `[1:v]fps=10,${FIT},trim=start_frame=0:end_frame=4,setpts=PTS-STARTPTS[p1]`,
        '[p0][p1]xfade=transition=fade:duration=0.4:offset=1.6[x0]',
        '[x0]ass=filename=/r/captions-1.ass,ass=filename=/r/titles-1.ass,format=yuv420p[video]',
      ].join(';'),
    );
    assert.deepEqual(command.outputArgs, ['-map', '[video]', '-an', ...X264, '-r', '10', '-frames:v', '20', '/r/chunk-1.mp4']);
  });

  it('loops a still picture into its whole stream and cuts the part from it', () => {
    const command = buildChunkCommand(chunkOptions(0));
    assert.deepEqual(command.inputs, [['-i', '/m/red.png'], ['-i', '/m/green.png']]);
    const [still, moving, blend, output] = command.filterGraph.split(';');
    assert.equal(still, `[0:v]${FIT},loop=loop=23:size=1:start=0,setpts=N/(10*TB),fps=10,trim=start_frame=0:end_frame=24,setpts=PTS-STARTPTS[p0]`);
    assert.match(moving ?? '', /zoompan=.*:d=24:s=64x64:fps=10,trim=start_frame=0:end_frame=4,/, 'the next shot streams its first frames, its zoom planned over its whole stream');
    assert.equal(blend, '[p0][p1]xfade=transition=fade:duration=0.4:offset=2[x0]');
    assert.equal(output, '[x0]format=yuv420p[video]');
    assert.deepEqual(command.outputArgs.slice(-3), ['-frames:v', '24', '/r/chunk-0.mp4']);
    assert.ok(!commandArgs(command).includes('-loop'), 'a picture is one frame in, looped inside the graph');
  });

  it('plays a clip from its start, looped past its end, for the last chunk', () => {
    const command = buildChunkCommand(chunkOptions(2));
    assert.deepEqual(command.inputs, [['-stream_loop', '-1', '-t', '3', '-i', '/m/blue.mp4']]);
    assert.equal(command.filterGraph, `[0:v]fps=10,${FIT},trim=start_frame=4:end_frame=20,setpts=PTS-STARTPTS[p0];[p0]format=yuv420p[video]`);
    assert.deepEqual(command.outputArgs.slice(-3), ['-frames:v', '16', '/r/chunk-2.mp4']);
  });

  it('joins a cut with concat instead of xfade', () => {
    const cut = planTimeline({ fps: 10, voiceSec: 6, introSec: 0, outroSec: 0, scenes: [{ startSec: 0, shots: 3 }], transitionSec: 0, chunkSec: 60 });
    const command = buildChunkCommand({ ...chunkOptions(0), timeline: cut, chunk: chunkOf(cut, 0), transition: 'cut' });
    const graph = command.filterGraph.split(';');
    assert.deepEqual(
      graph.map((filter) => /trim=start_frame=\d+:end_frame=\d+/.exec(filter)?.[0]),
      ['trim=start_frame=0:end_frame=20', 'trim=start_frame=0:end_frame=20', 'trim=start_frame=0:end_frame=20', undefined, undefined],
    );
    assert.equal(graph[3], '[p0][p1][p2]concat=n=3:v=1:a=0[joined]');
    assert.equal(graph[4], '[joined]format=yuv420p[video]');
    assert.ok(!command.filterGraph.includes('xfade'));
    assert.deepEqual(command.outputArgs.slice(-3), ['-frames:v', '60', '/r/chunk-0.mp4']);
  });

  it('escapes an overlay path for the filter graph and refuses a part without a source', () => {
    const command = buildChunkCommand(chunkOptions(2, { assFiles: ["/r/it's: here/captions-2.ass"] }));
    assert.ok(command.filterGraph.endsWith(String.raw`[p0]ass=filename=/r/it\\\'s\\: here/captions-2.ass,format=yuv420p[video]`), command.filterGraph);
    assert.throws(() => buildChunkCommand(chunkOptions(1, { sources: SOURCES.slice(0, 2) })), /shot 2 has no source/);
  });

  it('lists the chunks for the concat demuxer, quoting each path', () => {
    assert.equal(concatList(['/r/chunk-0000.mp4', "/r/it's/chunk-0001.mp4"]), "file '/r/chunk-0000.mp4'\nfile '/r/it'\\''s/chunk-0001.mp4'\n");
  });

  it('joins the chunks without encoding them again, with the mixed audio, for streaming', () => {
    assert.deepEqual(commandArgs(buildJoinCommand({ listPath: '/r/chunks.txt', audioPath: '/r/audio.m4a', durationSec: 12.3456, outputPath: '/o/video.mp4' })), [
      '-f', 'concat', '-safe', '0', '-i', '/r/chunks.txt',
      '-i', '/r/audio.m4a',
      '-map', '0:v:0', '-map', '1:a:0',
      '-c', 'copy',
      '-t', '12.346',
      '-movflags', '+faststart',
      '/o/video.mp4',
    ]);
  });

  it('makes the thumbnail from a frame of the finished video', () => {
    assert.deepEqual(commandArgs(buildThumbnailCommand({ videoPath: '/o/video.mp4', atSec: 1.2, width: 540, outputPath: '/o/thumbnail.jpg' })), [
      '-ss', '1.2', '-i', '/o/video.mp4',
      '-filter_complex', '[0:v]scale=540:-2[thumb]',
      '-map', '[thumb]', '-frames:v', '1', '-q:v', '3', '-update', '1', '/o/thumbnail.jpg',
    ]);
  });
});

/** Mean red, green and blue of each frame of a video, decoded at 4x4. */
async function frameColours(path: string): Promise<[number, number, number][]> {
  const { stdout } = await execFileAsync('ffmpeg', ['-v', 'error', '-i', path, '-vf', 'scale=4:4:flags=area', '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'], {
    encoding: 'buffer',
    maxBuffer: 16 * 1024 * 1024,
  });
  const frameBytes = 4 * 4 * 3;
  return Array.from({ length: stdout.length / frameBytes }, (_, frame) => {
    const pixels = stdout.subarray(frame * frameBytes, (frame + 1) * frameBytes);
    const channel = (offset: number) => pixels.filter((_, index) => index % 3 === offset).reduce((sum, value) => sum + value, 0) / 16;
    return [channel(0), channel(1), channel(2)];
  });
}

type Colour = 'red' | 'green' | 'blue' | 'white';

function colourName([r, g, b]: [number, number, number]): Colour | 'mixed' {
  const high = (value: number) => value > 180;
  const low = (value: number) => value < 70;
  if (high(r) && high(g) && high(b)) return 'white';
  if (high(r) && low(g) && low(b)) return 'red';
  if (low(r) && high(g) && low(b)) return 'green';
  if (low(r) && low(g) && high(b)) return 'blue';
  return 'mixed';
}

describe('render chunks run by ffmpeg', () => {
  let dir: string;
  let videoArgs: string[];
  let sources: ShotSource[];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autoclip-chunks-'));
    videoArgs = chooseEncoder(H264_ENCODERS, await availableEncoders()).args({ preset: 'ultrafast', crf: 10 });
    for (const colour of ['red', 'lime']) {
      await runFfmpeg(['-f', 'lavfi', '-i', `color=c=${colour}:s=96x64`, '-frames:v', '1', join(dir, `${colour}.png`)]);
    }
    // A 1 s clip at 25 fps in another shape: it is resampled to 10 fps, cropped and looped.
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=blue:s=48x80:r=25:d=1', '-c:v', 'mpeg4', '-q:v', '2', join(dir, 'blue.mp4')]);
    sources = [
      { path: join(dir, 'red.png'), kind: 'image', motion: 'still' },
      { path: join(dir, 'lime.png'), kind: 'image', motion: 'zoom_in' },
      { path: join(dir, 'blue.mp4'), kind: 'video', motion: 'still' },
    ];
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('renders each chunk to exactly its frames, the blends where the timeline puts them and an overlay timed from the chunk start', async () => {
    // A white box drawn by libass over the first 0.45 s of the second chunk (frames 0–4 at 10 fps).
    const overlay = join(dir, 'box.ass');
    await writeFile(
      overlay,
      [
        '[Script Info]',
        'ScriptType: v4.00+',
        'PlayResX: 64',
        'PlayResY: 64',
        '',
        '[V4+ Styles]',
        'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
        'Style: Box,Sans,20,&H00FFFFFF,&H00FFFFFF,&H00FFFFFF,&H00000000,0,0,0,0,100,100,0,0,1,0,0,7,0,0,0,1',
        '',
        '[Events]',
        'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
        'Dialogue: 0,0:00:00.00,0:00:00.45,Box,,0,0,0,,{\\pos(0,0)\\p1}m 0 0 l 64 0 64 64 0 64{\\p0}',
        '',
      ].join('\n'),
    );
    const colours: (Colour | 'mixed')[][] = [];
    for (const [index, chunk] of TIMELINE.chunks.entries()) {
      const outputPath = join(dir, `chunk-${index}.mp4`);
      const command = buildChunkCommand({ ...chunkOptions(index), sources, videoArgs, outputPath, assFiles: index === 1 ? [overlay] : [] });
      await runFfmpeg(commandArgs(command));
      const frames = (await frameColours(outputPath)).map(colourName);
      assert.equal(frames.length, chunk.endFrame - chunk.startFrame, `chunk ${index} has its frames`);
      colours.push(frames);
    }
    const run = (colour: Colour, count: number) => Array<Colour>(count).fill(colour);
    assert.deepEqual(colours[0]?.slice(0, 21), run('red', 21), 'red up to the blend into green at frame 20');
    assert.ok(colours[0]?.slice(21, 24).includes('mixed'), `red blends into green: ${colours[0]?.slice(20).join(' ')}`);
    assert.deepEqual(colours[1]?.slice(0, 5), run('white', 5), 'the overlay from the chunk start');
    assert.deepEqual(colours[1]?.slice(5, 17), run('green', 12), 'green after the overlay, up to the blend into blue at frame 16');
    assert.ok(colours[1]?.slice(17).includes('mixed'), `green blends into blue: ${colours[1]?.slice(16).join(' ')}`);
    assert.deepEqual(colours[2], run('blue', 16), 'the clip, looped, to the end');
  });
});
