import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { QueryTypes } from 'sequelize';
import { contentMediaKeys } from '../../activities/media-keys';
import type { AppContext } from '../../control/app-context';
import { loadConfig } from '../../lib/config';
import { startProduction } from '../../control/productions';
import { scriptScenes } from '../../activities/media';
import { DEFAULT_ELEVENLABS_MAX_CHARS, planRequests } from '../../providers/speech/elevenlabs-tts';
import { probe } from '../../providers/ffmpeg/runner';
import { creatomateCredits } from '../../providers/render/creatomate';
import { approveSignal, progressQuery } from '../../workflows/produce-content';
import { startFakeCreatomate } from '../fakes/creatomate-server';
import { startFakeElevenLabs } from '../fakes/elevenlabs-server';
import { startFakeGemini, VALID_SCRIPT_ANSWER } from '../fakes/gemini-server';
import { startFakePexels } from '../fakes/pexels-server';
import { createPipelineHarness, createTenant, createTopicContent, creditRows, jobRows, waitFor, type PipelineHarness } from '../support/pipeline';

const PRICES = { geminiIn: 0.3, geminiOut: 2.5, elevenlabsPer1k: 0.18, creatomateCredit: 0.01 };

interface UsageRow {
  service: string;
  operation: string;
  input_units: number;
  output_units: number;
  estimated_cost: string;
  status_code: number | null;
  error_message: string | null;
}

