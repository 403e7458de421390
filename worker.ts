import { NativeConnection, Runtime, Worker, makeTelemetryFilterString } from '@temporalio/worker';
import { createActivities } from './activities';
import { loadConfig, type AppConfig } from './lib/config';
import { createAppContext, type AppContext } from './lib/app-context';
import { moduleLogger } from './lib/logger';

const log = moduleLogger('worker');

let runtimeInstalled = false;

/**
 * Runtime.install must come before any connection; once per process. The runtime also owns
 * SIGINT/SIGTERM: it shuts every worker down gracefully, letting running activities finish.
 */
function installRuntime(config: AppConfig): void {
  if (runtimeInstalled) return;
  Runtime.install({
    logger: {
      log: (level, message, meta) => log[level.toLowerCase() as Lowercase<typeof level>](meta ?? {}, message),
      trace: (message, meta) => log.trace(meta ?? {}, message),
      debug: (message, meta) => log.debug(meta ?? {}, message),
      info: (message, meta) => log.info(meta ?? {}, message),
      warn: (message, meta) => log.warn(meta ?? {}, message),
      error: (message, meta) => log.error(meta ?? {}, message),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: config.logLevel === 'debug' ? 'INFO' : 'WARN' }) } },
  });
  runtimeInstalled = true;
}

export interface RunningWorkers {
  /** Resolves when every worker has stopped (after `shutdown` or a fatal error). */
  done: Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * Starts the orchestration worker: workflows and the light activities. Heavy media activities get a
 * worker of their own on `config.temporal.mediaTaskQueue` so they can be scaled separately.
 */
export async function startWorkers(ctx: AppContext): Promise<RunningWorkers> {
  const { config } = ctx;
  installRuntime(config);
  const connection = await NativeConnection.connect({ address: config.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowsPath: require.resolve('./workflows'),
    activities: createActivities(ctx),
    maxCachedWorkflows: 200,
    shutdownGraceTime: '30 seconds',
  });
  const done = worker.run().finally(() => connection.close());
  log.info({ taskQueue: config.temporal.taskQueue, address: config.temporal.address }, 'worker polling');
  return {
    done,
    async shutdown() {
      // The runtime may already be shutting the worker down on SIGINT/SIGTERM.
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done;
    },
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const ctx = await createAppContext(config);
  const workers = await startWorkers(ctx);
  await workers.done;
  await ctx.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    log.fatal({ err }, 'worker failed');
    process.exit(1);
  });
}
