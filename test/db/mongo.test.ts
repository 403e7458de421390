import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import mongoose from 'mongoose';
import { connectMongo, type MongoStore } from '../../db/mongo';
import { ensureMongoIndexes } from '../../db/mongo/models';
import { loadConfig } from '../../lib/config';

/** The configured URL with its database replaced by a fresh one, so runs never see each other's data. */
function scratchMongoUrl(baseUrl: string): string {
  const url = new URL(baseUrl);
  const base = url.pathname.replace(/^\//, '') || 'autoclip';
  url.pathname = `/${base}_test_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  return url.toString();
}

/** A fixed instant, so sort orders do not depend on how fast the inserts run. */
function at(minute: number): Date {
  return new Date(Date.UTC(2025, 0, 1, 12, minute));
}

describe('MongoDB models (against the MongoDB-compatible server of the test stack)', () => {
  const config = loadConfig();
  const mongodbUrl = scratchMongoUrl(config.mongodbUrl);

  let mongo: MongoStore;
  const models = () => mongo.models;

  before(async () => {
    mongo = await connectMongo({ mongodbUrl });
    // autoIndex also builds indexes in the background on connect; wait for it so the explicit sync below does not race it.
    await Promise.all(Object.values(mongo.models).map((model) => model.init()));
  });

  after(async () => {
    await mongo.connection.dropDatabase();
    await mongo.close();
  });

  it('uses a database of its own, on a connection of its own (no process-wide mongoose state)', () => {
    assert.equal(mongo.connection.db?.databaseName, new URL(mongodbUrl).pathname.slice(1));
    assert.notEqual(mongo.connection, mongoose.connection);
    assert.equal(mongoose.connection.readyState, 0, 'the default mongoose connection is never opened');
  });

  it('ensureMongoIndexes creates every declared index, and a second run changes nothing', async () => {
    await ensureMongoIndexes(models());
    const expected: Record<string, string[]> = {
      ai_outputs: ['_id_', 'idx_ai_outputs_content_created', 'idx_ai_outputs_created', 'idx_ai_outputs_job'],
      analytics_events: [
        '_id_',
        'idx_analytics_events_content_created',
        'idx_analytics_events_created',
        'idx_analytics_events_organization_created',
        'idx_analytics_events_project_created',
        'idx_analytics_events_type_created',
      ],
      workflow_logs: [
        '_id_',
        'idx_workflow_logs_content_started',
        'idx_workflow_logs_project_started',
        'idx_workflow_logs_started',
        'idx_workflow_logs_status_started',
        'idx_workflow_logs_workflow_execution',
      ],
    };
    for (const model of Object.values(models())) {
      const indexes = await model.collection.listIndexes().toArray();
      assert.deepEqual(indexes.map((index) => index.name).sort(), expected[model.collection.collectionName], model.collection.collectionName);
    }

    const workflowIndexes = await models().WorkflowLog.collection.listIndexes().toArray();
    const byRun = workflowIndexes.find((index) => index.name === 'idx_workflow_logs_workflow_execution');
    assert.deepEqual(byRun?.key, { workflow_id: 1, execution_id: 1 });
    assert.equal(byRun?.unique, true);
    const byContent = (await models().AiOutput.collection.listIndexes().toArray()).find((index) => index.name === 'idx_ai_outputs_content_created');
    assert.deepEqual(byContent?.key, { content_id: 1, created_at: -1 });

    assert.deepEqual(await ensureMongoIndexes(models()), { ai_outputs: [], analytics_events: [], workflow_logs: [] });
  });

  it('ai_outputs: round-trips, found by content newest first, with the caller-given created_at kept', async () => {
    const contentId = randomUUID();
    const otherContentId = randomUUID();
    const jobId = randomUUID();
    await models().AiOutput.create([
      {
        content_id: contentId,
        job_id: jobId,
        output_type: 'script',
        request: { model: 'gemini-3-flash', prompt: '오늘의 금융 뉴스 요약', parameters: { temperature: 0.7 } },
        response: { raw_output: '{"title":"금리"}', parsed_output: { title: '금리', scenes: [{ text: '하나' }] }, tokens_used: { input: 1500, output: 800 } },
        processing_time_ms: 2500,
        created_at: at(1),
      },
      {
        content_id: contentId,
        job_id: jobId,
        output_type: 'safety_check',
        request: { model: 'gemini-3-flash', prompt: 'check' },
        response: { raw_output: 'safe', parsed_output: { safe: true }, tokens_used: { input: 10, output: 2 } },
        processing_time_ms: 300,
        created_at: at(3),
      },
      {
        content_id: otherContentId,
        output_type: 'metadata',
        request: { model: 'local-template', prompt: 'title' },
        processing_time_ms: 5,
        created_at: at(2),
      },
    ]);

    const found = await models().AiOutput.find({ content_id: contentId }).sort({ created_at: -1 }).lean();
    assert.deepEqual(
      found.map((output) => output.output_type),
      ['safety_check', 'script'],
    );
    const script = found[1];
    assert.ok(script);
    assert.equal(script.created_at.toISOString(), at(1).toISOString());
    assert.equal(script.job_id, jobId);
    assert.equal(script.request?.prompt, '오늘의 금융 뉴스 요약');
    assert.deepEqual(script.request?.parameters, { temperature: 0.7 });
    assert.deepEqual(script.response?.parsed_output, { title: '금리', scenes: [{ text: '하나' }] });
    assert.deepEqual(script.response?.tokens_used, { input: 1500, output: 800 });
    assert.equal(script.processing_time_ms, 2500);

    const byJob = await models().AiOutput.find({ job_id: jobId }).lean();
    assert.equal(byJob.length, 2);
  });

  it('ai_outputs: stamps created_at when none is given, stores UUIDs lower-case, refuses a malformed one', async () => {
    const contentId = randomUUID();
    const insertedAfter = Date.now();
    const created = await models().AiOutput.create({
      content_id: contentId.toUpperCase(),
      output_type: 'metadata',
      request: { model: 'm', prompt: 'p' },
      processing_time_ms: 1,
    });
    assert.ok(created.created_at.getTime() >= insertedAfter);
    assert.equal((await models().AiOutput.findById(created._id).lean())?.content_id, contentId);

    await assert.rejects(
      models().AiOutput.create({ content_id: 'not-a-uuid', output_type: 'script', request: { model: 'm', prompt: 'p' }, processing_time_ms: 1 }),
      (error: unknown) => error instanceof mongoose.Error.ValidationError && 'content_id' in error.errors,
    );
    await assert.rejects(
      // `as never` gets an invalid value past the compiler: the point is what the schema does at run time.
      models().AiOutput.create({ content_id: contentId, output_type: 'thumbnail' as never, request: { model: 'm', prompt: 'p' }, processing_time_ms: 1 }),
      (error: unknown) => error instanceof mongoose.Error.ValidationError && 'output_type' in error.errors,
    );
  });

  it('analytics_events: found by organization and by project newest first; counted per event type with one $group accumulator', async () => {
    const organizationId = randomUUID();
    const projectId = randomUUID();
    const otherProjectId = randomUUID();
    await models().AnalyticsEvent.insertMany([
      { event_type: 'content_created', organization_id: organizationId, project_id: projectId, properties: { vertical: 'finance' }, created_at: at(10) },
      { event_type: 'video_rendered', organization_id: organizationId, project_id: projectId, properties: { duration: 45 }, created_at: at(12) },
      { event_type: 'content_created', organization_id: organizationId, project_id: otherProjectId, created_at: at(11) },
      {
        event_type: 'upload_completed',
        organization_id: organizationId,
        project_id: projectId,
        properties: { platform: 'youtube_shorts' },
        session_id: 's-1',
        user_agent: 'test',
        ip_address: '203.0.113.7',
        created_at: at(14),
      },
      { event_type: 'content_created', organization_id: randomUUID(), created_at: at(13) },
    ]);

    const forProject = await models().AnalyticsEvent.find({ project_id: projectId }).sort({ created_at: -1 }).lean();
    assert.deepEqual(
      forProject.map((event) => event.event_type),
      ['upload_completed', 'video_rendered', 'content_created'],
    );
    assert.deepEqual(forProject[0]?.properties, { platform: 'youtube_shorts' });
    assert.equal(forProject[0]?.ip_address, '203.0.113.7');

    const forOrganization = await models().AnalyticsEvent.find({ organization_id: organizationId, created_at: { $gte: at(11) } })
      .sort({ created_at: 1 })
      .lean();
    assert.deepEqual(
      forOrganization.map((event) => event.created_at.toISOString()),
      [at(11), at(12), at(14)].map((date) => date.toISOString()),
    );

    const counts = await models().AnalyticsEvent.aggregate<{ _id: string; count: number }>([
      { $match: { organization_id: organizationId } },
      { $group: { _id: '$event_type', count: { $sum: 1 } } },
      { $sort: { _id: 1 } },
    ]);
    assert.deepEqual(counts, [
      { _id: 'content_created', count: 2 },
      { _id: 'upload_completed', count: 1 },
      { _id: 'video_rendered', count: 1 },
    ]);

    await assert.rejects(
      models().AnalyticsEvent.create({ event_type: 'page_viewed' as never }),
      (error: unknown) => error instanceof mongoose.Error.ValidationError && 'event_type' in error.errors,
    );
  });

  it('workflow_logs: one log per run, nodes appended with $push, status and error set as the run ends', async () => {
    const workflowId = `produce-content-${randomUUID()}`;
    const runId = randomUUID();
    const contentId = randomUUID();
    const startedAt = at(20);
    await models().WorkflowLog.create({ workflow_id: workflowId, execution_id: runId, content_id: contentId, project_id: randomUUID(), started_at: startedAt });

    const created = await models().WorkflowLog.findOne({ workflow_id: workflowId, execution_id: runId }).lean();
    assert.equal(created?.status, 'running');
    assert.deepEqual(created?.nodes_executed, []);
    assert.equal(created?.error, undefined);
    assert.ok(created?.updated_at instanceof Date);

    await assert.rejects(
      models().WorkflowLog.create({ workflow_id: workflowId, execution_id: runId }),
      (error: unknown) => (error as { code?: number }).code === 11000,
    );

    await models().WorkflowLog.updateOne(
      { workflow_id: workflowId, execution_id: runId },
      { $push: { nodes_executed: { node_name: 'generateScript', status: 'success', started_at: at(20), completed_at: at(21), output_summary: '5 scenes' } } },
    );
    await models().WorkflowLog.updateOne(
      { workflow_id: workflowId, execution_id: runId },
      {
        $push: { nodes_executed: { node_name: 'synthesizeSpeech', status: 'failed', started_at: at(21), completed_at: at(22) } },
        $set: { status: 'failed', completed_at: at(22), error: { node: 'synthesizeSpeech', message: 'Rate limit exceeded', stack: 'Error: Rate limit exceeded' } },
      },
    );
    // A second run of the same workflow id is a log of its own.
    await models().WorkflowLog.create({ workflow_id: workflowId, execution_id: randomUUID(), content_id: contentId, started_at: at(30) });

    const runs = await models().WorkflowLog.find({ workflow_id: workflowId }).sort({ started_at: 1 }).lean();
    assert.equal(runs.length, 2);
    const failed = runs[0];
    assert.ok(failed);
    assert.equal(failed.execution_id, runId);
    assert.equal(failed.status, 'failed');
    assert.equal(failed.completed_at?.toISOString(), at(22).toISOString());
    assert.deepEqual(failed.error, { node: 'synthesizeSpeech', message: 'Rate limit exceeded', stack: 'Error: Rate limit exceeded' });
    assert.deepEqual(
      failed.nodes_executed.map((node) => [node.node_name, node.status, node.started_at.toISOString(), node.completed_at?.toISOString()]),
      [
        ['generateScript', 'success', at(20).toISOString(), at(21).toISOString()],
        ['synthesizeSpeech', 'failed', at(21).toISOString(), at(22).toISOString()],
      ],
    );
    assert.equal(failed.nodes_executed[0]?.output_summary, '5 scenes');
    assert.ok(failed.updated_at.getTime() >= (created?.updated_at.getTime() ?? Infinity));

    const forContent = await models().WorkflowLog.find({ content_id: contentId }).sort({ started_at: -1 }).lean();
    assert.deepEqual(
      forContent.map((log) => log.status),
      ['running', 'failed'],
    );

    await assert.rejects(
      models().WorkflowLog.updateOne({ workflow_id: workflowId, execution_id: runId }, { $set: { status: 'paused' as never } }, { runValidators: true }),
      (error: unknown) => error instanceof mongoose.Error.ValidationError,
    );
  });
});
