import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from 'pg';
import { Umzug } from 'umzug';
import type { RunnableMigration, UmzugStorage } from 'umzug';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('migrate');

/** `NNN_name.up.sql` with its `NNN_name.down.sql`; the runner wraps each file in a transaction. */
export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** Serializes migration runs of several processes against one database. */
const MIGRATION_LOCK_KEY = 7_412_905_113;

const UP_SUFFIX = '.up.sql';
const DOWN_SUFFIX = '.down.sql';

export interface MigrationFile {
  name: string;
  up: string;
  down: string;
}

/** Every migration in name order; a missing down file is an error, not a one-way migration. */
export function readMigrationFiles(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const files = new Set(readdirSync(dir));
  const names = [...files]
    .filter((file) => /^\d{3}_[a-z0-9_]+\.up\.sql$/.test(file))
    .map((file) => file.slice(0, -UP_SUFFIX.length))
    .sort();
  for (const file of files) {
    if (file.endsWith(DOWN_SUFFIX) && !names.includes(file.slice(0, -DOWN_SUFFIX.length))) {
      throw new Error(`migration ${file} has no ${UP_SUFFIX} file`);
    }
  }
  return names.map((name) => {
    if (!files.has(name + DOWN_SUFFIX)) throw new Error(`migration ${name} has no ${DOWN_SUFFIX} file`);
    return {
      name,
      up: readFileSync(path.join(dir, name + UP_SUFFIX), 'utf8'),
      down: readFileSync(path.join(dir, name + DOWN_SUFFIX), 'utf8'),
    };
  });
}

/** Runs one file and its bookkeeping row in the same transaction, so both happen or neither. */
async function runInTransaction(client: Client, sql: string, bookkeeping: string, name: string): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(sql);
    await client.query(bookkeeping, [name]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

function toRunnable(client: Client, file: MigrationFile): RunnableMigration<Client> {
  return {
    name: file.name,
    up: () => runInTransaction(client, file.up, 'INSERT INTO schema_migrations (name) VALUES ($1)', file.name),
    down: () => runInTransaction(client, file.down, 'DELETE FROM schema_migrations WHERE name = $1', file.name),
  };
}

/**
 * Reads what ran from schema_migrations. Recording is done by each migration inside its own
 * transaction (see runInTransaction), so umzug's separate log/unlog steps have nothing to do.
 */
function schemaMigrationsStorage(client: Client): UmzugStorage<Client> {
  return {
    logMigration: async () => undefined,
    unlogMigration: async () => undefined,
    executed: async () => {
      const { rows } = await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
      return rows.map((row) => row.name);
    },
  };
}

/** Connects, makes sure schema_migrations exists, holds the migration lock while `work` runs. */
async function withMigrator<T>(
  databaseUrl: string,
  migrationsDir: string,
  work: (umzug: Umzug<Client>, client: Client) => Promise<T>,
): Promise<T> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      name   VARCHAR(255) PRIMARY KEY,
      run_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT NOW()
    )`);
    const umzug = new Umzug<Client>({
      migrations: readMigrationFiles(migrationsDir).map((file) => toRunnable(client, file)),
      context: client,
      storage: schemaMigrationsStorage(client),
      logger: {
        info: (message) => log.info(message),
        warn: (message) => log.warn(message),
        error: (message) => log.error(message),
        debug: (message) => log.debug(message),
      },
    });
    return await work(umzug, client);
  } finally {
    await client.end();
  }
}

/**
 * Applies every pending migration; returns the names applied, in order. A failing migration is
 * rolled back alone: the ones before it stay applied.
 */
export async function migrateUp(databaseUrl: string, migrationsDir: string = MIGRATIONS_DIR): Promise<string[]> {
  return withMigrator(databaseUrl, migrationsDir, async (umzug) => (await umzug.up()).map((m) => m.name));
}

/**
 * Reverts migrations, newest first: by default the last one; `step` reverts that many; `to`
 * reverts down to and including that migration, and `to: 0` reverts them all.
 */
export async function migrateDown(databaseUrl: string, options: { to?: string | 0; step?: number } = {}): Promise<string[]> {
  if (options.to !== undefined && options.step !== undefined) throw new Error('migrateDown takes `to` or `step`, not both');
  return withMigrator(databaseUrl, MIGRATIONS_DIR, async (umzug) => {
    const reverted = options.step !== undefined ? await umzug.down({ step: options.step }) : await umzug.down({ to: options.to });
    return reverted.map((m) => m.name);
  });
}

/** Names of the migrations not yet applied, in the order they would run. */
export async function pendingMigrations(databaseUrl: string): Promise<string[]> {
  return withMigrator(databaseUrl, MIGRATIONS_DIR, async (umzug) => (await umzug.pending()).map((m) => m.name));
}

export interface AppliedMigration {
  name: string;
  runAt: Date;
}

/** What ran and when, plus what is pending: the `status` command's view. */
export async function migrationStatus(databaseUrl: string): Promise<{ applied: AppliedMigration[]; pending: string[] }> {
  return withMigrator(databaseUrl, MIGRATIONS_DIR, async (umzug, client) => {
    const { rows } = await client.query<{ name: string; run_at: Date }>('SELECT name, run_at FROM schema_migrations ORDER BY name');
    const pending = (await umzug.pending()).map((m) => m.name);
    return { applied: rows.map((row) => ({ name: row.name, runAt: row.run_at })), pending };
  });
}
