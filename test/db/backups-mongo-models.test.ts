import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import mongoose, { mongo } from 'mongoose';
import { backupMongo, restoreMongo } from '../../db/backups';
import { createMongoModels, ensureMongoIndexes, type MongoModels } from '../../db/mongo/models';
import { ObjectStore } from '../../db/objects';
import { loadConfig } from '../../lib/config';

const EJSON = mongo.BSON.EJSON;

/** The configured MongoDB URL with a fresh database name. */
function scratchMongoUrl(baseUrl: string, label: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/backup_models_${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  return url.toString();
}

/** Every document of every collection as canonical Extended JSON (exact BSON types), by _id, and every index as listed. */
async function contentsOf(connection: mongoose.Connection): Promise<Record<string, { documents: string[]; indexes: string[] }>> {
  const db = connection.db;
  assert.ok(db);
  const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
  const out: Record<string, { documents: string[]; indexes: string[] }> = {};
  for (const name of names) {
    const collection = db.collection(name);
    const documents = await collection.find({}, { promoteValues: false, promoteLongs: false, bsonRegExp: true }).sort({ _id: 1 }).toArray();
    const indexes = (await collection.listIndexes().toArray()).map(({ v: _v, ns: _ns, ...spec }) => spec).sort((a, b) => String(a.name).localeCompare(String(b.name)));
    out[name] = { documents: documents.map((d) => EJSON.stringify(d, { relaxed: false })), indexes: indexes.map((i) => EJSON.stringify(i, { relaxed: false })) };
  }
  return out;
}

/** What a few productions leave in MongoDB: their workflow logs, AI outputs and analytics events, written through the models. */
async function writeProductions(models: MongoModels, count: number): Promise<void> {
  const started = Date.UTC(2026, 10, 1, 9, 0, 0);
  for (let i = 0; i < count; i += 1) {
    const [projectId, contentId, jobId, organizationId] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
    const at = (minutes: number): Date => new Date(started + i * 3_600_000 + minutes * 60_000);
    const failed = i % 5 === 4;
    await models.WorkflowLog.create({
      workflow_id: `produce-${contentId}`,
      execution_id: randomUUID(),
      project_id: projectId,
      content_id: contentId,
      status: failed ? 'failed' : 'completed',
      nodes_executed: [
        { node_name: 'script', status: 'success', started_at: at(0), completed_at: at(1), output_summary: `대본 ${i}: 금리 인하의 의미` },
        { node_name: 'speech', status: failed ? 'failed' : 'success', started_at: at(1), completed_at: at(2) },
      ],
      error: failed ? { node: 'speech', message: 'ElevenLabs 503 after 3 attempts', stack: 'ProviderError: 503\n    at speak' } : undefined,
      started_at: at(0),
      completed_at: at(3),
    });
    await models.WorkflowLog.updateOne(
      { workflow_id: `produce-${contentId}` },
      { $push: { nodes_executed: { node_name: 'render', status: 'skipped', started_at: at(3) } } },
    );
    await models.AiOutput.create({
      content_id: contentId,
      job_id: jobId,
      output_type: 'script',
      request: { model: 'local-extractive', prompt: `Write a 45 s script about item ${i}`, parameters: { temperature: 0.7, max_tokens: 800, stop: ['\n\n'] } },
      response: {
        raw_output: `{"scenes": [${i}]}`,
        parsed_output: { scenes: [{ text: '첫 장면', seconds: 4.5 }, { text: 'second', seconds: 6 }], hashtags: ['#finance'], empty: {} },
        tokens_used: { input: 120 + i, output: 480 },
      },
      processing_time_ms: 1500 + i,
    });
    await models.AiOutput.create({
      content_id: contentId,
      output_type: 'safety_check',
      request: { model: 'local-safety', prompt: 'check' },
      response: { parsed_output: { safe: true, score: 0.02 } },
      processing_time_ms: 12,
    });
    await models.AnalyticsEvent.insertMany(
      (['content_created', 'video_rendered', 'upload_completed'] as const).map((event_type, n) => ({
        event_type,
        organization_id: organizationId,
        project_id: projectId,
        content_id: contentId,
        properties: { step: n, duration_s: 49.7, platform: n === 2 ? 'youtube_shorts' : null },
        session_id: `s-${i}`,
        user_agent: 'AutoClip worker',
        ip_address: '203.0.113.7',
      })),
    );
  }
}

/**
 * The daily MongoDB backup (seed §7.1, kept 14 days) of the platform's own collections, written
 * through its mongoose models with the indexes their schemas declare, restored into another
 * database and compared there document by document and index by index.
 */
describe('MongoDB backup of the AutoClip collections', () => {
  const config = loadConfig();
  const store = new ObjectStore({ ...config.s3, bucket: config.s3.backupBucket, publicUrl: undefined });
  const scope = `test/mongo-models-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const connections: mongoose.Connection[] = [];

  async function open(url: string): Promise<mongoose.Connection> {
    const connection = await mongoose.createConnection(url, { serverSelectionTimeoutMS: 10_000, autoIndex: false }).asPromise();
    connections.push(connection);
    return connection;
  }

  after(async () => {
    for (const connection of connections) {
      await connection.dropDatabase();
      await connection.close();
    }
    store.destroy();
  });

  it('restores every document of workflow_logs, ai_outputs and analytics_events and the indexes their schemas declare', async (t) => {
    const sourceUrl = scratchMongoUrl(config.mongodbUrl, 'src');
    const source = await open(sourceUrl);
    const models = createMongoModels(source);
    await ensureMongoIndexes(models);
    await writeProductions(models, 40);
    const before = await contentsOf(source);
    assert.deepEqual(Object.keys(before), ['ai_outputs', 'analytics_events', 'workflow_logs']);
    assert.deepEqual(Object.values(before).map((c) => c.documents.length), [80, 120, 40]);
    for (const model of Object.values(models)) {
      const declared = model.schema.indexes().map(([, options]) => options.name as string);
      const listed = before[model.collection.collectionName]!.indexes.map((index) => (JSON.parse(index) as { name: string }).name);
      assert.deepEqual(listed.filter((name) => name !== '_id_').sort(), [...declared].sort(), `${model.collection.collectionName} has its schema's indexes`);
    }

    const backup = await backupMongo({ store, scope, mongodbUrl: sourceUrl });
    assert.equal(backup.documents, 240);
    const targetUrl = scratchMongoUrl(config.mongodbUrl, 'dst');
    const restored = await restoreMongo({ store, mongodbUrl: targetUrl }, backup.key);
    t.diagnostic(`backup ${backup.bytes} bytes in ${backup.durationMs} ms; restore of ${restored.documents} documents in ${restored.durationMs} ms`);
    assert.equal(restored.documents, 240);

    const target = await open(targetUrl);
    assert.deepEqual(await contentsOf(target), before);

    // The restored database is what the platform expects: its models find nothing to change in the indexes, and they enforce them.
    const restoredModels = createMongoModels(target);
    assert.deepEqual(await ensureMongoIndexes(restoredModels), { ai_outputs: [], analytics_events: [], workflow_logs: [] });
    const log = await restoredModels.WorkflowLog.findOne({ status: 'failed' }).sort({ started_at: 1 }).lean();
    assert.ok(log);
    assert.deepEqual(log.nodes_executed.map((node) => `${node.node_name}:${node.status}`), ['script:success', 'speech:failed', 'render:skipped']);
    assert.equal(log.error?.message, 'ElevenLabs 503 after 3 attempts');
    await assert.rejects(
      restoredModels.WorkflowLog.create({ workflow_id: log.workflow_id, execution_id: log.execution_id, started_at: new Date() }),
      /duplicate key/i,
      'the unique index on (workflow_id, execution_id) holds',
    );
  });
});
