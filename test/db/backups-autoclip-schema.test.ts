import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { backupPostgres, restorePostgres } from '../../db/backups';
import { pendingMigrations, readMigrationFiles } from '../../db/migrate';
import { EMPTY_SCRIPT } from '../../db/models';
import { ObjectStore } from '../../db/objects';
import { chargeContent, refundContent } from '../../db/repositories/ledger';
import { SecretBox } from '../../lib/secrets';
import { createApiHarness, type ApiHarness } from '../support/api';
import { connect, createScratchDatabase, type ScratchDatabase } from '../support/database';
import { createPeople, createProject, subscribe } from '../support/tenants';

interface DatabaseState {
  migrations: string[];
  /** Who may do what: the access lists of the schema's tables, sequences and functions, and its default privileges. */
  privileges: string[];
  /** Per table, partitions and the partitioned parent included: its row count and a digest of its rows. */
  tables: Record<string, { rows: number; digest: string }>;
}

/** What a restore must bring back: the applied migrations, and the rows of every table of the public schema. */
async function stateOf(url: string): Promise<DatabaseState> {
  const client = await connect(url);
  try {
    const migrations = (await client.query<{ name: string }>('SELECT name FROM schema_migrations ORDER BY name')).rows.map((row) => row.name);
    const { rows: relations } = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname`,
    );
    const { rows: privileges } = await client.query<{ line: string }>(
      `SELECT c.relkind::text || ' ' || c.relname || ' ' || coalesce(c.relacl::text, '') AS line FROM pg_class c
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'S')
       UNION ALL
       SELECT 'f ' || p.proname || ' ' || coalesce(p.proacl::text, '') FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
       UNION ALL
       SELECT 'd ' || d.defaclrole::regrole::text || ' ' || d.defaclobjtype::text || ' ' || d.defaclacl::text FROM pg_default_acl d
       ORDER BY 1`,
    );
    const tables: DatabaseState['tables'] = {};
    for (const { name } of relations) {
      const { rows } = await client.query<{ rows: number; digest: string }>(
        `SELECT count(*)::int AS rows, md5(coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '')) AS digest FROM "${name}" t`,
      );
      tables[name] = rows[0]!;
    }
    return { migrations, privileges: privileges.map((row) => row.line), tables };
  } finally {
    await client.end();
  }
}

/**
 * The daily PostgreSQL backup (seed §7.1, kept 30 days) of the AutoClip schema itself: a migrated
 * and seeded database holding what the platform writes — tenants, a project with its channel and
 * data source, contents with their jobs, usage in api_usages' partitions, the credit ledger, uploads,
 * API and provider keys, Stripe records — dumped as the read-only backup role and restored into an
 * empty database.
 */
describe('PostgreSQL backup of the AutoClip schema', () => {
  let api: ApiHarness;
  const scratch: ScratchDatabase[] = [];
  let store: ObjectStore;
  const scope = `test/autoclip-schema-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;

  before(async () => {
    api = await createApiHarness();
    store = new ObjectStore({ ...api.ctx.config.s3, bucket: api.ctx.config.s3.backupBucket, publicUrl: undefined });
  });

  after(async () => {
    await api?.close();
    await Promise.all(scratch.map((db) => db.drop()));
    store?.destroy();
  });

  /** Rows across the schema, written the way the platform writes them (models and repositories, as the app role). */
  async function writeWorkload(): Promise<void> {
    const { ctx } = api;
    const people = await createPeople(api, { plan: 'pro' });
    const owner = people.as.owner.userId;
    const outsider = people.as.outsider.userId;
    await subscribe(api, { user_id: outsider }, 'starter');
    const projectId = await createProject(api, { organization_id: people.orgId }, 'Market brief');
    const personalId = await createProject(api, { user_id: outsider }, 'Personal notes');

    const channel = ctx.models.Channel.build({ project_id: projectId, platform: 'youtube', channel_id: 'UCbackup', channel_name: '백업 채널' } as never);
    channel.setTokens(SecretBox.fromConfig(ctx.config.secrets), { accessToken: 'access-token', refreshToken: 'refresh-token', expiresAt: new Date(Date.now() + 3_600_000) });
    await channel.save();

    const dataSource = await ctx.models.DataSource.create({
      project_id: projectId,
      name: 'Rates feed',
      source_type: 'rss',
      config: { feed_url: 'https://news.example.com/feed.xml' },
      schedule_cron: '0 * * * *',
      last_fetched_at: null,
    } as never);
    const source = await ctx.db.sources.withProject(dataSource.id);
    assert.ok(source);
    const contents: { id: string; owner: { user_id: string | null; organization_id: string | null } }[] = [];
    for (let i = 0; i < 3; i += 1) {
      const item = { key: `rss:item-${i}`, title: `금리 뉴스 ${i}`, url: `https://news.example.com/${i}`, publishedAt: '2026-11-30T09:00:00Z', summary: 'rates', data: { summary: 'rates' } };
      const id = await ctx.db.sources.createDraftOnce(source, item, 'rss');
      assert.ok(id);
      contents.push({ id, owner: { user_id: null, organization_id: people.orgId } });
    }
    const manual = await ctx.models.Content.create({ project_id: personalId, title: 'Manual topic', script: EMPTY_SCRIPT, source_type: 'manual' } as never);
    contents.push({ id: manual.id, owner: { user_id: outsider, organization_id: null } });

    for (const [i, content] of contents.entries()) {
      const runId = `run-${i}`;
      for (const jobType of ['script_generation', 'safety_check', 'tts'] as const) {
        const jobId = await ctx.db.jobs.open(content.id, jobType, runId, 1);
        const now = new Date().toISOString();
        await ctx.db.jobs.finishAttempt(jobId, runId, { attempt: 1, status: 'completed', started_at: now, ended_at: now }, { chars: 420 });
        await ctx.db.usage.insert(
          { ...content.owner, content_id: content.id, job_id: jobId },
          { service: 'local', operation: jobType, inputUnits: 120, outputUnits: 480, durationMs: 1500, estimatedCostUsd: 0.0015 },
        );
      }
      await chargeContent(ctx.sequelize, content.id, `production of ${content.id}`);
    }
    await refundContent(ctx.sequelize, contents[0]!.id, 'render failed');
    await ctx.models.ContentUpload.create({
      content_id: contents[1]!.id,
      channel_id: channel.id,
      status: 'published',
      metrics: { views: 1200, likes: 80, comments: 4, shares: 2, last_updated: '2026-12-01T00:00:00Z' },
    } as never);
    // A row of a year without its own partition goes to the default partition.
    await ctx.sequelize.query("INSERT INTO api_usages (service, operation, created_at) VALUES ('tts', 'tts', '2001-01-01Z')");

    await ctx.db.apiKeys.create({
      user_id: null,
      organization_id: people.orgId,
      created_by: owner,
      name: 'CI',
      prefix: randomBytes(6).toString('hex'),
      secret_hash: randomBytes(32).toString('hex'),
      role: 'editor',
      expires_at: null,
    });
    await ctx.db.billing.saveCustomer({ kind: 'organization', organizationId: people.orgId }, 'cus_backup');
    await ctx.db.billing.applyEvent({ id: 'evt_backup', type: 'invoice.paid' }, async () => undefined);
    await ctx.db.providerKeys.put(people.orgId, 'elevenlabs', 'sk_organization_backup_key', owner);
  }

  it('a backup taken as the read-only role restores into an empty database with every migration and every row of every table, partitions included', async (t) => {
    await writeWorkload();
    const { config } = api.ctx;
    const before = await stateOf(config.migrationDatabaseUrl);
    assert.deepEqual(before.migrations, readMigrationFiles().map((file) => file.name));
    const now = new Date();
    const month = `api_usages_${now.getUTCFullYear()}_${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    const filled = [
      'users', 'organizations', 'organization_members', 'subscription_plans', 'subscriptions', 'projects', 'channels', 'templates',
      'data_sources', 'data_source_items', 'contents', 'content_jobs', 'content_uploads', 'api_usages', month, 'api_usages_default',
      'credit_transactions', 'api_keys', 'stripe_customers', 'stripe_events', 'organization_provider_keys',
    ];
    for (const table of filled) assert.ok((before.tables[table]?.rows ?? 0) > 0, `${table} holds rows`);
    assert.equal(before.tables.api_usages?.rows, (before.tables[month]?.rows ?? 0) + (before.tables.api_usages_default?.rows ?? 0));

    const backup = await backupPostgres({ store, scope, databaseUrl: config.backupDatabaseUrl });
    const target = await createScratchDatabase('backup_autoclip_dst');
    scratch.push(target);
    const restored = await restorePostgres({ store, databaseUrl: target.url }, backup.key);
    const rows = Object.values(before.tables).reduce((sum, table) => sum + table.rows, 0);
    t.diagnostic(
      `pg_dump as ${new URL(config.backupDatabaseUrl).username}: ${backup.bytes} bytes in ${backup.durationMs} ms; ` +
        `restore into an empty database: ${restored.durationMs} ms for ${Object.keys(before.tables).length} tables and ${rows} rows (partitions counted twice)`,
    );

    assert.deepEqual(await stateOf(target.url), before);
    assert.deepEqual(await pendingMigrations(target.url), [], 'the restored database needs no migration');

    // The platform's login role works there as it did: it reads and writes, and is still refused what it never may do.
    const app = await connect(target.appUrl);
    try {
      const { rows: users } = await app.query<{ n: number }>('SELECT count(*)::int AS n FROM users');
      assert.equal(users[0]?.n, before.tables.users?.rows);
      await app.query("INSERT INTO users (email, name) VALUES ('after-restore@example.com', '복구 후')");
      await assert.rejects(app.query('DELETE FROM users'), /permission denied for table users/);
      await app.query("SELECT create_api_usages_partitions((now() AT TIME ZONE 'UTC')::date, 6)");
    } finally {
      await app.end();
    }
  });
});
