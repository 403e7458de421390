import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MediaInfo } from '../../../providers/ffmpeg/runner';
import { checkRenderRequest, planRender } from '../../../providers/render/render-plan';
import type { SubtitleStrip } from '../../../providers/render/subtitle-strips';
import type { RenderRequest } from '../../../providers/types';

const REQUEST: RenderRequest = {
  look: { width: 1080, height: 1920, colors: { primary: '#1E3A8A', secondary: '#F59E0B' }, font: 'Noto Sans CJK KR' },
  fps: 30,
  scenes: [
    { imagePath: '/o/scene-00.png', startSec: 0, endSec: 4 },
    { imagePath: '/o/scene-01.png', startSec: 4, endSec: 7 },
  ],
  audioPath: '/o/voice.m4a',
  cues: [],
  music: { path: '/m/bed.mp3', volume: 0.15 },
  outDir: '/o',
};

const AAC_VOICE: MediaInfo = {
  path: '/o/voice.m4a',
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec: 7,
  sizeBytes: 112_000,
  streams: [{ index: 0, type: 'audio', codec: 'aac', sampleRate: 44100, channels: 1 }],
};

const strip = (index: number, startSec: number, endSec: number): SubtitleStrip => ({
  path: `/o/.render-x/cue-00${index}.png`,
  startSec,
  endSec,
  y: 1380,
  height: 160,
});

/** One scene's scale, crop and zoom into exactly `frames` frames. */
const sceneChain = (input: number, frames: number, zoom = '0.08'): string =>
  `[${input}:v]scale=1080:1920:force_original_aspect_ratio=increase,crop=1080:1920,setsar=1,format=yuv420p,` +
  `zoompan=z='iw/(iw-4*round(iw*(1-1/(1+${zoom}*on/${frames}))/4)+0.001)':x='round((iw-iw/zoom)/2)':y='round((ih-ih/zoom)/2)':d=${frames}:s=1080x1920:fps=30[scene${input}]`;

describe('render plan', () => {
  it('turns a request and its probed inputs into the whole ffmpeg invocation', () => {
    const plan = planRender(REQUEST, {
      voice: AAC_VOICE,
      encoders: new Set(['aac', 'libx264', 'libopenh264']),
      // The second line holds through the short pause up to the scene cut at frame 120, not past it.
      strips: [strip(0, 0.1, 1.9), strip(1, 2.2, 3.9), strip(2, 4.4, 6.5)],
    });
    assert.deepStrictEqual(plan.video.args, [
      '-i', '/o/scene-00.png',
      '-i', '/o/scene-01.png',
      '-i', '/o/.render-x/cue-000.png',
      '-i', '/o/.render-x/cue-001.png',
      '-i', '/o/.render-x/cue-002.png',
      '-i', '/o/voice.m4a',
      '-stream_loop', '-1', '-i', '/m/bed.mp3',
      '-filter_complex',
      [
        sceneChain(0, 120),
        sceneChain(1, 90),
        '[scene0][scene1]concat=n=2:v=1:a=0[slides]',
        "[slides][2:v]overlay=x=0:y=1380:enable='between(t,0.0833,2.1833)'[sub0]",
        "[sub0][3:v]overlay=x=0:y=1380:enable='between(t,2.1833,3.9833)'[sub1]",
        "[sub1][4:v]overlay=x=0:y=1380:enable='between(t,4.3833,6.4833)'[video]",
        '[5:a]asplit=2[voice][key]',
        '[6:a]volume=0.15[bed]',
        '[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[ducked]',
        '[voice][ducked]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[audio]',
      ].join(';'),
      '-map', '[video]',
      '-map', '[audio]',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '128k',
      '-t', '7',
      '-movflags', '+faststart',
      '/o/video.mp4',
    ]);
    assert.deepStrictEqual(plan.thumbnail.args, [
      '-i', '/o/scene-00.png',
      '-filter_complex', '[0:v]scale=540:-2[thumb]',
      '-map', '[thumb]', '-frames:v', '1', '-q:v', '3', '-update', '1', '/o/thumbnail.jpg',
    ]);
    assert.deepStrictEqual(
      { videoPath: plan.videoPath, thumbnailPath: plan.thumbnailPath, durationSec: plan.durationSec, totalFrames: plan.totalFrames, encoding: plan.encoding },
      { videoPath: '/o/video.mp4', thumbnailPath: '/o/thumbnail.jpg', durationSec: 7, totalFrames: 210, encoding: 'libx264/veryfast' },
    );
  });

  it('encodes a voice that is no AAC, falls back to the encoder the build has and drops a strip after the end', () => {
    const plan = planRender(
      { ...REQUEST, audioPath: '/o/voice.wav', music: undefined },
      {
        voice: { ...AAC_VOICE, path: '/o/voice.wav', formatName: 'wav', streams: [{ index: 0, type: 'audio', codec: 'pcm_s16le', sampleRate: 22050, channels: 1 }] },
        encoders: new Set(['aac', 'libopenh264']),
        strips: [strip(0, 0, 3), strip(1, 7.5, 8)],
      },
      { preset: 'ultrafast', zoomEnd: 1.12, audioBitrate: '96k', thumbnailWidth: 360 },
    );
    assert.deepStrictEqual(plan.video.args, [
      '-i', '/o/scene-00.png',
      '-i', '/o/scene-01.png',
      '-i', '/o/.render-x/cue-000.png',
      '-i', '/o/voice.wav',
      '-filter_complex',
      [
        sceneChain(0, 120, '0.12'),
        sceneChain(1, 90, '0.12'),
        '[scene0][scene1]concat=n=2:v=1:a=0[slides]',
        "[slides][2:v]overlay=x=0:y=1380:enable='between(t,0,2.9833)'[video]",
      ].join(';'),
      '-map', '[video]',
      '-map', '3:a',
      '-c:v', 'libopenh264', '-b:v', '4M', '-pix_fmt', 'yuv420p',
      '-c:a', 'aac', '-b:a', '96k',
      '-t', '7',
      '-movflags', '+faststart',
      '/o/video.mp4',
    ]);
    assert.deepStrictEqual(plan.thumbnail.args, [
      '-i', '/o/scene-00.png',
      '-filter_complex', '[0:v]scale=360:-2[thumb]',
      '-map', '[thumb]', '-frames:v', '1', '-q:v', '3', '-update', '1', '/o/thumbnail.jpg',
    ]);
    assert.equal(plan.encoding, 'libopenh264/ultrafast');
  });

  it('refuses a voice without sound or length, and requests no render can satisfy', () => {
    const strips: SubtitleStrip[] = [];
    const encoders = new Set(['libx264']);
    assert.throws(() => planRender(REQUEST, { voice: { ...AAC_VOICE, streams: [] }, encoders, strips }), /has no audio stream/);
    assert.throws(() => planRender(REQUEST, { voice: { ...AAC_VOICE, durationSec: 0 }, encoders, strips }), /has no duration/);
    assert.throws(() => planRender(REQUEST, { voice: AAC_VOICE, encoders: new Set(['mpeg4']), strips }), /none of the encoders/);
    assert.throws(() => checkRenderRequest({ ...REQUEST, scenes: [] }), { name: 'PermanentProviderError', message: 'render request has no scenes' });
    assert.throws(() => checkRenderRequest({ ...REQUEST, look: { ...REQUEST.look, width: 1081 } }), /must be positive even numbers/);
    assert.throws(() => checkRenderRequest({ ...REQUEST, scenes: [...REQUEST.scenes].reverse() }), /time order/);
  });
});
