import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMediaActivities, type ImagesOutput, type MediaActivities, type SpeechOutput } from '../../activities/media';
import { recordingInterceptor } from '../../activities/recording';
import { createProviders, type Providers } from '../../providers';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { scratchDir } from '../support/scratch-dir';

const SCRIPT = {
  hook: '숏폼 영상은 이제 인공지능이 만듭니다.',
  body: ['대본과 목소리, 장면까지 몇 분이면 충분합니다.'],
  cta: '구독하고 다음 소식을 받아 보세요.',
  full_text: '숏폼 영상은 이제 인공지능이 만듭니다. 대본과 목소리, 장면까지 몇 분이면 충분합니다. 구독하고 다음 소식을 받아 보세요.',
};

/** The media activities on the real stores and the local engines, run as a worker runs them (the recording interceptor around each attempt). */
describe('media activities', () => {
  let h: PipelineHarness;
  let tenant: Tenant;
  let media: MediaActivities;
  const workRoot = scratchDir('media-work-');
  /** A silent phase before each render (as drawing the subtitle strips is), in ms. */
  let silentBeforeRenderMs = 0;

  before(async () => {
    h = await createPipelineHarness();
    tenant = await createTenant(h, { credits: 5 });
    const local = createProviders(h.ctx.config);
    const withSilence: Providers = {
      ...local,
      renderer: {
        name: local.renderer.name,
        async render(request, options) {
          await new Promise((resolve) => setTimeout(resolve, silentBeforeRenderMs));
          return local.renderer.render(request, options);
        },
      },
    };
    media = createMediaActivities(h.ctx, withSilence, workRoot.path);
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

  async function madeMedia(contentId: string, runId: string): Promise<{ speech: SpeechOutput; images: ImagesOutput }> {
    const speech = await attempt('synthesizeSpeech', { contentId }, { contentId, runId, attempt: 1 });
    const images = await attempt('createSceneImages', { contentId }, { contentId, runId, attempt: 1 });
    return { speech, images };
  }

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
