import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runFfmpeg } from '../../../providers/ffmpeg/runner';
import { StockFootageProvider } from '../../../providers/images/stock-footage';
import { FfmpegRenderer } from '../../../providers/render/ffmpeg-renderer';
import type { SceneImageRequest, TemplateLook } from '../../../providers/types';
import { startFakePexels } from '../../fakes/pexels-server';
import { startFakePixabay } from '../../fakes/pixabay-server';
import { meanAbsDiff, rawFrame } from '../ffmpeg/support';

const LOOK: TemplateLook = { width: 180, height: 320, colors: { primary: '#1E3A8A', secondary: '#F59E0B' }, font: 'Noto Sans CJK KR' };
const SCENE_SEC = 1.5;
const SCENES: SceneImageRequest['scenes'] = [
  { index: 0, text: 'Morning water wakes the body.', keywords: ['water'] },
  { index: 1, text: 'A short walk after breakfast.', keywords: ['walk'] },
  { index: 2, text: 'Stretch before you sleep.', keywords: ['water'] },
  { index: 3, text: 'Follow for more tips.', keywords: ['walk'] },
];

/** Stock clips from the fake libraries → the ffmpeg renderer: the video shows each scene's clip, in order. */
describe('a video rendered from stock clips', () => {
  let dir: string;
  let pexels: Awaited<ReturnType<typeof startFakePexels>>;
  let pixabay: Awaited<ReturnType<typeof startFakePixabay>>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autoclip-stock-render-'));
    [pexels, pixabay] = await Promise.all([startFakePexels(), startFakePixabay()]);
  });

  after(async () => {
    await Promise.all([pexels.close(), pixabay.close()]);
    await rm(dir, { recursive: true, force: true });
  });

  it("shows each scene's own clip, in script order, none twice", async () => {
    const provider = new StockFootageProvider({
      pexels: { apiKey: pexels.state.apiKey, baseUrl: pexels.baseUrl },
      pixabay: { apiKey: pixabay.state.apiKey, baseUrl: pixabay.baseUrl },
    });
    const { images } = await provider.createSceneImages({ language: 'en', look: LOOK, scenes: SCENES.map((scene) => ({ ...scene, durationSec: SCENE_SEC })), outDir: join(dir, 'media') });
    assert.ok(images.every((image) => image.kind === 'video'));

    const audioPath = join(dir, 'voice.m4a');
    await runFfmpeg(['-f', 'lavfi', '-i', `sine=frequency=440:duration=${SCENE_SEC * SCENES.length}`, '-c:a', 'aac', audioPath]);
    const result = await new FfmpegRenderer({ preset: 'ultrafast' }).render({
      look: LOOK,
      fps: 15,
      language: 'en',
      scenes: images.map((image, i) => ({ startSec: i * SCENE_SEC, endSec: (i + 1) * SCENE_SEC, shots: [{ path: image.path, kind: image.kind ?? 'image' }] })),
      audioPath,
      design: { motion: 'static', transition: 'cut' },
      outDir: join(dir, 'render'),
    });

    const clipColours = await Promise.all(images.map((image) => rawFrame(image.path, { atSec: 0.5 })));
    const shown: number[] = [];
    for (let i = 0; i < SCENES.length; i++) {
      const frame = await rawFrame(result.videoPath, { atSec: result.voiceStartSec + (i + 0.5) * SCENE_SEC });
      const distances = clipColours.map((colour) => meanAbsDiff(frame, colour));
      const nearest = distances.indexOf(Math.min(...distances));
      assert.ok((distances[nearest] as number) < 12, `scene ${i} looks like a clip (distance ${distances[nearest]})`);
      shown.push(nearest);
    }
    assert.deepEqual(shown, [0, 1, 2, 3], 'every scene shows its own clip, in script order');
    assert.equal(new Set(images.map((image) => image.path)).size, SCENES.length);
    for (const [i, a] of clipColours.entries()) {
      for (const b of clipColours.slice(i + 1)) assert.ok(meanAbsDiff(a, b) > 30, 'the clips are told apart by their colours');
    }
  });
});
