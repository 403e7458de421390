import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { QueryTypes } from 'sequelize';
import { createMediaActivities, type MediaActivities } from '../../activities/media';
import { ProvidersFor } from '../../activities/providers-for';
import type { AppContext } from '../../control/app-context';
import type { AppConfig } from '../../lib/config';
import { createProviders, type ProviderServices } from '../../providers';
import { startFakeElevenLabs } from '../fakes/elevenlabs-server';
import { startFakePexels } from '../fakes/pexels-server';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { mediaAttempts } from '../support/media-attempts';
import { scratchDir } from '../support/scratch-dir';

const SCRIPT = {
  hook: '아침마다 물 한 잔을 마셔 보세요.',
  body: ['밤새 부족해진 수분을 채워 줍니다.'],
  cta: '구독하고 건강 소식을 받아 보세요.',
  full_text: '아침마다 물 한 잔을 마셔 보세요. 밤새 부족해진 수분을 채워 줍니다. 구독하고 건강 소식을 받아 보세요.',
};

interface JobResult {
  provider?: string;
  fell_back_from?: { provider: string; error: string }[];
  attempts: { attempt: number; status: string; provider?: string; fell_back_from?: unknown[] }[];
}

/**
 * Provider fallback on the real stores: TTS_PROVIDER=elevenlabs,local and IMAGE_PROVIDER=pexels,local
 * against fake ElevenLabs and Pexels servers that fail hard (a refused key; 503s past the provider's
 * tries), the production's speech, images and render made by the local engines, the switch in the
 * `content_jobs` rows and the failed calls in `api_usages`; a provider whose circuit is open is
 * passed over without a call; a project's own order is followed.
 */
