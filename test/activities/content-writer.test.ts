import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createContentActivities } from '../../activities/content';
import { recordingInterceptor } from '../../activities/recording';
import { EMPTY_SCRIPT } from '../../db/models';
import { createProviders } from '../../providers';
import type { ScriptRequest } from '../../providers/types';
import { createPipelineHarness, createTenant, type PipelineHarness } from '../support/pipeline';

/** The writer step asks the writer for the project's template: its frame and its length. */
describe('the writer step', () => {
  let h: PipelineHarness;

  before(async () => {
    h = await createPipelineHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("asks for the frame and the length of the project's template: a mid project's landscape 16:9 and its duration", async () => {
    const tenant = await createTenant(h, { credits: 1, language: 'en' });
    await h.ctx.models.Project.update({ content_format: 'mid' }, { where: { id: tenant.projectId } });
    const local = createProviders(h.ctx.config);
    const asked: ScriptRequest[] = [];
    const activities = createContentActivities(h.ctx, {
      ...local,
      scriptWriter: {
        name: local.scriptWriter.name,
        write(request, options) {
          asked.push(request);
          return local.scriptWriter.write(request, options);
        },
      },
    });
    const content = await h.ctx.models.Content.create({ project_id: tenant.projectId, title: 'Local AI models', script: EMPTY_SCRIPT, source_type: 'manual' } as never);
    const env = new MockActivityEnvironment(
      { activityType: 'writeScript', attempt: 1, workflowExecution: { workflowId: `content-${content.id}`, runId: randomUUID() } },
      { interceptors: [recordingInterceptor(h.ctx.db)] },
    );
    const result = (await env.run(activities.writeScript, { contentId: content.id })) as Awaited<ReturnType<typeof activities.writeScript>>;
    assert.equal(result.source, 'writer');

    const templates = await h.ctx.models.Template.findAll({ where: { template_type: 'system', content_format: 'mid' } });
    const template = templates.find((t) => t.vertical === 'tech') ?? templates.find((t) => t.vertical === null) ?? assert.fail('a seeded mid template');
    assert.deepEqual(asked.map((request) => [request.format, request.frame, request.targetSec]), [['mid', { width: 1920, height: 1080 }, template.template_data.duration]]);
  });
});
