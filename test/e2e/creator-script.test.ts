import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { creatorScript } from '../../api/routes/contents-script';
import { startProduction } from '../../control/productions';
import { createProviders } from '../../providers';
import type { ScriptWriter, SpeechSynthesizer } from '../../providers/types';
import { createPipelineHarness, createTenant, jobRows, type PipelineHarness } from '../support/pipeline';

/** The script as the API stores it for a creator (POST /projects/:projectId/contents with `script`). */
const SCRIPT = creatorScript({
  hook: 'Your morning starts with one glass of water.',
  body: ['Drink it before anything else, and your body wakes up.', 'Coffee can wait ten minutes.'],
  cta: 'Try it tomorrow and tell us how it went.',
});

describe("produceContent with the creator's script", () => {
  let h: PipelineHarness;

  before(async () => {
    h = await createPipelineHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('keeps the script exactly (no writer call, usage row or AI output), still checks its safety, and speaks its scenes', async () => {
    const ctx = h.isolated('creator-script');
    const local = createProviders(h.ctx.config);
    let writerCalls = 0;
    const countedWriter: ScriptWriter = {
      name: local.scriptWriter.name,
      write(request, options) {
        writerCalls += 1;
        return local.scriptWriter.write(request, options);
      },
    };
    const spoken: string[][] = [];
    const listenedSpeech: SpeechSynthesizer = {
      name: local.speech.name,
      synthesize(request, options) {
        spoken.push(request.segments);
        return local.speech.synthesize(request, options);
      },
    };
    await h.startWorkers(ctx, ['orchestration', 'media'], { providers: { ...local, scriptWriter: countedWriter, speech: listenedSpeech } });
    const tenant = await createTenant(h, { credits: 2, language: 'en' });
    const created = await h.ctx.models.Content.create({ project_id: tenant.projectId, title: 'Water first', script: SCRIPT, source_type: 'manual' } as never);

    const result = await (await startProduction(ctx, created.id)).result();
    assert.equal(result.step, 'ready', 'no channels: the production ends ready');

    const content = (await h.ctx.models.Content.findByPk(created.id))!;
    assert.equal(content.status, 'ready');
    assert.deepEqual(content.script, SCRIPT, 'the script is the creator’s, unchanged');
    assert.equal(content.title, 'Water first');
    assert.equal(content.description, null);
    assert.deepEqual(content.tags, null);
    assert.equal(writerCalls, 0, 'the writer is never called');

    const jobs = await jobRows(h, created.id);
    assert.deepEqual(jobs.map((j) => j.job_type).sort(), ['image_gen', 'render', 'safety_check', 'script_generation', 'tts']);
    assert.ok(jobs.every((j) => j.status === 'completed'), JSON.stringify(jobs));
    const writerJob = (await h.ctx.models.ContentJob.findOne({ where: { content_id: created.id, job_type: 'script_generation' } }))!;
    assert.deepEqual((writerJob.result as { output?: unknown }).output, { title: 'Water first', sections: 2, source: 'creator' }, 'the step says it kept the creator’s script');

    const usages = await h.ctx.models.ApiUsage.findAll({ where: { content_id: created.id } });
    assert.ok(!usages.some((u) => u.job_id === writerJob.id || u.operation === 'script_generation'), `no usage of the writer (got ${usages.map((u) => `${u.service}:${u.operation}`).join(', ')})`);
    assert.ok(usages.some((u) => u.service === 'local-safety' && u.operation === 'safety_check'), 'the safety check ran');
    const outputs = await h.ctx.db.mongo.models.AiOutput.find({ content_id: created.id }).lean();
    assert.deepEqual(outputs.map((o) => o.output_type), ['safety_check']);
    assert.ok(content.safety_score !== null && content.safety_score >= 0.7, `safety score ${content.safety_score}`);

    const scenes = [SCRIPT.hook, ...SCRIPT.body, SCRIPT.cta];
    assert.deepEqual(spoken, [scenes], 'the voice says the creator’s scenes, in order');
    const audioKey = decodeURIComponent(content.audio_url!.slice(h.ctx.db.objects.urlFor('').length));
    const manifest = JSON.parse((await h.ctx.db.objects.getBuffer(audioKey.replace(/voice\.m4a$/, 'speech.json'))).toString()) as { segments: unknown[] };
    assert.equal(manifest.segments.length, scenes.length, 'one timed segment per scene: hook, each body section, cta');
    assert.ok(content.video_url, 'the video is rendered');
  });
});