describe('media activities with provider fallback', () => {
  let h: PipelineHarness;
  let tenant: Tenant;
  let media: MediaActivities;
  let elevenlabs: Awaited<ReturnType<typeof startFakeElevenLabs>>;
  let pexels: Awaited<ReturnType<typeof startFakePexels>>;
  let services: ProviderServices;
  const workRoot = scratchDir('media-fallback-work-');

  before(async () => {
    elevenlabs = await startFakeElevenLabs();
    pexels = await startFakePexels();
    h = await createPipelineHarness();
    tenant = await createTenant(h, { credits: 5 });
    const base = h.ctx.config;
    const config: AppConfig = {
      ...base,
      tts: { ...base.tts, providers: ['elevenlabs', 'local'], elevenlabs: { ...base.tts.elevenlabs, apiKey: elevenlabs.state.apiKey, baseUrl: elevenlabs.baseUrl } },
      images: { ...base.images, providers: ['pexels', 'local'], pexels: { apiKey: pexels.state.apiKey, baseUrl: pexels.baseUrl } },
      fallback: { tries: 2, maxRetryWaitMs: 5000, breaker: { failures: 5, windowMs: 60_000, cooldownMs: 60_000 } },
    };
    services = { breaker: h.ctx.db.circuits, circuitOwner: `test-${randomUUID()}` };
    const ctx: AppContext = { ...h.ctx, config };
    const platform = createProviders(config, services);
    media = createMediaActivities(ctx, platform, workRoot.path, new ProvidersFor(platform, config, services, undefined));
  });

  beforeEach(() => {
    elevenlabs.state.reset();
    pexels.state.reset();
  });

  after(async () => {
    await h?.close();
    await elevenlabs?.close();
    await pexels?.close();
  });

  const attempt = mediaAttempts(() => h, () => media);

  async function newContent(projectId = tenant.projectId): Promise<string> {
    const content = await h.ctx.models.Content.create({ project_id: projectId, title: '아침 물 한 잔', script: SCRIPT, status: 'processing', source_type: 'manual' } as never);
    return content.id;
  }

  async function jobResult(contentId: string, jobType: string): Promise<JobResult> {
    const job = await h.ctx.models.ContentJob.findOne({ where: { content_id: contentId, job_type: jobType } });
    assert.ok(job, `a ${jobType} job row`);
    return job.result as unknown as JobResult;
  }

  async function usageRows(contentId: string): Promise<{ service: string; status_code: number | null; error_message: string | null }[]> {
    return h.ctx.sequelize.query('SELECT service, status_code, error_message FROM api_usages WHERE content_id = :contentId ORDER BY created_at', {
      replacements: { contentId },
      type: QueryTypes.SELECT,
    });
  }

  function failHard(): void {
    for (let i = 0; i < 20; i += 1) {
      elevenlabs.state.next.push({ kind: 'error', status: 401, detailStatus: 'invalid_api_key', message: 'Invalid API key' });
      pexels.state.next.push({ kind: 'error', status: 503, message: 'Service Unavailable' });
    }
  }

  it('makes the video with the local engines when ElevenLabs and Pexels fail hard, and records the switch', async () => {
    failHard();
    const contentId = await newContent();
    const run = { contentId, runId: randomUUID(), attempt: 1 };
    const speech = await attempt('synthesizeSpeech', { contentId }, run);
    const images = await attempt('createSceneImages', { contentId }, run);
    const video = await attempt('renderVideo', { contentId, speech, images }, run);

    assert.ok(elevenlabs.state.requests.length >= 1, 'ElevenLabs was asked first');
    assert.equal(pexels.state.requests.filter((r) => r.kind === 'search').length, 2, 'Pexels was tried twice (its tries) before the next provider');
    assert.deepEqual(images.sources, ['generated', 'generated', 'generated'], 'the scene cards made every picture');
    assert.equal((await h.ctx.db.objects.getBuffer(video.videoKey)).subarray(4, 8).toString('latin1'), 'ftyp', 'the video is an MP4');
    const row = await h.ctx.models.Content.findByPk(contentId);
    assert.ok(row?.video_url && Number(row.video_duration) > 0);

    const tts = await jobResult(contentId, 'tts');
    assert.equal(tts.provider, 'local');
    assert.deepEqual(tts.fell_back_from?.map((p) => p.provider), ['elevenlabs']);
    assert.match(tts.fell_back_from?.[0]?.error ?? '', /HTTP 401.*Invalid API key/);
    assert.equal(tts.attempts[0]?.provider, 'local');
    const imageGen = await jobResult(contentId, 'image_gen');
    assert.equal(imageGen.provider, 'local');
    assert.deepEqual(imageGen.fell_back_from?.map((p) => p.provider), ['pexels']);
    assert.match(imageGen.fell_back_from?.[0]?.error ?? '', /HTTP 503/);

    const usage = await usageRows(contentId);
    const failedElevenLabs = usage.filter((u) => u.service === 'elevenlabs');
    assert.ok(failedElevenLabs.length >= 1 && failedElevenLabs.every((u) => u.status_code === 401 && /Invalid API key/.test(u.error_message ?? '')), JSON.stringify(usage));
    assert.deepEqual(
      usage.filter((u) => u.service === 'pexels').map((u) => u.status_code),
      [503, 503],
    );
    for (const local of ['espeak-ng', 'local-cards', 'ffmpeg']) {
      assert.deepEqual(
        usage.filter((u) => u.service === local).map((u) => u.error_message),
        [null],
        `one row of ${local}, the engine that did the work`,
      );
    }

    const asked = elevenlabs.state.requests.length;
    const again = await attempt('synthesizeSpeech', { contentId }, { ...run, attempt: 2 });
    assert.deepEqual(again, speech, 'a retry takes what the fallback made');
    assert.equal(elevenlabs.state.requests.length, asked, 'without asking the failed provider again');
    const retried = await jobResult(contentId, 'tts');
    assert.equal(retried.attempts[1]?.provider, 'local');
    assert.deepEqual(retried.attempts[1]?.fell_back_from, tts.fell_back_from);
  });

  it('passes a provider over without a call while its circuit is open', async () => {
    for (let i = 0; i < 5; i += 1) await h.ctx.db.circuits.failed(`autoclip:circuit:${services.circuitOwner}:tts:elevenlabs`);
    const contentId = await newContent();
    await attempt('synthesizeSpeech', { contentId }, { contentId, runId: randomUUID(), attempt: 1 });
    assert.equal(elevenlabs.state.requests.length, 0);
    const tts = await jobResult(contentId, 'tts');
    assert.equal(tts.provider, 'local');
    assert.deepEqual(tts.fell_back_from, [{ provider: 'elevenlabs', error: 'circuit open: skipped after repeated failures' }]);
    assert.equal((await usageRows(contentId)).filter((u) => u.service === 'elevenlabs').length, 0);
    await h.ctx.db.circuits.succeeded(`autoclip:circuit:${services.circuitOwner}:tts:elevenlabs`);
  });

  it("follows a project's own order of providers", async () => {
    await h.ctx.models.Project.update({ style_preset: { providers: { tts: ['local'], images: ['local'] } } } as never, { where: { id: tenant.projectId } });
    try {
      const contentId = await newContent();
      const run = { contentId, runId: randomUUID(), attempt: 1 };
      await attempt('synthesizeSpeech', { contentId }, run);
      const images = await attempt('createSceneImages', { contentId }, run);
      assert.equal(elevenlabs.state.requests.length, 0);
      assert.equal(pexels.state.requests.length, 0);
      assert.deepEqual(images.sources, ['generated', 'generated', 'generated']);
      assert.deepEqual(
        (await usageRows(contentId)).map((u) => u.service),
        ['espeak-ng', 'local-cards'],
      );
    } finally {
      await h.ctx.models.Project.update({ style_preset: {} } as never, { where: { id: tenant.projectId } });
    }
  });
});
