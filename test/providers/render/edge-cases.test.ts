import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { commandArgs } from '../../../providers/ffmpeg/command';
import { probe, runFfmpeg } from '../../../providers/ffmpeg/runner';
import { FfmpegRenderer } from '../../../providers/render/ffmpeg-renderer';
import { buildChunkCommand } from '../../../providers/render/render-command';
import { checkRenderRequest, planRender } from '../../../providers/render/render-plan';
import { planTimeline } from '../../../providers/render/timeline';
import type { RenderRequest } from '../../../providers/types';

const style = { font: 'Noto Sans', fontSize: 80, bold: true, position: 'center' as const, color: '#FFFFFF', outlineColor: '#000000' };
const voice = { path: '/o/voice.m4a', formatName: 'mov', durationSec: 6, sizeBytes: 1, streams: [{ index: 0, type: 'audio' as const, codec: 'aac', sampleRate: 44100, channels: 1 }] };
const inputs = { voice, encoders: new Set(['libx264']) };
const request: RenderRequest = {
  look: { width: 640, height: 360, colors: { primary: '#112233', secondary: '#445566' }, font: 'Noto Sans' },
  fps: 30, language: 'en', audioPath: '/o/voice.m4a', outDir: '/o',
  scenes: [
    { startSec: 0, endSec: 3, shots: [{ path: '/o/a.png', kind: 'image' }, { path: '/o/b.png', kind: 'image' }, { path: '/o/c.png', kind: 'image' }] },
    { startSec: 3, endSec: 6, shots: [{ path: '/o/d.png', kind: 'image' }] },
  ],
  design: { motion: 'static', transition: 'fade' },
};

/** Renders at the edges: blends too short to make, chunk boundaries inside a title, crowded and empty scenes. */
describe('render edge cases', () => {
  it('joins shots whose blend rounds to no frame instead of asking xfade for a blend of 0 s', async () => {
    const plan = planRender(request, inputs, { transitionSec: 0 });
    assert.match(plan.chunks[0]?.video.filterGraph ?? '', /concat=n=4/);
    assert.doesNotMatch(plan.chunks[0]?.video.filterGraph ?? '', /xfade=[^;]*duration=0:/);
  });

  it('renders such a chunk to its full length (xfade of 0 s would drop every shot after the first)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bug-a-'));
    try {
      for (const c of ['red', 'blue']) await runFfmpeg(['-f', 'lavfi', '-i', `color=c=${c}:s=64x64`, '-frames:v', '1', join(dir, `${c}.png`)]);
      const timeline = planTimeline({ fps: 10, voiceSec: 4, introSec: 0, outroSec: 0, scenes: [{ startSec: 0, shots: 1 }, { startSec: 2, shots: 1 }], transitionSec: 0, chunkSec: 60 });
      const chunk = timeline.chunks[0]!;
      const out = join(dir, 'chunk.mp4');
      await runFfmpeg(commandArgs(buildChunkCommand({ width: 64, height: 64, timeline, chunk, zoom: 1.1, transition: 'fade', assFiles: [], outputPath: out,
        sources: [{ path: join(dir, 'red.png'), kind: 'image', motion: 'still' }, { path: join(dir, 'blue.png'), kind: 'image', motion: 'still' }],
        videoArgs: ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'] })));
      assert.equal((await probe(out)).durationSec, 4);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not start a title\'s animation again in the chunk after a boundary inside it', () => {
    const plan = planRender({ ...request, design: { ...request.design, intro: { text: 'Hello', durationSec: 4, animation: 'fade', style } } }, inputs, { chunkSec: 1 });
    const second = plan.chunks[1]?.files.find((file) => file.path.endsWith('titles-1.ass'))?.text ?? '';
    assert.doesNotMatch(second, /Dialogue: 0,0:00:00\.00,[^,]+,T0,,0,0,0,,\{[^}]*\\fad\(400,/);
  });

  it('refuses a scene of no length, which would take a frame the video does not have', () => {
    const zero: RenderRequest = { ...request, scenes: [request.scenes[0]!, { startSec: 3, endSec: 3, shots: [{ path: '/o/e.png', kind: 'image' }] }, request.scenes[1]!] };
    assert.throws(() => checkRenderRequest(zero), /each scene must start after the scene before it/);
    assert.throws(() => planRender({ ...request, scenes: [request.scenes[0]!, { ...request.scenes[1]!, startSec: 6 }] }, inputs), /starts after the voice ends/);
  });

  it('keeps each later scene on its own picture when a scene has more shots than frames', () => {
    const crowded: RenderRequest = { ...request, scenes: [request.scenes[0]!, { startSec: 1 / 30, endSec: 6, shots: [{ path: '/o/d.png', kind: 'image' }] }] };
    const plan = planRender(crowded, inputs);
    assert.deepEqual(plan.chunks[0]?.video.inputs.map((input) => input.at(-1)), ['/o/a.png', '/o/d.png']);
  });

  it('plans no timeline for scenes out of order', () => {
    assert.throws(() => planTimeline({ fps: 30, voiceSec: 4, introSec: 0, outroSec: 0, scenes: [{ startSec: 0, shots: 1 }, { startSec: 3, shots: 1 }, { startSec: 1, shots: 1 }], transitionSec: 0.5, chunkSec: 30 }));
  });

  it('mixes a mono 44.1 kHz AAC voice without an intro into 48 kHz stereo', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mono-voice-'));
    try {
      const voice = join(dir, 'voice.m4a');
      await runFfmpeg(['-f', 'lavfi', '-i', 'sine=f=220:sample_rate=44100:d=2', '-c:a', 'aac', voice]);
      const picture = join(dir, 'red.png');
      await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=red:s=64x64', '-frames:v', '1', picture]);
      const result = await new FfmpegRenderer({ preset: 'ultrafast' }).render({
        look: { width: 64, height: 64, colors: { primary: '#112233', secondary: '#445566' }, font: 'Noto Sans' },
        fps: 10,
        language: 'en',
        audioPath: voice,
        outDir: join(dir, 'out'),
        scenes: [{ startSec: 0, endSec: 2, shots: [{ path: picture, kind: 'image' }] }],
        design: { motion: 'static', transition: 'cut' },
      });
      const audio = (await probe(result.videoPath)).streams.find((stream) => stream.type === 'audio');
      assert.deepEqual([audio?.codec, audio?.sampleRate, audio?.channels], ['aac', 48000, 2]);
      assert.ok(Math.abs(result.durationSec - 2) < 0.1, `${result.durationSec} s`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an intro of negative length', () => {
    assert.throws(() => checkRenderRequest({ ...request, design: { ...request.design, intro: { text: 'x', durationSec: -1, animation: 'none', style } } }));
  });
});
