import { spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { freeLoopbackPort } from '../lib/ports';
import { pgBackRest, pgBackRestInfo, type PgBackRestSetup } from './pitr';

/**
 * The restore drill (seed §7.2: RPO 1 hour, RTO 4 hours): the newest full backup plus the archived
 * WAL restored into a scratch PostgreSQL to a target, then checked against the source.
 *
 * - RPO: what a loss at the drill's start would have taken, measured as the age of the newest
 *   archived WAL segment while the server holds WAL written after it (0 when all it wrote is
 *   archived).
 * - The default target is now: the drill holds a SHARE lock on every table (writers wait, readers
 *   do not), counts their rows, writes a named restore point and lets go; the restored database
 *   must hold exactly those counts. A past target (a time) is restored and checked for its
 *   migrations and readable tables; its counts are printed, not compared.
 * - RTO: from the drill's start to a verified, queryable database.
 */
export interface DrillOptions {
  /** The source database as its owner (MIGRATION_DATABASE_URL): it locks, counts and switches WAL. */
  sourceUrl: string;
  pgBackRest: PgBackRestSetup;
  /** Where the `postgres` binary of the source's major version lives. */
  postgresBinDir: string;
  /** A folder for the scratch cluster (removed afterwards). */
  workDir: string;
  /** Restore to this time instead of now. */
  targetTime?: Date;
  onStep?: (step: string) => void;
  signal?: AbortSignal;
}

export interface TableCheck {
  table: string;
  /** Rows in the source at the target (undefined for a past target). */
  expected: number | undefined;
  restored: number;
}

export interface DrillResult {
  target: string;
  backupLabel: string;
  rpoSeconds: number;
  rtoSeconds: number;
  tablesVerified: number;
  migrations: number;
  tables: TableCheck[];
}

export class DrillFailedError extends Error {
  constructor(
    message: string,
    readonly partial: Partial<DrillResult>,
  ) {
    super(message);
    this.name = 'DrillFailedError';
  }
}

const TABLES_SQL = `SELECT format('%I.%I', n.nspname, c.relname) AS name
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE c.relkind = 'r' AND n.nspname = 'public' ORDER BY 1`;

const WAL_NAME_LENGTH = 24;

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  return client;
}

async function rowCounts(client: Client, tables: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const table of tables) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
    counts.set(table, Number(rows[0]!.n));
  }
  return counts;
}

async function migrationNames(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
  return rows.map((r) => r.name);
}

/** The RPO as defined above, read from the source's archiver. */
async function measureRpo(source: Client, now: Date): Promise<number> {
  const { rows } = await source.query<{ last_archived_wal: string | null; last_archived_time: Date | null; current_wal: string }>(
    'SELECT last_archived_wal, last_archived_time, pg_walfile_name(pg_current_wal_lsn()) AS current_wal FROM pg_stat_archiver',
  );
  const row = rows[0];
  if (!row?.last_archived_wal || !row.last_archived_time) throw new DrillFailedError('the source has never archived a WAL segment', {});
  const archived = row.last_archived_wal.slice(0, WAL_NAME_LENGTH);
  if (row.current_wal <= archived) return 0;
  return Math.max(0, (now.getTime() - row.last_archived_time.getTime()) / 1000);
}

