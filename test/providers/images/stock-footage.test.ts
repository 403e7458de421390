import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { probe, requireStream } from '../../../providers/ffmpeg/runner';
import { chooseVideoFile } from '../../../providers/images/fit';
import { SceneCardImageProvider } from '../../../providers/images/scene-cards';
import { StockFootageProvider, type StockFootageOptions } from '../../../providers/images/stock-footage';
import type { ProviderUsage, SceneImage, SceneImageRequest, TemplateLook } from '../../../providers/types';
import { startFakePexels, type FakePexelsState } from '../../fakes/pexels-server';
import { startFakePixabay, type FakePixabayState } from '../../fakes/pixabay-server';
import { countingLimiter } from '../../support/limiter';
import { failureLog } from '../../support/provider-errors';
import { assertFitted } from '../../support/scene-images';
import { scratchDir } from '../../support/scratch-dir';

const PORTRAIT: TemplateLook = { width: 360, height: 640, colors: { primary: '#1E3A8A', secondary: '#F59E0B' }, font: 'Noto Sans CJK KR' };
const LANDSCAPE: TemplateLook = { ...PORTRAIT, width: 640, height: 360 };

// Spoken estimates: 2.4 s, 3.2 s, 3.2 s, 2.4 s.
const SCENES: SceneImageRequest['scenes'] = [
  { index: 0, text: 'Your knees carry you every day.', keywords: ['knee', 'health'] },
  { index: 1, text: 'Walk twenty minutes every morning on level ground.', keywords: [] },
  { index: 2, text: 'Strengthen the thigh muscles with slow chair squats.', keywords: ['chair squat'] },
  { index: 3, text: 'Follow for more simple health tips.', keywords: ['knee', 'health'] },
];

const idIn = (path: string): number => Number(/\/(\d+)[-_]/.exec(path)?.[1]);

async function clipSize(image: SceneImage): Promise<[number, number, number]> {
  const info = await probe(image.path);
  const video = requireStream(info, 'video');
  return [video.width ?? 0, video.height ?? 0, info.durationSec];
}

