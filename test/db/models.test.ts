import { randomBytes, randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'pg';
import { ValidationError } from 'sequelize';
import type { Model, ModelStatic, Sequelize } from 'sequelize';
import { migrateUp } from '../../db/migrate';
import * as enums from '../../db/models/enums';
import { User, initModels } from '../../db/models';
import type { Channel, Models } from '../../db/models';
import { SYSTEM_TEMPLATES } from '../../db/seeds/reference-data';
import { createSequelize } from '../../db/sequelize';
import { SecretBox, SecretBoxError } from '../../lib/secrets';
import { connect, createScratchDatabase } from '../support/database';
import type { ScratchDatabase } from '../support/database';

type AnyModel = ModelStatic<Model>;
type Row = Record<string, unknown>;

const key1 = randomBytes(32);
const key2 = randomBytes(32);
const box = new SecretBox(new Map([['k1', key1]]), 'k1');
const ACCESS = 'ya29.plain-access-token-0123456789';
const REFRESH = '1//plain-refresh-token-abcdef';

/** Sequelize's types for a column, written the way PostgreSQL's format_type() writes them. */
function pgType(type: unknown): string {
  const t = type as { key: string; options?: { length?: number; precision?: number; scale?: number }; type?: unknown };
  const simple: Record<string, string> = { UUID: 'uuid', TEXT: 'text', JSONB: 'jsonb', BOOLEAN: 'boolean', INTEGER: 'integer', DATE: 'timestamp with time zone' };
  if (t.key === 'STRING') return `character varying(${t.options?.length})`;
  if (t.key === 'DECIMAL') return `numeric(${t.options?.precision},${t.options?.scale})`;
  if (t.key === 'ARRAY') return `${pgType(t.type)}[]`;
  return simple[t.key] ?? t.key;
}

/** TS value lists tied to the CHECK constraints that enumerate the same column. */
const CHECKED_ENUMS: [string, string, readonly string[]][] = [
  ['users', 'status', enums.USER_STATUSES],
  ['organizations', 'plan_type', enums.PLAN_TYPES],
  ['organization_members', 'role', enums.ROLES],
  ['subscriptions', 'status', enums.SUBSCRIPTION_STATUSES],
  ['subscriptions', 'billing_cycle', enums.BILLING_CYCLES],
  ['projects', 'status', enums.PROJECT_STATUSES],
  ['projects', 'content_format', enums.CONTENT_FORMATS],
  ['channels', 'status', enums.CHANNEL_STATUSES],
  ['contents', 'status', enums.CONTENT_STATUSES],
  ['contents', 'source_type', enums.CONTENT_SOURCE_TYPES],
  ['contents', 'step', enums.CONTENT_STEPS],
  ['content_jobs', 'job_type', enums.JOB_TYPES],
  ['content_jobs', 'status', enums.JOB_STATUSES],
  ['content_uploads', 'status', enums.UPLOAD_STATUSES],
  ['templates', 'template_type', enums.TEMPLATE_TYPES],
  ['templates', 'content_format', enums.CONTENT_FORMATS],
  ['data_sources', 'source_type', enums.DATA_SOURCE_TYPES],
  ['credit_transactions', 'transaction_type', enums.TRANSACTION_TYPES],
  ['api_keys', 'role', enums.ROLES],
  ['organization_provider_keys', 'provider', enums.KEY_PROVIDERS],
  ['api_usages', 'billed_to', enums.BILLED_TO],
];
/** The SQL default role 'member' is allowed by the CHECK but never granted by the application. */
const CHECK_ONLY_VALUES: Record<string, string[]> = { 'organization_members.role': ['member'] };

describe('Sequelize models', () => {
  let db: ScratchDatabase;
  let sequelize: Sequelize;
  let models: Models;
  let client: Client;
  /** Ids of the rows earlier tests created; the tests run in order and build on each other. */
  const ids = { user: '', inviter: '', organization: '', plan: '', subscription: '', project: '', content: '', job: '', channel: '' };

  /** Creates a row, reads it back by primary key and checks every given field survived. */
  async function roundTrip(model: AnyModel, input: Row): Promise<Model> {
    const created = await model.create(input);
    const found = await model.findByPk(created.get('id') as string);
    assert.ok(found, `${model.name} row not found after create`);
    for (const [key, value] of Object.entries(input)) assert.deepEqual(found.get(key), value, `${model.name}.${key}`);
    return found;
  }

  async function rawRow(table: string, id: string): Promise<Row> {
    const { rows } = await client.query(`SELECT * FROM ${table} WHERE id = $1`, [id]);
    assert.equal(rows.length, 1);
    return rows[0] as Row;
  }

  before(async () => {
    db = await createScratchDatabase('models_test');
    await migrateUp(db.url);
    client = await connect(db.url);
    sequelize = createSequelize({ databaseUrl: db.url, databasePoolMax: 2 });
    models = initModels(sequelize);
  });
  after(async () => {
    await sequelize?.close();
    await client?.end();
    await db?.drop();
  });

  it('initModels binds once per Sequelize instance, and a second instance gets its own classes', async () => {
    assert.equal(initModels(sequelize), models);
    assert.equal(Object.keys(sequelize.models).length, 20);
    const other = createSequelize({ databaseUrl: db.url, databasePoolMax: 1 });
    try {
      const otherModels = initModels(other);
      assert.notEqual(otherModels.User, models.User);
      assert.equal(models.User.sequelize, sequelize);
      assert.equal(otherModels.User.sequelize, other);
      assert.equal(await otherModels.User.count(), await models.User.count());
      assert.ok(otherModels.User.build({ email: 'a@example.com', name: 'A' }) instanceof User);
    } finally {
      await other.close();
    }
  });

  it('every model matches its table: columns, types, NOT NULLs and primary key', async () => {
    for (const model of Object.values(models) as AnyModel[]) {
      const table = model.getTableName() as string;
      const { rows } = await client.query<{ name: string; type: string; not_null: boolean; pk: boolean }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
                EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY (i.indkey)) AS pk
         FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped`,
        [table],
      );
      const columns = new Map(rows.map((row) => [row.name, row]));
      assert.deepEqual(Object.keys(model.getAttributes()).sort(), [...columns.keys()].sort(), `${table} columns`);
      for (const [name, attribute] of Object.entries(model.getAttributes())) {
        const column = columns.get(name);
        assert.equal(attribute.field, name, `${table}.${name} maps to another column`);
        assert.equal(pgType(attribute.type), column?.type, `${table}.${name} type`);
        assert.equal(attribute.primaryKey === true, column?.pk, `${table}.${name} primary key`);
        if (attribute.allowNull === false) assert.ok(column?.not_null, `${table}.${name} is required by the model but nullable in SQL`);
      }
    }
  });

  it('associations mirror every foreign key with its ON DELETE rule, both ways', async () => {
    const { rows } = await client.query<{ fk: string }>(
      `SELECT conrelid::regclass || '.' || (SELECT attname FROM pg_attribute WHERE attrelid = conrelid AND attnum = conkey[1])
              || ' → ' || confrelid::regclass || ' ' || CASE confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'a' THEN 'NO ACTION' WHEN 'n' THEN 'SET NULL' ELSE confdeltype::text END AS fk
       FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace AND conparentid = 0`,
    );
    const belongsTo: string[] = [];
    const hasMany: string[] = [];
    for (const model of Object.values(models) as AnyModel[]) {
      for (const association of Object.values(model.associations)) {
        const { foreignKey, source, target, associationType } = association;
        const onDelete = (association as unknown as { options: { onDelete: string } }).options.onDelete;
        if (associationType === 'BelongsTo') belongsTo.push(`${source.getTableName()}.${foreignKey} → ${target.getTableName()} ${onDelete}`);
        if (associationType === 'HasMany') hasMany.push(`${target.getTableName()}.${foreignKey} → ${source.getTableName()} ${onDelete}`);
      }
    }
    const expected = rows.map((row) => row.fk).sort();
    assert.deepEqual(belongsTo.sort(), expected);
    assert.deepEqual(hasMany.sort(), expected);
  });

  it('the TS enumerations equal the CHECK constraints', async () => {
    for (const [table, column, values] of CHECKED_ENUMS) {
      const { rows } = await client.query<{ def: string }>(
        `SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c' AND pg_get_constraintdef(oid) ~ ('\\m' || $2 || '\\M')`,
        [table, column],
      );
      assert.equal(rows.length, 1, `${table}.${column}: expected one CHECK naming the column`);
      const allowed = [...(rows[0]?.def ?? '').matchAll(/'([^']+)'/g)].map((m) => m[1]);
      assert.deepEqual(allowed.sort(), [...values, ...(CHECK_ONLY_VALUES[`${table}.${column}`] ?? [])].sort(), `${table}.${column}`);
    }
  });

  it('round-trips users, organizations and members; SQL defaults come back on create', async () => {
    const user = await roundTrip(models.User, {
      email: 'minsu@example.com',
      password_hash: '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA',
      name: '김민수',
      avatar_url: 'https://cdn.example.com/a.png',
      phone: '010-1234-5678',
      oauth_provider: null,
      oauth_id: null,
      status: 'active',
      email_verified: true,
      locale: 'ko',
      timezone: 'Asia/Seoul',
      notification_settings: { content_ready: true, weekly_report: false },
      last_login_at: new Date('2025-01-02T03:04:05.678Z'),
      deleted_at: null,
    });
    ids.user = user.get('id') as string;
    const inviter = await models.User.create({ email: 'lead@example.com', name: '이지은', oauth_provider: 'google', oauth_id: 'g-1' });
    assert.equal(inviter.status, 'active');
    assert.equal(inviter.email_verified, false);
    assert.deepEqual(inviter.notification_settings, {});
    ids.inviter = inviter.id;
    ids.organization = (await roundTrip(models.Organization, {
      name: '헬스케어 팀',
      slug: 'health-team',
      logo_url: null,
      plan_type: 'business',
      settings: { default_language: 'ko', review: { required: true, reviewers: [ids.inviter] } },
      brand_colors: { primary: '#FF6B35', secondary: '#004E89' },
      custom_domain: 'video.example.com',
      status: 'active',
    })).get('id') as string;
    const member = await roundTrip(models.OrganizationMember, {
      organization_id: ids.organization,
      user_id: ids.user,
      role: 'editor',
      permissions: { publish: true },
      invited_by: ids.inviter,
      joined_at: new Date('2025-02-03T04:05:06.789Z'),
    });
    await models.OrganizationMember.create({ organization_id: ids.organization, user_id: ids.inviter, role: 'owner' });
    assert.ok(member.get('joined_at') instanceof Date);
    await assert.rejects(models.OrganizationMember.create({ organization_id: ids.organization, user_id: ids.inviter } as never), ValidationError);
  });

  it('round-trips plans, subscriptions and the credit ledger, DECIMALs as numbers', async () => {
    const plan = await roundTrip(models.SubscriptionPlan, {
      name: 'Test',
      code: 'test',
      price_monthly: 12345.67,
      price_yearly: 123456.78,
      currency: 'KRW',
      monthly_credits: 10,
      max_channels: 2,
      max_projects: 4,
      features: { advanced_templates: true, priority_rendering: false, api_access: false, white_label: false, analytics_pro: true, custom_voices: false, team_seats: 2 },
      is_active: true,
      display_order: 9,
    });
    ids.plan = plan.get('id') as string;
    assert.equal((await rawRow('subscription_plans', ids.plan)).price_monthly, '12345.67');
    ids.subscription = (await roundTrip(models.Subscription, {
      user_id: ids.user,
      plan_id: ids.plan,
      status: 'active',
      billing_cycle: 'yearly',
      started_at: new Date('2025-01-01T00:00:00.000Z'),
      current_period_start: new Date('2025-01-01T00:00:00.000Z'),
      current_period_end: new Date('2026-01-01T00:00:00.000Z'),
      cancelled_at: null,
      payment_method_id: 'pm_1',
      stripe_subscription_id: 'sub_1',
      credits_used: 3,
      credits_remaining: 7,
    })).get('id') as string;
    const orgSubscription = await models.Subscription.create({ organization_id: ids.organization, plan_id: ids.plan, started_at: new Date(), credits_remaining: 10 });
    assert.equal(orgSubscription.status, 'active');
    assert.equal(orgSubscription.credits_used, 0);
  });

  it('round-trips projects, contents (JSONB, TEXT[]), jobs, templates and every data source type', async () => {
    ids.project = (await roundTrip(models.Project, {
      user_id: ids.user,
      organization_id: null,
      name: '주식 브리핑',
      description: '매일 아침 증시 요약',
      vertical: 'finance',
      sub_category: 'stocks',
      content_format: 'short',
      language: 'ko',
      target_platforms: ['youtube_shorts', 'tiktok'],
      tone: 'urgent',
      style_preset: { voice: 'ko-KR-female', speed: 1.1 },
      status: 'active',
      is_auto_publish: true,
    })).get('id') as string;
    const orgProject = await models.Project.create({ organization_id: ids.organization, name: '시니어 건강', vertical: 'senior_health' });
    assert.deepEqual(orgProject.target_platforms, ['youtube_shorts']);
    assert.equal(orgProject.content_format, 'short');
    const content = await roundTrip(models.Content, {
      project_id: ids.project,
      title: '오늘의 증시',
      description: null,
      script: { hook: '코스피가 3% 올랐습니다', body: ['첫째, 반도체', '둘째, 환율'], cta: '구독해 주세요', full_text: '코스피가 3% 올랐습니다. 첫째, 반도체. 둘째, 환율.' },
      tags: ['주식', 'AI', 'with "quotes", commas'],
      thumbnail_url: 'https://cdn.example.com/t.jpg',
      media_assets: [
        { type: 'image', url: 's3://autoclip/a.png', source: 'generated', timestamp: 0 },
        { type: 'video', url: 's3://autoclip/b.mp4', source: 'stock', timestamp: 5, duration: 4.5 },
      ],
      audio_url: 's3://autoclip/a.wav',
      audio_duration: 42.5,
      video_url: 's3://autoclip/v.mp4',
      video_duration: 45.25,
      video_resolution: '1080x1920',
      status: 'ready',
      safety_score: 0.97,
      safety_flags: [{ category: 'finance_advice', severity: 'low' }],
      source_type: 'rss',
      source_url: 'https://news.example.com/1',
      source_data: { guid: 'x', items: [1, 'two', null, true] },
      published_at: null,
    });
    ids.content = content.get('id') as string;
    assert.equal(typeof content.get('safety_score'), 'number');
    const draft = await models.Content.create({ project_id: ids.project, title: '초안', script: { hook: '', body: [], cta: '', full_text: '' } });
    assert.equal(draft.status, 'draft');
    assert.deepEqual([draft.media_assets, draft.safety_flags, draft.tags, draft.audio_duration], [[], [], null, null]);
    ids.job = (await roundTrip(models.ContentJob, {
      content_id: ids.content,
      job_type: 'render',
      status: 'running',
      progress: 40,
      started_at: new Date('2025-03-01T10:00:00.000Z'),
      completed_at: null,
      result: { output_key: 'renders/x.mp4', frames: 1350 },
      error_message: null,
      retry_count: 1,
      external_job_id: 'cm_1',
    })).get('id') as string;
    await roundTrip(models.CreditTransaction, {
      subscription_id: ids.subscription,
      transaction_type: 'usage',
      credits_amount: -1,
      credits_balance: 6,
      content_id: ids.content,
      description: '영상 1건 생성',
    });
    const templateData = (SYSTEM_TEMPLATES[0] as (typeof SYSTEM_TEMPLATES)[number]).template_data;
    await roundTrip(models.Template, {
      user_id: ids.user,
      organization_id: null,
      name: '내 템플릿',
      description: null,
      thumbnail_url: null,
      template_type: 'custom',
      vertical: 'finance',
      content_format: 'short',
      template_data: templateData,
      is_active: true,
      is_premium: false,
    });
    await models.Template.create({ organization_id: ids.organization, name: '팀 템플릿', template_type: 'premium', template_data: templateData, is_premium: true });
    const configs = {
      youtube_channel: { channel_id: 'UCxxxx', extract_mode: 'highlights', min_duration: 60, max_age_days: 30 },
      rss: { feed_url: 'https://news.example.com/rss', filter_keywords: ['AI', '기술'] },
      api: { api_type: 'yahoo_finance', symbols: ['AAPL', 'GOOGL'], data_type: 'daily_summary' },
      keyword: { keywords: ['건강', '시니어'], sources: ['google_news', 'pubmed'] },
    } as const;
    for (const [source_type, config] of Object.entries(configs)) {
      const source = await roundTrip(models.DataSource, {
        project_id: ids.project,
        name: source_type,
        source_type,
        config,
        schedule_cron: '0 9 * * *',
        is_active: true,
        last_fetched_at: null,
      });
      assert.deepEqual((source as InstanceType<Models['DataSource']>).spec(), { source_type, config });
      await roundTrip(models.DataSourceItem, {
        data_source_id: source.get('id'),
        item_key: `${source_type}:item-1`,
        content_id: ids.content,
        title: '시니어 건강 체크리스트',
        url: 'https://news.example.com/articles/1',
        published_at: new Date('2025-03-08T07:30:00Z'),
      });
    }
    await assert.rejects(
      models.DataSourceItem.create({ data_source_id: ids.project, item_key: 'orphan', content_id: null, title: null, url: null, published_at: null }),
      /foreign key/,
    );
    await assert.rejects(
      models.DataSource.create({ project_id: ids.project, name: 'bad', source_type: 'rss', config: { keywords: ['x'], sources: [] } }),
      /a rss data source config needs feed_url/,
    );
  });

  it('api_usages: inserts land in the month partition, and saves address the row by (id, created_at)', async () => {
    const usage = await roundTrip(models.ApiUsage, {
      user_id: ids.user,
      organization_id: ids.organization,
      service: 'gemini',
      operation: 'text_generation',
      input_units: 1500,
      output_units: 800,
      duration_ms: 2500,
      estimated_cost: 0.001234,
      content_id: ids.content,
      job_id: ids.job,
      status_code: 200,
      error_message: null,
    });
    const old = await models.ApiUsage.create({ service: 'openai', operation: 'tts', created_at: new Date('2001-01-15T00:00:00.000Z') });
    assert.deepEqual([...models.ApiUsage.primaryKeyAttributes].sort(), ['created_at', 'id']);
    const { rows } = await client.query<{ id: string; partition: string }>('SELECT id, tableoid::regclass::text AS partition FROM api_usages');
    const now = new Date();
    const month = `api_usages_${now.getUTCFullYear()}_${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
    assert.deepEqual(new Map(rows.map((r) => [r.id, r.partition])), new Map([[usage.get('id'), month], [old.id, 'api_usages_default']]));
    old.status_code = 429;
    await old.save();
    const { rows: codes } = await client.query<{ id: string; status_code: number }>('SELECT id, status_code FROM api_usages ORDER BY status_code');
    assert.deepEqual(codes.map((r) => r.status_code), [200, 429]);
  });

  it('channel tokens: only ciphertext bound to the row is stored, and it opens with the box', async () => {
    const channel = models.Channel.build({
      project_id: ids.project,
      platform: 'youtube',
      channel_id: 'UC123',
      channel_name: '증시 채널',
      upload_settings: { default_visibility: 'private', auto_publish: false, schedule_time: '09:00', timezone: 'Asia/Seoul', made_for_kids: false },
    });
    const expiresAt = new Date('2025-06-01T00:00:00.000Z');
    channel.setTokens(box, { accessToken: ACCESS, refreshToken: REFRESH, expiresAt });
    await channel.save();
    ids.channel = channel.id;
    const raw = await rawRow('channels', channel.id);
    for (const column of ['access_token', 'refresh_token']) {
      assert.match(raw[column] as string, /^v1\.k1\./);
      assert.ok(!JSON.stringify(raw).includes(ACCESS) && !JSON.stringify(raw).includes(REFRESH));
    }
    const loaded = (await models.Channel.findByPk(channel.id)) as Channel;
    assert.equal(loaded.readAccessToken(box), ACCESS);
    assert.equal(loaded.readRefreshToken(box), REFRESH);
    assert.deepEqual(loaded.token_expires_at, expiresAt);
    assert.deepEqual(loaded.upload_settings.made_for_kids, false);

    const [sealedAccess, sealedRefresh] = [raw.access_token as string, raw.refresh_token as string];
    const key = { id: channel.id, project_id: ids.project, platform: 'youtube', channel_id: 'UC123' } as const;
    const swapped = models.Channel.build({ ...key, access_token: sealedRefresh, refresh_token: sealedAccess });
    assert.throws(() => swapped.readAccessToken(box), SecretBoxError);
    assert.throws(() => swapped.readRefreshToken(box), SecretBoxError);
    const other = await models.Channel.create({ project_id: ids.project, platform: 'tiktok', channel_id: 'tt-1', access_token: sealedAccess, refresh_token: sealedRefresh });
    assert.throws(() => other.readAccessToken(box), (e: unknown) => e instanceof SecretBoxError && e.code === 'authentication_failed');
    assert.throws(() => other.readRefreshToken(box), SecretBoxError);
    await assert.rejects(models.Channel.create({ project_id: ids.project, platform: 'instagram', channel_id: 'ig-1', access_token: ACCESS }), ValidationError);
    await assert.rejects(loaded.update({ refresh_token: REFRESH }), ValidationError);
  });

  it('no serialisation carries a token, its ciphertext or a password hash', async () => {
    const channel = (await models.Channel.findByPk(ids.channel)) as Channel;
    const ciphertext = channel.access_token as string;
    const json = channel.toJSON() as Row;
    assert.ok(!('access_token' in json) && !('refresh_token' in json));
    assert.equal(json.channel_id, 'UC123');
    const user = (await models.User.findByPk(ids.user)) as User;
    assert.ok(user.password_hash?.startsWith('$argon2id$'));
    assert.ok(!('password_hash' in (user.toJSON() as Row)));
    const project = await models.Project.findByPk(ids.project, { include: ['channels', { association: 'user', include: ['memberships'] }] });
    const organization = await models.Organization.findByPk(ids.organization, { include: [{ association: 'members', include: ['user', 'inviter'] }] });
    const shown = [project, organization, channel, channel.get({ plain: true })].map((value) => JSON.stringify(value));
    shown.push(inspect(channel, { depth: 5 }), inspect(user));
    for (const text of shown) {
      for (const secret of [ACCESS, REFRESH, ciphertext, 'access_token', 'refresh_token', 'password_hash', '$argon2id$']) {
        assert.ok(!text.includes(secret), `${secret} leaked`);
      }
    }
    assert.ok(JSON.stringify(project).includes('UC123'));
  });

  it('channel tokens rotate to the active key, and a refresh keeps the stored refresh token', async () => {
    const rotating = new SecretBox(new Map([['k1', key1], ['k2', key2]]), 'k2');
    const channel = (await models.Channel.findByPk(ids.channel)) as Channel;
    assert.equal(channel.tokensNeedRotation(rotating), true);
    assert.equal(channel.rotateTokens(rotating), true);
    await channel.save();
    const raw = await rawRow('channels', ids.channel);
    assert.match(raw.access_token as string, /^v1\.k2\./);
    assert.match(raw.refresh_token as string, /^v1\.k2\./);
    const onlyNew = new SecretBox(new Map([['k2', key2]]), 'k2');
    const reloaded = (await models.Channel.findByPk(ids.channel)) as Channel;
    assert.equal(reloaded.readAccessToken(onlyNew), ACCESS);
    assert.equal(reloaded.tokensNeedRotation(onlyNew), false);
    assert.equal(reloaded.rotateTokens(onlyNew), false);
    reloaded.setTokens(onlyNew, { accessToken: 'new-access' });
    await reloaded.save();
    await reloaded.reload();
    assert.deepEqual([reloaded.readAccessToken(onlyNew), reloaded.readRefreshToken(onlyNew)], ['new-access', REFRESH]);
    reloaded.clearTokens();
    assert.deepEqual([reloaded.readAccessToken(onlyNew), reloaded.readRefreshToken(onlyNew), reloaded.token_expires_at], [null, null, null]);
  });

  it('every association loads with include, matching the rows SQL finds', async () => {
    const metrics = { views: 10, likes: 1, comments: 0, shares: 0, last_updated: '2025-01-01T00:00:00Z' };
    await models.ContentUpload.create({ content_id: ids.content, channel_id: ids.channel, status: 'published', metrics });
    await models.StripeCustomer.create({ user_id: ids.user, organization_id: null, stripe_customer_id: 'cus_user' });
    await models.StripeCustomer.create({ user_id: null, organization_id: ids.organization, stripe_customer_id: 'cus_organization' });
    const key = { created_by: ids.user, name: 'k', secret_hash: 'a'.repeat(64), role: 'viewer' as const, expires_at: null };
    await models.ApiKey.create({ ...key, user_id: ids.user, organization_id: null, prefix: 'aaaaaaaaaaaa' });
    await models.ApiKey.create({ ...key, user_id: null, organization_id: ids.organization, prefix: 'bbbbbbbbbbbb' });
    const providerKey = models.OrganizationProviderKey.build({ id: randomUUID(), organization_id: ids.organization, provider: 'elevenlabs', sealed_key: '', key_hint: '', created_by: ids.user });
    providerKey.setKey(new SecretBox(new Map([['k1', randomBytes(32)]]), 'k1'), 'sk_organization_key');
    await providerKey.save();
    assert.equal(providerKey.key_hint, '_key');
    assert.equal(JSON.stringify(providerKey).includes('sealed_key'), false);
    const endpoint = { url: 'https://hooks.example.com/in', event_types: ['content.ready' as const], description: null, secret: 'v1.k1.sealed', created_by: ids.user };
    const personal = await models.WebhookEndpoint.create({ ...endpoint, id: randomUUID(), user_id: ids.user, organization_id: null });
    await models.WebhookEndpoint.create({ ...endpoint, id: randomUUID(), user_id: null, organization_id: ids.organization });
    await models.WebhookDelivery.create({ endpoint_id: personal.id, event_id: 'content.ready:c:r', event_type: 'content.ready', payload: { type: 'content.ready' } });
    assert.equal(JSON.stringify(personal).includes('secret'), false);
    for (const model of Object.values(models) as AnyModel[]) {
      const aliases = Object.keys(model.associations);
      const seen = new Set<string>();
      for (const row of await model.findAll({ include: aliases })) {
        for (const alias of aliases) {
          const association = (model.associations as Record<string, (typeof model.associations)[string]>)[alias];
          assert.ok(association);
          const loaded = row.get(alias) as Model | Model[] | null;
          const table = association.target.getTableName() as string;
          if (association.associationType === 'BelongsTo') {
            assert.equal(loaded === null ? null : (loaded as Model).get('id'), row.get(association.foreignKey), `${model.name}.${alias}`);
            if (loaded !== null) seen.add(alias);
          } else {
            const { rows } = await client.query<{ id: string }>(`SELECT id FROM ${table} WHERE ${association.foreignKey} = $1`, [row.get('id')]);
            const loadedIds = (loaded as Model[]).map((child) => child.get('id'));
            assert.deepEqual(loadedIds.sort(), rows.map((r) => r.id).sort(), `${model.name}.${alias}`);
            if (loadedIds.length > 0) seen.add(alias);
          }
        }
      }
      assert.deepEqual([...seen].sort(), [...aliases].sort(), `${model.name}: associations without a row to load in this test`);
    }
  });
});
