import { execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgbouncerBinary } from './binaries';
import { startDetached } from './process';
import { localSecret, type ServiceDefinition, type StackContext } from './context';
import { DATABASE_NAME, pgAnswers, pgLogins, postgres, postgresRunAs, postgresUserDir } from './services';

/**
 * PgBouncer in front of the local PostgreSQL, pooling as the seed sets it (§9.2) and as
 * production runs it (deploy/pgbouncer/pgbouncer.ini): the API, the workers and the tests reach
 * the database through it in transaction mode, so code that leans on session state fails a test
 * here rather than in production. Every database of the cluster is served (the tests' scratch
 * ones too), to the app's login role; migrations and backups keep their direct URLs.
 */
const POOLING = { pool_mode: 'transaction', max_client_conn: 1000, default_pool_size: 25, reserve_pool_size: 5 } as const;

/** A user of PgBouncer's admin console only (SHOW CONFIG, SHOW POOLS), for the local stack's checks; no PostgreSQL role. */
const ADMIN_USER = 'pgbouncer_admin';

/** A socket per client (max_client_conn) and per server connection (PostgreSQL allows 200), with room to spare. */
const OPEN_FILES = 2048;

function adminPassword(ctx: StackContext): string {
  return localSecret(ctx, 'pgbouncer-admin-password', 'hex');
}

/** A file only the user PgBouncer runs as may read. */
function writePrivate(file: string, text: string, runAs: { uid: number; gid: number } | undefined): void {
  writeFileSync(file, text, { mode: 0o600 });
  if (runAs) chownSync(file, runAs.uid, runAs.gid);
}

/** Raises the soft open-files limit to OPEN_FILES for PgBouncer; refuses when the hard limit is lower. */
function openFilesCommand(command: string, args: string[]): [string, string[]] {
  const hard = execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim();
  if (hard !== 'unlimited' && Number.parseInt(hard, 10) < OPEN_FILES) {
    throw new Error(`PgBouncer (max_client_conn ${POOLING.max_client_conn}) needs ${OPEN_FILES} open files; the hard limit here is ${hard} (ulimit -Hn)`);
  }
  return ['sh', ['-c', `ulimit -Sn ${OPEN_FILES} && exec "$0" "$@"`, command, ...args]];
}

export const pgbouncer: ServiceDefinition = {
  name: 'pgbouncer',
  external: ['DATABASE_URL'],
  after: [postgres.name],
  port: (ctx) => postgres.port(ctx) + 1,
  env: (ctx) => {
    const { app } = pgLogins(ctx);
    const port = pgbouncer.port(ctx);
    return {
      DATABASE_URL: `postgres://${app.name}:${app.password}@127.0.0.1:${port}/${DATABASE_NAME}`,
      PGBOUNCER_ADMIN_URL: `postgres://${ADMIN_USER}:${adminPassword(ctx)}@127.0.0.1:${port}/pgbouncer`,
    };
  },
  async start(ctx, proc) {
    const runAs = postgresRunAs();
    const dir = postgresUserDir(ctx, 'pgbouncer');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    const { app } = pgLogins(ctx);
    const userlist = join(dir, 'userlist.txt');
    // Passwords in clear: PgBouncer needs them to log in to PostgreSQL with SCRAM for its clients.
    writePrivate(userlist, `"${app.name}" "${app.password}"\n"${ADMIN_USER}" "${adminPassword(ctx)}"\n`, runAs);
    const settings: Record<string, string | number> = {
      listen_addr: '127.0.0.1',
      listen_port: this.port(ctx),
      unix_socket_dir: '',
      auth_type: 'scram-sha-256',
      auth_file: userlist,
      admin_users: ADMIN_USER,
      ...POOLING,
      reserve_pool_timeout: 3,
      // As in production: accepted and dropped from the start-up packets of clients that send it
      // (pgJDBC does; node-postgres does not). Any other unknown start-up parameter is refused.
      ignore_startup_parameters: 'extra_float_digits',
      server_idle_timeout: 300,
      query_wait_timeout: 60,
      log_connections: 0,
      log_disconnections: 0,
    };
    const config = join(dir, 'pgbouncer.ini');
    writePrivate(
      config,
      [
        '[databases]',
        `* = host=127.0.0.1 port=${postgres.port(ctx)}`,
        '',
        '[pgbouncer]',
        ...Object.entries(settings).map(([key, value]) => `${key} = ${value}`),
        '',
      ].join('\n'),
      runAs,
    );
    const bin = pgbouncerBinary();
    if (!bin) throw new Error('pgbouncer is not installed');
    const [command, args] = openFilesCommand(bin, [config]);
    startDetached(proc, command, args, runAs);
  },
  async ready(ctx) {
    return pgAnswers((await this.env(ctx)).DATABASE_URL!);
  },
};
