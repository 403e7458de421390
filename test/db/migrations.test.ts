import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'pg';
import { migrateDown, migrateUp, pendingMigrations, readMigrationFiles } from '../../db/migrate';
import { connect, createScratchDatabase } from '../support/database';
import type { ScratchDatabase } from '../support/database';

const ALL_MIGRATIONS = ['001_initial_schema', '002_add_organizations', '003_add_templates', '004_add_api_usages', '005_add_roles', '006_add_content_reference_indexes', '007_add_data_source_items', '008_app_login_roles', '009_stripe_billing', '010_api_keys', '011_organization_provider_keys', '012_ledger_references_set_null', '013_upload_sessions', '014_recovery_drills', '015_single_steps', '016_webhooks', '017_channel_status_reason'];

/**
 * The columns of seed §3, written as the seed writes them ("name TYPE [NOT NULL] [DEFAULT x]",
 * TIMESTAMPTZ for TIMESTAMP WITH TIME ZONE). PRIMARY KEY columns are NOT NULL.
 */
const SEED_COLUMNS: Record<string, string> = {
  users: `id UUID NOT NULL DEFAULT gen_random_uuid(), email VARCHAR(255) NOT NULL, password_hash VARCHAR(255),
    name VARCHAR(100) NOT NULL, avatar_url VARCHAR(500), phone VARCHAR(20), oauth_provider VARCHAR(20),
    oauth_id VARCHAR(255), status VARCHAR(20) DEFAULT 'active', email_verified BOOLEAN DEFAULT false,
    locale VARCHAR(10) DEFAULT 'ko', timezone VARCHAR(50) DEFAULT 'Asia/Seoul', notification_settings JSONB DEFAULT '{}',
    last_login_at TIMESTAMPTZ, created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now(), deleted_at TIMESTAMPTZ`,
  organizations: `id UUID NOT NULL DEFAULT gen_random_uuid(), name VARCHAR(100) NOT NULL, slug VARCHAR(100) NOT NULL,
    logo_url VARCHAR(500), plan_type VARCHAR(20) DEFAULT 'starter', settings JSONB DEFAULT '{}', brand_colors JSONB DEFAULT '{}',
    custom_domain VARCHAR(255), status VARCHAR(20) DEFAULT 'active', created_at TIMESTAMPTZ DEFAULT now(),
    updated_at TIMESTAMPTZ DEFAULT now()`,
  organization_members: `id UUID NOT NULL DEFAULT gen_random_uuid(), organization_id UUID NOT NULL, user_id UUID NOT NULL,
    role VARCHAR(20) NOT NULL DEFAULT 'member', permissions JSONB DEFAULT '{}', invited_by UUID, joined_at TIMESTAMPTZ DEFAULT now()`,
  subscription_plans: `id UUID NOT NULL DEFAULT gen_random_uuid(), name VARCHAR(50) NOT NULL, code VARCHAR(20) NOT NULL,
    price_monthly DECIMAL(10,2) NOT NULL, price_yearly DECIMAL(10,2), currency VARCHAR(3) DEFAULT 'KRW',
    monthly_credits INTEGER NOT NULL, max_channels INTEGER DEFAULT 1, max_projects INTEGER DEFAULT 3,
    features JSONB NOT NULL DEFAULT '{}', is_active BOOLEAN DEFAULT true, display_order INTEGER DEFAULT 0,
    created_at TIMESTAMPTZ DEFAULT now()`,
  subscriptions: `id UUID NOT NULL DEFAULT gen_random_uuid(), user_id UUID, organization_id UUID, plan_id UUID NOT NULL,
    status VARCHAR(20) DEFAULT 'active', billing_cycle VARCHAR(10) DEFAULT 'monthly', started_at TIMESTAMPTZ NOT NULL,
    current_period_start TIMESTAMPTZ, current_period_end TIMESTAMPTZ, cancelled_at TIMESTAMPTZ, payment_method_id VARCHAR(255),
    stripe_subscription_id VARCHAR(255), credits_used INTEGER DEFAULT 0, credits_remaining INTEGER NOT NULL,
    created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now()`,
  projects: `id UUID NOT NULL DEFAULT gen_random_uuid(), user_id UUID, organization_id UUID, name VARCHAR(100) NOT NULL,
    description TEXT, vertical VARCHAR(30) NOT NULL, sub_category VARCHAR(50), content_format VARCHAR(20) DEFAULT 'short',
    language VARCHAR(10) DEFAULT 'ko', target_platforms JSONB DEFAULT '["youtube_shorts"]', tone VARCHAR(30) DEFAULT 'professional',
    style_preset JSONB DEFAULT '{}', status VARCHAR(20) DEFAULT 'active', is_auto_publish BOOLEAN DEFAULT false,
    created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now()`,
  channels: `id UUID NOT NULL DEFAULT gen_random_uuid(), project_id UUID NOT NULL, platform VARCHAR(20) NOT NULL,
    channel_id VARCHAR(255) NOT NULL, channel_name VARCHAR(255), channel_url VARCHAR(500), access_token TEXT, refresh_token TEXT,
    token_expires_at TIMESTAMPTZ, upload_settings JSONB DEFAULT '{}', status VARCHAR(20) DEFAULT 'connected',
    last_sync_at TIMESTAMPTZ, created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now(), status_reason TEXT`,
  contents: `id UUID NOT NULL DEFAULT gen_random_uuid(), project_id UUID NOT NULL, title VARCHAR(200) NOT NULL, description TEXT,
    script JSONB NOT NULL, tags TEXT[], thumbnail_url VARCHAR(500), media_assets JSONB DEFAULT '[]', audio_url VARCHAR(500),
    audio_duration DECIMAL(10,2), video_url VARCHAR(500), video_duration DECIMAL(10,2), video_resolution VARCHAR(20),
    status VARCHAR(20) DEFAULT 'draft', safety_score DECIMAL(3,2), safety_flags JSONB DEFAULT '[]', source_type VARCHAR(20),
    source_url VARCHAR(500), source_data JSONB, created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now(),
    published_at TIMESTAMPTZ, step VARCHAR(20)`,
  content_jobs: `id UUID NOT NULL DEFAULT gen_random_uuid(), content_id UUID NOT NULL, job_type VARCHAR(30) NOT NULL,
    status VARCHAR(20) DEFAULT 'pending', progress INTEGER DEFAULT 0, started_at TIMESTAMPTZ, completed_at TIMESTAMPTZ,
    result JSONB, error_message TEXT, retry_count INTEGER DEFAULT 0, external_job_id VARCHAR(255), created_at TIMESTAMPTZ DEFAULT now()`,
  content_uploads: `id UUID NOT NULL DEFAULT gen_random_uuid(), content_id UUID NOT NULL, channel_id UUID NOT NULL,
    platform_video_id VARCHAR(255), platform_url VARCHAR(500), status VARCHAR(20) DEFAULT 'pending', scheduled_at TIMESTAMPTZ,
    published_at TIMESTAMPTZ, metrics JSONB DEFAULT '{}', error_message TEXT, created_at TIMESTAMPTZ DEFAULT now(),
    updated_at TIMESTAMPTZ DEFAULT now(), upload_session TEXT`,
  templates: `id UUID NOT NULL DEFAULT gen_random_uuid(), user_id UUID, organization_id UUID, name VARCHAR(100) NOT NULL,
    description TEXT, thumbnail_url VARCHAR(500), template_type VARCHAR(20) NOT NULL, vertical VARCHAR(30), content_format VARCHAR(20),
    template_data JSONB NOT NULL, is_active BOOLEAN DEFAULT true, is_premium BOOLEAN DEFAULT false, usage_count INTEGER DEFAULT 0,
    created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now()`,
  data_sources: `id UUID NOT NULL DEFAULT gen_random_uuid(), project_id UUID NOT NULL, name VARCHAR(100) NOT NULL,
    source_type VARCHAR(30) NOT NULL, config JSONB NOT NULL, schedule_cron VARCHAR(50), is_active BOOLEAN DEFAULT true,
    last_fetched_at TIMESTAMPTZ, created_at TIMESTAMPTZ DEFAULT now(), updated_at TIMESTAMPTZ DEFAULT now()`,
  // created_at is NOT NULL here though not in the seed: it is part of the partitioned table's key.
  api_usages: `id UUID NOT NULL DEFAULT gen_random_uuid(), user_id UUID, organization_id UUID, service VARCHAR(30) NOT NULL,
    operation VARCHAR(50) NOT NULL, input_units INTEGER DEFAULT 0, output_units INTEGER DEFAULT 0, duration_ms INTEGER,
    estimated_cost DECIMAL(10,6), content_id UUID, job_id UUID, status_code INTEGER, error_message TEXT,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(), billed_to VARCHAR(20) NOT NULL DEFAULT 'platform'`,
  credit_transactions: `id UUID NOT NULL DEFAULT gen_random_uuid(), subscription_id UUID NOT NULL,
    transaction_type VARCHAR(20) NOT NULL, credits_amount INTEGER NOT NULL, credits_balance INTEGER NOT NULL, content_id UUID,
    description TEXT, created_at TIMESTAMPTZ DEFAULT now()`,
};

