import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'pg';
import type { Sequelize } from 'sequelize';
import { migrateUp } from '../../db/migrate';
import { initModels } from '../../db/models';
import type { Models, PlanFeatures } from '../../db/models';
import { SUBSCRIPTION_PLANS, SYSTEM_TEMPLATES, seedReferenceData } from '../../db/seeds/reference-data';
import { createSequelize } from '../../db/sequelize';
import { connect, createScratchDatabase } from '../support/database';
import type { ScratchDatabase } from '../support/database';

const FEATURE_KEYS = ['advanced_templates', 'priority_rendering', 'api_access', 'white_label', 'analytics_pro', 'custom_voices', 'team_seats'];
const RESOLUTION_BY_FORMAT: Record<string, string> = { short: '1080x1920', mid: '1920x1080', long: '1920x1080' };

describe('reference data seed', () => {
  let db: ScratchDatabase;
  let sequelize: Sequelize;
  let models: Models;
  let client: Client;

  /** Both seeded tables exactly as stored, ids and timestamps included. */
  async function snapshot(): Promise<unknown[]> {
    const plans = await client.query('SELECT * FROM subscription_plans ORDER BY code');
    const templates = await client.query('SELECT * FROM templates ORDER BY id');
    return [plans.rows, templates.rows];
  }

  before(async () => {
    db = await createScratchDatabase('seeds_test');
    await migrateUp(db.url);
    client = await connect(db.url);
    sequelize = createSequelize({ databaseUrl: db.url, databasePoolMax: 3 });
    models = initModels(sequelize);
  });
  after(async () => {
    await sequelize?.close();
    await client?.end();
    await db?.drop();
  });

  it('two seeds racing on an empty database both succeed and load each row once', async () => {
    await Promise.all([seedReferenceData(sequelize), seedReferenceData(sequelize)]);
    const { rows } = await client.query<{ plans: number; templates: number }>(
      "SELECT (SELECT count(*)::int FROM subscription_plans) AS plans, (SELECT count(*)::int FROM templates WHERE template_type = 'system') AS templates",
    );
    assert.deepEqual(rows[0], { plans: SUBSCRIPTION_PLANS.length, templates: SYSTEM_TEMPLATES.length });
  });

  it('a second run leaves every row as it was, updated_at included', async () => {
    const first = await snapshot();
    await seedReferenceData(sequelize);
    assert.deepEqual(await snapshot(), first);
  });

  it('a rerun restores hand-edited values, keeps ids and usage counts', async () => {
    const [plansBefore] = (await snapshot()) as [{ id: string; code: string }[]];
    const template = SYSTEM_TEMPLATES[0] as (typeof SYSTEM_TEMPLATES)[number];
    await client.query("UPDATE subscription_plans SET price_monthly = 1, features = '{}' WHERE code = 'pro'");
    await client.query("UPDATE templates SET name = 'edited', usage_count = 5, template_data = '{}' WHERE id = $1", [template.id]);
    await seedReferenceData(sequelize);
    const pro = await models.SubscriptionPlan.findOne({ where: { code: 'pro' } });
    assert.equal(pro?.price_monthly, 49_900);
    assert.equal(pro?.features.team_seats, 3);
    assert.equal(pro?.id, plansBefore.find((plan) => plan.code === 'pro')?.id);
    const stored = await models.Template.findByPk(template.id);
    assert.deepEqual([stored?.name, stored?.usage_count, stored?.template_data], [template.name, 5, template.template_data]);
  });

  it('plans starter < pro < business in KRW, with every feature flag and flags only growing by tier', async () => {
    const plans = await models.SubscriptionPlan.findAll({ order: [['display_order', 'ASC']] });
    assert.deepEqual(plans.map((plan) => plan.code), ['starter', 'pro', 'business']);
    for (const plan of plans) {
      assert.equal(plan.currency, 'KRW');
      assert.equal(plan.is_active, true);
      assert.deepEqual(Object.keys(plan.features).sort(), [...FEATURE_KEYS].sort());
      assert.ok(plan.price_yearly !== null && plan.price_yearly < plan.price_monthly * 12, `${plan.code} yearly price saves nothing`);
    }
    for (let i = 1; i < plans.length; i++) {
      const [lower, higher] = [plans[i - 1], plans[i]] as [(typeof plans)[number], (typeof plans)[number]];
      for (const column of ['price_monthly', 'price_yearly', 'monthly_credits', 'max_channels', 'max_projects'] as const) {
        assert.ok((higher[column] ?? 0) > (lower[column] ?? 0), `${higher.code}.${column} is not above ${lower.code}`);
      }
      for (const flag of FEATURE_KEYS as (keyof PlanFeatures)[]) {
        assert.ok(Number(higher.features[flag]) >= Number(lower.features[flag]), `${higher.code} loses ${flag}`);
      }
      assert.ok(higher.features.team_seats > lower.features.team_seats);
    }
    assert.ok(Object.values((plans[2] as (typeof plans)[number]).features).every(Boolean), 'business has every feature');
  });

  it('system templates: one or more per format, unowned, with §3.5.1 template data and a Hangul font', async () => {
    const templates = await models.Template.findAll({ where: { template_type: 'system' } });
    assert.deepEqual([...new Set(templates.map((t) => t.content_format))].sort(), ['long', 'mid', 'short']);
    for (const template of templates) {
      const data = template.template_data;
      assert.equal(template.user_id, null);
      assert.equal(template.organization_id, null);
      assert.equal(data.resolution, RESOLUTION_BY_FORMAT[template.content_format as string], template.name);
      assert.ok(data.duration > 0);
      assert.deepEqual(Object.keys(data.elements).sort(), ['body', 'intro', 'outro']);
      assert.ok(data.elements.intro.duration + data.elements.outro.duration < data.duration);
      assert.deepEqual(data.fonts, ['Noto Sans CJK KR']);
      for (const colour of Object.values(data.colors)) assert.match(colour, /^#[0-9A-F]{6}$/i);
    }
  });
});
