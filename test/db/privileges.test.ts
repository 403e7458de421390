import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { QueryTypes, type Sequelize } from 'sequelize';
import { createUpkeepActivities } from '../../activities/upkeep';
import { createAppContext, type AppContext } from '../../control/app-context';
import { migrateUp } from '../../db/migrate';
import { ensureApiUsagePartitions } from '../../db/partitions';
import { createSequelize } from '../../db/sequelize';
import { loadConfig } from '../../lib/config';
import { connect, createScratchDatabase, type ScratchDatabase } from '../support/database';

/**
 * The tables the application deletes rows from itself (migration 008 grants DELETE on these only).
 * api_keys is not one: revoking a key sets revoked_at. organization_provider_keys is (migration 011): a key can be removed.
 */
const DELETABLE = ['channels', 'contents', 'data_sources', 'organization_members', 'organization_provider_keys', 'projects', 'templates'];

const userOf = (url: string): string => decodeURIComponent(new URL(url).username);

/** Runs `work` in a transaction that is always rolled back: nothing it does stays in the database. */
async function rolledBack(client: Client, work: () => Promise<void>): Promise<void> {
  await client.query('BEGIN');
  try {
    await work();
  } finally {
    await client.query('ROLLBACK');
  }
}

/** `sql` fails with `pattern`; inside a transaction, a savepoint keeps the transaction usable. */
async function refused(client: Client, sql: string, pattern: RegExp): Promise<void> {
  await client.query('SAVEPOINT refused');
  await assert.rejects(client.query(sql), pattern, sql);
  await client.query('ROLLBACK TO SAVEPOINT refused');
}

async function one<T>(client: Client, sql: string, values: unknown[] = []): Promise<T> {
  const { rows } = await client.query(sql, values);
  assert.ok(rows[0], sql);
  return rows[0] as T;
}

/**
 * Seed §8.2 on the platform's own connection: the DATABASE_URL the api and workers use (the test
 * stack's, like `npm start`'s) logs in as a member of app_readwrite, never as the owner.
 */
