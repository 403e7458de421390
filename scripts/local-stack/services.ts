import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client as PgClient } from 'pg';
import { Connection as TemporalConnection } from '@temporalio/client';
import { ensureLoginRoles, type LoginRole } from '../../db/migrate';
import type { PgBackRestSetup } from '../../db/pitr';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { ferretdbBinary, mailpitBinary, onPath, postgresBinaries, stripeMockBinary, temporalBinary } from './binaries';
import { localSecret, serviceDir, type ServiceDefinition, type StackContext } from './context';
import { minio } from './minio';
import { archiveSettings, pgBackRestFiles, pgBackRestSetup, STANZA, writePgBackRestConfig } from './pgbackrest';
import { startDetached } from './process';

/** The bootstrap superuser, owner of the database: migrations and seeds (MIGRATION_DATABASE_URL). */
const PG_USER = 'autoclip';
const PG_PASSWORD = 'autoclip';
/** The login roles of migration 008 (seed §8.2): the api and workers, and the backups' pg_dump. */
const PG_APP_USER = 'autoclip_app';
const PG_BACKUP_USER = 'autoclip_backup';
export const DATABASE_NAME = 'autoclip';

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

/** The login roles with their passwords (hex, so they sit in a URL as they are), made once per profile. */
/** True once a server at `url` (PostgreSQL, or PgBouncer in front of it) runs a query. */
export async function pgAnswers(url: string): Promise<boolean> {
  const client = new PgClient({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function pgLogins(ctx: StackContext): { app: LoginRole; backup: LoginRole } {
  return {
    app: { name: PG_APP_USER, password: localSecret(ctx, 'postgres-app-password', 'hex'), memberOf: 'app_readwrite' },
    backup: { name: PG_BACKUP_USER, password: localSecret(ctx, 'postgres-backup-password', 'hex'), memberOf: 'app_readonly' },
  };
}

/** A URL of `database` as `login`, or as the owner without one. */
function pgUrl(ctx: StackContext, database: string, login?: LoginRole): string {
  const [user, password] = login ? [login.name, login.password] : [PG_USER, PG_PASSWORD];
  return `postgres://${user}:${password}@127.0.0.1:${postgres.port(ctx)}/${database}`;
}

/** PostgreSQL (and PgBouncer) refuse to run as root: run them as the `postgres` system user, created when missing. */
export function postgresRunAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }), 10);
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

/** WAL goes from the local PostgreSQL to the local MinIO, so both must be started here. */
function archivesLocally(): boolean {
  return !process.env.S3_ENDPOINT && !process.env.DATABASE_URL;
}

/** pgBackRest as the stack runs it, when it archives this PostgreSQL. */
export function localPgBackRest(ctx: StackContext): PgBackRestSetup | undefined {
  if (!archivesLocally()) return undefined;
  return pgBackRestSetup(pgBackRestFiles(postgresUserDir(ctx, 'postgres')), postgresRunAs());
}

/** True when every folder above `dir` lets another user through (a checkout under /root does not). */
function traversableByOthers(dir: string): boolean {
  for (let d = dirname(dir); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    if (d === dirname(d)) return true;
  }
}

/**
 * The folder `name` of a service run as the `postgres` user: in the profile's folder, unless root
 * runs the stack from a folder that user cannot reach; then in the system's temporary folder.
 */
export function postgresUserDir(ctx: StackContext, name: string): string {
  const preferred = join(ctx.dataDir, name);
  if (process.getuid?.() !== 0 || traversableByOthers(preferred)) return preferred;
  const key = createHash('sha1').update(preferred).digest('hex').slice(0, 12);
  return join(tmpdir(), `autoclip-${name}-${key}`);
}

