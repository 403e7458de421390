import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { QueryTypes } from 'sequelize';
import { parseBackupKey, readRetention, retainUntil, type BackupSummary } from '../../db/backups';
import type { BackupRun } from '../../workflows/back-up-databases';
import type { RolloverSummary } from '../../db/rollover';
import { MONGO_RETENTION_DAYS, type ExpiredDocuments } from '../../db/mongo/retention';
import type { AppContext } from '../../control/app-context';
import { ensureUpkeepSchedules, UPKEEP_SCHEDULES, UPKEEP_TIMEZONE } from '../../control/upkeep-schedules';
import { createPipelineHarness, createTenant, runScheduleNow, type PipelineHarness } from '../support/pipeline';

describe('upkeep schedules', () => {
  let h: PipelineHarness;
  let ctx: AppContext;

  before(async () => {
    h = await createPipelineHarness();
    ctx = h.isolated('upkeep');
    await h.startWorkers(ctx, ['orchestration']);
  });
  after(async () => {
    await h?.close();
  });

  it('creates every upkeep schedule once, and a second call only updates them', async () => {
    const ids = await ensureUpkeepSchedules(ctx);
    assert.deepEqual(await ensureUpkeepSchedules(ctx), ids);
    assert.deepEqual(ids, UPKEEP_SCHEDULES.map((s) => s.id));
    for (const schedule of UPKEEP_SCHEDULES) {
      const described = await ctx.temporal.schedule.getHandle(schedule.id).describe();
      assert.equal(described.spec.timezone, UPKEEP_TIMEZONE);
      assert.equal(described.policies.overlap, 'SKIP');
      assert.equal(described.state.paused, false);
      assert.equal(described.action.type === 'startWorkflow' && described.action.workflowType, schedule.workflow.name);
      assert.equal(described.action.type === 'startWorkflow' && described.action.taskQueue, ctx.config.temporal.taskQueue);
    }
    const listed: string[] = [];
    for await (const summary of ctx.temporal.schedule.list()) listed.push(summary.scheduleId);
    for (const id of ids) assert.ok(listed.includes(id), `${id} is listed`);
  });

  it('renews an ended subscription period once, however often the schedule runs', async () => {
    const tenant = await createTenant(h, { credits: 3 });
    const ended = new Date(Date.now() - 3600_000);
    await ctx.models.Subscription.update(
      { billing_cycle: 'monthly', started_at: new Date(ended.getTime() - 30 * 86_400_000), current_period_start: new Date(ended.getTime() - 30 * 86_400_000), current_period_end: ended },
      { where: { id: tenant.subscriptionId } },
    );
    const first = await runScheduleNow<RolloverSummary>(ctx, 'upkeep-renew-subscriptions');
    assert.ok(first.renewedIds.includes(tenant.subscriptionId));
    const run = (await ctx.temporal.schedule.getHandle('upkeep-renew-subscriptions').describe()).info.recentActions.at(-1)!;
    const memo = await ctx.temporal.workflow.getHandle(run.action.workflow.workflowId, run.action.workflow.firstExecutionRunId).describe().then((d) => d.memo);
    assert.equal(memo?.upkeep, 'upkeep-renew-subscriptions', 'the run names its schedule in the Web UI');
    const second = await runScheduleNow<RolloverSummary>(ctx, 'upkeep-renew-subscriptions');
    assert.ok(!second.renewedIds.includes(tenant.subscriptionId));
    const resets = await ctx.sequelize.query<{ credits_balance: number }>(
      "SELECT credits_balance FROM credit_transactions WHERE subscription_id = :id AND transaction_type = 'reset'",
      { replacements: { id: tenant.subscriptionId }, type: QueryTypes.SELECT },
    );
    const plan = await ctx.models.SubscriptionPlan.findOne({ where: { code: 'pro' }, rejectOnEmpty: true });
    assert.deepEqual(resets.map((r) => r.credits_balance), [plan.monthly_credits]);
    const subscription = await ctx.models.Subscription.findByPk(tenant.subscriptionId, { rejectOnEmpty: true });
    assert.ok(subscription.current_period_end! > new Date());
  });

  it("creates next months' api_usages partitions", async () => {
    const { created } = await runScheduleNow<{ created: string[] }>(ctx, 'upkeep-api-usage-partitions');
    const [row] = await ctx.sequelize.query<{ n: string }>(
      "SELECT COUNT(*) AS n FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'api_usages'::regclass AND c.relname ~ '^api_usages_\\d{4}_\\d{2}$'",
      { type: QueryTypes.SELECT },
    );
    assert.ok(Number(row!.n) >= 4, `the current month and three ahead exist (created now: ${created.join(', ') || 'none'})`);
  });

  it('backs up PostgreSQL and MongoDB to the backups bucket, each locked for its retention', async () => {
    const run = await runScheduleNow<BackupRun>(ctx, 'upkeep-backups');
    assert.match(run.postgres.key, /^postgres\/\d{4}\/\d{2}\/\d{2}\/.+\.dump$/);
    assert.match(run.mongo.key, /^mongo\/\d{4}\/\d{2}\/\d{2}\/.+\.jsonl\.gz$/);
    assert.ok(run.postgres.bytes > 0 && run.mongo.bytes > 0);
    const stored = await ctx.db.backups.getBuffer(run.postgres.key);
    assert.equal(stored.subarray(0, 5).toString('latin1'), 'PGDMP', 'a pg_dump custom-format archive');
    for (const backup of [run.postgres, run.mongo]) {
      const parsed = parseBackupKey(backup.key);
      assert.ok(parsed);
      assert.deepEqual(await readRetention({ store: ctx.db.backups }, backup.key), { mode: 'COMPLIANCE', retainUntil: retainUntil(backup.kind, parsed.takenAt) });
    }
  });

  it('snapshots Redis to the backups bucket, locked for 7 days', async () => {
    const run = await runScheduleNow<BackupSummary>(ctx, 'upkeep-redis-snapshot');
    assert.match(run.key, /^redis\/\d{4}\/\d{2}\/\d{2}\/.+\.rdb$/);
    assert.equal(run.database, new URL(ctx.config.redisUrl).host);
    const stored = await ctx.db.backups.getBuffer(run.key);
    assert.match(stored.subarray(0, 9).toString('latin1'), /^REDIS\d{4}$/, 'an RDB file');
    const parsed = parseBackupKey(run.key);
    assert.ok(parsed);
    assert.deepEqual(await readRetention({ store: ctx.db.backups }, run.key), { mode: 'COMPLIANCE', retainUntil: retainUntil('redis', parsed.takenAt) });
  });

  it('deletes workflow_logs and analytics_events past their retention from the MongoDB-compatible store, and keeps the rest', async () => {
    const { WorkflowLog, AnalyticsEvent } = ctx.db.mongo.models;
    const daysAgo = (days: number): Date => new Date(Date.now() - days * 86_400_000);
    const logsDays = MONGO_RETENTION_DAYS.workflow_logs;
    const eventsDays = MONGO_RETENTION_DAYS.analytics_events;
    const workflowId = `retention-${randomUUID()}`;
    // Inserted as stored documents, past mongoose, so updated_at keeps the age given here.
    const log = (run: string, startedDaysAgo: number, updatedDaysAgo?: number) => ({
      workflow_id: workflowId,
      execution_id: run,
      status: 'completed',
      nodes_executed: [],
      started_at: daysAgo(startedDaysAgo),
      ...(updatedDaysAgo === undefined ? {} : { updated_at: daysAgo(updatedDaysAgo) }),
    });
    await WorkflowLog.collection.insertMany([
      log('expired', logsDays + 1, logsDays + 1),
      log('expired-without-updated-at', logsDays + 30),
      log('long-run-still-written', logsDays + 10, 1),
      log('recent', logsDays - 1, logsDays - 1),
    ]);
    const contentId = randomUUID();
    await AnalyticsEvent.collection.insertMany([
      { event_type: 'content_created', content_id: contentId, properties: { tag: 'expired' }, created_at: daysAgo(eventsDays + 1) },
      { event_type: 'video_rendered', content_id: contentId, properties: { tag: 'kept' }, created_at: daysAgo(eventsDays - 1) },
    ]);

    const deleted = await runScheduleNow<ExpiredDocuments>(ctx, 'upkeep-mongo-retention');
    assert.ok(deleted.workflow_logs >= 2 && deleted.analytics_events >= 1, JSON.stringify(deleted));
    const runs = await WorkflowLog.find({ workflow_id: workflowId }).sort({ execution_id: 1 }).lean();
    assert.deepEqual(runs.map((run) => run.execution_id), ['long-run-still-written', 'recent']);
    const events = await AnalyticsEvent.find({ content_id: contentId }).lean();
    assert.deepEqual(events.map((event) => (event.properties as { tag: string }).tag), ['kept']);

    const again = await runScheduleNow<ExpiredDocuments>(ctx, 'upkeep-mongo-retention');
    assert.equal((await WorkflowLog.countDocuments({ workflow_id: workflowId })) + (await AnalyticsEvent.countDocuments({ content_id: contentId })), 3, `a second run keeps them (${JSON.stringify(again)})`);
  });
});