describe('StockFootageProvider against the fake Pexels and Pixabay servers', () => {
  let pexels: Awaited<ReturnType<typeof startFakePexels>>;
  let pixabay: Awaited<ReturnType<typeof startFakePixabay>>;
  let px: FakePexelsState;
  let pb: FakePixabayState;
  const scratch = scratchDir('autoclip-stock-');
  const { failed, assertNoKey } = failureLog();

  before(async () => {
    [pexels, pixabay] = await Promise.all([startFakePexels(), startFakePixabay()]);
    px = pexels.state;
    pb = pixabay.state;
  });

  after(async () => {
    await Promise.all([pexels.close(), pixabay.close()]);
    assertNoKey([px.apiKey, pb.apiKey]);
  });

  beforeEach(() => {
    px.reset();
    pb.reset();
  });

  function provider(options: Partial<StockFootageOptions> = {}): StockFootageProvider {
    return new StockFootageProvider({
      pexels: { apiKey: px.apiKey, baseUrl: pexels.baseUrl },
      pixabay: { apiKey: pb.apiKey, baseUrl: pixabay.baseUrl },
      timeoutMs: 5000,
      downloadTimeoutMs: 5000,
      ...options,
    });
  }

  function request(scenes = SCENES, look = PORTRAIT): SceneImageRequest {
    return { language: 'en', look, scenes, outDir: scratch.next() };
  }

  it('chooses the rendition that covers the frame, and none whose shape the crop would halve', () => {
    const files = [
      { url: 'https://x/sd.mp4', width: 180, height: 320 },
      { url: 'https://x/hd.mp4', width: 360, height: 640 },
      { url: 'https://x/4k.mp4', width: 2160, height: 3840 },
    ];
    assert.equal(chooseVideoFile(files, { width: 360, height: 640 })?.url, 'https://x/hd.mp4');
    assert.equal(chooseVideoFile(files, { width: 1080, height: 1920 })?.url, 'https://x/4k.mp4');
    assert.equal(chooseVideoFile(files.slice(0, 2), { width: 1080, height: 1920 })?.url, 'https://x/hd.mp4', 'the largest when none covers the frame');
    assert.equal(chooseVideoFile([{ url: 'https://x/l.mp4', width: 640, height: 360 }], { width: 360, height: 640 }), undefined);
    assert.equal(chooseVideoFile([{ url: 'https://x/l.mp4', width: 640, height: 360 }], { width: 480, height: 480 })?.url, 'https://x/l.mp4');
  });

  it('gives each scene its own Pexels clip of the frame, as long as the scene while there is one, crediting the videographer', async () => {
    const limiter = countingLimiter();
    const req = request();
    const result = await provider({ slot: { limiter, key: 'stock', limit: 2 } }).createSceneImages(req);

    assert.deepEqual(result.images.map((image) => [image.index, image.kind, image.source]), SCENES.map((scene) => [scene.index, 'video', 'stock']));
    for (const image of result.images) assert.equal(image.path, join(req.outDir, `scene-0${image.index}.mp4`));
    assert.deepEqual((await readdir(req.outDir)).sort(), ['scene-00.mp4', 'scene-01.mp4', 'scene-02.mp4', 'scene-03.mp4'], 'no work files are left');

    // Portrait videos last 1, 2, 3, 4, 1, 2 s: the 2.4 s and 3.2 s scenes get the 3 s and 4 s
    // clips, the next ones the longest left (2 s), never one already used.
    const v = px.videos;
    const picked = px.clipDownloads.map((download) => idIn(download.path));
    assert.deepEqual(new Set(picked), new Set([v[2]!.id, v[3]!.id, v[1]!.id, v[5]!.id]));
    const sizes = await Promise.all(result.images.map(clipSize));
    assert.deepEqual(
      sizes.map(([width, height, seconds]) => [width, height, Math.round(seconds)]),
      [
        [360, 640, 3],
        [360, 640, 4],
        [360, 640, 2],
        [360, 640, 2],
      ],
      'the hd rendition (the frame size) of the expected clip, in scene order',
    );
    assert.ok(px.clipDownloads.every((download) => download.path.includes('-hd_') && download.headers.authorization === undefined));
    assert.deepEqual(
      result.images.map((image) => image.credit).sort(),
      picked.map((id) => `Video by ${v.find((video) => video.id === id)!.user} on Pexels`).sort(),
      'each videographer is credited',
    );

    assert.deepEqual(px.videoSearches.map((search) => search.query.query), ['knee health', 'minutes morning twenty ground', 'chair squat'], 'scenes with the same keywords share a search');
    for (const search of px.videoSearches) {
      assert.equal(search.headers.authorization, px.apiKey);
      assert.equal(search.query.orientation, 'portrait');
      assert.equal(search.query.size, 'small');
      assert.equal(search.query.locale, 'en-US');
    }
    assert.equal(pb.requests.length, 0, 'Pixabay is not asked when Pexels has clips');
    assert.deepEqual([result.usage.service, result.usage.operation, result.usage.inputUnits, result.usage.outputUnits], ['stock', 'footage_search', 3, 4]);
    assert.equal(limiter.acquired.length, 7, 'each search and each download runs in the slot');
    assert.equal(limiter.held, 0);
  });

  it("takes the scene's spoken length when it is known", async () => {
    const scenes = SCENES.slice(0, 2).map((scene) => ({ ...scene, keywords: ['knee'], durationSec: 3.5 }));
    const result = await provider().createSceneImages(request(scenes));
    const seconds = await Promise.all(result.images.map(async (image) => Math.round((await clipSize(image))[2])));
    assert.deepEqual(seconds, [4, 3], 'the only clip of 3.5 s or more first, then the longest left');
  });

  it('falls back in order: Pexels clip, Pixabay clip, Pexels photo, Pixabay photo, scene card', async () => {
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    const scenes = names.map((name, index) => ({ index, text: `The ${name} scene.`, keywords: [`${name} scene`] }));
    const none = (set: Set<string>, from: number): void => {
      for (const name of names.slice(from)) set.add(`${name} scene`).add(name);
    };
    none(px.noVideoResults, 1);
    none(pb.noVideoResults, 2);
    none(px.noResults, 3);
    none(pb.noPhotoResults, 4);
    const req = request(scenes);
    const result = await provider({ fallback: new SceneCardImageProvider() }).createSceneImages(req);

    assert.deepEqual(
      result.images.map((image) => [image.index, image.kind ?? 'image', image.source]),
      [
        [0, 'video', 'stock'],
        [1, 'video', 'stock'],
        [2, 'image', 'stock'],
        [3, 'image', 'stock'],
        [4, 'image', 'generated'],
      ],
    );
    assert.match(result.images[0]!.credit ?? '', / on Pexels$/);
    assert.match(result.images[1]!.credit ?? '', /^Video by .+ on Pixabay$/);
    assert.match(result.images[2]!.credit ?? '', /^Photo by .+ on Pexels$/);
    assert.match(result.images[3]!.credit ?? '', /^Photo by .+ on Pixabay$/);
    assert.equal(result.images[4]!.credit, undefined);

    const portraitClip = pb.videos.find((video) => video.orientation === 'portrait')!;
    assert.deepEqual(pb.of('clip').map((download) => download.path), [`/video/2026/01/04/${portraitClip.id}_medium.mp4`], "Pixabay's landscape clips are passed over; the medium rendition covers the frame");
    assert.deepEqual((await clipSize(result.images[1]!)).slice(0, 2), [360, 640]);
    await assertFitted(result.images.slice(2), PORTRAIT);
    const photoSearch = pb.of('photoSearch').find((search) => search.query.q === 'delta scene');
    assert.equal(photoSearch?.query.image_type, 'photo');
    assert.equal(photoSearch?.query.orientation, 'vertical');
    assert.equal(photoSearch?.query.key, pb.apiKey);
    assert.deepEqual(
      px.videoSearches.filter((search) => search.query.query?.startsWith('echo')).map((search) => search.query.query),
      ['echo scene', 'echo'],
      'the broader query is tried after every source failed on the full one',
    );
  });

  it('uses Pixabay alone when only its key is configured, with clips of a landscape frame', async () => {
    const req = request(SCENES.slice(0, 2), LANDSCAPE);
    const result = await new StockFootageProvider({ pixabay: { apiKey: pb.apiKey, baseUrl: pixabay.baseUrl }, timeoutMs: 5000 }).createSceneImages(req);
    assert.equal(px.requests.length, 0);
    const sizes = await Promise.all(result.images.map(clipSize));
    assert.deepEqual(sizes.map(([w, h]) => [w, h]), [[640, 360], [640, 360]]);
    const ids = pb.of('clip').map((download) => idIn(download.path));
    assert.equal(new Set(ids).size, 2);
    assert.ok(ids.every((id) => pb.videos.find((video) => video.id === id)?.orientation === 'landscape'));
    assert.ok(pb.of('videoSearch').every((search) => search.query.lang === 'en' && search.query.safesearch === 'true'));
  });

  it('goes on with Pixabay when Pexels fails, recording the failed call; fails when every source fails', async () => {
    px.next.push({ kind: 'error', status: 500, message: 'Internal Server Error' });
    const recorded: { usage: ProviderUsage; error: string }[] = [];
    const result = await provider().createSceneImages(request(), { onFailedCall: (usage, error) => void recorded.push({ usage, error }) });
    assert.deepEqual(
      result.images.map((image) => [image.kind, / on Pixabay$/.test(image.credit ?? '')]),
      [
        ['video', true],
        ['video', true],
        ['video', true],
        ['image', true],
      ],
      "Pixabay's three portrait clips, then its photo",
    );
    assert.equal(px.videoSearches.length, 1, 'Pexels is not asked again in the call');
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0]!.usage.operation, 'pexels_video_search');
    assert.equal(recorded[0]!.usage.statusCode, 500);

    px.next.push({ kind: 'error', status: 429, message: 'Rate limit exceeded', retryAfterSec: 9 });
    pb.next.push({ kind: 'error', status: 429, message: 'API rate limit exceeded', resetInSec: 30 });
    const error = await failed(provider().createSceneImages(request()));
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.provider, 'pixabay');
    assert.equal(error.retryAfterMs, 30_000);
  });

  it("refuses Pixabay's answer to a wrong key without showing the key", async () => {
    const key = 'pixabay-wrong-key-9876543';
    const error = await failed(new StockFootageProvider({ pixabay: { apiKey: key, baseUrl: pixabay.baseUrl } }).createSceneImages(request()));
    assert.equal(error.code, 'bad_request');
    assert.equal(error.retryable, false);
    assert.match(error.message, /\[ERROR 400\]/);
    assert.ok(!error.message.includes(key));
  });

  it('gives a scene whose clip is no video the fallback card, and fails without a fallback', async () => {
    px.nextClip.push({ kind: 'notVideo' });
    const recorded: ProviderUsage[] = [];
    const scenes = SCENES.slice(0, 2);
    const result = await provider({ fallback: new SceneCardImageProvider(), parallelDownloads: 1 }).createSceneImages(request(scenes), { onFailedCall: (usage) => void recorded.push(usage) });
    assert.deepEqual(result.images.map((image) => [image.index, image.source]), [
      [0, 'generated'],
      [1, 'stock'],
    ]);
    assert.equal(recorded[0]?.operation, 'pexels_video_download');

    px.nextClip.push({ kind: 'notVideo' });
    const error = await failed(provider({ parallelDownloads: 1 }).createSceneImages(request(scenes)));
    assert.equal(error.code, 'invalid_response');
    assert.match(error.message, /text\/html\) is not an MP4 video/);
  });

  it('needs a key', () => {
    assert.throws(() => new StockFootageProvider({}), /Pexels or a Pixabay API key/);
  });
});