export const postgres: ServiceDefinition = {
  name: 'postgres',
  // Fast shutdown: SIGTERM would wait for every client to leave.
  stopSignal: 'SIGINT',
  external: ['DATABASE_URL'],
  port: (ctx) => 15432 + ctx.portOffset,
  // Least privilege (seed §8.2): backups as autoclip_backup, and only migrations and seeds as the
  // owner, both straight to PostgreSQL (pg_dump and the migrator need a session of their own); the
  // platform, as autoclip_app, through PgBouncer (pgbouncer.ts).
  env: (ctx) => {
    const logins = pgLogins(ctx);
    return {
      BACKUP_DATABASE_URL: pgUrl(ctx, DATABASE_NAME, logins.backup),
      MIGRATION_DATABASE_URL: pgUrl(ctx, DATABASE_NAME),
      ...(archivesLocally()
        ? {
            PGBACKREST_CONFIG: pgBackRestFiles(postgresUserDir(ctx, 'postgres')).config,
            PGBACKREST_STANZA: STANZA,
            ...(postgresRunAs() ? { POSTGRES_OS_USER: 'postgres' } : {}),
            POSTGRES_BIN_DIR: dirname(postgresBinaries().postgres),
          }
        : {}),
    };
  },
  async start(ctx, proc) {
    const bins = postgresBinaries();
    const dataDir = postgresUserDir(ctx, 'postgres');
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
    const files = pgBackRestFiles(dataDir);
    const archiving = archivesLocally() ? (writePgBackRestConfig(ctx, files, { dataDir, port: this.port(ctx), user: PG_USER, minioPort: minio.port(ctx) }, runAs), archiveSettings(files)) : ['-c', 'unix_socket_directories='];
    startDetached(
      proc,
      bins.postgres,
      ['-D', dataDir, '-p', String(this.port(ctx)), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', ...archiving, ...tuning],
      { ...runAs, env: { ...process.env, LC_MESSAGES: 'C' } },
    );
  },
  ready: (ctx) => pgAnswers(pgUrl(ctx, 'postgres')),
  async afterReady(ctx) {
    const client = new PgClient({ connectionString: pgUrl(ctx, 'postgres') });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
      if (rowCount === 0) await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
    } finally {
      await client.end();
    }
    // At every start, before anything migrates: the roles are the cluster's, so every database
    // migrated on it (the scratch ones of the tests too) lets them in with these passwords.
    const logins = pgLogins(ctx);
    await ensureLoginRoles(pgUrl(ctx, 'postgres'), [logins.app, logins.backup]);
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

/**
 * stripe-mock: Stripe's API as fixtures (stateless, no webhooks), so paid plans run without a
 * Stripe account; the billing tests sign their own events with the profile's webhook secret.
 * Both profiles get it (the dev `npm start` demo does not touch it, but a paid checkout can be
 * tried locally). A STRIPE_SECRET_KEY or STRIPE_API_URL in the environment means a real (or
 * another) Stripe: then it is not started and its variables are not set.
 */
export const stripeMock: ServiceDefinition = {
  name: 'stripe-mock',
  external: ['STRIPE_SECRET_KEY', 'STRIPE_API_URL'],
  port: (ctx) => 12111 + ctx.portOffset,
  env: (ctx) => ({
    STRIPE_API_URL: `http://127.0.0.1:${stripeMock.port(ctx)}`,
    // stripe-mock takes any well-formed test key; the webhook secret is made once per profile.
    STRIPE_SECRET_KEY: `sk_test_${localSecret(ctx, 'stripe-mock-key', 'hex').slice(0, 24)}`,
    STRIPE_WEBHOOK_SECRET: `whsec_${localSecret(ctx, 'stripe-webhook-secret', 'hex')}`,
  }),
  async start(ctx, proc) {
    const port = this.port(ctx);
    // Loopback only: -http-port/-https-port would bind every interface.
    startDetached(proc, await stripeMockBinary(), ['-http-addr', `127.0.0.1:${port}`, '-https-addr', `127.0.0.1:${port + 1}`]);
  },
  async ready(ctx) {
    const res = await fetch(`http://127.0.0.1:${this.port(ctx)}/v1/customers?limit=1`, { headers: { authorization: 'Bearer sk_test_ready' } });
    return res.ok;
  },
};



/**
 * Mailpit: the SMTP server the platform sends its mail to (SMTP_URL), keeping every message for
 * its HTTP API (MAILPIT_URL), through which the mail tests read what was sent. An SMTP_URL in the
 * environment names another server: then it is not started.
 */
export const mailpit: ServiceDefinition = {
  name: 'mailpit',
  external: ['SMTP_URL'],
  port: (ctx) => 11025 + ctx.portOffset,
  env: (ctx) => ({
    SMTP_URL: `smtp://127.0.0.1:${mailpit.port(ctx)}`,
    MAILPIT_URL: `http://127.0.0.1:${mailpit.port(ctx) + 1}`,
  }),
  async start(ctx, proc) {
    const port = this.port(ctx);
    startDetached(proc, await mailpitBinary(), [
      '--smtp', `127.0.0.1:${port}`, '--listen', `127.0.0.1:${port + 1}`,
      '--database', join(serviceDir(ctx, 'mailpit'), 'mailpit.db'), '--max', '5000', '--quiet',
    ]);
  },
  async ready(ctx) {
    const res = await fetch(`http://127.0.0.1:${this.port(ctx) + 1}/api/v1/info`);
    return res.ok;
  },
};
