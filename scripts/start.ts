import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startApi } from '../api/server';
import { contentMediaKeys } from '../activities/media-keys';
import { migrateUp } from '../db/migrate';
import { ensureMongoIndexes } from '../db/mongo/models';
import { ensureApiUsagePartitions } from '../db/partitions';
import { createDemoContent, ensureDemoTenant } from '../db/seeds/demo';
import { seedReferenceData } from '../db/seeds/reference-data';
import { createSequelize } from '../db/sequelize';
import { createAppContext } from '../control/app-context';
import { loadConfig } from '../lib/config';
import { startProduction } from '../control/productions';
import { reconcileDataSourceSchedules } from '../control/data-source-schedules';
import { ensureUpkeepSchedules } from '../control/upkeep-schedules';
import { installRuntime, startWorkers } from '../worker';
import { startTracing } from '../lib/tracing';
import { systemCheck } from '../workflows';
import { stackContext, startStack } from './local-stack';

/**
 * `npm start`: the whole platform on one machine, and its main job. Brings the local stack up (or
 * uses the services the environment names), applies migrations, loads the reference data, starts
 * the workers and the API, then produces one video end to end for the demo tenant and prints where
 * to watch it. `npm start -- --once` exits 0 when the video is made, printing its local path last.
 */
async function main(): Promise<void> {
  const exitWhenDone = process.argv.includes('--once');
  const stack = await startStack('dev');
  Object.assign(process.env, stack.env);
  const config = loadConfig();
  installRuntime(config);
  // One process runs the API and the workers: its /metrics holds both, and with an OTLP endpoint set its traces go there.
  const tracing = startTracing(config.tracing);

  // Schema, reference data and partitions as the database owner; everything after as the app's login role.
  const applied = await migrateUp(config.migrationDatabaseUrl);
  console.log(applied.length > 0 ? `migrations applied: ${applied.join(', ')}` : 'database schema is up to date');
  const owner = createSequelize({ databaseUrl: config.migrationDatabaseUrl, databasePoolMax: 1 });
  try {
    await seedReferenceData(owner);
    await ensureApiUsagePartitions(owner, 3);
  } finally {
    await owner.close();
  }
  const ctx = await createAppContext(config);
  await ensureMongoIndexes(ctx.db.mongo.models);

  const schedules = await ensureUpkeepSchedules(ctx);
  await reconcileDataSourceSchedules(ctx);
  const workers = await startWorkers(ctx);
  const api = await startApi(ctx);
  const uiUrl = config.temporal.uiUrl;
  const workflowUrl = (id: string) => `${uiUrl}/namespaces/${config.temporal.namespace}/workflows/${encodeURIComponent(id)}`;

  const checks = await ctx.temporal.workflow.execute(systemCheck, {
    taskQueue: config.temporal.taskQueue,
    workflowId: `system-check-${new Date().toISOString().replace(/[:.]/g, '-')}`,
    memo: { check: 'the stores answer from a worker (npm start)' },
  });
  console.log(`Node.js:         ${process.version} (${process.execPath})`);
  console.log(`schedules:       ${schedules.join(', ')} (Web UI → Schedules)`);
  console.log(`stores: ${checks.map((c) => `${c.store} ${c.latencyMs}ms`).join(', ')}`);
  console.log(`API:             ${api.url}  (GET /healthz, GET /readyz)`);
  if (uiUrl) console.log(`Temporal Web UI: ${uiUrl}`);
  console.log(`metrics:         ${api.url}/metrics (Prometheus text: the API's and the workers')`);
  if (stack.env.MAILPIT_URL) console.log(`mail (Mailpit):  ${stack.env.MAILPIT_URL}  (every mail the platform sends)`);

  const tenant = await ensureDemoTenant(ctx.models);
  const contentId = await createDemoContent(ctx.models, tenant.projectId);
  await ctx.db.analytics.track('content_created', { organizationId: tenant.organizationId, projectId: tenant.projectId, contentId }, { source: 'demo' });
  const handle = await startProduction(ctx, contentId);
  console.log(`producing content ${contentId}`);
  if (uiUrl) console.log(`  workflow:      ${workflowUrl(handle.workflowId)}`);
  const began = Date.now();
  const result = await handle.result();
  const content = await ctx.models.Content.findByPk(contentId);
  if (!content?.video_url) throw new Error(`the production ended at step ${result.step} without a video`);
  const key = contentMediaKeys({ ...tenant, userId: null }, contentId).video;
  const localPath = join(stackContext('dev').dataDir, 'videos', `${contentId}.mp4`);
  await mkdir(join(localPath, '..'), { recursive: true });
  await ctx.db.objects.getToFile(key, localPath);
  console.log(`video ready in ${((Date.now() - began) / 1000).toFixed(1)}s: "${content.title}"`);
  console.log(`  ${content.video_resolution}, ${content.video_duration}s, safety score ${content.safety_score}`);
  console.log(`  watch (link valid 24h): ${await ctx.db.objects.presignedGetUrl(key, 24 * 3600)}`);

  if (!exitWhenDone) {
    console.log(`local file: ${localPath}`);
    console.log('running; Ctrl-C stops the platform');
    await Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM'), workers.done]);
  }
  await api.stop();
  await workers.shutdown();
  await ctx.close();
  await tracing?.shutdown();
  await stack.stop();
  if (exitWhenDone) console.log(localPath);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
