import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
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

/** Serializes login-role updates of concurrent starts (two test runs on one stack). */
const LOGIN_ROLES_LOCK_KEY = 7_412_905_114;

/** A LOGIN role the platform connects as, and the group role of 005 whose privileges it uses. */
export interface LoginRole {
  name: string;
  password: string;
  memberOf: 'app_readwrite' | 'app_readonly';
}

const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password`, computed here so the password
 * itself is never sent to the server (nor lands in its logs or pg_stat_activity). SASLprep leaves
 * printable ASCII unchanged; other passwords are refused rather than hashed differently.
 */
function scramVerifier(password: string, salt: Buffer = randomBytes(16)): string {
  if (!/^[\x20-\x7e]+$/.test(password)) throw new Error('a database password must be printable ASCII (e.g. openssl rand -hex 24)');
  const salted = pbkdf2Sync(password, salt, SCRAM_ITERATIONS, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}

/**
 * Creates or updates the LOGIN roles the application and the backups connect as (seed §8.2),
 * connected as the database owner (MIGRATION_DATABASE_URL): each gets its password and becomes a
 * member of its group role. Migration 008 creates the standard ones (autoclip_app,
 * autoclip_backup) without a password; this sets it, and creates a role of another name. A
 * group role that does not exist yet (a cluster never migrated) is granted by migration 008.
 * Refuses a role that is the owner itself or holds a cluster-wide privilege (superuser, CREATEDB,
 * CREATEROLE, REPLICATION, BYPASSRLS): the platform must not log in as one.
 */
export async function ensureLoginRoles(ownerUrl: string, logins: LoginRole[]): Promise<void> {
  const client = new Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await client.query('BEGIN');
    try {
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOGIN_ROLES_LOCK_KEY]);
      for (const login of logins) {
        if (!/^[a-z_][a-z0-9_]{0,62}$/.test(login.name)) throw new Error(`"${login.name}" is not a plain role name (a-z, 0-9, _)`);
        const { rows } = await client.query<{ privileged: boolean; is_owner: boolean }>(
          `SELECT rolsuper OR rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls AS privileged, rolname = current_user AS is_owner
             FROM pg_roles WHERE rolname = $1`,
          [login.name],
        );
        const existing = rows[0];
        if (existing?.is_owner) throw new Error(`${login.name} is the owner the migrations run as: the application needs a login role of its own`);
        if (existing?.privileged) throw new Error(`${login.name} has cluster-wide privileges (superuser, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS): refusing to use it as a login role`);
        const role = client.escapeIdentifier(login.name);
        if (!existing) {
          // Migration 008 of another database may create it at the same moment.
          await client.query('SAVEPOINT create_login_role');
          try {
            await client.query(`CREATE ROLE ${role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS INHERIT`);
          } catch (error) {
            if (!['42710', '23505'].includes((error as { code?: string }).code ?? '')) throw error;
            await client.query('ROLLBACK TO SAVEPOINT create_login_role');
          }
        }
        await client.query(`ALTER ROLE ${role} WITH LOGIN INHERIT PASSWORD ${client.escapeLiteral(scramVerifier(login.password))}`);
        const group = await client.query(
          "SELECT pg_has_role($2, oid, 'MEMBER') AS member FROM pg_roles WHERE rolname = $1",
          [login.memberOf, login.name],
        );
        if (group.rows[0]?.member === false) {
          await client.query('SAVEPOINT grant_group_role');
          try {
            await client.query(`GRANT ${client.escapeIdentifier(login.memberOf)} TO ${role}`);
          } catch (error) {
            // Migration 008 granted it at the same moment.
            if ((error as { code?: string }).code !== '23505') throw error;
            await client.query('ROLLBACK TO SAVEPOINT grant_group_role');
          }
        }
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK');
      throw error;
    }
  } finally {
    await client.end();
  }
}
