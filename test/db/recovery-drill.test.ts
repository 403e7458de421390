import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { migrateUp } from '../../db/migrate';
import { pgBackRestSetupOf } from '../../db/pitr';
import { runRecoveryDrill } from '../../db/recovery-drill';
import type { BaseBackupResult, DrillSummary } from '../../activities/recovery';
import { pgBackRestInfo } from '../../db/pitr';
import type { AppContext } from '../../control/app-context';
import { ensureUpkeepSchedules } from '../../control/upkeep-schedules';
import { loadConfig } from '../../lib/config';
import { newWebhookSecret } from '../../lib/standard-webhooks';
import { connect, createScratchDatabase, seedAsOwner, type ScratchDatabase } from '../support/database';
import { createPipelineHarness, createTenant, runScheduleNow, type PipelineHarness } from '../support/pipeline';

/**
 * The restore drill against the test stack's PostgreSQL, which archives its WAL through pgBackRest
 * to the backups bucket: a restore to a past time holds what was there then and not what came
 * after; the daily schedule takes a full backup; the weekly one restores to now, verifies every
 * table and is recorded.
 */
describe('restore drill (pgBackRest point-in-time recovery)', () => {
  const recovery = loadConfig().recovery;

  describe('to a time', { skip: !recovery && 'the stack does not archive WAL (PGBACKREST_CONFIG)' }, () => {
    let database: ScratchDatabase;

    before(async () => {
      database = await createScratchDatabase('drill');
      await migrateUp(database.url);
      await seedAsOwner(database.url);
    });
    after(async () => {
      await database?.drop();
    });

    it('restores the rows written before the target and none written after it', async () => {
      const client = await connect(database.url);
      const countUsers = async () => Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM users')).rows[0]!.n);
      const insertUser = (email: string) =>
        client.query("INSERT INTO users (email, password_hash, name) VALUES ($1, 'x', 'drill')", [email]);
      try {
        await insertUser('before-the-target@example.com');
        const before = await countUsers();
        await sleep(1500);
        const target = new Date();
        await sleep(1500);
        await insertUser('after-the-target@example.com');
        assert.equal(await countUsers(), before + 1);

        const result = await runRecoveryDrill({
          sourceUrl: database.url,
          pgBackRest: pgBackRestSetupOf(recovery!),
          postgresBinDir: recovery!.postgresBinDir,
          workDir: tmpdir(),
          targetTime: target,
        });
        assert.equal(result.target, target.toISOString());
        assert.equal(result.tables.find((t) => t.table === 'public.users')?.restored, before);
        assert.ok(result.tablesVerified >= 20, `${result.tablesVerified} tables`);
      } finally {
        await client.end();
      }
    });
  });

  describe('the schedules', { skip: !recovery && 'the stack does not archive WAL (PGBACKREST_CONFIG)' }, () => {
    let h: PipelineHarness;
    let ctx: AppContext;

    before(async () => {
      h = await createPipelineHarness();
      ctx = h.isolated('drill');
      await h.startWorkers(ctx, ['orchestration']);
      await ensureUpkeepSchedules(ctx);
    });
    after(async () => {
      await h?.close();
    });

  it('takes the daily full backup that the WAL is replayed onto', async () => {
      const setup = pgBackRestSetupOf(recovery!);
      const before = (await pgBackRestInfo(setup)).backups.map((b) => b.label);
      const result = await runScheduleNow<BaseBackupResult>(ctx, 'upkeep-postgres-base-backup');
      assert.ok('taken' in result, JSON.stringify(result));
      assert.equal(result.taken.type, 'full');
      assert.ok(!before.includes(result.taken.label), `${result.taken.label} is new`);
      assert.equal((await pgBackRestInfo(setup)).backups.at(-1)?.label, result.taken.label);
    });

    it('restores to now, verifies every table against the source, keeps the result as the workflow result and a row, and tells the operators', async () => {
      const tenant = await createTenant(h, { credits: 5 });
      const operator = (await ctx.models.User.findByPk(tenant.userId))!;
      ctx.config.operatorEmails.push(operator.email.toLowerCase());
      const endpoint = await ctx.db.webhooks.create({ owner: { userId: operator.id }, createdBy: operator.id, url: 'http://127.0.0.1:9/drills', eventTypes: ['drill.completed'], description: null }, newWebhookSecret());
      const summary = await runScheduleNow<DrillSummary>(ctx, 'upkeep-recovery-drill');
      assert.ok(summary.rpoSeconds <= 3600, `RPO ${summary.rpoSeconds} s`);
      assert.ok(summary.rtoSeconds > 0 && summary.rtoSeconds < 4 * 3600, `RTO ${summary.rtoSeconds} s`);
      assert.ok(summary.tablesVerified >= 20);
      assert.match(summary.target, /^drill-/);

      const [latest] = await ctx.db.recoveryDrills.latest(1);
      assert.equal(latest?.id, summary.id);
      assert.equal(latest?.status, 'passed');
      assert.equal(latest?.tables_verified, summary.tablesVerified);
      assert.equal(latest?.workflow_id?.startsWith('upkeep-recovery-drill'), true);
      const [delivery] = await ctx.db.webhooks.deliveries(endpoint.id, 5);
      assert.equal(delivery?.event_id, `drill.completed:${summary.id}`);
      assert.deepEqual([delivery?.payload.type, (delivery?.payload.data as { status?: string }).status], ['drill.completed', 'passed']);
      await ctx.db.webhooks.remove(endpoint.id);
    });
  });
});
