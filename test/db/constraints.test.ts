import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'pg';
import { migrateUp } from '../../db/migrate';
import { connect, createScratchDatabase } from '../support/database';
import type { ScratchDatabase } from '../support/database';

/** Every foreign key: table(columns) → referenced table, ON DELETE rule as the seed writes it (the ledgers' references to contents and jobs: SET NULL, migration 012). */
const EXPECTED_FOREIGN_KEYS = [
  'fk_api_keys_organizations api_keys(organization_id) → organizations CASCADE',
  'fk_api_keys_users api_keys(user_id) → users CASCADE',
  'fk_api_keys_users_created_by api_keys(created_by) → users CASCADE',
  'fk_api_usages_content_jobs api_usages(job_id) → content_jobs SET NULL',
  'fk_api_usages_contents api_usages(content_id) → contents SET NULL',
  'fk_api_usages_organizations api_usages(organization_id) → organizations NO ACTION',
  'fk_api_usages_users api_usages(user_id) → users NO ACTION',
  'fk_channels_projects channels(project_id) → projects CASCADE',
  'fk_content_jobs_contents content_jobs(content_id) → contents CASCADE',
  'fk_content_uploads_channels content_uploads(channel_id) → channels CASCADE',
  'fk_content_uploads_contents content_uploads(content_id) → contents CASCADE',
  'fk_contents_projects contents(project_id) → projects CASCADE',
  'fk_credit_transactions_contents credit_transactions(content_id) → contents SET NULL',
  'fk_credit_transactions_subscriptions credit_transactions(subscription_id) → subscriptions NO ACTION',
  'fk_data_source_items_contents data_source_items(content_id) → contents SET NULL',
  'fk_data_source_items_data_sources data_source_items(data_source_id) → data_sources CASCADE',
  'fk_data_sources_projects data_sources(project_id) → projects CASCADE',
  'fk_organization_members_organizations organization_members(organization_id) → organizations CASCADE',
  'fk_organization_members_users organization_members(user_id) → users CASCADE',
  'fk_organization_members_users_invited_by organization_members(invited_by) → users NO ACTION',
  'fk_organization_provider_keys_organizations organization_provider_keys(organization_id) → organizations CASCADE',
  'fk_organization_provider_keys_users organization_provider_keys(created_by) → users SET NULL',
  'fk_projects_organizations projects(organization_id) → organizations CASCADE',
  'fk_projects_users projects(user_id) → users CASCADE',
  'fk_stripe_customers_organizations stripe_customers(organization_id) → organizations CASCADE',
  'fk_stripe_customers_users stripe_customers(user_id) → users CASCADE',
  'fk_subscriptions_organizations subscriptions(organization_id) → organizations CASCADE',
  'fk_subscriptions_subscription_plans subscriptions(plan_id) → subscription_plans NO ACTION',
  'fk_subscriptions_users subscriptions(user_id) → users CASCADE',
  'fk_templates_organizations templates(organization_id) → organizations CASCADE',
  'fk_templates_users templates(user_id) → users CASCADE',
  'fk_webhook_deliveries_webhook_endpoints webhook_deliveries(endpoint_id) → webhook_endpoints CASCADE',
  'fk_webhook_endpoints_organizations webhook_endpoints(organization_id) → organizations CASCADE',
  'fk_webhook_endpoints_users webhook_endpoints(user_id) → users CASCADE',
  'fk_webhook_endpoints_users_created_by webhook_endpoints(created_by) → users SET NULL',
];

