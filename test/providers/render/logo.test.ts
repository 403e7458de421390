import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { runFfmpeg } from '../../../providers/ffmpeg/runner';
import { logoPlacement } from '../../../providers/render/render-command';
import { FfmpegRenderer } from '../../../providers/render/ffmpeg-renderer';
import type { RenderResult } from '../../../providers/types';
import { rawFrame } from '../ffmpeg/support';
import { scratchDir } from '../../support/scratch-dir';

const FRAME = { width: 360, height: 640 };
const SCENE_COLORS = [
  [0x1e, 0x3a, 0x8a],
  [0x7a, 0x2e, 0x1e],
] as const;

/** The RGB of the frame's pixel at (x, y) of a raw RGB frame of the full size. */
function pixel(frame: Buffer, x: number, y: number): [number, number, number] {
  const at = (Math.round(y) * FRAME.width + Math.round(x)) * 3;
  return [frame[at] as number, frame[at + 1] as number, frame[at + 2] as number];
}

function near(actual: readonly number[], expected: readonly number[], what: string): void {
  const off = Math.max(...actual.map((value, index) => Math.abs(value - (expected[index] as number))));
  assert.ok(off <= 24, `${what}: rgb(${actual.join(', ')}), expected about rgb(${expected.join(', ')})`);
}

/** The white-label logo over a video rendered in two chunks: in its corner on every frame, its transparent part showing the scene. */
describe("the organization's logo in the video", () => {
  const work = scratchDir('autoclip-logo-');
  let result: RenderResult;

  before(async () => {
    const voice = join(work.path, 'voice.m4a');
    await runFfmpeg(['-f', 'lavfi', '-i', 'sine=f=220:sample_rate=44100:d=3', '-c:a', 'aac', voice]);
    const pictures = await Promise.all(
      SCENE_COLORS.map(async (rgb, index) => {
        const path = join(work.path, `scene-${index}.png`);
        const hex = `0x${rgb.map((value) => value.toString(16).padStart(2, '0')).join('')}`;
        await runFfmpeg(['-f', 'lavfi', '-i', `color=c=${hex}:s=${FRAME.width}x${FRAME.height}`, '-frames:v', '1', '-update', '1', path]);
        return path;
      }),
    );
    // A 2:1 logo: its left half transparent, its right half opaque green.
    const logo = join(work.path, 'logo.png');
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=black:s=200x100,format=rgba', '-vf', "geq=r=0:g=255:b=0:a='if(lt(X,100),0,255)'", '-frames:v', '1', '-update', '1', logo]);
    result = await new FfmpegRenderer({ preset: 'ultrafast', chunkSec: 1 }).render({
      look: { ...FRAME, colors: { primary: '#1E3A8A', secondary: '#F59E0B' }, font: 'Noto Sans CJK KR' },
      fps: 10,
      language: 'en',
      audioPath: voice,
      outDir: join(work.path, 'out'),
      scenes: pictures.map((path, index) => ({ startSec: index * 1.5, endSec: (index + 1) * 1.5, shots: [{ path, kind: 'image' as const }] })),
      design: { motion: 'static', transition: 'cut' },
      logo: { path: logo },
    });
  });

  it('sits in the top right corner of every chunk, with its transparent part showing the scene under it', async () => {
    const { box, marginX, marginY } = logoPlacement(FRAME.width, FRAME.height);
    // The 2:1 logo fits its square's width: box × box/2 pixels, right-aligned at the margin.
    const left = FRAME.width - marginX - box;
    const middleY = marginY + box / 4;
    for (const [index, atSec] of [0.5, 2.5].entries()) {
      const frame = await rawFrame(result.videoPath, { atSec, size: [FRAME.width, FRAME.height] });
      const scene = SCENE_COLORS[index]!;
      near(pixel(frame, left + box * 0.75, middleY), [0, 255, 0], `the logo's opaque half at ${atSec} s`);
      near(pixel(frame, left + box * 0.25, middleY), scene, `the logo's transparent half at ${atSec} s`);
      near(pixel(frame, left + box * 0.75, marginY + box * 0.75), scene, `below the logo at ${atSec} s`);
      near(pixel(frame, FRAME.width / 2, FRAME.height / 2), scene, `the middle of the frame at ${atSec} s`);
    }
  });
});
