import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client as PgClient } from 'pg';
import { Connection as TemporalConnection } from '@temporalio/client';
import { ObjectStore } from '../../db/objects';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { ferretdbBinary, minioBinary, onPath, postgresBinaries, temporalBinary } from './binaries';
import { startDetached, type ManagedProcess } from './process';

/** What every service needs to know about the stack it belongs to. */
export interface StackContext {
  profile: string;
  dataDir: string;
  portOffset: number;
}

/**
 * One local service: `external` names the environment variables that, when set, mean the service is
 * provided from outside and must not be started; `env` is what the rest of the project connects with.
 */
export interface ServiceDefinition {
  name: string;
  external: string[];
  port(ctx: StackContext): number;
  env(ctx: StackContext): Promise<Record<string, string>> | Record<string, string>;
  start(ctx: StackContext, proc: ManagedProcess): Promise<void>;
  ready(ctx: StackContext): Promise<boolean>;
  /** Runs once the service answers (create the database, the bucket…). */
  afterReady?(ctx: StackContext): Promise<void>;
}

const PG_USER = 'autoclip';
const PG_PASSWORD = 'autoclip';
const MINIO_USER = 'autoclip';
const MINIO_PASSWORD = 'autoclip-local-secret';
export const DATABASE_NAME = 'autoclip';
export const BUCKET_NAME = 'autoclip-media';

function serviceDir(ctx: StackContext, name: string): string {
  const dir = join(ctx.dataDir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function pgUrl(ctx: StackContext, database: string): string {
  return `postgres://${PG_USER}:${PG_PASSWORD}@127.0.0.1:${postgres.port(ctx)}/${database}`;
}

/** PostgreSQL refuses to run as root: run it as the `postgres` system user, created when missing. */
function postgresRunAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }), 10);
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** True when every folder above `dir` lets another user through (a checkout under /root does not). */
function traversableByOthers(dir: string): boolean {
  for (let d = dirname(dir); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === dirname(d)) return true;
  }
}

function postgresDataDir(ctx: StackContext): string {
  const preferred = join(ctx.dataDir, 'postgres');
  if (process.getuid?.() !== 0 || traversableByOthers(preferred)) return preferred;
  const key = createHash('sha1').update(preferred).digest('hex').slice(0, 12);
  return join(tmpdir(), `autoclip-postgres-${key}`);
}

