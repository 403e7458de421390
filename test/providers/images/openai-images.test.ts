import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { imagePrompt, OpenAiImageProvider, sizeForLook, GPT_IMAGE_SIZES, type OpenAiImageOptions } from '../../../providers/images/openai-images';
import type { ProviderUsage, SceneImageRequest } from '../../../providers/types';
import { startFakeOpenAiImages, type FakeOpenAiImagesState } from '../../fakes/openai-images-server';
import { countingLimiter } from '../../support/limiter';
import { assertRateLimited, failureLog } from '../../support/provider-errors';
import { assertFitted, distinctPictures, PORTRAIT_LOOK } from '../../support/scene-images';
import { scratchDir } from '../../support/scratch-dir';

const SCENES: SceneImageRequest['scenes'] = [
  { index: 0, text: '무릎은 매일 당신을 지탱합니다.', keywords: ['무릎', '건강'] },
  { index: 1, text: 'Walk twenty minutes every morning on level ground.', keywords: ['walking'] },
  { index: 2, text: 'Strengthen the thigh muscles with slow chair squats.', keywords: [] },
];

describe('OpenAiImageProvider against the fake Images API', () => {
  let fake: Awaited<ReturnType<typeof startFakeOpenAiImages>>;
  let state: FakeOpenAiImagesState;
  const scratch = scratchDir('autoclip-openai-images-');
  const { failed, assertNoKey } = failureLog();

  before(async () => {
    fake = await startFakeOpenAiImages();
    state = fake.state;
  });

  after(async () => {
    await fake.close();
    assertNoKey([state.apiKey as string]);
  });

  beforeEach(() => state.reset());

  function provider(options: Partial<OpenAiImageOptions> = {}): OpenAiImageProvider {
    return new OpenAiImageProvider({ apiKey: state.apiKey, baseUrl: fake.baseUrl, model: state.model, timeoutMs: 5000, downloadTimeoutMs: 5000, ...options });
  }

  function request(scenes = SCENES, look = PORTRAIT_LOOK): SceneImageRequest {
    return { language: 'ko', look, scenes, outDir: scratch.next() };
  }

  it('chooses the size closest to the template aspect and builds the prompt', () => {
    assert.equal(sizeForLook({ width: 1080, height: 1920 }, GPT_IMAGE_SIZES), '1024x1536');
    assert.equal(sizeForLook({ width: 1920, height: 1080 }, GPT_IMAGE_SIZES), '1536x1024');
    assert.equal(sizeForLook({ width: 1080, height: 1080 }, GPT_IMAGE_SIZES), '1024x1024');
    assert.equal(sizeForLook({ width: 1080, height: 1920 }, ['1024x1024', '1024x1792', '1792x1024']), '1024x1792');
    const prompt = imagePrompt({ text: '  무릎은   매일\n당신을 지탱합니다. ', keywords: ['무릎', ' 건강 '] }, 'STYLE');
    assert.equal(prompt, 'STYLE\nScene: 무릎은 매일 당신을 지탱합니다.\nKeywords: 무릎, 건강');
    assert.equal(imagePrompt({ text: 'x', keywords: [] }, 'STYLE'), 'STYLE\nScene: x');
    assert.throws(() => new OpenAiImageProvider({ sizes: ['portrait'] }), /not WIDTHxHEIGHT/);
  });

  it('makes one distinct PNG of the template size per scene, with usage, cost and the slot', async () => {
    const limiter = countingLimiter();
    const progress: number[] = [];
    const req = request();
    const result = await provider({ slot: { limiter, key: 'openai-images', limit: 2 }, pricePerImageUsd: 0.063, style: 'Soft watercolour, no text.' }).createSceneImages(req, {
      onProgress: (p) => progress.push(p),
    });

    assert.deepEqual(result.images.map((image) => [image.index, image.source]), [
      [0, 'ai'],
      [1, 'ai'],
      [2, 'ai'],
    ]);
    assert.ok(result.images.every((image) => image.credit === undefined));
    await assertFitted(result.images, PORTRAIT_LOOK);
    assert.equal(await distinctPictures(result.images), 3, 'every scene has its own picture');
    assert.deepEqual(await readdir(req.outDir), ['scene-00.png', 'scene-01.png', 'scene-02.png'], 'no work files are left');

    const generations = state.generations;
    assert.equal(generations.length, 3);
    for (const generation of generations) {
      assert.equal(generation.headers.authorization, `Bearer ${state.apiKey}`);
      const body = generation.body as { model: string; prompt: string; size: string; n: number };
      assert.deepEqual(Object.keys(body).sort(), ['model', 'n', 'prompt', 'size']);
      assert.equal(body.model, state.model);
      assert.equal(body.size, '1024x1536');
      assert.equal(body.n, 1);
      assert.match(body.prompt, /^Soft watercolour, no text\.\nScene: /);
    }
    const prompts = generations.map((g) => (g.body as { prompt: string }).prompt).sort();
    assert.deepEqual(prompts, SCENES.map((scene) => imagePrompt(scene, 'Soft watercolour, no text.')).sort());
    assert.ok(prompts.some((prompt) => prompt.endsWith(`Scene: ${SCENES[0]!.text}\nKeywords: 무릎, 건강`)));

    const usage = result.usage;
    assert.equal(usage.service, 'openai');
    assert.equal(usage.operation, 'image_generation');
    assert.equal(usage.outputUnits, 3);
    assert.equal(usage.inputUnits, 3);
    assert.equal(usage.model, state.model);
    assert.equal(usage.statusCode, 200);
    assert.ok(Math.abs(usage.estimatedCostUsd - 0.189) < 1e-9, `cost ${usage.estimatedCostUsd}`);
    assert.equal(limiter.acquired.length, 3);
    assert.ok(limiter.acquired.every((key) => key === 'openai-images'));
    assert.equal(limiter.maxHeld, 2, 'two pictures are made at once by default');
    assert.equal(limiter.held, 0);
    assert.equal(progress.at(-1), 100);
    assert.ok(!JSON.stringify(result).includes(state.apiKey as string));
  });

  it('asks a landscape size for a landscape look and fits it exactly', async () => {
    const look = { ...PORTRAIT_LOOK, width: 1280, height: 720 };
    const result = await provider().createSceneImages(request(SCENES.slice(0, 1), look));
    assert.equal((state.generations[0]!.body as { size: string }).size, '1536x1024');
    await assertFitted(result.images, look);
  });

  it('downloads answers given as links, without sending the key there', async () => {
    state.answerWith = 'url';
    const result = await provider().createSceneImages(request());
    await assertFitted(result.images, PORTRAIT_LOOK);
    assert.equal(await distinctPictures(result.images), 3);
    const files = state.requests.filter((r) => r.kind === 'file');
    assert.equal(files.length, 3);
    assert.ok(files.every((file) => file.headers.authorization === undefined));
  });

  it('works without a key against a local server', async () => {
    const key = state.apiKey;
    state.apiKey = undefined;
    try {
      const result = await provider({ apiKey: undefined }).createSceneImages(request(SCENES.slice(0, 1)));
      assert.equal(result.images.length, 1);
      assert.equal(state.generations[0]!.headers.authorization, undefined);
    } finally {
      state.apiKey = key;
    }
  });

  it('maps 429 with Retry-After to rate_limited and delays the activity retry; records the failed call', async () => {
    state.next.push({ kind: 'error', status: 429, message: 'Rate limit reached for images per minute.', type: 'requests', code: 'rate_limit_exceeded', retryAfterSec: 12 });
    const recorded: { usage: ProviderUsage; error: string }[] = [];
    const error = await failed(provider({ parallel: 1 }).createSceneImages(request(), { onFailedCall: (usage, message) => void recorded.push({ usage, error: message }) }));
    assertRateLimited(error, 12_000);
    assert.equal(error.providerReason, 'rate_limit_exceeded');
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0]!.usage.service, 'openai');
    assert.equal(recorded[0]!.usage.operation, 'image_generation');
    assert.equal(recorded[0]!.usage.statusCode, 429);
    assert.equal(state.generations.length, 1, 'the other scenes are not started after the failure');
  });

  it('reads x-ratelimit-reset-requests when a 429 has no retry-after', async () => {
    state.next.push({ kind: 'error', status: 429, message: 'Rate limit reached.', resetRequests: '6m0s' });
    const error = await failed(provider({ parallel: 1 }).createSceneImages(request()));
    assert.equal(error.retryAfterMs, 360_000);
  });

  it('maps 500 to a retryable server_error and records what the attempt already paid for', async () => {
    state.next.push({ kind: 'url' }, { kind: 'url' }, { kind: 'error', status: 500, message: 'The server had an error while processing your request.', type: 'server_error' });
    const recorded: ProviderUsage[] = [];
    const error = await failed(provider({ parallel: 1, pricePerImageUsd: 0.04 }).createSceneImages(request(), { onFailedCall: (usage) => void recorded.push(usage) }));
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.equal(recorded.length, 1);
    assert.equal(recorded[0]!.outputUnits, 2, 'the two pictures made before the failure are in the failed record');
    assert.ok(Math.abs(recorded[0]!.estimatedCostUsd - 0.08) < 1e-9);
    const result = await provider().createSceneImages(request());
    assert.equal(result.images.length, 3);
  });

  it('fails non-retryably with the message on a content-policy refusal', async () => {
    state.next.push({
      kind: 'error',
      status: 400,
      message: 'Your request was rejected as a result of our safety system. Your prompt may contain text that is not allowed by our safety system.',
      code: 'content_policy_violation',
    });
    const refused = await failed(provider({ parallel: 1 }).createSceneImages(request()));
    assert.equal(refused.code, 'forbidden');
    assert.equal(refused.retryable, false);
    assert.equal(refused.providerReason, 'content_policy_violation');
    assert.equal(refused.statusCode, 400);
    assert.match(refused.message, /rejected as a result of our safety system/);
    assert.equal((toActivityFailure(refused) as ApplicationFailure).nonRetryable, true);

    state.next.push({ kind: 'error', status: 400, message: 'Your request was rejected by the safety system.', type: 'image_generation_user_error', code: 'moderation_blocked' });
    const blocked = await failed(provider({ parallel: 1 }).createSceneImages(request()));
    assert.equal(blocked.retryable, false);
    assert.equal(blocked.providerReason, 'moderation_blocked');
  });

  it("maps other 400s and 403 to non-retryable errors carrying the server's message, without the key", async () => {
    state.next.push({ kind: 'error', status: 400, message: "Invalid value: 'hd'. Supported values are: 'low', 'medium', 'high' and 'auto'.", code: 'invalid_value', echoKey: true });
    const bad = await failed(provider({ parallel: 1 }).createSceneImages(request()));
    assert.equal(bad.code, 'bad_request');
    assert.equal(bad.retryable, false);
    assert.match(bad.message, /Supported values are/);
    assert.ok(bad.message.includes('[redacted]'));

    state.next.push({ kind: 'error', status: 403, message: 'Your organization must be verified to use the model `gpt-image-1`.', type: 'invalid_request_error' });
    const forbidden = await failed(provider({ parallel: 1 }).createSceneImages(request()));
    assert.equal(forbidden.code, 'forbidden');
    assert.equal(forbidden.retryable, false);
    assert.match(forbidden.message, /must be verified/);
  });

  it('refuses a wrong key without echoing it', async () => {
    const error = await failed(provider({ apiKey: 'sk-wrong-key-0123456789' }).createSceneImages(request()));
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.retryable, false);
    assert.ok(!error.message.includes('sk-wrong-key-0123456789'));
  });

  it('rejects malformed answers as invalid_response', async () => {
    for (const [knob, pattern] of [
      ['malformed', /not JSON/],
      ['noData', /neither data\[0\]\.b64_json nor/],
      ['notPicture', /data\[0\]\.b64_json is not a JPEG, PNG or WebP picture/],
    ] as const) {
      state.next.push({ kind: knob });
      const error = await failed(provider({ parallel: 1 }).createSceneImages(request()));
      assert.equal(error.code, 'invalid_response', knob);
      assert.match(error.message, pattern);
    }
  });

  it('rejects a linked file that is no picture or too large, and times out a stalled one', async () => {
    state.answerWith = 'url';
    state.nextFile.push({ kind: 'notPicture' });
    const html = await failed(provider({ parallel: 1 }).createSceneImages(request()));
    assert.equal(html.code, 'invalid_response');
    assert.match(html.message, /text\/html\) is not a JPEG, PNG or WebP picture/);
    assert.ok(!html.message.includes('sig='), 'the signed link is named without its signature');

    const large = await failed(provider({ parallel: 1, maxDownloadBytes: 1000 }).createSceneImages(request()));
    assert.equal(large.code, 'invalid_response');
    assert.match(large.message, /larger than 1000 bytes/);

    state.nextFile.push({ kind: 'stall' });
    const stalled = await failed(provider({ parallel: 1, downloadTimeoutMs: 300 }).createSceneImages(request()));
    assert.equal(stalled.code, 'network_error');
    assert.match(stalled.message, /within 300 ms/);
  });

  it('times out a generation that never answers', async () => {
    state.next.push({ kind: 'hang' });
    const error = await failed(provider({ parallel: 1, timeoutMs: 300 }).createSceneImages(request()));
    assert.equal(error.code, 'network_error');
    assert.equal(error.retryable, true);
    assert.match(error.message, /no answer within 300 ms/);
  });

  it('stops the other scenes when one fails, leaving no files behind', async () => {
    state.next.push({ kind: 'error', status: 400, message: 'Bad prompt', code: 'invalid_value' });
    const req = request();
    await failed(provider({ parallel: 3 }).createSceneImages(req));
    assert.deepEqual(await readdir(req.outDir), []);
  });
});