/** table.column → [a value the CHECK refuses, every value it must accept]. */
const CHECKED_COLUMNS: Record<string, [string | number, (string | number)[]]> = {
  'users.status': ['banned', ['active', 'suspended', 'deleted']],
  'organizations.plan_type': ['free', ['starter', 'pro', 'business', 'enterprise']],
  'organization_members.role': ['superuser', ['owner', 'admin', 'editor', 'viewer', 'member']],
  'subscriptions.status': ['trial', ['active', 'paused', 'cancelled', 'expired']],
  'subscriptions.billing_cycle': ['weekly', ['monthly', 'yearly']],
  'projects.status': ['deleted', ['active', 'paused', 'archived']],
  'projects.content_format': ['huge', ['short', 'mid', 'long']],
  'channels.status': ['broken', ['connected', 'disconnected', 'error']],
  'contents.status': ['done', ['draft', 'processing', 'ready', 'published', 'failed']],
  'contents.source_type': ['email', ['api', 'rss', 'manual', 'url']],
  'contents.safety_score': [1.01, [0, 0.5, 1]],
  'content_jobs.status': ['done', ['pending', 'running', 'completed', 'failed', 'cancelled']],
  'content_jobs.job_type': ['transcode', ['script_generation', 'safety_check', 'tts', 'image_gen', 'render', 'upload']],
  'content_jobs.progress': [101, [0, 50, 100]],
  'content_uploads.status': ['done', ['pending', 'uploading', 'published', 'failed', 'scheduled']],
  'templates.template_type': ['shared', ['system', 'custom', 'premium']],
  'templates.content_format': ['huge', ['short', 'mid', 'long']],
  'data_sources.source_type': ['email', ['youtube_channel', 'rss', 'api', 'keyword']],
  'credit_transactions.transaction_type': ['gift', ['usage', 'refund', 'bonus', 'reset']],
};