/** Every index the seed names (§3, §5), with the definition PostgreSQL prints for it after "ON [ONLY] public.". */
const SEED_INDEXES: Record<string, string> = {
  idx_users_email: 'users USING btree (email)',
  idx_users_oauth: 'users USING btree (oauth_provider, oauth_id)',
  idx_users_status: 'users USING btree (status)',
  idx_organizations_slug: 'organizations USING btree (slug)',
  idx_org_members_org: 'organization_members USING btree (organization_id)',
  idx_org_members_user: 'organization_members USING btree (user_id)',
  idx_subscriptions_user: 'subscriptions USING btree (user_id)',
  idx_subscriptions_org: 'subscriptions USING btree (organization_id)',
  idx_subscriptions_status: 'subscriptions USING btree (status)',
  idx_subscriptions_active: "subscriptions USING btree (user_id) WHERE ((status)::text = 'active'::text)",
  idx_projects_user: 'projects USING btree (user_id)',
  idx_projects_org: 'projects USING btree (organization_id)',
  idx_projects_vertical: 'projects USING btree (vertical)',
  idx_projects_user_status: 'projects USING btree (user_id, status)',
  idx_channels_project: 'channels USING btree (project_id)',
  idx_channels_platform: 'channels USING btree (platform)',
  idx_channels_unique: 'channels USING btree (project_id, platform, channel_id)',
  idx_contents_project: 'contents USING btree (project_id)',
  idx_contents_status: 'contents USING btree (status)',
  idx_contents_created: 'contents USING btree (created_at DESC)',
  idx_contents_project_created: 'contents USING btree (project_id, created_at DESC)',
  idx_contents_project_status: 'contents USING btree (project_id, status)',
  idx_contents_published: "contents USING btree (project_id, published_at DESC) WHERE ((status)::text = 'published'::text)",
  idx_contents_tags: 'contents USING gin (tags)',
  idx_contents_media: 'contents USING gin (media_assets jsonb_path_ops)',
  idx_content_jobs_content: 'content_jobs USING btree (content_id)',
  idx_content_jobs_status: 'content_jobs USING btree (status)',
  idx_content_jobs_type: 'content_jobs USING btree (job_type)',
  idx_content_jobs_pending:
    "content_jobs USING btree (content_id, created_at) WHERE ((status)::text = ANY ((ARRAY['pending'::character varying, 'running'::character varying])::text[]))",
  idx_uploads_content: 'content_uploads USING btree (content_id)',
  idx_uploads_channel: 'content_uploads USING btree (channel_id)',
  idx_uploads_status: 'content_uploads USING btree (status)',
  idx_templates_vertical: 'templates USING btree (vertical)',
  idx_templates_type: 'templates USING btree (template_type)',
  idx_templates_data: 'templates USING gin (template_data jsonb_path_ops)',
  idx_data_sources_project: 'data_sources USING btree (project_id)',
  idx_data_sources_type: 'data_sources USING btree (source_type)',
  idx_api_usages_user: 'api_usages USING btree (user_id)',
  idx_api_usages_org: 'api_usages USING btree (organization_id)',
  idx_api_usages_service: 'api_usages USING btree (service)',
  idx_api_usages_created: 'api_usages USING btree (created_at DESC)',
  idx_api_usages_user_month: "api_usages USING btree (user_id, date_trunc('month'::text, (created_at AT TIME ZONE 'UTC'::text)))",
  idx_credit_tx_subscription: 'credit_transactions USING btree (subscription_id)',
  idx_credit_tx_created: 'credit_transactions USING btree (created_at DESC)',
};