describe('least privilege: the application connection (DATABASE_URL)', () => {
  const config = loadConfig();
  let app: Client;

  before(async () => {
    // The platform's database migrated as npm start does it: as the owner.
    await migrateUp(config.migrationDatabaseUrl);
    app = await connect(config.databaseUrl);
  });
  after(async () => {
    await app?.end();
  });

  it('logs in as the app login role, a member of app_readwrite, not the owner the migrations run as', async () => {
    assert.notEqual(userOf(config.databaseUrl), userOf(config.migrationDatabaseUrl), 'DATABASE_URL and MIGRATION_DATABASE_URL name different roles');
    const row = await one<{ user: string; readwrite: boolean; admin: boolean; owns: boolean }>(
      app,
      `SELECT current_user AS user, pg_has_role(current_user, 'app_readwrite', 'MEMBER') AS readwrite,
              pg_has_role(current_user, 'app_admin', 'MEMBER') AS admin,
              (SELECT datdba FROM pg_database WHERE datname = current_database()) = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS owns`,
    );
    assert.deepEqual(row, { user: 'autoclip_app', readwrite: true, admin: false, owns: false });
  });

  it('is no superuser and holds no cluster-wide privilege', async () => {
    assert.deepEqual((await app.query('SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).rows, [{ rolsuper: false }]);
    const row = await one(app, 'SELECT rolcreatedb, rolcreaterole, rolreplication, rolbypassrls FROM pg_roles WHERE rolname = current_user');
    assert.deepEqual(row, { rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false });
  });

  it('cannot read pg_authid (password hashes)', async () => {
    await assert.rejects(app.query('SELECT rolname, rolpassword FROM pg_authid'), /permission denied for table pg_authid/);
  });

  it('cannot DROP, ALTER or TRUNCATE a table, create one, nor change grants', async () => {
    await rolledBack(app, async () => {
      for (const table of ['contents', 'users', 'api_usages', 'schema_migrations']) {
        await refused(app, `DROP TABLE ${table} CASCADE`, /must be owner of table/);
        await refused(app, `ALTER TABLE ${table} ADD COLUMN intruder int`, /must be owner of table/);
        await refused(app, `TRUNCATE ${table} CASCADE`, /permission denied for table/);
      }
      await refused(app, 'CREATE TABLE public.intruder (id int)', /permission denied for schema public/);
      await refused(app, 'CREATE SCHEMA intruder', /permission denied for database/);
      // Without a grant option, GRANT only warns "no privileges were granted": nothing changes.
      const acl = async () => (await one<{ acl: string }>(app, "SELECT relacl::text AS acl FROM pg_class WHERE oid = 'users'::regclass")).acl;
      const before = await acl();
      await app.query('GRANT SELECT, DELETE ON users TO PUBLIC');
      assert.equal(await acl(), before);
      await refused(app, "CREATE ROLE intruder LOGIN PASSWORD 'x'", /permission denied to create role/);
      await refused(app, 'DROP FUNCTION create_api_usages_partitions(date, int)', /must be owner of function/);
    });
  });

  it('holds exactly SELECT, INSERT, UPDATE on every table, DELETE only where the app deletes, and nothing on schema_migrations', async () => {
    const { rows } = await app.query<{ table: string; privileges: string[] }>(
      `SELECT c.relname AS table,
              array_remove(ARRAY[
                CASE WHEN has_table_privilege(c.oid, 'SELECT') THEN 'SELECT' END,
                CASE WHEN has_table_privilege(c.oid, 'INSERT') THEN 'INSERT' END,
                CASE WHEN has_table_privilege(c.oid, 'UPDATE') THEN 'UPDATE' END,
                CASE WHEN has_table_privilege(c.oid, 'DELETE') THEN 'DELETE' END,
                CASE WHEN has_table_privilege(c.oid, 'TRUNCATE') THEN 'TRUNCATE' END,
                CASE WHEN has_table_privilege(c.oid, 'REFERENCES') THEN 'REFERENCES' END,
                CASE WHEN has_table_privilege(c.oid, 'TRIGGER') THEN 'TRIGGER' END], NULL) AS privileges
         FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') ORDER BY 1`,
    );
    assert.ok(rows.some((row) => row.table === 'api_usages_default'), 'partitions are listed too');
    for (const { table, privileges } of rows) {
      const expected = table === 'schema_migrations' ? [] : ['SELECT', 'INSERT', 'UPDATE', ...(DELETABLE.includes(table) ? ['DELETE'] : [])];
      assert.deepEqual(privileges, expected, table);
    }
  });

  it('reads and writes what the app writes, deletes what the app deletes, and cascades clean up the rest', async () => {
    await rolledBack(app, async () => {
      const { id: userId } = await one<{ id: string }>(app, "INSERT INTO users (email, name) VALUES ('privileges@example.com', 'P') RETURNING id");
      await app.query('UPDATE users SET last_login_at = now() WHERE id = $1', [userId]);
      const { id: orgId } = await one<{ id: string }>(app, "INSERT INTO organizations (name, slug) VALUES ('P', 'privileges-test') RETURNING id");
      await app.query("INSERT INTO organization_members (organization_id, user_id, role) VALUES ($1, $2, 'owner')", [orgId, userId]);
      const { id: projectId } = await one<{ id: string }>(app, "INSERT INTO projects (organization_id, name, vertical) VALUES ($1, 'P', 'tech') RETURNING id", [orgId]);
      const { id: channelId } = await one<{ id: string }>(app, "INSERT INTO channels (project_id, platform, channel_id) VALUES ($1, 'youtube', 'UCp') RETURNING id", [projectId]);
      const { id: sourceId } = await one<{ id: string }>(app, "INSERT INTO data_sources (project_id, name, source_type, config) VALUES ($1, 'P', 'rss', '{}') RETURNING id", [projectId]);
      const { id: templateId } = await one<{ id: string }>(
        app,
        "INSERT INTO templates (organization_id, name, template_type, template_data) VALUES ($1, 'P', 'custom', '{}') RETURNING id",
        [orgId],
      );
      const newContent = async () => {
        const { id } = await one<{ id: string }>(app, "INSERT INTO contents (project_id, title, script) VALUES ($1, 'P', '{}') RETURNING id", [projectId]);
        await app.query("INSERT INTO content_jobs (content_id, job_type) VALUES ($1, 'tts')", [id]);
        await app.query('INSERT INTO content_uploads (content_id, channel_id) VALUES ($1, $2)', [id, channelId]);
        await app.query("INSERT INTO data_source_items (data_source_id, item_key, content_id) VALUES ($1, $2, $3)", [sourceId, `item-${id}`, id]);
        await app.query("INSERT INTO api_usages (organization_id, content_id, service, operation) VALUES ($1, $2, 'tts', 'tts')", [orgId, id]);
        return id;
      };
      const contentId = await newContent();
      await app.query("UPDATE contents SET status = 'ready' WHERE id = $1", [contentId]);
      await app.query('SELECT * FROM contents c JOIN content_jobs j ON j.content_id = c.id WHERE c.id = $1 FOR UPDATE OF c', [contentId]);

      // Jobs, uploads, items: only through the cascade (or SET NULL) of their content's delete.
      await refused(app, 'DELETE FROM content_jobs', /permission denied for table content_jobs/);
      await refused(app, 'DELETE FROM content_uploads', /permission denied for table content_uploads/);
      await refused(app, 'DELETE FROM data_source_items', /permission denied for table data_source_items/);
      await refused(app, 'DELETE FROM api_usages', /permission denied for table api_usages/);
      await refused(app, 'DELETE FROM credit_transactions', /permission denied for table credit_transactions/);
      await refused(app, 'DELETE FROM users', /permission denied for table users/);
      await refused(app, 'DELETE FROM api_keys', /permission denied for table api_keys/);
      await refused(app, 'DELETE FROM organizations', /permission denied for table organizations/);
      await refused(app, 'DELETE FROM subscriptions', /permission denied for table subscriptions/);

      // As db/repositories/contents.ts deletes a content: the usage rows unlinked, then the row.
      await app.query('UPDATE api_usages SET content_id = NULL WHERE content_id = $1', [contentId]);
      assert.equal((await app.query('DELETE FROM contents WHERE id = $1', [contentId])).rowCount, 1);
      const left = await one(
        app,
        `SELECT (SELECT count(*) FROM content_jobs WHERE content_id = $1)::int AS jobs,
                (SELECT count(*) FROM content_uploads WHERE content_id = $1)::int AS uploads,
                (SELECT count(*) FROM data_source_items WHERE item_key = $2 AND content_id IS NULL)::int AS unlinked_items`,
        [contentId, `item-${contentId}`],
      );
      assert.deepEqual(left, { jobs: 0, uploads: 0, unlinked_items: 1 });

      await newContent();
      assert.equal((await app.query('DELETE FROM templates WHERE id = $1', [templateId])).rowCount, 1);
      assert.equal((await app.query('DELETE FROM channels WHERE id = $1', [channelId])).rowCount, 1);
      assert.equal((await app.query('DELETE FROM data_sources WHERE id = $1', [sourceId])).rowCount, 1);
      // A project takes its contents (and their jobs) along, whatever their tables grant.
      await app.query('UPDATE api_usages SET content_id = NULL WHERE organization_id = $1', [orgId]);
      assert.equal((await app.query('DELETE FROM projects WHERE id = $1', [projectId])).rowCount, 1);
      assert.equal((await one<{ n: number }>(app, 'SELECT count(*)::int AS n FROM contents WHERE project_id = $1', [projectId])).n, 0);
      assert.equal((await app.query('DELETE FROM organization_members WHERE organization_id = $1', [orgId])).rowCount, 1);
    });
  });

  it('is what the started platform connects with: its context, its upkeep and its backups', async () => {
    const ctx: AppContext = await createAppContext(config);
    try {
      const [row] = await ctx.sequelize.query<{ user: string; superuser: boolean }>(
        'SELECT current_user AS user, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser',
        { type: QueryTypes.SELECT },
      );
      assert.deepEqual(row, { user: 'autoclip_app', superuser: false });
      const postgres = (await ctx.probe()).find((check) => check.store === 'postgresql');
      assert.equal(postgres?.ok, true, postgres?.error);
    } finally {
      await ctx.close();
    }
    assert.equal(userOf(config.backupDatabaseUrl), 'autoclip_backup');
    const backup = await connect(config.backupDatabaseUrl);
    try {
      const row = await one(
        backup,
        `SELECT pg_has_role(current_user, 'app_readonly', 'MEMBER') AS readonly, pg_has_role(current_user, 'app_readwrite', 'MEMBER') AS readwrite,
                (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser`,
      );
      assert.deepEqual(row, { readonly: true, readwrite: false, superuser: false });
      await assert.rejects(backup.query("INSERT INTO users (email, name) VALUES ('backup@example.com', 'B')"), /permission denied for table users/);
      await assert.rejects(backup.query('UPDATE schema_migrations SET run_at = now()'), /permission denied for table schema_migrations/);
    } finally {
      await backup.end();
    }
  });
});

/**
 * The daily upkeep-api-usage-partitions runs as the application, which may not create tables: it
 * calls create_api_usages_partitions, which runs as its owner (SECURITY DEFINER, migration 008).
 */
describe('least privilege: api_usages partitions created by the application', () => {
  let db: ScratchDatabase;
  let owner: Client;
  let app: Sequelize;

  before(async () => {
    db = await createScratchDatabase('privileges_partitions');
    await migrateUp(db.url);
    owner = await connect(db.url);
    app = createSequelize({ databaseUrl: db.appUrl, databasePoolMax: 1 });
  });
  after(async () => {
    await app?.close();
    await owner?.end();
    await db?.drop();
  });

  it('the upkeep activity, connected as the app, adds a missing month', async () => {
    const [who] = await app.query<{ user: string }>('SELECT current_user AS user', { type: QueryTypes.SELECT });
    assert.equal(who?.user, userOf(db.appUrl));
    const now = new Date();
    const month = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 3, 1));
    const name = `api_usages_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
    await owner.query(`DROP TABLE ${name}`);
    const upkeep = createUpkeepActivities({ db: { sequelize: app } } as unknown as AppContext);
    assert.deepEqual(await upkeep.ensureApiUsagePartitions(), { created: [name] });
    assert.deepEqual(await ensureApiUsagePartitions(app, 5), [4, 5].map((ahead) => {
      const m = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + ahead, 1));
      return `api_usages_${m.getUTCFullYear()}_${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
    }));

    // The new partition is the owner's, with the default privileges of 005: pg_dump (app_readonly) reads it.
    const row = await one<{ owner: string; readonly: boolean; readwrite_delete: boolean }>(
      owner,
      `SELECT c.relowner::regrole::text AS owner, has_table_privilege('app_readonly', c.oid, 'SELECT') AS readonly,
              has_table_privilege('app_readwrite', c.oid, 'DELETE') AS readwrite_delete
         FROM pg_class c WHERE c.relname = $1`,
      [name],
    );
    assert.deepEqual(row, { owner: userOf(db.url), readonly: true, readwrite_delete: false });
    const [placed] = await app.query<{ partition: string }>(
      "INSERT INTO api_usages (service, operation, created_at) VALUES ('tts', 'tts', :at) RETURNING tableoid::regclass::text AS partition",
      { replacements: { at: month.toISOString() }, type: QueryTypes.SELECT },
    );
    assert.equal(placed?.partition, name);
  });

  it('the function runs with a fixed search_path, and only the app roles may call it', async () => {
    const row = await one<{ definer: boolean; config: string[]; acl: string }>(
      owner,
      `SELECT prosecdef AS definer, proconfig AS config, proacl::text AS acl FROM pg_proc WHERE proname = 'create_api_usages_partitions'`,
    );
    assert.equal(row.definer, true);
    assert.deepEqual(row.config, ['search_path=public, pg_temp']);
    assert.doesNotMatch(row.acl, /(^|[{,])=X\//, 'PUBLIC may not execute it');
    const backup = await connect(db.backupUrl);
    try {
      await assert.rejects(backup.query("SELECT create_api_usages_partitions(DATE '2001-01-01', 1)"), /permission denied for function create_api_usages_partitions/);
    } finally {
      await backup.end();
    }
  });
});
