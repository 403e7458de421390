import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { captionCues, spokenWords, type CaptionStyle } from '../../../providers/captions';
import type { ConcurrencyLimiter } from '../../../providers/concurrency';
import { probe, runFfmpeg } from '../../../providers/ffmpeg/runner';
import { CreatomateRenderer, creatomateCredits, type CreatomateRendererOptions } from '../../../providers/render/creatomate';
import type { CallOptions, ProviderUsage, RenderRequest, TemplateLook } from '../../../providers/types';
import { startFakeCreatomate, type FakeCreatomateState } from '../../fakes/creatomate-server';
import { assertRateLimited, failureLog } from '../../support/provider-errors';
import { scratchDir } from '../../support/scratch-dir';

const LOOK: TemplateLook = { width: 360, height: 640, colors: { primary: '#FF5500', secondary: '#222244', text: '#FFFFFF' }, font: 'Noto Sans CJK KR' };
const PRICE_PER_CREDIT = 0.02;
const CAPTIONS: CaptionStyle = {
  mode: 'classic',
  font: 'Noto Sans CJK KR',
  fontSize: 40,
  bold: true,
  color: '#FFFFFF',
  highlightColor: '#FF5500',
  outlineColor: '#000000',
  position: 'bottom',
  maxEm: 24,
  wordsPerGroup: 3,
};
const LINES = [
  { startSec: 0, endSec: 1.5, text: '무릎을 지키는 습관' },
  { startSec: 1.5, endSec: 3, text: 'Walk twenty minutes\nevery morning' },
];

