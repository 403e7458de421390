import { randomBytes } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { QueryTypes } from 'sequelize';
import type { ActivityDeps } from '../../activities';
import { migrateUp } from '../../db/migrate';
import { EMPTY_SCRIPT } from '../../db/models';
import { ensureMongoIndexes } from '../../db/mongo/models';
import { createAppContext, type AppContext } from '../../control/app-context';
import { loadConfig } from '../../lib/config';
import { SecretBox } from '../../lib/secrets';
import { activityDeps, startWorkers, type RunningWorkers, type WorkerRole } from '../../worker';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { startFakeYouTube, type FakeYouTubeState } from '../fakes/youtube-server';
import { createScratchDatabase, seedAsOwner, type ScratchDatabase } from './database';
import { waitFor } from './wait';

/**
 * Everything a pipeline test runs against: a scratch database (migrated and seeded) on the test
 * stack's PostgreSQL, the stack's Redis, MongoDB-compatible server and MinIO, the Temporal dev
 * server started from the stack's CLI binary, and a local YouTube-protocol server.
 */
export interface PipelineHarness {
  env: TestWorkflowEnvironment;
  ctx: AppContext;
  youtube: { baseUrl: string; state: FakeYouTubeState };
  box: SecretBox;
  /** A context whose task queues are unique to one test, so workers of different tests never mix. */
  isolated(label: string): AppContext;
  startWorkers(ctx: AppContext, roles?: WorkerRole[], deps?: Partial<ActivityDeps>): Promise<RunningWorkers>;
  close(): Promise<void>;
}

export async function createPipelineHarness(): Promise<PipelineHarness> {
  const path = process.env.TEMPORAL_CLI_PATH;
  if (!path) throw new Error('TEMPORAL_CLI_PATH is not set: run the tests through `npm test`');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const database: ScratchDatabase = await createScratchDatabase('pipeline');
  // Migrated and seeded as the owner; activities and upkeep connect as the login roles, as deployed.
  await migrateUp(database.url);
  await seedAsOwner(database.url);
  const youtube = await startFakeYouTube();
  const env = await TestWorkflowEnvironment.createLocal({
    server: { executable: { type: 'existing-path', path }, searchAttributes: SEARCH_ATTRIBUTES },
  });
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: database.appUrl,
    BACKUP_DATABASE_URL: database.backupUrl,
    MIGRATION_DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: env.address,
    YOUTUBE_CLIENT_ID: youtube.state.clientId,
    YOUTUBE_CLIENT_SECRET: youtube.state.clientSecret,
    YOUTUBE_OAUTH_URL: youtube.baseUrl,
    YOUTUBE_UPLOAD_URL: youtube.baseUrl,
    YOUTUBE_API_URL: youtube.baseUrl,
  });
  const ctx = await createAppContext(config);
  await ensureMongoIndexes(ctx.db.mongo.models);
  const running: RunningWorkers[] = [];
  return {
    env,
    ctx,
    youtube,
    box: SecretBox.fromConfig(config.secrets),
    isolated(label) {
      const suffix = `${label}-${randomBytes(3).toString('hex')}`;
      return { ...ctx, config: { ...config, temporal: { ...config.temporal, taskQueue: `test-${suffix}`, mediaTaskQueue: `test-media-${suffix}` } } };
    },
    async startWorkers(workerCtx, roles = ['orchestration', 'media'], deps = {}) {
      const workers = await startWorkers(workerCtx, roles, { ...activityDeps(workerCtx), ...deps });
      running.push(workers);
      return workers;
    },
    async close() {
      await Promise.allSettled(running.map((w) => w.shutdown()));
      await ctx.close();
      await env.teardown();
      await youtube.close();
      await database.drop();
    },
  };
}

export interface Tenant {
  userId: string;
  organizationId: string;
  subscriptionId: string;
  projectId: string;
  channelId?: string;
}

/** An organization with a Pro subscription holding `credits`, one project and, optionally, a YouTube channel. */
export async function createTenant(
  harness: PipelineHarness,
  options: { credits: number; plan?: string; vertical?: string; language?: 'ko' | 'en'; autoPublish?: boolean; withChannel?: boolean },
): Promise<Tenant> {
  const { models } = harness.ctx;
  const tag = randomBytes(4).toString('hex');
  const user = await models.User.create({ email: `owner-${tag}@example.com`, name: `Owner ${tag}` } as never);
  const organization = await models.Organization.create({ name: `Org ${tag}`, slug: `org-${tag}` } as never);
  await models.OrganizationMember.create({ organization_id: organization.id, user_id: user.id, role: 'owner' } as never);
  const plan = await models.SubscriptionPlan.findOne({ where: { code: options.plan ?? 'pro' } });
  const subscription = await models.Subscription.create({
    organization_id: organization.id,
    plan_id: plan!.id,
    started_at: new Date(),
    credits_remaining: options.credits,
  } as never);
  const project = await models.Project.create({
    organization_id: organization.id,
    name: `Project ${tag}`,
    vertical: options.vertical ?? 'tech',
    language: options.language ?? 'ko',
    content_format: 'short',
    tone: 'casual',
    target_platforms: ['youtube_shorts'],
    is_auto_publish: options.autoPublish ?? false,
  } as never);
  const tenant: Tenant = { userId: user.id, organizationId: organization.id, subscriptionId: subscription.id, projectId: project.id };
  if (options.withChannel) {
    const channel = models.Channel.build({ project_id: project.id, platform: 'youtube', channel_id: `UC${tag}`, channel_name: 'Test channel' } as never);
    await channel.save();
    channel.setTokens(harness.box, { accessToken: 'expired-token', refreshToken: harness.youtube.state.refreshToken, expiresAt: new Date(Date.now() - 60_000) });
    await channel.save();
    tenant.channelId = channel.id;
  }
  return tenant;
}

export async function createTopicContent(harness: PipelineHarness, projectId: string, topic: string): Promise<string> {
  const content = await harness.ctx.models.Content.create({
    project_id: projectId,
    title: topic,
    script: EMPTY_SCRIPT,
    source_type: 'manual',
  } as never);
  return content.id;
}

export async function creditRows(harness: PipelineHarness, contentId: string): Promise<{ transaction_type: string; credits_amount: number; credits_balance: number }[]> {
  return harness.ctx.sequelize.query(
    'SELECT transaction_type, credits_amount, credits_balance FROM credit_transactions WHERE content_id = :contentId ORDER BY created_at',
    { replacements: { contentId }, type: QueryTypes.SELECT },
  );
}

export async function jobRows(harness: PipelineHarness, contentId: string): Promise<{ job_type: string; status: string; retry_count: number; progress: number; error_message: string | null }[]> {
  return harness.ctx.sequelize.query(
    'SELECT job_type, status, retry_count, progress, error_message FROM content_jobs WHERE content_id = :contentId ORDER BY created_at',
    { replacements: { contentId }, type: QueryTypes.SELECT },
  );
}

/** Triggers schedule `scheduleId` now and returns the result of the run it started. */
export async function runScheduleNow<T>(ctx: AppContext, scheduleId: string): Promise<T> {
  const handle = ctx.temporal.schedule.getHandle(scheduleId);
  const before = (await handle.describe()).info.recentActions.length;
  await handle.trigger();
  const action = await waitFor('the triggered run', async () => {
    const { recentActions } = (await handle.describe()).info;
    return recentActions.length > before ? recentActions.at(-1) : undefined;
  });
  return ctx.temporal.workflow.getHandle(action.action.workflow.workflowId).result() as Promise<T>;
}

export { waitFor };