describe('produceContent with every remote provider (local servers speaking their protocols)', () => {
  let h: PipelineHarness;
  let gemini: Awaited<ReturnType<typeof startFakeGemini>>;
  let elevenlabs: Awaited<ReturnType<typeof startFakeElevenLabs>>;
  let pexels: Awaited<ReturnType<typeof startFakePexels>>;
  let creatomate: Awaited<ReturnType<typeof startFakeCreatomate>>;
  let ctx: AppContext;

  before(async () => {
    h = await createPipelineHarness();
    [gemini, elevenlabs, pexels, creatomate] = await Promise.all([startFakeGemini(), startFakeElevenLabs(), startFakePexels(), startFakeCreatomate()]);
    const base = h.isolated('remote');
    const remote = loadConfig({
      ...process.env,
      DATABASE_URL: base.config.databaseUrl,
      TEMPORAL_ADDRESS: base.config.temporal.address,
      SCRIPT_PROVIDER: 'gemini',
      SAFETY_PROVIDER: 'gemini',
      GEMINI_API_KEY: gemini.state.apiKey,
      GEMINI_BASE_URL: gemini.baseUrl,
      GEMINI_MODEL: gemini.state.model,
      GEMINI_INPUT_PRICE_PER_MTOK: String(PRICES.geminiIn),
      GEMINI_OUTPUT_PRICE_PER_MTOK: String(PRICES.geminiOut),
      TTS_PROVIDER: 'elevenlabs',
      ELEVENLABS_API_KEY: elevenlabs.state.apiKey,
      ELEVENLABS_BASE_URL: elevenlabs.baseUrl,
      ELEVENLABS_PRICE_PER_1K_CHARS: String(PRICES.elevenlabsPer1k),
      IMAGE_PROVIDER: 'pexels',
      PEXELS_API_KEY: pexels.state.apiKey,
      PEXELS_BASE_URL: pexels.baseUrl,
      RENDER_PROVIDER: 'creatomate',
      CREATOMATE_API_KEY: creatomate.state.apiKey,
      CREATOMATE_BASE_URL: creatomate.baseUrl,
      CREATOMATE_TEMPLATE_ID: 'the-deployment-default-template',
      CREATOMATE_PRICE_PER_CREDIT: String(PRICES.creatomateCredit),
      CREATOMATE_POLL_INTERVAL_MS: '50',
    });
    ctx = { ...base, config: { ...remote, temporal: base.config.temporal, youtube: base.config.youtube } };
    await h.startWorkers(ctx);
  });

  after(async () => {
    await Promise.allSettled([gemini?.close(), elevenlabs?.close(), pexels?.close(), creatomate?.close()]);
    await h?.close();
  });

  const usageRows = (contentId: string): Promise<UsageRow[]> =>
    ctx.sequelize.query<UsageRow>(
      'SELECT service, operation, input_units, output_units, estimated_cost, status_code, error_message FROM api_usages WHERE content_id = :contentId ORDER BY created_at',
      { replacements: { contentId }, type: QueryTypes.SELECT },
    );

  it('produces and publishes a video, recording every call and its cost, retries included, with no key anywhere', async () => {
    // Business: its plan has custom voices, so the project's own voice is used.
    const tenant = await createTenant(h, { credits: 3, plan: 'business', withChannel: true, language: 'en' });
    // The project's template names its own Creatomate design, and the project its own voice.
    const system = await ctx.models.Template.findOne({ where: { template_type: 'system', content_format: 'short' }, rejectOnEmpty: true });
    const template = await ctx.models.Template.create({
      organization_id: tenant.organizationId,
      name: 'Creatomate short',
      template_type: 'custom',
      template_data: { ...system.template_data, creatomate_template_id: creatomate.state.templateId },
    } as never);
    await ctx.models.Project.update({ style_preset: { template_id: template.id, voice: 'pNInz6obpgDQGcFmaJgB' } }, { where: { id: tenant.projectId } });
    const contentId = await createTopicContent(h, tenant.projectId, 'Knee health after sixty');
    gemini.state.next.push({ kind: 'error', status: 429, message: 'Resource has been exhausted (e.g. check quota).', retryAfterSec: 1, echoKey: true });
    elevenlabs.state.next.push({ kind: 'error', status: 500, detailStatus: 'internal_error', message: 'An internal error occurred.' });
    const handle = await startProduction(ctx, contentId);
    await waitFor('approval wait', async () => (await handle.query(progressQuery)).step === 'awaiting_approval', 180_000);

    const content = (await ctx.models.Content.findByPk(contentId))!;
    assert.equal(content.status, 'ready');
    assert.equal(content.script.hook, VALID_SCRIPT_ANSWER.hook, 'the script is Gemini’s');
    assert.match(content.description ?? '', /Photo by .+ on Pexels/, 'the photographers are credited');
    assert.ok(content.media_assets.every((asset) => asset.source === 'stock'));

    const dir = await mkdtemp(join(tmpdir(), 'remote-'));
    try {
      const videoPath = join(dir, 'video.mp4');
      const keys = contentMediaKeys({ organizationId: tenant.organizationId, userId: null, projectId: tenant.projectId }, contentId);
      await writeFile(videoPath, await ctx.db.objects.getBuffer(keys.video));
      const info = await probe(videoPath);
      assert.equal(info.streams.find((s) => s.type === 'video')?.codec, 'h264');
      assert.equal(info.streams.find((s) => s.type === 'audio')?.codec, 'aac');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }

    await handle.signal(approveSignal, {});
    const result = await handle.result();
    assert.equal(result.step, 'published');
    await content.reload();
    assert.equal(content.status, 'published');

    const jobs = await jobRows(h, contentId);
    const byType = new Map(jobs.map((j) => [j.job_type, j]));
    assert.equal(byType.get('script_generation')?.retry_count, 1, 'the 429 was retried once');
    assert.equal(byType.get('tts')?.retry_count, 1, 'the 500 was retried once');
    assert.ok(jobs.every((j) => j.status === 'completed'));
    const render = await ctx.models.ContentJob.findOne({ where: { content_id: contentId, job_type: 'render' } });
    assert.ok(render?.external_job_id && creatomate.state.renders.has(render.external_job_id), 'the Creatomate render id is kept');

    assert.ok(elevenlabs.state.requests.every((r) => r.voiceId === 'pNInz6obpgDQGcFmaJgB'), "the project's voice speaks");
    assert.ok(creatomate.state.creates.length > 0 && creatomate.state.creates.every((r) => r.body?.template_id === creatomate.state.templateId), "the template's Creatomate design is rendered");
    const rows = await usageRows(contentId);
    const failed = rows.filter((r) => r.error_message !== null);
    assert.deepEqual(failed.map((r) => [r.service, r.status_code]).sort(), [['elevenlabs', 500], ['gemini', 429]]);
    const ok = (service: string, operation: string) => rows.filter((r) => r.error_message === null && r.service === service && r.operation === operation);
    assert.equal(ok('gemini', 'script_generation').length, 1);
    assert.equal(ok('gemini', 'safety_check').length, 1);
    assert.equal(ok('elevenlabs', 'text_to_speech').length, 1);
    assert.equal(ok('pexels', 'image_search').length, 1);
    assert.equal(ok('creatomate', 'render').length, 1);

    const script = ok('gemini', 'script_generation')[0]!;
    assert.equal(script.input_units, gemini.state.promptTokens);
    assert.equal(script.output_units, gemini.state.candidatesTokens);
    assert.ok(Math.abs(Number(script.estimated_cost) - (gemini.state.promptTokens * PRICES.geminiIn + gemini.state.candidatesTokens * PRICES.geminiOut) / 1e6) < 1e-6);

    // The successful attempt sent every piece of the script once; the failed one is recorded with its 500.
    const planned = planRequests(scriptScenes(content.script), DEFAULT_ELEVENLABS_MAX_CHARS).reduce((sum, piece) => sum + piece.characters, 0);
    const speech = ok('elevenlabs', 'text_to_speech')[0]!;
    assert.equal(speech.input_units, planned);
    assert.ok(Math.abs(Number(speech.estimated_cost) - (planned * PRICES.elevenlabsPer1k) / 1000) < 1e-6);

    const rendered = ok('creatomate', 'render')[0]!;
    const output = creatomate.state.renders.get(render!.external_job_id!)!.output!;
    const credits = creatomateCredits(output.width, output.height, creatomate.state.template.frameRate, output.durationSec);
    assert.ok(Math.abs(Number(rendered.estimated_cost) - credits * PRICES.creatomateCredit) < 1e-3, `${rendered.estimated_cost} vs ${credits * PRICES.creatomateCredit}`);

    const [total] = await ctx.sequelize.query<{ total: string }>('SELECT SUM(estimated_cost)::text AS total FROM api_usages WHERE content_id = :contentId', {
      replacements: { contentId },
      type: QueryTypes.SELECT,
    });
    const expected = rows.reduce((sum, r) => sum + Number(r.estimated_cost), 0);
    assert.ok(Number(total!.total) > 0 && Math.abs(Number(total!.total) - expected) < 1e-6);

    const recorded = JSON.stringify([
      rows,
      jobs,
      await ctx.models.ContentJob.findAll({ where: { content_id: contentId } }),
      await ctx.db.mongo.models.AiOutput.find({ content_id: contentId }).lean(),
      await ctx.db.mongo.models.WorkflowLog.find({ workflow_id: handle.workflowId }).lean(),
      content.toJSON(),
    ]);
    for (const key of [gemini.state.apiKey, elevenlabs.state.apiKey, pexels.state.apiKey, creatomate.state.apiKey]) {
      assert.ok(!recorded.includes(key), 'no provider key is recorded');
    }
  });

  it("uses an organization's own ElevenLabs key for its production, and records those calls as billed to the organization", async () => {
    const base = h.isolated('own-key');
    // The platform's key here is one the ElevenLabs server refuses: the speech succeeds only with the organization's.
    const elevenlabsConfig = { ...ctx.config.tts.elevenlabs, apiKey: 'sk_platform_key_the_server_refuses' };
    // Rendered locally: the deployment's default Creatomate design does not exist on the local server.
    const render = { ...ctx.config.render, providers: ['local'] as const };
    const ownKey = { ...base, config: { ...ctx.config, temporal: base.config.temporal, render, tts: { ...ctx.config.tts, elevenlabs: elevenlabsConfig } } };
    const tenant = await createTenant(h, { credits: 1, language: 'en' });
    await ctx.db.providerKeys.put(tenant.organizationId, 'elevenlabs', elevenlabs.state.apiKey, tenant.userId);
    const contentId = await createTopicContent(h, tenant.projectId, 'A video on our own voice account');
    await h.startWorkers(ownKey);
    const result = await (await startProduction(ownKey, contentId)).result();
    assert.equal(result.step, 'ready', JSON.stringify(result));
    const rows = await ctx.sequelize.query<{ service: string; billed_to: string; error_message: string | null }>(
      'SELECT service, billed_to, error_message FROM api_usages WHERE content_id = :contentId',
      { replacements: { contentId }, type: QueryTypes.SELECT },
    );
    const speech = rows.filter((r) => r.service === 'elevenlabs');
    assert.ok(speech.length > 0 && speech.every((r) => r.billed_to === 'organization' && r.error_message === null), JSON.stringify(speech));
    assert.ok(rows.filter((r) => r.service !== 'elevenlabs').every((r) => r.billed_to === 'platform'), JSON.stringify(rows));
  });

  it('refuses a step that would pass the per-content cost cap, and refunds the credit', async () => {
    const base = h.isolated('capped');
    const capped = { ...base, config: { ...ctx.config, temporal: base.config.temporal, costs: { maxPerContentUsd: 0.001 } } };
    const tenant = await createTenant(h, { credits: 1, language: 'en' });
    const contentId = await createTopicContent(h, tenant.projectId, 'A costly video');
    const requestsBefore = gemini.state.requests.length;
    await h.startWorkers(capped);
    const handle = await startProduction(capped, contentId);
    const err = await handle.result().then(
      () => assert.fail('the production should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError);
    const jobs = await jobRows(h, contentId);
    const refused = jobs.find((j) => j.status === 'failed');
    assert.match(refused?.error_message ?? '', /would cost about \$.*cap/);
    assert.equal(gemini.state.requests.length, requestsBefore, 'no call past the cap was made');
    assert.equal(refused?.job_type, 'script_generation');
    assert.deepEqual((await creditRows(h, contentId)).map((r) => [r.transaction_type, r.credits_amount]), [['usage', -1], ['refund', 1]]);
    assert.equal((await ctx.models.Content.findByPk(contentId))?.status, 'failed');
  });
});