export const postgres: ServiceDefinition = {
  name: 'postgres',
  external: ['DATABASE_URL'],
  port: (ctx) => 15432 + ctx.portOffset,
  env: (ctx) => ({ DATABASE_URL: pgUrl(ctx, DATABASE_NAME) }),
  async start(ctx, proc) {
    const bins = postgresBinaries();
    const dataDir = postgresDataDir(ctx);
    const runAs = postgresRunAs();
    if (!existsSync(join(dataDir, 'PG_VERSION'))) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      if (runAs) chownSync(dataDir, runAs.uid, runAs.gid);
      const pwFile = join(dataDir, '..', `.pgpass-${process.pid}`);
      execFileSync('sh', ['-c', 'umask 077; printf "%s\\n" "$1" > "$2"', 'sh', PG_PASSWORD, pwFile]);
      if (runAs) chownSync(pwFile, runAs.uid, runAs.gid);
      try {
        execFileSync(
          bins.initdb,
          ['-D', dataDir, '-U', PG_USER, `--pwfile=${pwFile}`, '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--locale=C.UTF-8'],
          { ...runAs, stdio: ['ignore', 'ignore', 'pipe'] },
        );
      } finally {
        execFileSync('rm', ['-f', pwFile]);
      }
    }
    const tuning = ctx.profile === 'test' ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [];
    startDetached(
      proc,
      bins.postgres,
      ['-D', dataDir, '-p', String(this.port(ctx)), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200', ...tuning],
      { ...runAs, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
  },
  async ready(ctx) {
    const client = new PgClient({ connectionString: pgUrl(ctx, 'postgres'), connectionTimeoutMillis: 2000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
  async afterReady(ctx) {
    const client = new PgClient({ connectionString: pgUrl(ctx, 'postgres') });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
      if (rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
    } finally {
      await client.end();
    }
  },
};

export const redis: ServiceDefinition = {
  name: 'redis',
  external: ['REDIS_URL'],
  port: (ctx) => 16379 + ctx.portOffset,
  env: (ctx) => ({ REDIS_URL: `redis://127.0.0.1:${redis.port(ctx)}/0` }),
  async start(ctx, proc) {
    const bin = onPath('redis-server');
    if (!bin) throw new Error('redis-server is not installed');
    startDetached(proc, bin, [
      '--bind', '127.0.0.1', '--port', String(this.port(ctx)), '--dir', serviceDir(ctx, 'redis'),
      '--daemonize', 'no', '--save', ctx.profile === 'test' ? '' : '3600 1', '--appendonly', 'no',
    ]);
  },
  async ready(ctx) {
    return new Promise((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port: this.port(ctx) });
      socket.once('connect', () => socket.write('PING\r\n'));
      socket.once('data', (data) => {
        socket.destroy();
        resolve(data.toString().startsWith('+PONG'));
      });
      socket.once('error', () => resolve(false));
    });
  },
};

export const mongodb: ServiceDefinition = {
  name: 'mongodb',
  external: ['MONGODB_URL'],
  port: (ctx) => 27027 + ctx.portOffset,
  env: (ctx) => ({ MONGODB_URL: `mongodb://127.0.0.1:${mongodb.port(ctx)}/autoclip` }),
  async start(ctx, proc) {
    const dir = serviceDir(ctx, 'mongodb');
    const mongod = onPath('mongod');
    if (mongod) {
      startDetached(proc, mongod, ['--bind_ip', '127.0.0.1', '--port', String(this.port(ctx)), '--dbpath', dir]);
      return;
    }
    startDetached(proc, await ferretdbBinary(), [`-listen-addr=127.0.0.1:${this.port(ctx)}`, '-handler=sqlite', `-sqlite-url=file:${dir}/`]);
  },
  ready: (ctx) => tcpOpen(mongodb.port(ctx)),
};

function s3Env(ctx: StackContext): Record<string, string> {
  return {
    S3_ENDPOINT: `http://127.0.0.1:${minio.port(ctx)}`,
    S3_REGION: 'us-east-1',
    S3_BUCKET: BUCKET_NAME,
    S3_ACCESS_KEY_ID: MINIO_USER,
    S3_SECRET_ACCESS_KEY: MINIO_PASSWORD,
    S3_FORCE_PATH_STYLE: '1',
  };
}

export const minio: ServiceDefinition = {
  name: 'minio',
  external: ['S3_ENDPOINT', 'S3_BUCKET'],
  port: (ctx) => 19000 + ctx.portOffset,
  env: s3Env,
  async start(ctx, proc) {
    const port = this.port(ctx);
    startDetached(
      proc,
      await minioBinary(),
      ['server', serviceDir(ctx, 'minio'), '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${port + 1}`, '--quiet'],
      { env: { ...process.env, MINIO_ROOT_USER: MINIO_USER, MINIO_ROOT_PASSWORD: MINIO_PASSWORD, MINIO_BROWSER: 'on' } },
    );
  },
  async ready(ctx) {
    const res = await fetch(`http://127.0.0.1:${this.port(ctx)}/minio/health/live`);
    return res.ok;
  },
  async afterReady(ctx) {
    const env = s3Env(ctx);
    const store = new ObjectStore({
      endpoint: env.S3_ENDPOINT,
      region: 'us-east-1',
      bucket: BUCKET_NAME,
      accessKeyId: MINIO_USER,
      secretAccessKey: MINIO_PASSWORD,
      forcePathStyle: true,
      publicUrl: undefined,
    });
    try {
      await store.ensureBucket();
    } finally {
      store.destroy();
    }
  },
};

export const temporal: ServiceDefinition = {
  name: 'temporal',
  external: ['TEMPORAL_ADDRESS'],
  port: (ctx) => 17233 + ctx.portOffset,
  env: async (ctx) => ({
    TEMPORAL_ADDRESS: `127.0.0.1:${temporal.port(ctx)}`,
    TEMPORAL_UI_URL: `http://127.0.0.1:${temporal.port(ctx) + 1000}`,
    TEMPORAL_CLI_PATH: await temporalBinary(),
  }),
  async start(ctx, proc) {
    const port = this.port(ctx);
    const flags = SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${TEMPORAL_CLI_TYPES[key.type]}`]);
    startDetached(proc, await temporalBinary(), [
      'server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(port + 1000),
      '--db-filename', join(serviceDir(ctx, 'temporal'), 'temporal.sqlite'), '--log-level', 'warn', ...flags,
    ]);
  },
  async ready(ctx) {
    const connection = await TemporalConnection.connect({ address: `127.0.0.1:${this.port(ctx)}`, connectTimeout: 2000 });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  },
};

const TEMPORAL_CLI_TYPES: Record<string, string> = {
  KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList',
};

export const SERVICES: ServiceDefinition[] = [postgres, redis, mongodb, minio, temporal];