const SEED_TYPES: Record<string, string> = { UUID: 'uuid', TEXT: 'text', 'TEXT[]': 'text[]', JSONB: 'jsonb', BOOLEAN: 'boolean', INTEGER: 'integer', TIMESTAMPTZ: 'timestamp with time zone' };

/** "email VARCHAR(255) NOT NULL" → the line the catalog query below prints for that column. */
function expectedColumn(spec: string): string {
  const match = /^(\w+) (\S+)( NOT NULL)?(?: DEFAULT (.+))?$/.exec(spec.trim());
  assert.ok(match, `bad column spec "${spec}"`);
  const [, name, seedType = '', notNull, defaultValue] = match;
  const type = SEED_TYPES[seedType] ?? seedType.replace('VARCHAR', 'character varying').replace('DECIMAL', 'numeric');
  // The catalog prints a quoted default with a cast to the column's type: 'active'::character varying.
  const printedDefault = defaultValue?.startsWith("'") ? `${defaultValue}::${type.replace(/\(.*\)$/, '')}` : defaultValue;
  return `${name} ${type}${notNull ? ' not null' : ''}${printedDefault ? ` default ${printedDefault}` : ''}`;
}

/** One sorted list of lines per kind of catalog object in schema public. */
async function schemaSnapshot(client: Client): Promise<Record<string, string[]>> {
  const queries: Record<string, string> = {
    relations: `SELECT c.relname || ' ' || c.relkind::text || coalesce(' of ' || parent.relname, '')
                  || coalesce(' ' || pg_get_expr(c.relpartbound, c.oid), '') || coalesce(' ' || pg_get_partkeydef(c.oid), '')
                  || ' acl=' || coalesce(c.relacl::text, '-')
                FROM pg_class c
                LEFT JOIN pg_inherits i ON i.inhrelid = c.oid LEFT JOIN pg_class parent ON parent.oid = i.inhparent
                WHERE c.relnamespace = 'public'::regnamespace`,
    // Logical column position rather than attnum, which a dropped and re-added column shifts.
    columns: `SELECT c.relname || '.' || row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum) || ' ' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')
              FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
              LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
    constraints: `SELECT conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
                  FROM pg_constraint WHERE connamespace = 'public'::regnamespace`,
    indexes: `SELECT indexname || ' ' || indexdef FROM pg_indexes WHERE schemaname = 'public'`,
    functions: `SELECT pg_get_functiondef(oid) FROM pg_proc WHERE pronamespace = 'public'::regnamespace`,
    triggers: `SELECT pg_get_triggerdef(t.oid) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal`,
    privileges: `SELECT 'schema ' || coalesce(nspacl::text, '-') FROM pg_namespace WHERE nspname = 'public'
                 UNION ALL SELECT 'default ' || defaclobjtype::text || ' ' || defaclacl::text FROM pg_default_acl
                 WHERE defaclnamespace = 'public'::regnamespace`,
  };
  const snapshot: Record<string, string[]> = {};
  for (const [kind, sql] of Object.entries(queries)) {
    const { rows } = await client.query<{ line: string }>(`SELECT line FROM (${sql}) AS q(line) ORDER BY line COLLATE "C"`);
    snapshot[kind] = rows.map((row) => row.line);
  }
  return snapshot;
}

describe('migrations', () => {
  let db: ScratchDatabase;
  let client: Client;

  before(async () => {
    db = await createScratchDatabase('migrations_test');
    client = await connect(db.url);
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });

  it('finds every migration with its down file, in order', () => {
    assert.deepEqual(readMigrationFiles().map((m) => m.name), ALL_MIGRATIONS);
  });

  it('applies all migrations, then has nothing pending', async () => {
    assert.deepEqual(await pendingMigrations(db.url), ALL_MIGRATIONS);
    assert.deepEqual(await migrateUp(db.url), ALL_MIGRATIONS);
    assert.deepEqual(await migrateUp(db.url), []);
    assert.deepEqual(await pendingMigrations(db.url), []);
    const { rows } = await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name');
    assert.deepEqual(rows.map((r) => r.name), ALL_MIGRATIONS);
  });

  it('has every table of the seed with every column, type, nullability and default', async () => {
    const snapshot = await schemaSnapshot(client);
    for (const [table, spec] of Object.entries(SEED_COLUMNS)) {
      const actual = (snapshot.columns ?? []).filter((line) => line.startsWith(`${table}.`)).map((line) => line.replace(/^\S+ /, ''));
      const expected = spec.split(/,\s+(?=\w+ [A-Z])/).map(expectedColumn);
      assert.deepEqual(actual.sort(), expected.sort(), `columns of ${table}`);
    }
  });

  it('has every index the seed names, defined as the seed defines it', async () => {
    const { rows } = await client.query<{ indexname: string; indexdef: string }>(
      "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
    );
    const definitions = new Map(rows.map((row) => [row.indexname, row.indexdef]));
    for (const [name, definition] of Object.entries(SEED_INDEXES)) {
      const actual = definitions.get(name);
      assert.ok(actual, `index ${name} is missing`);
      assert.match(actual.replace(/ ON (ONLY )?public\./, ' ON '), new RegExp(`^CREATE (UNIQUE )?INDEX ${name} ON ${escape(definition)}$`));
    }
    assert.match(definitions.get('idx_channels_unique') ?? '', /^CREATE UNIQUE INDEX/);
  });

  it('reverts step by step and to a name, recording each in schema_migrations', async () => {
    assert.deepEqual(await migrateDown(db.url), ['017_channel_status_reason']);
    assert.deepEqual(await migrateDown(db.url, { step: 5 }), ['016_webhooks', '015_single_steps', '014_recovery_drills', '013_upload_sessions', '012_ledger_references_set_null']);
    assert.deepEqual(await migrateDown(db.url, { step: 8 }), ['011_organization_provider_keys', '010_api_keys', '009_stripe_billing', '008_app_login_roles', '007_add_data_source_items', '006_add_content_reference_indexes', '005_add_roles', '004_add_api_usages']);
    assert.deepEqual(await pendingMigrations(db.url), ALL_MIGRATIONS.slice(3));
    assert.deepEqual(await migrateDown(db.url, { to: '002_add_organizations' }), ['003_add_templates', '002_add_organizations']);
    assert.deepEqual(await migrateUp(db.url), ALL_MIGRATIONS.slice(1));
  });

  it('goes down to nothing and up again to the very same schema', async () => {
    const first = await schemaSnapshot(client);
    assert.ok(first.relations?.some((line) => line.startsWith('api_usages_default r of api_usages DEFAULT')));

    assert.deepEqual(await migrateDown(db.url, { to: 0 }), [...ALL_MIGRATIONS].reverse());
    const empty = await schemaSnapshot(client);
    assert.deepEqual(
      empty.relations?.map((line) => line.split(' ')[0]),
      ['schema_migrations', 'schema_migrations_pkey'],
      'only schema_migrations is left',
    );
    assert.deepEqual(empty.functions, []);
    assert.deepEqual(empty.triggers, []);
    assert.ok(empty.relations?.every((line) => !line.includes('app_')), 'no grants to the app roles are left');
    assert.deepEqual(empty.privileges?.filter((line) => line.includes('app_')), [], 'no default privileges or schema grants are left');

    assert.deepEqual(await migrateUp(db.url), ALL_MIGRATIONS);
    assert.deepEqual(await schemaSnapshot(client), first);
  });

  it('leaves the cluster-wide roles to another database that still uses them', async () => {
    const second = await createScratchDatabase('migrations_roles');
    try {
      assert.deepEqual(await migrateUp(second.url), ALL_MIGRATIONS);
      assert.deepEqual(await migrateDown(second.url, { to: 0 }), [...ALL_MIGRATIONS].reverse());
      const { rows } = await client.query<{ rolname: string; can_read: boolean }>(
        `SELECT rolname, has_table_privilege(rolname, 'contents', 'SELECT') AS can_read FROM pg_roles
         WHERE rolname IN ('app_readonly', 'app_readwrite', 'app_admin') ORDER BY rolname`,
      );
      assert.deepEqual(rows, [
        { rolname: 'app_admin', can_read: true },
        { rolname: 'app_readonly', can_read: true },
        { rolname: 'app_readwrite', can_read: true },
      ]);
      assert.deepEqual(await migrateUp(second.url), ALL_MIGRATIONS);
    } finally {
      await second.drop();
    }
  });

  it('creates the login roles without a password or cluster-wide privilege, as members of their group roles, and leaves them on the way down', async () => {
    const logins = async () =>
      (
        await client.query<{ rolname: string; attributes: string; member_of: string[] }>(
          `SELECT r.rolname, concat_ws(' ', CASE WHEN r.rolcanlogin THEN 'login' END, CASE WHEN r.rolsuper THEN 'superuser' END,
                    CASE WHEN r.rolcreatedb THEN 'createdb' END, CASE WHEN r.rolcreaterole THEN 'createrole' END,
                    CASE WHEN r.rolreplication THEN 'replication' END, CASE WHEN r.rolbypassrls THEN 'bypassrls' END,
                    CASE WHEN r.rolinherit THEN 'inherit' END) AS attributes,
                  ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) AS member_of
             FROM pg_roles r WHERE r.rolname IN ('autoclip_app', 'autoclip_backup') ORDER BY 1`,
        )
      ).rows;
    const expected = [
      { rolname: 'autoclip_app', attributes: 'login inherit', member_of: ['app_readwrite'] },
      { rolname: 'autoclip_backup', attributes: 'login inherit', member_of: ['app_readonly'] },
    ];
    assert.deepEqual(await logins(), expected);
    assert.deepEqual(await migrateDown(db.url, { step: 10 }), ['017_channel_status_reason', '016_webhooks', '015_single_steps', '014_recovery_drills', '013_upload_sessions', '012_ledger_references_set_null', '011_organization_provider_keys', '010_api_keys', '009_stripe_billing', '008_app_login_roles']);
    assert.deepEqual(await logins(), expected, 'cluster-wide: other databases still log in with them');
    const { rows } = await client.query<{ can_delete: boolean; can_call: boolean }>(
      `SELECT has_table_privilege('autoclip_app', 'contents', 'DELETE') AS can_delete,
              has_function_privilege('autoclip_backup', 'create_api_usages_partitions(date, int)', 'EXECUTE') AS can_call`,
    );
    assert.deepEqual(rows, [{ can_delete: false, can_call: true }], "008's grants are gone: DELETE, and the function is PUBLIC's again");
    assert.deepEqual(await migrateUp(db.url), ['008_app_login_roles', '009_stripe_billing', '010_api_keys', '011_organization_provider_keys', '012_ledger_references_set_null', '013_upload_sessions', '014_recovery_drills', '015_single_steps', '016_webhooks', '017_channel_status_reason']);
  });

  it('`db.ts migrate --login-roles` migrates as MIGRATION_DATABASE_URL, then sets the login roles of DATABASE_URL and BACKUP_DATABASE_URL', async () => {
    const scratch = await createScratchDatabase('migrations_cli');
    const tag = randomBytes(4).toString('hex');
    const roles = { app: `cli_app_${tag}`, backup: `cli_backup_${tag}`, privileged: `cli_privileged_${tag}` };
    const as = (role: string, password: string) => {
      const url = new URL(scratch.url);
      url.username = role;
      url.password = password;
      return url.toString();
    };
    const run = (passwords: { app: string; backup: string }) =>
      spawnSync(process.execPath, ['--import', 'tsx', 'scripts/db.ts', 'migrate', '--login-roles'], {
        cwd: path.join(__dirname, '..', '..'),
        encoding: 'utf8',
        env: { ...process.env, MIGRATION_DATABASE_URL: scratch.url, DATABASE_URL: as(roles.app, passwords.app), BACKUP_DATABASE_URL: as(roles.backup, passwords.backup) },
      });
    try {
      const first = run({ app: 'first-app-pw', backup: 'first-backup-pw' });
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /applied:\n {2}001_initial_schema/);
      assert.match(first.stdout, new RegExp(`${roles.app} \\(app_readwrite\\)\n {2}${roles.backup} \\(app_readonly\\)`));
      // A rerun changes the passwords (rotation), with nothing left to migrate.
      const second = run({ app: 'second-app-pw', backup: 'second-backup-pw' });
      assert.equal(second.status, 0, second.stderr);
      assert.match(second.stdout, /applied: none/);
      await assert.rejects(connect(as(roles.app, 'first-app-pw')), /password authentication failed/);
      for (const [role, password, group] of [[roles.app, 'second-app-pw', 'app_readwrite'], [roles.backup, 'second-backup-pw', 'app_readonly']] as const) {
        const login = await connect(as(role, password));
        try {
          const { rows } = await login.query('SELECT current_user AS user, pg_has_role(current_user, $1, \'MEMBER\') AS member, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser', [group]);
          assert.deepEqual(rows, [{ user: role, member: true, superuser: false }]);
        } finally {
          await login.end();
        }
      }
      // A role with a cluster-wide privilege is refused, not quietly demoted or used.
      await client.query(`CREATE ROLE ${roles.privileged} LOGIN CREATEDB`);
      const refused = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/db.ts', 'migrate', '--login-roles'], {
        cwd: path.join(__dirname, '..', '..'),
        encoding: 'utf8',
        env: { ...process.env, MIGRATION_DATABASE_URL: scratch.url, DATABASE_URL: as(roles.privileged, 'pw'), BACKUP_DATABASE_URL: '' },
      });
      assert.equal(refused.status, 1);
      assert.match(refused.stderr, new RegExp(`${roles.privileged} has cluster-wide privileges`));
    } finally {
      await scratch.drop();
      await client.query(`DROP ROLE IF EXISTS ${roles.app}, ${roles.backup}, ${roles.privileged}`);
    }
  });

  it('rolls back a failing migration alone and records only the ones that ran', async () => {
    const scratch = await createScratchDatabase('migrations_fail');
    const dir = mkdtempSync(path.join(tmpdir(), 'autoclip-migrations-'));
    const other = await connect(scratch.url);
    try {
      writeFileSync(path.join(dir, '001_good.up.sql'), 'CREATE TABLE good (id int);');
      writeFileSync(path.join(dir, '001_good.down.sql'), 'DROP TABLE good;');
      writeFileSync(path.join(dir, '002_bad.up.sql'), 'CREATE TABLE bad (id int); SELECT 1 / 0;');
      writeFileSync(path.join(dir, '002_bad.down.sql'), 'DROP TABLE bad;');
      await assert.rejects(migrateUp(scratch.url, dir), /division by zero/);
      const { rows } = await other.query<{ name: string }>('SELECT name FROM schema_migrations');
      assert.deepEqual(rows.map((r) => r.name), ['001_good']);
      const tables = await other.query<{ good: string | null; bad: string | null }>(
        "SELECT to_regclass('good')::text AS good, to_regclass('bad')::text AS bad",
      );
      assert.deepEqual(tables.rows[0], { good: 'good', bad: null });
    } finally {
      await other.end();
      await scratch.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
