import { randomBytes } from 'node:crypto';
import { Client as PgClient } from 'pg';
import { QueryTypes } from 'sequelize';
import { migrateUp } from '../db/migrate';
import { createDemoContent, ensureDemoTenant } from '../db/seeds/demo';
import { seedReferenceData } from '../db/seeds/reference-data';
import { createSequelize } from '../db/sequelize';
import { createAppContext, type AppContext } from '../control/app-context';
import { loadConfig } from '../lib/config';
import { startProduction } from '../control/productions';
import { installRuntime, startWorkers } from '../worker';
import { startStack } from './local-stack';

/**
 * Pipeline benchmark (not a test): produces videos with the local engines on the test stack, in a
 * scratch database, and prints the time of each step, the render speed (seconds of 1080x1920 video
 * per second of wall time), the orchestration overhead and the throughput with productions in
 * parallel. Overhead = the workflow's end-to-end time on the server minus the time of the jobs on its
 * critical path (script, safety, the longer of speech and images, render): it counts Temporal's
 * scheduling, the bookkeeping activities (credit, ready, finish) and the recording of every attempt.
 *
 *   npx tsx scripts/bench-pipeline.ts [--runs 3] [--parallel 2]
 */
const STEPS = ['script_generation', 'safety_check', 'tts', 'image_gen', 'render'] as const;

interface RunFigures {
  e2eSec: number;
  steps: Record<(typeof STEPS)[number], number>;
  videoSec: number;
}

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function produce(ctx: AppContext, projectId: string): Promise<RunFigures> {
  const contentId = await createDemoContent(ctx.models, projectId);
  const handle = await startProduction(ctx, contentId);
  await handle.result();
  // End to end as the server saw it (start to close), without the client's own round trips.
  const { startTime, closeTime } = await handle.describe();
  const e2eSec = ((closeTime?.getTime() ?? Date.now()) - startTime.getTime()) / 1000;
  const rows = await ctx.sequelize.query<{ job_type: (typeof STEPS)[number]; seconds: number }>(
    `SELECT job_type, EXTRACT(EPOCH FROM completed_at - started_at)::float AS seconds FROM content_jobs WHERE content_id = :contentId`,
    { replacements: { contentId }, type: QueryTypes.SELECT },
  );
  const steps = Object.fromEntries(STEPS.map((s) => [s, rows.find((r) => r.job_type === s)?.seconds ?? 0])) as RunFigures['steps'];
  const content = await ctx.models.Content.findByPk(contentId);
  return { e2eSec, steps, videoSec: Number(content?.video_duration ?? 0) };
}

async function main(): Promise<void> {
  const runs = arg('runs', 3);
  const parallel = arg('parallel', 2);
  const stack = await startStack('test', () => undefined);
  // The owner creates, migrates and seeds the scratch database; the workers use the app's login role.
  const ownerUrl = stack.env.MIGRATION_DATABASE_URL ?? stack.env.DATABASE_URL!;
  const admin = new PgClient({ connectionString: ownerUrl });
  await admin.connect();
  const database = `bench_pipeline_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const inBench = (base: string) => Object.assign(new URL(base), { pathname: `/${database}` }).toString();
  const suffix = randomBytes(3).toString('hex');
  const config = loadConfig({
    ...process.env,
    ...stack.env,
    LOG_LEVEL: 'warn',
    DATABASE_URL: inBench(stack.env.DATABASE_URL!),
    MIGRATION_DATABASE_URL: inBench(ownerUrl),
    BACKUP_DATABASE_URL: inBench(stack.env.BACKUP_DATABASE_URL ?? stack.env.DATABASE_URL!),
    TEMPORAL_TASK_QUEUE: `bench-${suffix}`,
    TEMPORAL_MEDIA_TASK_QUEUE: `bench-media-${suffix}`,
  });
  installRuntime(config);
  await migrateUp(config.migrationDatabaseUrl);
  const owner = createSequelize({ databaseUrl: config.migrationDatabaseUrl, databasePoolMax: 1 });
  await seedReferenceData(owner).finally(() => owner.close());
  const ctx = await createAppContext(config);
  try {
    const workers = await startWorkers(ctx);
    const { projectId } = await ensureDemoTenant(ctx.models);
    await produce(ctx, projectId);

    const figures: RunFigures[] = [];
    for (let i = 0; i < runs; i++) figures.push(await produce(ctx, projectId));
    const m = (f: (r: RunFigures) => number) => median(figures.map(f));
    const criticalPath = (r: RunFigures) => r.steps.script_generation + r.steps.safety_check + Math.max(r.steps.tts, r.steps.image_gen) + r.steps.render;
    console.log(`\nlocal engines, one production at a time (median of ${runs}, after one warm-up run)`);
    console.log('step                 seconds');
    for (const step of STEPS) console.log(`${step.padEnd(20)} ${m((r) => r.steps[step]).toFixed(2).padStart(7)}`);
    console.log(`${'end to end'.padEnd(20)} ${m((r) => r.e2eSec).toFixed(2).padStart(7)}`);
    console.log(`video length         ${m((r) => r.videoSec).toFixed(2).padStart(7)} s at 1080x1920`);
    console.log(`render speed         ${m((r) => r.videoSec / r.steps.render).toFixed(2).padStart(7)} s of video per wall second`);
    console.log(`pipeline speed       ${m((r) => r.videoSec / r.e2eSec).toFixed(2).padStart(7)} s of video per wall second, end to end`);
    const overhead = m((r) => r.e2eSec - criticalPath(r));
    console.log(`orchestration        ${overhead.toFixed(2).padStart(7)} s (${((100 * overhead) / m((r) => r.e2eSec)).toFixed(1)} % of end to end; target < 3 %)`);

    const began = performance.now();
    await Promise.all(Array.from({ length: parallel }, () => produce(ctx, projectId)));
    const wallMin = (performance.now() - began) / 60_000;
    console.log(`\n${parallel} productions in parallel: ${(wallMin * 60).toFixed(1)} s, ${(parallel / wallMin).toFixed(2)} videos per minute ` +
      `(one at a time: ${(60 / m((r) => r.e2eSec)).toFixed(2)} videos per minute)`);
    await workers.shutdown();
  } finally {
    await ctx.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    await stack.stop();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