describe('CreatomateRenderer against the fake Creatomate server', () => {
  let fake: Awaited<ReturnType<typeof startFakeCreatomate>>;
  let state: FakeCreatomateState;
  const dir = scratchDir('creatomate-test-');
  let scenes: RenderRequest['scenes'];
  let audioPath: string;
  const published: string[] = [];
  const { failed, assertNoKey } = failureLog('the render');

  before(async () => {
    fake = await startFakeCreatomate();
    state = fake.state;
    const colors = ['red', 'green', 'blue'];
    scenes = await Promise.all(
      colors.map(async (color, index) => {
        const imagePath = join(dir.path, `scene-${index}.png`);
        await runFfmpeg(['-f', 'lavfi', '-i', `color=c=${color}:s=360x640`, '-frames:v', '1', '-update', '1', imagePath]);
        return { shots: [{ path: imagePath, kind: 'image' as const }], startSec: index, endSec: index + 1 };
      }),
    );
    audioPath = join(dir.path, 'voice.m4a');
    await runFfmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=3', '-c:a', 'aac', '-b:a', '64k', audioPath]);
  });

  after(async () => {
    await fake.close();
    assertNoKey([state.apiKey]);
  });

  beforeEach(() => {
    state.reset();
    published.length = 0;
  });

  function renderer(options: Partial<CreatomateRendererOptions> = {}): CreatomateRenderer {
    return new CreatomateRenderer({
      apiKey: state.apiKey,
      templateId: state.templateId,
      publish: (path, contentType) => {
        published.push(`${path} ${contentType}`);
        return fake.publish(path, contentType);
      },
      baseUrl: fake.baseUrl,
      pricePerCreditUsd: PRICE_PER_CREDIT,
      pollIntervalMs: 10,
      ...options,
    });
  }

  function request(overrides: Partial<RenderRequest> = {}): RenderRequest {
    return {
      look: LOOK,
      fps: 25,
      language: 'ko',
      scenes,
      audioPath,
      design: { motion: 'static', transition: 'cut', captions: { cues: captionCues(spokenWords(LINES, scenes, 'ko'), CAPTIONS, 'ko'), style: CAPTIONS } },
      outDir: dir.next(),
      ...overrides,
    };
  }

  it('renders from the template, downloads a playable H.264/AAC MP4 and its snapshot, and reports usage and cost', async () => {
    const jobs: { id: string; requestsSoFar: number }[] = [];
    const progress: number[] = [];
    const sent = request();
    const result = await renderer({ webhookUrl: 'https://hooks.example.com/creatomate', metadata: (r) => `out=${r.outDir.length}` }).render(sent, {
      onExternalJob: (id) => jobs.push({ id, requestsSoFar: state.requests.length }),
      onProgress: (percent) => progress.push(percent),
    });

    assert.equal(state.creates.length, 1);
    const create = state.creates[0]!;
    assert.equal(create.path, '/v2/renders');
    assert.equal(create.headers.authorization, `Bearer ${state.apiKey}`);
    assert.equal(create.body?.template_id, state.templateId);
    assert.equal(create.body?.max_width, 360);
    assert.equal(create.body?.max_height, 640);
    assert.equal(create.body?.webhook_url, 'https://hooks.example.com/creatomate');
    assert.match(String(create.body?.metadata), /^out=\d+$/);
    const modifications = create.body?.modifications as Record<string, unknown>;
    for (const [index, scene] of scenes.entries()) {
      assert.match(String(modifications[`Image-${index + 1}`]), new RegExp(`^${fake.baseUrl}/inputs/.+\\.png$`));
      assert.equal(modifications[`Image-${index + 1}.time`], scene.startSec);
      assert.equal(modifications[`Image-${index + 1}.duration`], 1);
    }
    assert.match(String(modifications.Voiceover), /\/inputs\/.+\.m4a$/);
    assert.equal(modifications['Subtitles.transcript_source'], '1\n00:00:00,000 --> 00:00:01,500\n무릎을 지키는 습관\n\n2\n00:00:01,500 --> 00:00:03,000\nWalk twenty minutes every morning\n');
    assert.equal(modifications['Subtitles.fill_color'], '#FFFFFF');
    assert.equal(modifications['Subtitles.transcript_color'], '#FF5500');
    assert.equal(modifications['Background.fill_color'], '#222244');
    assert.deepEqual(published.map((line) => line.split(' ')[1]).sort(), ['audio/mp4', 'image/png', 'image/png', 'image/png']);

    const id = [...state.renders.keys()][0]!;
    assert.deepEqual(jobs, [{ id, requestsSoFar: 1 }], 'the id is handed over right after the create, before any poll');
    assert.deepEqual(
      state.requests.slice(1).map((r) => `${r.method} ${r.path}`),
      [`GET /v2/renders/${id}`, `GET /v2/renders/${id}`],
      'planned → rendering → succeeded across two polls',
    );
    assert.ok(progress.length >= 3, `one progress report per poll at least: ${progress.join(',')}`);
    assert.equal(progress.at(-1), 100);
    assert.deepEqual([...progress].sort((a, b) => a - b), progress, 'progress never goes back');

    const info = await probe(result.videoPath);
    assert.equal(info.streams.find((s) => s.type === 'video')?.codec, 'h264');
    assert.equal(info.streams.find((s) => s.type === 'audio')?.codec, 'aac');
    assert.equal(result.videoPath, join(sent.outDir, 'video.mp4'));
    assert.equal(result.thumbnailPath, join(sent.outDir, 'thumbnail.jpg'));
    assert.equal(result.width, 360);
    assert.equal(result.height, 640);
    assert.ok(Math.abs(result.durationSec - 3) < 0.2, `duration ${result.durationSec}`);
    assert.equal(result.sizeBytes, state.renders.get(id)!.output!.sizeBytes);
    const thumbnail = await probe(result.thumbnailPath);
    assert.equal(thumbnail.streams[0]?.codec, 'mjpeg');
    assert.ok(
      state.fileRequests.some((r) => r.path === `/files/${id}.jpg`),
      'the thumbnail is Creatomate’s snapshot',
    );
    assert.ok(state.fileRequests.every((r) => r.headers.authorization === undefined), 'the API key never goes to the file host');

    assert.equal(result.usage.service, 'creatomate');
    assert.equal(result.usage.operation, 'render');
    assert.equal(result.usage.inputUnits, 3);
    assert.equal(result.usage.outputUnits, Math.ceil(result.durationSec));
    assert.equal(result.usage.statusCode, 200);
    assert.equal(result.usage.model, state.templateId);
    assert.ok(result.usage.durationMs >= 0);
    const credits = creatomateCredits(360, 640, 25, result.durationSec);
    assert.equal(credits, 1, 'a short low-resolution video costs the minimum of one credit');
    assert.ok(Math.abs(result.usage.estimatedCostUsd - credits * PRICE_PER_CREDIT) < 1e-9);
    assert.ok(!JSON.stringify(result).includes(state.apiKey));
  });

  it("follows Creatomate's credit rule: width × height × fps × seconds / 100 million, at least one", () => {
    assert.ok(Math.abs(creatomateCredits(1280, 720, 25, 10) - 2.304) < 1e-9);
    assert.ok(Math.abs(creatomateCredits(1080, 1920, 30, 60) - 37.3248) < 1e-9);
    assert.equal(creatomateCredits(360, 640, 25, 2), 1);
  });

  it('refuses a scene of clips alone before calling Creatomate: its scene elements take pictures', async () => {
    const clipOnly = { ...(scenes[1] as RenderRequest['scenes'][number]), shots: [{ path: join(dir.path, 'clip.mp4'), kind: 'video' as const }] };
    await assert.rejects(renderer().render(request({ scenes: [scenes[0] as RenderRequest['scenes'][number], clipOnly] })), {
      name: 'PermanentProviderError',
      message: /scene 1 has only clips/,
    });
    assert.equal(state.requests.length, 0);
  });

  it('accepts the array answer of v1', async () => {
    state.next.push({ kind: 'array' });
    const result = await renderer().render(request());
    assert.equal(state.creates.length, 1);
    assert.ok(existsSync(result.videoPath));
  });

  it('makes the thumbnail from a frame of the video when the render has no snapshot', async () => {
    state.snapshots = false;
    const result = await renderer().render(request());
    assert.ok(!state.fileRequests.some((r) => r.path.endsWith('.jpg')));
    const thumbnail = await probe(result.thumbnailPath);
    assert.equal(thumbnail.streams[0]?.codec, 'mjpeg');
    assert.equal(thumbnail.streams[0]?.width, 360);
  });

  it('resumes the render of a crashed attempt by its id instead of paying for a second one', async () => {
    const ids: string[] = [];
    const failedCalls: ProviderUsage[] = [];
    const first: CallOptions = {
      onExternalJob: (id) => {
        ids.push(id);
        state.next.push({ kind: 'error', status: 502, hint: 'Bad gateway' }); // the first poll fails
      },
      onFailedCall: (usage) => {
        failedCalls.push(usage);
      },
    };
    const crashed = await failed(renderer().render(request(), first));
    assert.equal(crashed.code, 'server_error');
    assert.equal(crashed.retryable, true);
    const temporal = toActivityFailure(crashed);
    assert.ok(temporal instanceof ApplicationFailure);
    assert.equal(temporal.nonRetryable, false);
    assert.equal(failedCalls.length, 1);
    assert.equal(failedCalls[0]!.statusCode, 502);
    assert.equal(failedCalls[0]!.service, 'creatomate');
    assert.equal(ids.length, 1);

    const publishedBefore = published.length;
    const resumedIds: string[] = [];
    const result = await renderer().render(request({ resumeExternalJobId: ids[0]! }), { onExternalJob: (id) => resumedIds.push(id) });
    assert.equal(state.creates.length, 1, 'no second render');
    assert.equal(published.length, publishedBefore, 'nothing is published again');
    assert.deepEqual(resumedIds, ids, 'the resumed attempt hands over the same id again');
    assert.equal(state.requests.at(-1)?.path, `/v2/renders/${ids[0]}`);
    const info = await probe(result.videoPath);
    assert.equal(info.streams.find((s) => s.type === 'video')?.codec, 'h264');
  });

  it('starts a new render when the one to resume is unknown to Creatomate', async () => {
    const ids: string[] = [];
    const result = await renderer().render(request({ resumeExternalJobId: 'gone-render' }), { onExternalJob: (id) => ids.push(id) });
    assert.equal(state.requests[0]?.path, '/v2/renders/gone-render');
    assert.equal(state.creates.length, 1);
    assert.deepEqual(ids, [...state.renders.keys()]);
    assert.ok(existsSync(result.videoPath));
  });

  it('maps 429 with Retry-After to rate_limited and the activity next retry delay, recording the failed call', async () => {
    state.next.push({ kind: 'error', status: 429, hint: 'Rate limit exceeded: 30 requests per 10 seconds.', retryAfterSec: 9 });
    const failedCalls: { usage: ProviderUsage; error: string }[] = [];
    const error = await failed(renderer().render(request(), { onFailedCall: (usage, message) => void failedCalls.push({ usage, error: message }) }));
    assertRateLimited(error, 9000);
    assert.equal(error.statusCode, 429);
    assert.match(error.message, /Rate limit exceeded/);
    assert.equal(failedCalls.length, 1);
    assert.equal(failedCalls[0]!.usage.statusCode, 429);
    assert.equal(failedCalls[0]!.usage.operation, 'render');
    assert.match(failedCalls[0]!.error, /Rate limit exceeded/);
  });

  it("waits one of Creatomate's 10-second rate windows after a 429 without Retry-After", async () => {
    state.next.push({ kind: 'error', status: 429, hint: 'Too many requests.' });
    const error = await failed(renderer().render(request()));
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryAfterMs, 10_000);
  });

  it('maps 500 on the create to a retryable server_error, and the next attempt succeeds', async () => {
    state.next.push({ kind: 'error', status: 500, hint: 'Internal server error.' });
    const error = await failed(renderer().render(request()));
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.equal(state.renders.size, 0);
    const result = await renderer().render(request());
    assert.ok(existsSync(result.videoPath));
    assert.equal(state.creates.length, 2);
  });

  it("maps 400, 401 and 403 to non-retryable errors carrying Creatomate's hint, without the key", async () => {
    state.next.push({ kind: 'error', status: 400, hint: 'The modification "Image-9" does not match any element.', echoKey: true });
    const bad = await failed(renderer().render(request()));
    assert.equal(bad.code, 'bad_request');
    assert.equal(bad.retryable, false);
    assert.match(bad.message, /does not match any element/);
    assert.ok(bad.message.includes('[redacted]'));
    const temporal = toActivityFailure(bad);
    assert.ok(temporal instanceof ApplicationFailure);
    assert.equal(temporal.nonRetryable, true);

    const wrongKey = `ck_wrong_${'x'.repeat(24)}`;
    const unauthorized = await failed(renderer({ apiKey: wrongKey }).render(request()));
    assert.equal(unauthorized.code, 'unauthorized');
    assert.equal(unauthorized.retryable, false);
    assert.match(unauthorized.message, /API key is invalid/);
    assert.ok(!unauthorized.message.includes(wrongKey));

    state.next.push({ kind: 'error', status: 403, hint: 'Your project has no credits left.' });
    const forbidden = await failed(renderer().render(request()));
    assert.equal(forbidden.code, 'forbidden');
    assert.equal(forbidden.retryable, false);
    assert.match(forbidden.message, /no credits left/);

    const unknownTemplate = await failed(renderer({ templateId: 'no-such-template' }).render(request()));
    assert.equal(unknownTemplate.retryable, false);
    assert.match(unknownTemplate.message, /no-such-template was not found/);
    assert.equal(state.renders.size, 0);
  });

  it("fails non-retryably with Creatomate's error_message when the render fails, and when it is cancelled", async () => {
    state.next.push({ kind: 'failRender', message: 'The source of element Image-2 could not be loaded.' });
    const failedCalls: ProviderUsage[] = [];
    const error = await failed(renderer().render(request(), { onFailedCall: (usage) => void failedCalls.push(usage) }));
    assert.equal(error.retryable, false);
    assert.equal(error.providerReason, 'render_failed');
    assert.match(error.message, /failed: The source of element Image-2 could not be loaded\./);
    const temporal = toActivityFailure(error);
    assert.ok(temporal instanceof ApplicationFailure);
    assert.equal(temporal.nonRetryable, true);
    assert.equal(failedCalls.length, 1, 'the failed render is recorded');

    state.next.push({ kind: 'cancelRender' });
    const cancelled = await failed(renderer().render(request()));
    assert.equal(cancelled.retryable, false);
    assert.equal(cancelled.providerReason, 'render_cancelled');
    assert.match(cancelled.message, /was cancelled/);
  });

  it('fails the render when Creatomate cannot fetch an input', async () => {
    const error = await failed(renderer({ publish: () => Promise.resolve(`${fake.baseUrl}/inputs/missing.png`) }).render(request()));
    assert.equal(error.retryable, false);
    assert.match(error.message, /could not be downloaded \(HTTP 404\)/);
  });

  it('rejects malformed render objects as invalid_response, on the create and on a poll', async () => {
    state.next.push({ kind: 'malformed' });
    const onCreate = await failed(renderer().render(request()));
    assert.equal(onCreate.code, 'invalid_response');
    assert.match(onCreate.message, /create render: the render object has no id/);

    const ids: string[] = [];
    const onPoll = await failed(
      renderer().render(request(), {
        onExternalJob: (id) => {
          ids.push(id);
          state.next.push({ kind: 'malformed' });
        },
      }),
    );
    assert.equal(onPoll.code, 'invalid_response');
    assert.match(onPoll.message, /get render: the render object has no id/);
    assert.equal(ids.length, 1);
  });

  it('holds one concurrency slot from the create to the download, and frees it on failure', async () => {
    const events: string[] = [];
    const limiter: ConcurrencyLimiter = {
      acquire: (key, limit) => {
        events.push(`acquire ${key} ${limit} after ${state.requests.length} requests`);
        return Promise.resolve(() => {
          events.push(`release after ${state.requests.length} requests, ${state.fileRequests.filter((r) => r.path.startsWith('/files/')).length} downloads`);
          return Promise.resolve();
        });
      },
    };
    const slotted = renderer({ slot: { limiter, key: 'creatomate', limit: 2 } });
    await slotted.render(request());
    assert.deepEqual(events, ['acquire creatomate 2 after 0 requests', 'release after 3 requests, 2 downloads']);

    events.length = 0;
    state.reset();
    state.next.push({ kind: 'error', status: 500, hint: 'Internal server error.' });
    await failed(slotted.render(request()));
    assert.deepEqual(events, ['acquire creatomate 2 after 0 requests', 'release after 1 requests, 0 downloads']);
  });

  it('stops polling when the activity is cancelled', async () => {
    const controller = new AbortController();
    const reason = new Error('activity cancelled');
    const slow = renderer({ pollIntervalMs: 5000 });
    const promise = slow.render(request(), { signal: controller.signal, onExternalJob: () => setTimeout(() => controller.abort(reason), 20) });
    await assert.rejects(promise, (error) => error === reason);
    assert.equal(state.requests.length, 1, 'no poll after the cancellation');
  });
});
