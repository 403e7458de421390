import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import type { Sequelize } from 'sequelize';
import { migrateDown, migrateUp } from '../../db/migrate';
import { EMPTY_SCRIPT, initModels, type Models } from '../../db/models';
import { ContentRepository } from '../../db/repositories/contents';
import { chargeContent, refundContent } from '../../db/repositories/ledger';
import { UsageRepository } from '../../db/repositories/usage';
import { createSequelize } from '../../db/sequelize';
import { connect, createScratchDatabase, seedAsOwner, type ScratchDatabase } from '../support/database';

/**
 * Money records outlive what they were for (issue 15, migration 012): deleting a project, or one
 * content, keeps its credit_transactions and api_usages rows with their references set to NULL.
 * The platform's own login role deletes, as the API does.
 */
describe('ledger and usage references on delete', () => {
  let db: ScratchDatabase;
  let owner: Client;
  let sequelize: Sequelize;
  let models: Models;
  let counter = 0;

  before(async () => {
    db = await createScratchDatabase('ledger_references');
    await migrateUp(db.url);
    await seedAsOwner(db.url);
    owner = await connect(db.url);
    sequelize = createSequelize({ databaseUrl: db.appUrl, databasePoolMax: 2 });
    models = initModels(sequelize);
  });

  after(async () => {
    await sequelize?.close();
    await owner?.end();
    await db?.drop();
  });

  /** A user with 3 credits and a project whose content was charged, refunded, charged again and called two providers (one job). */
  async function producedContent(): Promise<{ projectId: string; contentId: string; subscriptionId: string }> {
    counter += 1;
    const user = await models.User.create({ email: `ledger-${counter}@example.com`, name: 'Lee' } as never);
    const plan = await models.SubscriptionPlan.findOne({ where: { code: 'pro' } });
    const subscription = await models.Subscription.create({ user_id: user.id, plan_id: plan!.id, started_at: new Date(), credits_remaining: 3 } as never);
    const project = await models.Project.create({ user_id: user.id, name: `Project ${counter}`, vertical: 'tech' } as never);
    // Only the columns every schema since 012 has: the test also runs migrated down to it.
    const content = await models.Content.create({ project_id: project.id, title: '숏폼의 미래', script: EMPTY_SCRIPT, source_type: 'manual' } as never, { fields: ['id', 'project_id', 'title', 'script', 'source_type'], returning: ['id'] });
    const job = await models.ContentJob.create({ content_id: content.id, job_type: 'tts', status: 'completed', result: { run_id: 'r1' } } as never);
    await chargeContent(sequelize, content.id, 'produceContent run r1');
    await refundContent(sequelize, content.id, 'refund: cancelled');
    await chargeContent(sequelize, content.id, 'produceContent run r2');
    const usage = new UsageRepository(sequelize, models);
    const call = { inputUnits: 420, outputUnits: 1, durationMs: 900, estimatedCostUsd: 0.126 };
    await usage.insert({ user_id: user.id, organization_id: null, content_id: content.id, job_id: job.id }, { service: 'elevenlabs', operation: 'tts', ...call });
    await usage.insert({ user_id: user.id, organization_id: null, content_id: content.id, job_id: null }, { service: 'gemini', operation: 'script_generation', ...call, estimatedCostUsd: 0.002 });
    return { projectId: project.id, contentId: content.id, subscriptionId: subscription.id };
  }

  async function ledgerRows(subscriptionId: string) {
    const { rows } = await owner.query<{ transaction_type: string; credits_amount: number; content_id: string | null; description: string }>(
      'SELECT transaction_type, credits_amount, content_id, description FROM credit_transactions WHERE subscription_id = $1 ORDER BY created_at',
      [subscriptionId],
    );
    return rows;
  }

  async function usageRows(userId: string) {
    const { rows } = await owner.query<{ service: string; estimated_cost: string; content_id: string | null; job_id: string | null }>(
      'SELECT service, estimated_cost, content_id, job_id FROM api_usages WHERE user_id = $1 ORDER BY service',
      [userId],
    );
    return rows;
  }

  async function userOf(projectId: string): Promise<string> {
    const { rows } = await owner.query<{ user_id: string }>('SELECT user_id FROM projects WHERE id = $1', [projectId]);
    return rows[0]!.user_id;
  }

  it('deleting a project keeps every credit and usage row of its contents, unlinked', async () => {
    const { projectId, contentId, subscriptionId } = await producedContent();
    const userId = await userOf(projectId);
    const project = await models.Project.findByPk(projectId);
    await project!.destroy();

    assert.equal(await models.Content.count({ where: { id: contentId } }), 0, 'the content went with its project');
    assert.deepEqual(
      (await ledgerRows(subscriptionId)).map((r) => [r.transaction_type, r.credits_amount, r.content_id]),
      [['usage', -1, null], ['refund', 1, null], ['usage', -1, null]],
    );
    assert.deepEqual(await usageRows(userId), [
      { service: 'elevenlabs', estimated_cost: '0.126000', content_id: null, job_id: null },
      { service: 'gemini', estimated_cost: '0.002000', content_id: null, job_id: null },
    ]);
    assert.equal((await models.Subscription.findByPk(subscriptionId))?.credits_remaining, 2, 'the balance is what the ledger says');
  });

  it('deleting one content keeps its rows, unlinked, the ledger noting the deleted content', async () => {
    const { projectId, contentId, subscriptionId } = await producedContent();
    const userId = await userOf(projectId);
    await new ContentRepository(sequelize, models).deleteKeepingLedger(contentId);

    const ledger = await ledgerRows(subscriptionId);
    assert.deepEqual(ledger.map((r) => r.content_id), [null, null, null]);
    assert.equal(ledger[0]?.description, `produceContent run r1 (content ${contentId} deleted)`);
    assert.deepEqual((await usageRows(userId)).map((r) => [r.service, r.content_id, r.job_id]), [['elevenlabs', null, null], ['gemini', null, null]]);
  });

  /** The ON DELETE rule of a usage foreign key on api_usages and on each of its partitions ('n' SET NULL, 'a' NO ACTION). */
  async function usageKeyRules(constraint: string): Promise<Map<string, string>> {
    const { rows } = await owner.query<{ rel: string; rule: string }>(
      `SELECT conrelid::regclass::text AS rel, confdeltype AS rule FROM pg_constraint
        WHERE conname = $1 AND (conrelid = 'api_usages'::regclass OR conrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'api_usages'::regclass))`,
      [constraint],
    );
    return new Map(rows.map((r) => [r.rel, r.rule]));
  }

  async function partitions(): Promise<string[]> {
    const { rows } = await owner.query<{ rel: string }>("SELECT inhrelid::regclass::text AS rel FROM pg_inherits WHERE inhparent = 'api_usages'::regclass");
    return rows.map((r) => r.rel).sort();
  }

  it('holds the rule on every partition of api_usages, including one created later', async () => {
    await owner.query("SELECT create_api_usages_partitions('2040-01-01', 1)");
    const all = await partitions();
    assert.ok(all.includes('api_usages_2040_01') && all.includes('api_usages_default'));
    for (const constraint of ['fk_api_usages_contents', 'fk_api_usages_content_jobs']) {
      const rules = await usageKeyRules(constraint);
      assert.deepEqual([...rules.keys()].sort(), ['api_usages', ...all].sort(), `${constraint} is on the parent and every partition`);
      assert.ok([...rules.values()].every((rule) => rule === 'n'), `${constraint}: ${JSON.stringify([...rules])}`);
    }
  });

  it('migrating down restores the old rule everywhere (a content with ledger rows cannot be deleted), and up again', async () => {
    assert.deepEqual(await migrateDown(db.url, { to: '012_ledger_references_set_null' }), ['017_channel_status_reason', '016_webhooks', '015_single_steps', '014_recovery_drills', '013_upload_sessions', '012_ledger_references_set_null']);
    try {
      for (const constraint of ['fk_api_usages_contents', 'fk_api_usages_content_jobs']) {
        assert.ok([...(await usageKeyRules(constraint)).values()].every((rule) => rule === 'a'), constraint);
      }
      const { contentId } = await producedContent();
      await assert.rejects(owner.query('DELETE FROM contents WHERE id = $1', [contentId]), { code: '23503' });
    } finally {
      assert.deepEqual(await migrateUp(db.url), ['012_ledger_references_set_null', '013_upload_sessions', '014_recovery_drills', '015_single_steps', '016_webhooks', '017_channel_status_reason']);
    }
    for (const constraint of ['fk_api_usages_contents', 'fk_api_usages_content_jobs']) {
      assert.ok([...(await usageKeyRules(constraint)).values()].every((rule) => rule === 'n'), constraint);
    }
  });
});
