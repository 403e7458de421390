import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureSystemPackages } from './binaries';
import { pgbouncer } from './pgbouncer';
import { isAlive, runningPid, stopProcess, waitUntil, type ManagedProcess } from './process';
import { localSecret, type ServiceDefinition, type StackContext } from './context';
import { ensurePgBackRest } from './pgbackrest';
import { ensureScriptFonts } from './fonts';
import { FONTS_DIR_VARIABLE } from '../../providers/ffmpeg/fonts';
import { minio, minioReplica } from './minio';
import { localPgBackRest, mailpit, mongodb, postgres, redis, stripeMock, temporal } from './services';

/**
 * The local stack: PostgreSQL behind PgBouncer, Redis, a MongoDB-compatible server, MinIO,
 * the Temporal dev server, stripe-mock and Mailpit, each started on loopback with its data under `.autoclip/<profile>/`,
 * unless the environment already names where that service lives. Two profiles (dev, test) use
 * different ports and folders, so they run side by side; AUTOCLIP_PORT_OFFSET shifts a profile's
 * ports.
 */
export type Profile = 'dev' | 'test';

const REPO_ROOT = resolve(__dirname, '..', '..');

/**
 * Their variables are written in this order; `stack stop` stops them in the reverse order:
 * PgBouncer, then PostgreSQL while MinIO still takes the last WAL its archiver pushes.
 */
const SERVICES: ServiceDefinition[] = [minioReplica, minio, redis, mongodb, temporal, stripeMock, mailpit, postgres, pgbouncer];

const PROFILE_OFFSETS: Record<Profile, number> = { dev: 0, test: 100 };

export function stackContext(profile: Profile): StackContext {
  const root = process.env.AUTOCLIP_DATA_DIR ?? join(REPO_ROOT, '.autoclip');
  const dataDir = join(root, profile);
  mkdirSync(dataDir, { recursive: true });
  const extra = Number.parseInt(process.env.AUTOCLIP_PORT_OFFSET ?? '0', 10);
  if (!Number.isInteger(extra) || extra < 0 || extra > 20000) throw new Error('AUTOCLIP_PORT_OFFSET must be an integer between 0 and 20000');
  return { profile, dataDir, portOffset: PROFILE_OFFSETS[profile] + extra };
}

function managed(ctx: StackContext, service: ServiceDefinition): ManagedProcess {
  return { name: service.name, pidFile: join(ctx.dataDir, `${service.name}.pid`), logFile: join(ctx.dataDir, `${service.name}.log`), stopSignal: service.stopSignal };
}

function isExternal(service: ServiceDefinition): boolean {
  return service.external.some((name) => process.env[name]);
}

/** Local keys for channel-token encryption and API tokens, unless the environment gives its own. */
function localSecrets(ctx: StackContext): Record<string, string> {
  return {
    ...(process.env.SECRETS_ENCRYPTION_KEYS ? {} : { SECRETS_ENCRYPTION_KEYS: `local1:${localSecret(ctx, 'secret-key')}`, SECRETS_ACTIVE_KEY_ID: 'local1' }),
    ...(process.env.AUTH_TOKEN_SECRET ? {} : { AUTH_TOKEN_SECRET: localSecret(ctx, 'auth-token-secret') }),
  };
}

export interface RunningStack {
  env: Record<string, string>;
  envFile: string;
  /** Stops the services this call started (those already running before are left alone). */
  stop(): Promise<void>;
}