describe('schema constraints', () => {
  let db: ScratchDatabase;
  let client: Client;

  async function insert(table: string, values: Record<string, unknown>): Promise<string> {
    const columns = Object.keys(values);
    const { rows } = await client.query<{ id: string }>(
      `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING id`,
      Object.values(values),
    );
    assert.ok(rows[0]);
    return rows[0].id;
  }

  async function count(table: string, where: string, id: string): Promise<number> {
    const { rows } = await client.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where} = $1`, [id]);
    return rows[0]?.n ?? -1;
  }

  let emailCounter = 0;
  const newUser = () => insert('users', { email: `user${++emailCounter}@example.com`, name: 'Kim' });
  const newOrganization = () => insert('organizations', { name: 'Team', slug: `team-${++emailCounter}` });
  const newProject = (userId: string) => insert('projects', { user_id: userId, name: 'Health', vertical: 'senior_health' });
  const newContent = (projectId: string) => insert('contents', { project_id: projectId, title: '혈압 관리', script: '{"hook":"h"}' });
  const newChannel = (projectId: string, platform = 'youtube', channelId = 'UC1') =>
    insert('channels', { project_id: projectId, platform, channel_id: channelId });
  let planId: string;

  before(async () => {
    db = await createScratchDatabase('constraints_test');
    await migrateUp(db.url);
    client = await connect(db.url);
    planId = await insert('subscription_plans', { name: 'Pro', code: 'pro', price_monthly: 29000, monthly_credits: 100 });
  });
  after(async () => {
    await client?.end();
    await db?.drop();
  });

  it('names every foreign key fk_{table}_{ref_table} with the ON DELETE rule of the seed', async () => {
    const { rows } = await client.query<{ line: string }>(
      `SELECT line FROM (SELECT conname || ' ' || conrelid::regclass || '(' || (
                SELECT string_agg(attname, ', ' ORDER BY attnum) FROM pg_attribute WHERE attrelid = conrelid AND attnum = ANY (conkey)
              ) || ') → ' || confrelid::regclass || ' '
              || CASE confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'a' THEN 'NO ACTION' WHEN 'n' THEN 'SET NULL' ELSE confdeltype::text END AS line
       FROM pg_constraint
       WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND conparentid = 0) AS fk
       ORDER BY line COLLATE "C"`,
    );
    assert.deepEqual(rows.map((r) => r.line), EXPECTED_FOREIGN_KEYS);
  });

  it('chk_owner: a subscription belongs to exactly one user or one organization', async () => {
    const userId = await newUser();
    const organizationId = await newOrganization();
    const base = { plan_id: planId, started_at: new Date(), credits_remaining: 100 };
    await assert.rejects(insert('subscriptions', base), { code: '23514', constraint: 'chk_owner' });
    await assert.rejects(insert('subscriptions', { ...base, user_id: userId, organization_id: organizationId }), {
      code: '23514',
      constraint: 'chk_owner',
    });
    await insert('subscriptions', { ...base, user_id: userId });
    await insert('subscriptions', { ...base, organization_id: organizationId });
  });

  it('refuses a second user with the same email', async () => {
    await insert('users', { email: 'same@example.com', name: 'A' });
    await assert.rejects(insert('users', { email: 'same@example.com', name: 'B' }), { code: '23505', constraint: 'users_email_key' });
  });

  it('deleting a user removes its projects, their contents, jobs, channels, uploads and sources', async () => {
    const userId = await newUser();
    const projectId = await newProject(userId);
    const contentId = await newContent(projectId);
    const jobId = await insert('content_jobs', { content_id: contentId, job_type: 'tts' });
    const channelId = await newChannel(projectId);
    const uploadId = await insert('content_uploads', { content_id: contentId, channel_id: channelId });
    const sourceId = await insert('data_sources', { project_id: projectId, name: 'news', source_type: 'rss', config: '{}' });
    const templateId = await insert('templates', { user_id: userId, name: 'mine', template_type: 'custom', template_data: '{}' });
    const subscriptionId = await insert('subscriptions', { user_id: userId, plan_id: planId, started_at: new Date(), credits_remaining: 1 });

    await client.query('DELETE FROM users WHERE id = $1', [userId]);
    for (const [table, id] of Object.entries({
      projects: projectId,
      contents: contentId,
      content_jobs: jobId,
      channels: channelId,
      content_uploads: uploadId,
      data_sources: sourceId,
      templates: templateId,
      subscriptions: subscriptionId,
    })) {
      assert.equal(await count(table, 'id', id), 0, `${table} row survived the user's deletion`);
    }
  });

  it('deleting an organization removes its members but not the member users', async () => {
    const organizationId = await newOrganization();
    const userId = await newUser();
    await insert('organization_members', { organization_id: organizationId, user_id: userId, role: 'owner' });
    const projectId = await insert('projects', { organization_id: organizationId, name: 'Team', vertical: 'finance' });
    await assert.rejects(insert('organization_members', { organization_id: organizationId, user_id: userId }), { code: '23505' });

    await client.query('DELETE FROM organizations WHERE id = $1', [organizationId]);
    assert.equal(await count('organization_members', 'organization_id', organizationId), 0);
    assert.equal(await count('projects', 'id', projectId), 0);
    assert.equal(await count('users', 'id', userId), 1);
  });

  it('keeps the seed’s missing ON DELETE rules: an inviter or a used plan cannot be deleted', async () => {
    const organizationId = await newOrganization();
    const inviter = await newUser();
    await insert('organization_members', { organization_id: organizationId, user_id: await newUser(), invited_by: inviter });
    await insert('subscriptions', { organization_id: organizationId, plan_id: planId, started_at: new Date(), credits_remaining: 1 });
    await assert.rejects(client.query('DELETE FROM users WHERE id = $1', [inviter]), {
      code: '23503',
      constraint: 'fk_organization_members_users_invited_by',
    });
    await assert.rejects(client.query('DELETE FROM subscription_plans WHERE id = $1', [planId]), {
      code: '23503',
      constraint: 'fk_subscriptions_subscription_plans',
    });
  });

  it('allows one channel per (project, platform, platform channel id)', async () => {
    const projectId = await newProject(await newUser());
    await newChannel(projectId, 'youtube', 'UC42');
    await newChannel(projectId, 'tiktok', 'UC42');
    await newChannel(await newProject(await newUser()), 'youtube', 'UC42');
    await assert.rejects(newChannel(projectId, 'youtube', 'UC42'), { code: '23505', constraint: 'idx_channels_unique' });
  });

  it('CHECKs the enumerated columns, the 0..1 safety score and the 0..100 progress', async () => {
    const userId = await newUser();
    const organizationId = await newOrganization();
    const projectId = await newProject(userId);
    const contentId = await newContent(projectId);
    const subscriptionId = await insert('subscriptions', { user_id: userId, plan_id: planId, started_at: new Date(), credits_remaining: 1 });
    const rows: Record<string, string> = {
      users: userId,
      organizations: organizationId,
      organization_members: await insert('organization_members', { organization_id: organizationId, user_id: userId }),
      subscriptions: subscriptionId,
      projects: projectId,
      channels: await newChannel(projectId),
      contents: contentId,
      content_jobs: await insert('content_jobs', { content_id: contentId, job_type: 'render' }),
      content_uploads: await insert('content_uploads', { content_id: contentId, channel_id: await newChannel(projectId, 'tiktok') }),
      templates: await insert('templates', { name: 'system', template_type: 'system', template_data: '{}' }),
      data_sources: await insert('data_sources', { project_id: projectId, name: 'kw', source_type: 'keyword', config: '{}' }),
      credit_transactions: await insert('credit_transactions', {
        subscription_id: subscriptionId,
        transaction_type: 'bonus',
        credits_amount: 5,
        credits_balance: 6,
      }),
    };
    for (const [target, [refused, accepted]] of Object.entries(CHECKED_COLUMNS)) {
      const [table = '', column = ''] = target.split('.');
      const update = (value: string | number) => client.query(`UPDATE ${table} SET ${column} = $1 WHERE id = $2`, [value, rows[table]]);
      await assert.rejects(update(refused), { code: '23514' }, `${target} accepted ${refused}`);
      for (const value of accepted) {
        const result = await update(value);
        assert.equal(result.rowCount, 1, `${target} = ${value}`);
      }
    }
    await assert.rejects(client.query('UPDATE content_jobs SET progress = -1 WHERE id = $1', [rows.content_jobs]), {
      constraint: 'chk_content_jobs_progress',
    });
    await assert.rejects(client.query('UPDATE contents SET safety_score = -0.01 WHERE id = $1', [contentId]), {
      constraint: 'chk_contents_safety_score',
    });
  });

  it('sets updated_at on every update, whatever the writer sends, on every table that has it', async () => {
    const userId = await insert('users', { email: 'clock@example.com', name: 'Old', updated_at: '2000-01-01T00:00:00Z' });
    await client.query("UPDATE users SET name = 'New', updated_at = '2001-01-01T00:00:00Z' WHERE id = $1", [userId]);
    const { rows } = await client.query<{ fresh: boolean }>(
      "SELECT updated_at > NOW() - interval '1 minute' AS fresh FROM users WHERE id = $1",
      [userId],
    );
    assert.equal(rows[0]?.fresh, true);

    const missing = await client.query<{ table_name: string }>(
      `SELECT c.table_name FROM information_schema.columns c
       JOIN pg_class t ON t.relname = c.table_name AND t.relnamespace = 'public'::regnamespace
       WHERE c.table_schema = 'public' AND c.column_name = 'updated_at'
         AND NOT EXISTS (SELECT 1 FROM pg_trigger g WHERE g.tgrelid = t.oid AND g.tgfoid = 'set_updated_at'::regproc)`,
    );
    assert.deepEqual(missing.rows, []);
    const covered = await client.query<{ n: number }>("SELECT count(*)::int AS n FROM pg_trigger WHERE tgfoid = 'set_updated_at'::regproc");
    assert.equal(covered.rows[0]?.n, 11);
  });
});
