import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { commandArgs } from '../../../providers/ffmpeg/command';
import {
  buildRenderCommand,
  buildThumbnailCommand,
  chooseEncoder,
  enableExpression,
  H264_ENCODERS,
  sceneFrameCounts,
  stripWindows,
  type RenderCommandOptions,
} from '../../../providers/render/render-command';

describe('render command', () => {
  it('quantises scene lengths on the whole timeline', () => {
    assert.deepEqual(sceneFrameCounts([0, 4.498, 11.177], 16.059, 30), [135, 200, 147]);
    assert.equal(sceneFrameCounts([0, 4.498, 11.177], 16.059, 30).reduce((a, b) => a + b), Math.round(16.059 * 30));
    assert.deepEqual(sceneFrameCounts([0.2], 2, 30), [60]);
  });

  it('holds a subtitle through a short pause and gives half-open frame windows', () => {
    const windows = stripWindows(
      [
        { startSec: 0, endSec: 2.041 },
        { startSec: 2.141, endSec: 3.998 },
        { startSec: 5, endSec: 6 },
      ],
      30,
      200,
    );
    assert.deepEqual(windows, [
      { startFrame: 0, endFrame: 64 },
      { startFrame: 64, endFrame: 120 },
      { startFrame: 150, endFrame: 180 },
    ]);
    const acrossCut = stripWindows(
      [
        { startSec: 2.1, endSec: 3.9 },
        { startSec: 4.1, endSec: 5 },
      ],
      30,
      200,
      [0, 120],
    );
    assert.deepEqual(acrossCut[0], { startFrame: 63, endFrame: 120 }, 'held until the cut, not over the next scene');
    assert.equal(enableExpression({ startFrame: 0, endFrame: 64 }, 30), 'between(t,0,2.1167)');
    assert.equal(enableExpression({ startFrame: 64, endFrame: 120 }, 30), 'between(t,2.1167,3.9833)');
  });

  const plan: RenderCommandOptions = {
    width: 1080,
    height: 1920,
    fps: 30,
    scenes: [
      { imagePath: '/o/scene-00.png', frames: 120 },
      { imagePath: '/o/scene-01.png', frames: 90 },
    ],
    zoomEnd: 1.08,
    strips: [{ imagePath: '/w/cue-000.png', y: 1380, window: { startFrame: 0, endFrame: 60 } }],
    voicePath: '/o/voice.m4a',
    copyVoice: true,
    durationSec: 7,
    videoArgs: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'],
    audioBitrate: '128k',
    outputPath: '/o/video.mp4',
  };

  it('builds one graph: single-frame inputs through zoompan, concat, timed overlays', () => {
    const command = buildRenderCommand(plan);
    assert.deepEqual(command.inputs, [['-i', '/o/scene-00.png'], ['-i', '/o/scene-01.png'], ['-i', '/w/cue-000.png'], ['-i', '/o/voice.m4a']]);
    assert.equal(
      command.filterGraph,
      [
        "[0:v]scale=1080:1920:force_original_aspect_ratio=increase,crop=1080:1920,setsar=1,format=yuv420p,zoompan=z='iw/(iw-4*round(iw*(1-1/(1+0.08*on/120))/4)+0.001)':x='round((iw-iw/zoom)/2)':y='round((ih-ih/zoom)/2)':d=120:s=1080x1920:fps=30[scene0]",
        "[1:v]scale=1080:1920:force_original_aspect_ratio=increase,crop=1080:1920,setsar=1,format=yuv420p,zoompan=z='iw/(iw-4*round(iw*(1-1/(1+0.08*on/90))/4)+0.001)':x='round((iw-iw/zoom)/2)':y='round((ih-ih/zoom)/2)':d=90:s=1080x1920:fps=30[scene1]",
        '[scene0][scene1]concat=n=2:v=1:a=0[slides]',
        "[slides][2:v]overlay=x=0:y=1380:enable='between(t,0,1.9833)'[video]",
      ].join(';'),
    );
    assert.deepEqual(command.outputArgs, [
      '-map', '[video]', '-map', '3:a',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p',
      '-c:a', 'copy',
      '-t', '7',
      '-movflags', '+faststart',
      '/o/video.mp4',
    ]);
    assert.ok(!commandArgs(command).includes('-loop'), 'still images must not be looped');
  });

  it('mixes looped music under the voice, ducked, and encodes the mix', () => {
    const command = buildRenderCommand({ ...plan, strips: [], music: { path: '/m/bed.mp3', volume: 0.2, duck: true } });
    assert.deepEqual(command.inputs.at(-1), ['-stream_loop', '-1', '-i', '/m/bed.mp3']);
    assert.ok(command.filterGraph.includes('[scene0][scene1]concat=n=2:v=1:a=0[video]'));
    assert.ok(
      command.filterGraph.endsWith(
        ';[2:a]asplit=2[voice][key];[3:a]volume=0.2[bed];[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[ducked];' +
          '[voice][ducked]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[audio]',
      ),
    );
    assert.deepEqual(command.outputArgs.slice(0, 4), ['-map', '[video]', '-map', '[audio]']);
    assert.deepEqual(command.outputArgs.slice(12, 16), ['-c:a', 'aac', '-b:a', '128k']);
  });

  it('makes the thumbnail from the first card without touching the video', () => {
    assert.deepEqual(commandArgs(buildThumbnailCommand({ imagePath: '/o/scene-00.png', width: 540, outputPath: '/o/thumbnail.jpg' })), [
      '-i', '/o/scene-00.png',
      '-filter_complex', '[0:v]scale=540:-2[thumb]',
      '-map', '[thumb]', '-frames:v', '1', '-q:v', '3', '-update', '1', '/o/thumbnail.jpg',
    ]);
  });

  it('picks the first available encoder of the fallback chain', () => {
    assert.equal(chooseEncoder(H264_ENCODERS, new Set(['aac', 'libx264', 'libopenh264'])).encoder, 'libx264');
    assert.equal(chooseEncoder(H264_ENCODERS, new Set(['libopenh264'])).encoder, 'libopenh264');
    assert.throws(() => chooseEncoder(H264_ENCODERS, new Set(['mpeg4'])), /none of the encoders libx264, libopenh264/);
  });
});
