import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { createActivities, createMediaWorkerActivities, type ActivityDeps } from './activities';
import { recordingInterceptor } from './activities/recording';
import { cleanWorkRoot } from './activities/work-folders';
import { loadConfig, type AppConfig } from './lib/config';
import { createAppContext, type AppContext } from './control/app-context';
import { moduleLogger } from './lib/logger';
import { serveMetrics } from './api/observability';
import { startTracing, workerTracing } from './lib/tracing';
import { ensureUpkeepSchedules } from './control/upkeep-schedules';
import { reconcileDataSourceSchedules } from './control/data-source-schedules';
import { createInstagramClient, createProviders, createTikTokClient, createYouTubeClient, sourceSettings, type ProviderServices } from './providers';

const log = moduleLogger('worker');

/**
 * Runtime.install must come before any connection, once per process (a process's entry point calls
 * it). The runtime also owns SIGINT/SIGTERM: it shuts every worker down gracefully, letting running
 * activities finish. With TEMPORAL_METRICS_ADDRESS, the SDK serves its own worker metrics (task
 * slots, poll and schedule-to-start latencies, workflow and activity outcomes) for Prometheus at
 * `http://<address>/metrics`, under their `temporal_` names.
 */
export function installRuntime(config: AppConfig): void {
  const { temporalAddress } = config.metrics;
  Runtime.install({
    logger: {
      log: (level, message, meta) => log[level.toLowerCase() as Lowercase<typeof level>](meta ?? {}, message),
      trace: (message, meta) => log.trace(meta ?? {}, message),
      debug: (message, meta) => log.debug(meta ?? {}, message),
      info: (message, meta) => log.info(meta ?? {}, message),
      warn: (message, meta) => log.warn(meta ?? {}, message),
      error: (message, meta) => log.error(meta ?? {}, message),
    },
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: config.logLevel === 'debug' ? 'INFO' : 'WARN' }) },
      // Prometheus's conventions: counters end in _total, durations are seconds named so.
      ...(temporalAddress ? { metrics: { prometheus: { bindAddress: temporalAddress, countersTotalSuffix: true, unitSuffix: true, useSecondsForDurations: true } } } : {}),
    },
  });
}

/**
 * The process's services for remote engines: one Redis limiter and the providers' circuits shared
 * by all workers, and render inputs published as short-lived presigned S3 URLs under `render-inputs/`.
 */
function providerServices(ctx: AppContext): ProviderServices {
  return {
    limiter: ctx.db.leases,
    breaker: ctx.db.circuits,
    async publish(localPath, contentType) {
      const key = `render-inputs/${randomUUID()}/${basename(localPath)}`;
      await ctx.db.objects.putFile(key, localPath, contentType);
      return ctx.db.objects.presignedGetUrl(key, 6 * 3600);
    },
  };
}

/** The engines, platform clients and source settings the configuration chooses. */
export function activityDeps(ctx: AppContext): ActivityDeps {
  const services = providerServices(ctx);
  return {
    providers: createProviders(ctx.config, services),
    providerServices: services,
    platforms: { youtube: createYouTubeClient(ctx.config), tiktok: createTikTokClient(ctx.config), instagram: createInstagramClient(ctx.config) },
    sources: sourceSettings(ctx.config),
  };
}

export interface RunningWorkers {
  /** Resolves when every worker has stopped (after `shutdown` or a fatal error). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

export type WorkerRole = 'orchestration' | 'media';

/**
 * Starts the workers of the given roles: `orchestration` runs the workflows and the light
 * activities; `media` runs the heavy activities (speech, images, render) on their own task queue
 * with a small number of slots, so media machines scale separately. Both record every attempt
 * through the recording interceptor and, with tracing on, trace it (lib/tracing.ts). The grace time lets a running render finish on shutdown.
 * Work folders that killed worker processes left behind are removed first.
 */
export async function startWorkers(
  ctx: AppContext,
  roles: readonly WorkerRole[] = ['orchestration', 'media'],
  deps: ActivityDeps = activityDeps(ctx),
): Promise<RunningWorkers> {
  const { config } = ctx;
  const stale = await cleanWorkRoot(config.media.workDir);
  if (stale.length > 0) log.info({ workDir: config.media.workDir, removed: stale }, 'removed the work folders of worker processes that are gone');
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  // The tracing span of an attempt (when tracing is on) encloses its recording, so the job row writes show in its trace.
  const tracing = workerTracing();
  const interceptors = { activity: [...(tracing ? [tracing.activity] : []), recordingInterceptor(ctx.db)] };
  const workers: Worker[] = [];
  if (roles.includes('orchestration')) {
    workers.push(
      await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.taskQueue,
        workflowsPath: require.resolve('./workflows'),
        activities: createActivities(ctx, deps),
        interceptors: { ...interceptors, ...(tracing ? { workflowModules: tracing.workflowModules } : {}) },
        ...(tracing ? { sinks: tracing.sinks } : {}),
        maxCachedWorkflows: 200,
        shutdownGraceTime: '2 minutes',
      }),
    );
  }
  if (roles.includes('media')) {
    workers.push(
      await Worker.create({
        connection,
        namespace: config.temporal.namespace,
        taskQueue: config.temporal.mediaTaskQueue,
        activities: createMediaWorkerActivities(ctx, deps),
        interceptors,
        maxConcurrentActivityTaskExecutions: config.media.concurrency,
        // A cancellation reaches an activity only in the answer to a heartbeat: sent every second, it stops ffmpeg at once.
        maxHeartbeatThrottleInterval: '1 second',
        shutdownGraceTime: '10 minutes',
      }),
    );
  }
  const done = Promise.all(workers.map((w) => w.run())).then(
    () => connection.close(),
    async (err: unknown) => {
      await connection.close();
      throw err;
    },
  );
  log.info({ roles, taskQueues: [config.temporal.taskQueue, config.temporal.mediaTaskQueue], address: config.temporal.address }, 'workers polling');
  return {
    done,
    async shutdown() {
      // The runtime may already be shutting the workers down on SIGINT/SIGTERM.
      for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

function rolesFromArgs(argv: string[]): WorkerRole[] {
  const flag = argv.indexOf('--role');
  const role = flag >= 0 ? argv[flag + 1] : 'all';
  if (role === 'all') return ['orchestration', 'media'];
  if (role === 'orchestration' || role === 'media') return [role];
  throw new Error(`--role must be orchestration, media or all (got ${role})`);
}

async function main(): Promise<void> {
  const config = loadConfig();
  installRuntime(config);
  // Before the context, whose Temporal client it instruments (workflows that activities start continue their trace).
  const tracing = startTracing(config.tracing);
  const metrics = config.metrics.workerPort > 0 ? await serveMetrics({ host: config.metrics.workerHost, port: config.metrics.workerPort, token: config.metrics.token }) : undefined;
  if (metrics) log.info({ url: metrics.url }, 'serving metrics');
  const ctx = await createAppContext(config);
  const roles = rolesFromArgs(process.argv.slice(2));
  if (roles.includes('orchestration')) log.info({ schedules: await ensureUpkeepSchedules(ctx) }, 'upkeep schedules in place');
  // Schedules lost or left stale by a rebuilt Temporal or rows changed in SQL come back in step.
  if (roles.includes('orchestration')) await reconcileDataSourceSchedules(ctx);
  const workers = await startWorkers(ctx, roles);
  await workers.done;
  await ctx.close();
  await Promise.all([metrics?.close(), tracing?.shutdown()]);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    log.fatal({ err }, 'worker failed');
    process.exit(1);
  });
}