export async function startStack(profile: Profile, log: (line: string) => void = (l) => console.error(l)): Promise<RunningStack> {
  ensureSystemPackages();
  const fontsDir = ensureScriptFonts();
  const ctx = stackContext(profile);
  const startedHere = new Set<string>();
  const env: Record<string, string> = {
    NODE_ENV: profile === 'test' ? 'test' : 'development',
    ...localSecrets(ctx),
    ...(fontsDir ? { [FONTS_DIR_VARIABLE]: fontsDir } : {}),
    // The tests look at what is rendered, not at its file size: the fastest x264 preset.
    ...(profile === 'test' ? { RENDER_X264_PRESET: 'ultrafast' } : {}),
  };
  const stop = async () => {
    for (const service of [...SERVICES].reverse()) if (startedHere.has(service.name)) await stopProcess(managed(ctx, service));
  };
  const local = SERVICES.filter((s) => !isExternal(s));
  const bringingUp = new Map<string, Promise<Record<string, string>>>();
  // Each service starts once those it comes `after` are up; its variables are its answer.
  const bringUp = (service: ServiceDefinition): Promise<Record<string, string>> => {
    const pending = bringingUp.get(service.name);
    if (pending) return pending;
    const promise = (async () => {
      await Promise.all(local.filter((s) => service.after?.includes(s.name)).map(bringUp));
      const proc = managed(ctx, service);
      const began = Date.now();
      if (runningPid(proc) === undefined) {
        await service.start(ctx, proc);
        startedHere.add(service.name);
      }
      await waitUntil(proc, () => service.ready(ctx), 120_000);
      await service.afterReady?.(ctx);
      log(`[stack] ${service.name} ready on 127.0.0.1:${service.port(ctx)} (${Date.now() - began} ms)`);
      return service.env(ctx);
    })();
    bringingUp.set(service.name, promise);
    return promise;
  };
  try {
    // Merged in SERVICES order, not in the order the services come up.
    for (const serviceEnv of await Promise.all(local.map(bringUp))) Object.assign(env, serviceEnv);
    const pitr = localPgBackRest(ctx);
    if (pitr) await ensurePgBackRest(pitr, log);
  } catch (err) {
    await stop();
    throw err;
  }
  const envFile = join(ctx.dataDir, 'stack.env');
  writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
  return { env, envFile, stop };
}

export async function stopStack(profile: Profile): Promise<string[]> {
  const ctx = stackContext(profile);
  const stopped: string[] = [];
  for (const service of [...SERVICES].reverse()) {
    if (await stopProcess(managed(ctx, service))) stopped.push(service.name);
  }
  return stopped;
}

export async function stackStatus(profile: Profile): Promise<{ name: string; pid?: number; port: number; answering: boolean; external: boolean }[]> {
  const ctx = stackContext(profile);
  return Promise.all(
    SERVICES.map(async (service) => ({
      name: service.name,
      pid: runningPid(managed(ctx, service)),
      port: service.port(ctx),
      answering: await service.ready(ctx).catch(() => false),
      external: isExternal(service),
    })),
  );
}

function serviceNamed(name: string): ServiceDefinition {
  const service = SERVICES.find((s) => s.name === name);
  if (!service) throw new Error(`no service named ${name} (the stack has ${SERVICES.map((s) => s.name).join(', ')})`);
  return service;
}

/**
 * SIGKILL to a running service's whole process group, as a crash of its machine would (no clean
 * shutdown; children such as PostgreSQL's archiver die with it). Its pid, or undefined when it
 * was not running here (an external service, or one already down).
 */
export async function killService(profile: Profile, name: string): Promise<number | undefined> {
  const proc = managed(stackContext(profile), serviceNamed(name));
  const pid = runningPid(proc);
  if (pid === undefined) return undefined;
  process.kill(-pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  return pid;
}

/** Starts a service that is down again as startStack does: start, wait until it answers, then its afterReady. */
export async function restartService(profile: Profile, name: string): Promise<void> {
  const ctx = stackContext(profile);
  const service = serviceNamed(name);
  const proc = managed(ctx, service);
  if (runningPid(proc) !== undefined) throw new Error(`${name} is still running`);
  await service.start(ctx, proc);
  await waitUntil(proc, () => service.ready(ctx), 120_000);
  await service.afterReady?.(ctx);
}
