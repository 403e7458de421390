import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { broaderQuery, PexelsImageProvider, sceneQuery, type PexelsImageOptions } from '../../../providers/images/pexels';
import { SceneCardImageProvider } from '../../../providers/images/scene-cards';
import type { ProviderUsage, SceneImageRequest } from '../../../providers/types';
import { startFakePexels, type FakePexelsState } from '../../fakes/pexels-server';
import { countingLimiter } from '../../support/limiter';
import { assertRateLimited, failureLog } from '../../support/provider-errors';
import { assertFitted, distinctPictures, PORTRAIT_LOOK } from '../../support/scene-images';
import { scratchDir } from '../../support/scratch-dir';

const SCENES: SceneImageRequest['scenes'] = [
  { index: 0, text: 'Your knees carry you every day.', keywords: ['knee', 'health'] },
  { index: 1, text: 'Walk twenty minutes every morning on level ground.', keywords: [] },
  { index: 2, text: 'Strengthen the thigh muscles with slow chair squats.', keywords: ['chair squat'] },
  { index: 3, text: 'Follow for more simple health tips.', keywords: ['knee', 'health'] },
];

describe('PexelsImageProvider against the fake Pexels server', () => {
  let fake: Awaited<ReturnType<typeof startFakePexels>>;
  let state: FakePexelsState;
  const scratch = scratchDir('autoclip-pexels-');
  const { failed, assertNoKey } = failureLog();

  before(async () => {
    fake = await startFakePexels();
    state = fake.state;
  });

  after(async () => {
    await fake.close();
    assertNoKey([state.apiKey]);
  });

  beforeEach(() => state.reset());

  function provider(options: Partial<PexelsImageOptions> = {}): PexelsImageProvider {
    return new PexelsImageProvider({ apiKey: state.apiKey, baseUrl: fake.baseUrl, timeoutMs: 5000, downloadTimeoutMs: 5000, ...options });
  }

  function request(scenes = SCENES, look = PORTRAIT_LOOK): SceneImageRequest {
    return { language: 'en', look, scenes, outDir: scratch.next() };
  }

  it('builds queries from keywords, else from the longest words of the text', () => {
    assert.equal(sceneQuery({ text: 'ignored', keywords: ['knee', ' health! ', 'walking', 'fourth'] }), 'knee health walking');
    assert.equal(sceneQuery(SCENES[1]!), 'minutes morning twenty ground');
    assert.equal(sceneQuery({ text: '무릎 건강을 지키는 다섯 가지 습관', keywords: [] }), '건강을 지키는 무릎 다섯');
    assert.equal(broaderQuery('rare orchid', SCENES), 'rare');
    assert.equal(broaderQuery('orchid', SCENES), 'knee', 'a one-word query falls back to the keyword most scenes share');
  });

  it('makes one distinct PNG of the template size per scene, with credits, usage and the slot', async () => {
    const limiter = countingLimiter();
    const progress: number[] = [];
    const req = request();
    const result = await provider({ slot: { limiter, key: 'pexels', limit: 2 } }).createSceneImages(req, { onProgress: (p) => progress.push(p) });

    assert.deepEqual(result.images.map((image) => image.index), [0, 1, 2, 3]);
    for (const image of result.images) {
      assert.equal(image.source, 'stock');
      assert.match(image.credit ?? '', /^Photo by [\w -]+ on Pexels$/);
      assert.equal(image.path, join(req.outDir, `scene-0${image.index}.png`));
    }
    await assertFitted(result.images, PORTRAIT_LOOK);
    assert.equal(await distinctPictures(result.images), 4, 'every scene has its own picture');
    assert.deepEqual(await readdir(req.outDir), ['scene-00.png', 'scene-01.png', 'scene-02.png', 'scene-03.png'], 'no work files are left');

    const searches = state.searches;
    assert.equal(searches.length, 3, 'two scenes with the same keywords share one search');
    assert.deepEqual(
      searches.map((s) => s.query.query),
      ['knee health', 'minutes morning twenty ground', 'chair squat'],
    );
    for (const search of searches) {
      assert.equal(search.headers.authorization, state.apiKey);
      assert.equal(search.query.orientation, 'portrait');
      assert.equal(search.query.per_page, '15');
      assert.equal(search.query.locale, 'en-US');
    }
    assert.equal(state.downloads.length, 4);
    for (const download of state.downloads) {
      assert.match(download.path, /fit=crop&h=1200&w=800/, 'src.portrait is downloaded');
      assert.equal(download.headers.authorization, undefined, 'the key is not sent with downloads');
    }

    const usage = result.usage;
    assert.equal(usage.service, 'pexels');
    assert.equal(usage.operation, 'image_search');
    assert.equal(usage.inputUnits, 3);
    assert.equal(usage.outputUnits, 4);
    assert.equal(usage.estimatedCostUsd, 0);
    assert.equal(usage.statusCode, 200);
    assert.ok(usage.durationMs >= 0);
    assert.equal(limiter.acquired.length, 7, 'each search and each download runs in the slot');
    assert.ok(limiter.acquired.every((key) => key === 'pexels'));
    assert.equal(limiter.held, 0);
    assert.equal(progress.at(-1), 100);
    assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]!), 'progress only grows');
  });

  it('costs searches at the price given, searches in Korean for Korean content, and fits the full-HD look', async () => {
    const look = { ...PORTRAIT_LOOK, width: 1080, height: 1920 };
    const req = { ...request(SCENES.slice(0, 2), look), language: 'ko' as const };
    const result = await provider({ pricePerSearchUsd: 0.0025 }).createSceneImages(req);
    await assertFitted(result.images, look);
    assert.equal(result.usage.inputUnits, 2);
    assert.ok(Math.abs(result.usage.estimatedCostUsd - 0.005) < 1e-12);
    assert.ok(state.searches.every((s) => s.query.locale === 'ko-KR'));
  });

  it('takes src.large2x when there is no portrait link and crops the landscape picture', async () => {
    state.omitPortrait = true;
    const result = await provider().createSceneImages(request(SCENES.slice(0, 2)));
    await assertFitted(result.images, PORTRAIT_LOOK);
    assert.ok(state.downloads.every((d) => /dpr=2&h=650&w=940/.test(d.path)));
  });

  it('tries a broader query once, then uses the fallback for scenes without a photo', async () => {
    const scenes: SceneImageRequest['scenes'] = [
      { index: 0, text: 'A rare orchid blooms at night.', keywords: ['rare orchid', 'moonlight'] },
      { index: 1, text: '무릎 건강', keywords: ['knee'] },
      { index: 2, text: 'Another rare thing.', keywords: ['unicorn'] },
      { index: 3, text: 'Keep moving.', keywords: ['knee'] },
    ];
    state.noResults.add('rare orchid moonlight');
    state.noResults.add('rare');
    state.noResults.add('unicorn');
    const fallback = new SceneCardImageProvider();
    let fallbackScenes: number[] = [];
    const recordingFallback = {
      name: 'local-cards',
      createSceneImages: (req: SceneImageRequest) => {
        fallbackScenes = req.scenes.map((scene) => scene.index);
        return fallback.createSceneImages(req);
      },
    };
    const result = await provider({ fallback: recordingFallback }).createSceneImages(request(scenes));

    assert.deepEqual(
      state.searches.map((s) => s.query.query),
      ['rare orchid moonlight', 'rare', 'knee', 'unicorn'],
      'the one-word query "unicorn" falls back to the shared keyword "knee", already searched',
    );
    assert.deepEqual(fallbackScenes, [0]);
    assert.deepEqual(
      result.images.map((image) => [image.index, image.source]),
      [
        [0, 'generated'],
        [1, 'stock'],
        [2, 'stock'],
        [3, 'stock'],
      ],
    );
    assert.equal(result.images[0]!.credit, undefined);
    await assertFitted(result.images, PORTRAIT_LOOK);
    assert.equal(await distinctPictures(result.images), 4);
    assert.equal(result.usage.inputUnits, 4);
    assert.equal(result.usage.outputUnits, 3);
  });

  it('uses the fallback when Pexels finds nothing at all', async () => {
    for (const scene of SCENES) state.noResults.add(sceneQuery(scene).toLowerCase());
    for (const word of ['knee', 'minutes', 'chair']) state.noResults.add(word);
    const result = await provider({ fallback: new SceneCardImageProvider() }).createSceneImages(request());
    assert.ok(result.images.every((image) => image.source === 'generated'));
    assert.equal(state.downloads.length, 0);
    await assertFitted(result.images, PORTRAIT_LOOK);
    assert.equal(result.usage.outputUnits, 0);
  });

  it('fails non-retryably when a scene has no photo and there is no fallback', async () => {
    state.noResults.add('chair squat');
    state.noResults.add('chair');
    const error = await failed(provider().createSceneImages(request()));
    assert.equal(error.code, 'not_found');
    assert.equal(error.retryable, false);
    assert.match(error.message, /no photo for scene\(s\) 2/);
  });

  it('maps 429 with Retry-After to rate_limited, records the failed call, and delays the activity retry', async () => {
    state.next.push({ kind: 'error', status: 429, message: 'Rate limit exceeded', retryAfterSec: 7 });
    const recorded: { usage: ProviderUsage; error: string }[] = [];
    const error = await failed(provider().createSceneImages(request(), { onFailedCall: (usage, message) => void recorded.push({ usage, error: message }) }));
    assertRateLimited(error, 7000);
    assert.equal(error.statusCode, 429);
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0]!.usage.service, 'pexels');
    assert.equal(recorded[0]!.usage.operation, 'image_search');
    assert.equal(recorded[0]!.usage.statusCode, 429);
    assert.match(recorded[0]!.error, /Rate limit exceeded/);
  });

  it('waits until X-Ratelimit-Reset when a 429 has no Retry-After', async () => {
    state.next.push({ kind: 'error', status: 429, message: 'Rate limit exceeded', resetInSec: 120 });
    const error = await failed(provider().createSceneImages(request()));
    assert.equal(error.code, 'rate_limited');
    assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs > 115_000 && error.retryAfterMs <= 120_000, `retryAfterMs ${error.retryAfterMs}`);
    assert.ok(Number((toActivityFailure(error) as ApplicationFailure).nextRetryDelay) > 115_000);
  });

  it('maps 500 to a retryable server_error, and the next call succeeds', async () => {
    state.next.push({ kind: 'error', status: 500, message: 'Internal Server Error' });
    const error = await failed(provider().createSceneImages(request()));
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.equal((toActivityFailure(error) as ApplicationFailure).nonRetryable, false);
    const result = await provider().createSceneImages(request());
    assert.equal(result.images.length, 4);
  });

  it("maps 400 and 403 to non-retryable errors carrying Pexels' message, without the key", async () => {
    state.next.push({ kind: 'error', status: 400, message: 'per_page must be between 1 and 80', echoKey: true });
    const bad = await failed(provider().createSceneImages(request()));
    assert.equal(bad.code, 'bad_request');
    assert.equal(bad.retryable, false);
    assert.match(bad.message, /per_page must be between 1 and 80/);
    assert.ok(bad.message.includes('[redacted]'));
    assert.equal((toActivityFailure(bad) as ApplicationFailure).nonRetryable, true);

    state.next.push({ kind: 'error', status: 403, message: 'This API key has been suspended' });
    const forbidden = await failed(provider().createSceneImages(request()));
    assert.equal(forbidden.code, 'forbidden');
    assert.equal(forbidden.retryable, false);
    assert.match(forbidden.message, /has been suspended/);
    assert.equal(state.searches.length, 2, 'no in-process retry');
  });

  it('refuses a wrong key without echoing it', async () => {
    const error = await failed(provider({ apiKey: 'pexels-wrong-key-123456' }).createSceneImages(request()));
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.retryable, false);
    assert.ok(!error.message.includes('pexels-wrong-key-123456'));
  });

  it('rejects malformed answers as invalid_response', async () => {
    state.next.push({ kind: 'malformed' });
    const cut = await failed(provider().createSceneImages(request()));
    assert.equal(cut.code, 'invalid_response');
    assert.match(cut.message, /not a JSON object/);

    state.next.push({ kind: 'noPhotosList' });
    const noList = await failed(provider().createSceneImages(request()));
    assert.equal(noList.code, 'invalid_response');
    assert.match(noList.message, /no photos list/);
  });

  it('rejects downloads that are no picture or too large, and times out a stalled one', async () => {
    const recorded: ProviderUsage[] = [];
    state.nextPicture.push({ kind: 'notPicture' });
    const html = await failed(provider({ parallelDownloads: 1 }).createSceneImages(request(), { onFailedCall: (usage) => void recorded.push(usage) }));
    assert.equal(html.code, 'invalid_response');
    assert.match(html.message, /text\/html\) is not a JPEG, PNG or WebP picture/);
    assert.ok(!html.message.includes('?'), 'the link is named without its query');
    assert.equal(recorded[0]?.operation, 'image_download');
    assert.equal(recorded[0]?.inputUnits, 3, 'the searches this attempt made are in the failed record');

    state.nextPicture.push({ kind: 'large', bytes: 3 * 1024 * 1024 });
    const large = await failed(provider({ maxDownloadBytes: 1024 * 1024 }).createSceneImages(request()));
    assert.equal(large.code, 'invalid_response');
    assert.match(large.message, /larger than 1048576 bytes/);

    state.nextPicture.push({ kind: 'stall' });
    const startedAt = Date.now();
    const stalled = await failed(provider({ downloadTimeoutMs: 300 }).createSceneImages(request()));
    assert.equal(stalled.code, 'network_error');
    assert.equal(stalled.retryable, true);
    assert.match(stalled.message, /within 300 ms/);
    assert.ok(Date.now() - startedAt < 4000);

    state.nextPicture.push({ kind: 'error', status: 404, message: 'Not Found' });
    const gone = await failed(provider().createSceneImages(request()));
    assert.equal(gone.code, 'not_found');
    assert.equal(gone.retryable, false);
  });

  it('stops at once when the call is cancelled', async () => {
    const controller = new AbortController();
    const req = request();
    await assert.rejects(
      provider().createSceneImages(req, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p >= 10) controller.abort(new Error('cancelled by the test'));
        },
      }),
      /cancelled by the test/,
    );
    assert.equal(state.downloads.length, 0);
    assert.deepEqual(await readdir(req.outDir), [], 'the work folder is removed');
  });
});
