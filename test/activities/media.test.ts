import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMediaActivities, type ImagesOutput, type MediaActivities, type SpeechOutput } from '../../activities/media';
import { recordingInterceptor } from '../../activities/recording';
import { shotsPerScene } from '../../activities/templates';
import { processWorkDir } from '../../activities/work-folders';
import { createProviders, type Providers } from '../../providers';
import type { RenderRequest, SceneImageRequest } from '../../providers/types';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { scratchDir } from '../support/scratch-dir';

const SCRIPT = {
  hook: '숏폼 영상은 이제 인공지능이 만듭니다.',
  body: ['대본과 목소리, 장면까지 몇 분이면 충분합니다.'],
  cta: '구독하고 다음 소식을 받아 보세요.',
  full_text: '숏폼 영상은 이제 인공지능이 만듭니다. 대본과 목소리, 장면까지 몇 분이면 충분합니다. 구독하고 다음 소식을 받아 보세요.',
};

/**
 * The media activities on the real stores and the local engines, run as a worker runs them (the
 * recording interceptor around each attempt), each engine counted: an attempt that follows one
 * whose completion was lost finds the finished outputs in S3 instead of making them again.
 */
describe('media activities', () => {
  let h: PipelineHarness;
  let tenant: Tenant;
  let media: MediaActivities;
  const workRoot = scratchDir('media-work-');
  const calls = { speech: 0, images: 0, render: 0 };
  /** A silent phase before each render (as measuring the sound's loudness is), in ms. */
  let silentBeforeRenderMs = 0;
  let lastRender: RenderRequest | undefined;
  let lastImages: SceneImageRequest | undefined;

  before(async () => {
    h = await createPipelineHarness();
    tenant = await createTenant(h, { credits: 5 });
    const local = createProviders(h.ctx.config);
    const counted: Providers = {
      ...local,
      speech: {
        name: local.speech.name,
        synthesize(request, options) {
          calls.speech += 1;
          return local.speech.synthesize(request, options);
        },
      },
      images: {
        name: local.images.name,
        createSceneImages(request, options) {
          calls.images += 1;
          lastImages = request;
          return local.images.createSceneImages(request, options);
        },
      },
      renderer: {
        name: local.renderer.name,
        async render(request, options) {
          calls.render += 1;
          lastRender = request;
          await new Promise((resolve) => setTimeout(resolve, silentBeforeRenderMs));
          return local.renderer.render(request, options);
        },
      },
    };
    media = createMediaActivities(h.ctx, counted, workRoot.path);
  });

  after(async () => {
    await h?.close();
  });

  async function newContent(): Promise<string> {
    const content = await h.ctx.models.Content.create({ project_id: tenant.projectId, title: 'AI 숏폼', script: SCRIPT, status: 'processing', source_type: 'manual' } as never);
    return content.id;
  }

  /** Runs one attempt of a media activity of a workflow run, as the worker would; `heartbeats` collects when it heartbeated. */
  function attempt<A extends keyof MediaActivities>(
    activityType: A,
    input: Parameters<MediaActivities[A]>[0],
    run: { contentId: string; runId: string; attempt: number; heartbeats?: number[] },
  ): Promise<Awaited<ReturnType<MediaActivities[A]>>> {
    const env = new MockActivityEnvironment(
      { activityType, attempt: run.attempt, workflowExecution: { workflowId: `content-${run.contentId}`, runId: run.runId } },
      { interceptors: [recordingInterceptor(h.ctx.db)] },
    );
    env.on('heartbeat', () => run.heartbeats?.push(Date.now()));
    return env.run(media[activityType] as (arg: typeof input) => Promise<Awaited<ReturnType<MediaActivities[A]>>>, input);
  }

  async function usageOf(contentId: string): Promise<string[]> {
    const rows = await h.ctx.models.ApiUsage.findAll({ where: { content_id: contentId } });
    return rows.map((r) => `${r.service}:${r.operation}`).sort();
  }

  const renderedEvents = (contentId: string) => h.ctx.db.mongo.models.AnalyticsEvent.countDocuments({ event_type: 'video_rendered', content_id: contentId });

  async function madeMedia(contentId: string, runId: string): Promise<{ speech: SpeechOutput; images: ImagesOutput }> {
    const speech = await attempt('synthesizeSpeech', { contentId }, { contentId, runId, attempt: 1 });
    const images = await attempt('createSceneImages', { contentId }, { contentId, runId, attempt: 1 });
    return { speech, images };
  }

  it('a render retried after its completion was lost finds its video: no second render, usage row or video_rendered event, the same result', async () => {
    const contentId = await newContent();
    const runId = randomUUID();
    const { speech, images } = await madeMedia(contentId, runId);
    const before = { ...calls };

    const first = await attempt('renderVideo', { contentId, speech, images }, { contentId, runId, attempt: 1 });
    const row = await h.ctx.models.Content.findByPk(contentId);
    const second = await attempt('renderVideo', { contentId, speech, images }, { contentId, runId, attempt: 2 });

    assert.deepEqual(second, first);
    assert.equal(calls.render - before.render, 1, 'ffmpeg rendered once');
    assert.deepEqual(await usageOf(contentId), ['espeak-ng:tts', 'ffmpeg:render', 'local-cards:image_gen'].sort());
    assert.equal(await renderedEvents(contentId), 1);
    const after = await h.ctx.models.Content.findByPk(contentId);
    assert.deepEqual(
      [after?.video_url, after?.thumbnail_url, after?.video_duration, after?.video_resolution],
      [row?.video_url, row?.thumbnail_url, row?.video_duration, row?.video_resolution],
    );
    assert.equal((await h.ctx.db.objects.getBuffer(first.videoKey)).subarray(4, 8).toString(), 'ftyp', 'the MP4 is in S3');
    assert.deepEqual(await readdir(processWorkDir(workRoot.path)), [], 'each attempt removed its work folder');
  });

  it("renders the template's design: the title over its intro, the call to action over its outro, its captions beside the video, scenes on the video's timeline", async () => {
    const contentId = await newContent();
    const runId = randomUUID();
    const { speech, images } = await madeMedia(contentId, runId);
    const video = await attempt('renderVideo', { contentId, speech, images }, { contentId, runId, attempt: 1 });
    const row = await h.ctx.models.Content.findByPk(contentId);
    const template = (await h.ctx.models.Template.findAll({ where: { template_type: 'system', content_format: 'short' } })).find((t) => t.vertical === null);
    const { intro, outro, body } = template?.template_data.elements ?? assert.fail('the seeded short template');
    const design = lastRender?.design;
    assert.deepEqual([design?.intro?.text, design?.intro?.durationSec, design?.intro?.animation], ['AI 숏폼', intro.duration, intro.animation]);
    assert.deepEqual([design?.outro?.text, design?.outro?.durationSec], [SCRIPT.cta, outro.duration]);
    assert.deepEqual([design?.motion, design?.transition, design?.captions?.style.mode, design?.captions?.style.fontSize], [body.motion, body.transition, 'karaoke', body.caption.font_size]);
    assert.deepEqual(
      lastRender?.scenes.map((scene) => scene.shots.length),
      lastRender?.scenes.map((scene) => shotsPerScene(template!.template_data, 'image', scene.endSec - scene.startSec)),
      "each scene's picture moves at the template's pace",
    );
    assert.ok(Math.abs(Number(row?.video_duration) - (intro.duration + Number(row?.audio_duration) + outro.duration)) < 0.1, `video ${row?.video_duration} s`);
    assert.deepEqual(row?.media_assets.map((asset) => asset.timestamp)[0], intro.duration);
    const vtt = (await h.ctx.db.objects.getBuffer(video.captionsKey ?? assert.fail('a captions key'))).toString('utf8');
    const firstCue = /^(\d\d):(\d\d):(\d\d\.\d{3}) -->/m.exec(vtt);
    assert.ok(vtt.startsWith('WEBVTT') && firstCue, vtt);
    assert.ok(Math.abs(Number(firstCue[3]) - intro.duration) < 0.01, `the first caption starts after the intro: ${firstCue[0]}`);
    assert.match(vtt, /숏폼 영상은/);
  });

  it("searches each scene's pictures with the script's terms for that scene", async () => {
    const searchTerms = ['smartphone video', 'robot camera', 'subscribe button'];
    const content = await h.ctx.models.Content.create({
      project_id: tenant.projectId,
      title: 'AI 숏폼',
      tags: ['ai'],
      script: { ...SCRIPT, search_terms: searchTerms },
      status: 'processing',
      source_type: 'manual',
    } as never);
    await attempt('createSceneImages', { contentId: content.id }, { contentId: content.id, runId: randomUUID(), attempt: 1 });
    assert.deepEqual(lastImages?.scenes.map((scene) => scene.keywords), searchTerms.map((search) => [search]));
  });

  it('speech and scene images retried find theirs: each engine called once, one usage row each, the same outputs', async () => {
    const contentId = await newContent();
    const runId = randomUUID();
    const before = { ...calls };
    const first = await madeMedia(contentId, runId);
    const retried = {
      speech: await attempt('synthesizeSpeech', { contentId }, { contentId, runId, attempt: 2 }),
      images: await attempt('createSceneImages', { contentId }, { contentId, runId, attempt: 2 }),
    };
    assert.deepEqual(retried, first);
    assert.deepEqual([calls.speech - before.speech, calls.images - before.images], [1, 1]);
    assert.deepEqual(await usageOf(contentId), ['espeak-ng:tts', 'local-cards:image_gen'].sort());
    assert.match(first.speech.audioKey, new RegExp(`/contents/${contentId}/audio/[0-9a-f]{16}/voice\\.m4a$`), 'keyed by the content and the hash of the inputs');
  });

  it('another script is other inputs: its speech is made anew, beside the first', async () => {
    const contentId = await newContent();
    const first = await attempt('synthesizeSpeech', { contentId }, { contentId, runId: randomUUID(), attempt: 1 });
    await h.ctx.models.Content.update({ script: { ...SCRIPT, cta: '좋아요와 구독 부탁드립니다.' } }, { where: { id: contentId } });
    const before = calls.speech;
    const second = await attempt('synthesizeSpeech', { contentId }, { contentId, runId: randomUUID(), attempt: 1 });
    assert.equal(calls.speech - before, 1);
    assert.notEqual(second.audioKey, first.audioKey);
    assert.ok((await h.ctx.db.objects.getBuffer(first.audioKey)).length > 0, 'the first speech is kept');
  });

  it('heartbeats every second through phases that report no progress', async () => {
    const contentId = await newContent();
    const runId = randomUUID();
    const { speech, images } = await madeMedia(contentId, runId);
    const heartbeats: number[] = [];
    silentBeforeRenderMs = 3000;
    const started = Date.now();
    try {
      await attempt('renderVideo', { contentId, speech, images }, { contentId, runId, attempt: 1, heartbeats });
    } finally {
      silentBeforeRenderMs = 0;
    }
    const times = [started, ...heartbeats];
    const longestGap = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    assert.ok(longestGap <= 1500, `longest gap between heartbeats: ${longestGap} ms`);
  });
});