/** Counts every table under SHARE locks and marks the moment with a restore point. */
async function markTarget(source: Client, tables: string[], name: string): Promise<Map<string, number>> {
  await source.query('BEGIN');
  try {
    await source.query("SET LOCAL lock_timeout = '30s'");
    await source.query(`LOCK TABLE ${tables.join(', ')} IN SHARE MODE`);
    const counts = await rowCounts(source, tables);
    await source.query('SELECT pg_create_restore_point($1)', [name]);
    await source.query('COMMIT');
    return counts;
  } catch (err) {
    await source.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Closes the current WAL segment and waits until the archive holds it, so the target is restorable. */
async function archiveUpToNow(source: Client, signal?: AbortSignal): Promise<void> {
  const { rows } = await source.query<{ wal: string }>('SELECT pg_walfile_name(pg_switch_wal()) AS wal');
  const needed = rows[0]!.wal;
  const deadline = Date.now() + 120_000;
  for (;;) {
    const { rows: archiver } = await source.query<{ last: string | null }>('SELECT last_archived_wal AS last FROM pg_stat_archiver');
    if ((archiver[0]?.last?.slice(0, WAL_NAME_LENGTH) ?? '') >= needed) return;
    if (Date.now() > deadline) throw new DrillFailedError(`WAL segment ${needed} was not archived within 120 s`, {});
    await sleep(250, undefined, { signal });
  }
}

/** Settings a server replaying WAL must hold at least as high as the server that wrote it. */
const REPLAY_SETTINGS = ['max_connections', 'max_worker_processes', 'max_wal_senders', 'max_prepared_transactions', 'max_locks_per_transaction'];

interface ScratchServer {
  /** The end of its log, for a failure's message. */
  log(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

/** The scratch server: the restored folder, on a free loopback port, never archiving. */
async function startScratch(options: DrillOptions, source: Client, dataDir: string, port: number): Promise<ScratchServer> {
  const { rows } = await source.query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1)', [REPLAY_SETTINGS]);
  const child = spawn(
    join(options.postgresBinDir, 'postgres'),
    [
      '-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dataDir}`, '-c', 'archive_mode=off',
      ...rows.flatMap((r) => ['-c', `${r.name}=${r.setting}`]),
    ],
    { ...options.pgBackRest.runAs, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_MESSAGES: 'C' } },
  );
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  return {
    log: () => log.trim().split('\n').slice(-4).join(' | '),
    exited: () => exited,
    async stop() {
      if (exited) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await Promise.race([gone, sleep(30_000)]);
      if (!exited) child.kill('SIGKILL');
    },
  };
}

/** Connects to the restored server once it has finished recovery and been promoted. */
async function waitPromoted(server: ScratchServer, url: string, signal?: AbortSignal): Promise<Client> {
  const deadline = Date.now() + 15 * 60_000;
  for (;;) {
    const client = await connect(url).catch(() => undefined);
    if (client) {
      const { rows } = await client.query<{ recovering: boolean }>('SELECT pg_is_in_recovery() AS recovering').catch(() => ({ rows: [{ recovering: true }] }));
      if (!rows[0]!.recovering) return client;
      await client.end();
    }
    if (server.exited()) throw new DrillFailedError(`the restored server stopped: ${server.log()}`, {});
    if (Date.now() > deadline) throw new DrillFailedError(`the restored server did not finish recovery within 15 minutes: ${server.log()}`, {});
    await sleep(200, undefined, { signal });
  }
}

function scratchUrl(sourceUrl: string, port: number): string {
  const url = new URL(sourceUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

export async function runRecoveryDrill(options: DrillOptions): Promise<DrillResult> {
  const started = new Date();
  const step = options.onStep ?? (() => undefined);
  const source = await connect(options.sourceUrl);
  const scratch = mkdtempSync(join(options.workDir, 'autoclip-drill-'));
  let server: ScratchServer | undefined;
  try {
    const rpoSeconds = await measureRpo(source, started);
    const info = await pgBackRestInfo(options.pgBackRest, options.signal);
    const backup = info.backups.at(-1);
    if (!backup) throw new DrillFailedError('the repository holds no backup', { rpoSeconds });

    const tables = (await source.query<{ name: string }>(TABLES_SQL)).rows.map((r) => r.name);
    const sourceMigrations = await migrationNames(source);
    let expected: Map<string, number> | undefined;
    let targetArgs: string[];
    let target: string;
    if (options.targetTime) {
      target = options.targetTime.toISOString();
      // pgBackRest reads `YYYY-MM-DD HH:MM:SS.mmm+00`.
      targetArgs = ['--type=time', `--target=${target.replace('T', ' ').replace('Z', '+00')}`];
      step(`restoring to ${target}`);
    } else {
      target = `drill-${started.toISOString()}`;
      step('marking the target: counting every table under SHARE locks');
      expected = await markTarget(source, tables, target);
      targetArgs = ['--type=name', `--target=${target}`];
    }
    await archiveUpToNow(source, options.signal);

    const dataDir = join(scratch, 'data');
    mkdirSync(dataDir, { mode: 0o700 });
    if (options.pgBackRest.runAs) for (const dir of [scratch, dataDir]) chownSync(dir, options.pgBackRest.runAs.uid, options.pgBackRest.runAs.gid);
    step(`restoring backup ${backup.label} and replaying WAL into ${dataDir}`);
    await pgBackRest(options.pgBackRest, ['restore', `--pg1-path=${dataDir}`, '--target-action=promote', ...targetArgs], options.signal);

    const port = await freeLoopbackPort();
    server = await startScratch(options, source, dataDir, port);
    const restored = await waitPromoted(server, scratchUrl(options.sourceUrl, port), options.signal);
    try {
      step('verifying the restored database');
      const restoredMigrations = await migrationNames(restored);
      const counts = await rowCounts(restored, tables);
      const rtoSeconds = (Date.now() - started.getTime()) / 1000;
      const checks: TableCheck[] = tables.map((table) => ({ table, expected: expected?.get(table), restored: counts.get(table) ?? 0 }));
      const result: DrillResult = {
        target,
        backupLabel: backup.label,
        rpoSeconds,
        rtoSeconds,
        tablesVerified: checks.length,
        migrations: restoredMigrations.length,
        tables: checks,
      };
      const problems = [
        ...(restoredMigrations.join() === sourceMigrations.join() || options.targetTime ? [] : [`migrations differ: source ${sourceMigrations.length}, restored ${restoredMigrations.length}`]),
        ...checks.filter((c) => c.expected !== undefined && c.expected !== c.restored).map((c) => `${c.table}: ${c.expected} rows in the source, ${c.restored} restored`),
      ];
      if (problems.length > 0) throw new DrillFailedError(`the restored database differs from the source: ${problems.join('; ')}`, result);
      return result;
    } finally {
      await restored.end();
    }
  } finally {
    await source.end().catch(() => undefined);
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
