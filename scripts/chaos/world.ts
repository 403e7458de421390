import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getCACertificates, setDefaultCACertificates } from 'node:tls';
import { Client as PgClient } from 'pg';
import { createAppContext, type AppContext } from '../../control/app-context';
import { migrateUp } from '../../db/migrate';
import { EMPTY_SCRIPT, type Platform } from '../../db/models';
import { ensureMongoIndexes } from '../../db/mongo/models';
import { loadConfig } from '../../lib/config';
import { SecretBox } from '../../lib/secrets';
import { startFakeInstagram } from '../../test/fakes/instagram-server';
import { startFakeTikTok } from '../../test/fakes/tiktok-server';
import { startFakeYouTube } from '../../test/fakes/youtube-server';
import { createScratchDatabase, seedAsOwner } from '../../test/support/database';

/** The local platform servers, in this process, that the workers publish to. */
export interface PlatformFakes {
  youtube: Awaited<ReturnType<typeof startFakeYouTube>>;
  tiktok: Awaited<ReturnType<typeof startFakeTikTok>>;
  instagram: Awaited<ReturnType<typeof startFakeInstagram>>;
}

export interface ChaosContent {
  /** 1-based, in the order productions start. */
  index: number;
  contentId: string;
  title: string;
  projectId: string;
  /** Published by its project at once to the three connected channels. */
  publishes: boolean;
}

export interface ChaosWorld {
  ctx: AppContext;
  /** The environment the worker processes run with. */
  workerEnv: NodeJS.ProcessEnv;
  fakes: PlatformFakes;
  organizationId: string;
  channels: { platform: Platform; channelId: string }[];
  contents: ChaosContent[];
  database: string;
  /** Closes the context and the fakes; drops the scratch database unless told to keep it. */
  close(options: { keepDatabase: boolean }): Promise<void>;
}

const TOPICS = [
  '아침 스트레칭 5분의 효과',
  '전기차 배터리 수명 늘리는 법',
  '스마트폰 사진 잘 찍는 요령',
  '재택근무 집중력 높이기',
  '인공지능 번역기의 원리',
  '겨울철 실내 습도 관리',
  '클라우드 백업이 필요한 이유',
  '수면 전 화면 시간 줄이기',
  '태양광 패널의 작동 방식',
  '코딩 공부 첫 30일 계획',
  '무선 이어폰 배터리 관리',
  '로봇 청소기 고르는 기준',
];

/**
 * The Instagram fake fetches its `video_url`, a presigned link to the stack's MinIO, from this
 * process, which was not started with the stack's NODE_EXTRA_CA_CERTS: trust its certificate here.
 */
function trustStackCertificate(caFile: string | undefined): void {
  if (!caFile) return;
  setDefaultCACertificates([...getCACertificates('default'), readFileSync(caFile, 'utf8')]);
}

/**
 * Everything a chaos run produces with: a scratch database on the stack's PostgreSQL (migrated and
 * seeded as its owner, used by the platform through its login role, as deployed), the three
 * platform fakes, an organization on the Pro plan with credits to spare, a project without
 * channels and an auto-publishing one with a YouTube, a TikTok and an Instagram channel, and one
 * draft content per production, every other one in the publishing project.
 */
export async function createWorld(stackEnv: Record<string, string>, options: { tag: string; productions: number; runDir: string }): Promise<ChaosWorld> {
  const ownerBase = stackEnv.MIGRATION_DATABASE_URL ?? stackEnv.DATABASE_URL;
  if (!ownerBase || !stackEnv.DATABASE_URL) throw new Error('the stack gave no DATABASE_URL');
  const scratch = await createScratchDatabase(`chaos_${options.tag}`, {
    owner: ownerBase,
    app: stackEnv.DATABASE_URL,
    backup: stackEnv.BACKUP_DATABASE_URL ?? stackEnv.DATABASE_URL,
  });
  const database = new URL(scratch.url).pathname.slice(1);
  const admin = new PgClient({ connectionString: scratch.url });
  await admin.connect();
  try {
    // The test profile's PostgreSQL acknowledges commits before their WAL is written
    // (synchronous_commit=off), so a kill -9 would lose the last fraction of a second of work the
    // platform was told was committed; a deployed server does not. A database's own setting wins
    // over the server's command line.
    await admin.query(`ALTER DATABASE "${database}" SET synchronous_commit = on`);
  } finally {
    await admin.end();
  }
  await migrateUp(scratch.url);
  await seedAsOwner(scratch.url);

  trustStackCertificate(stackEnv.S3_CA_FILE);
  const fakes: PlatformFakes = { youtube: await startFakeYouTube(), tiktok: await startFakeTikTok(), instagram: await startFakeInstagram() };
  // One status poll each before a post or reel is ready: the real services' walk, kept short.
  fakes.tiktok.state.processingPolls = 1;
  fakes.instagram.state.processingPolls = 1;

  const mediaDir = join(options.runDir, 'media');
  mkdirSync(mediaDir, { recursive: true });
  const workerEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ...stackEnv,
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    DATABASE_URL: scratch.appUrl,
    BACKUP_DATABASE_URL: scratch.backupUrl,
    MIGRATION_DATABASE_URL: scratch.url,
    TEMPORAL_TASK_QUEUE: `chaos-${options.tag}`,
    TEMPORAL_MEDIA_TASK_QUEUE: `chaos-media-${options.tag}`,
    MEDIA_CONCURRENCY: '1',
    MEDIA_WORK_DIR: mediaDir,
    YOUTUBE_CLIENT_ID: fakes.youtube.state.clientId,
    YOUTUBE_CLIENT_SECRET: fakes.youtube.state.clientSecret,
    YOUTUBE_OAUTH_URL: fakes.youtube.baseUrl,
    YOUTUBE_UPLOAD_URL: fakes.youtube.baseUrl,
    YOUTUBE_API_URL: fakes.youtube.baseUrl,
    TIKTOK_CLIENT_KEY: fakes.tiktok.state.clientKey,
    TIKTOK_CLIENT_SECRET: fakes.tiktok.state.clientSecret,
    TIKTOK_API_URL: fakes.tiktok.baseUrl,
    INSTAGRAM_GRAPH_URL: fakes.instagram.baseUrl,
    INSTAGRAM_API_VERSION: 'v23.0',
  };
  const config = loadConfig(workerEnv);
  const ctx = await createAppContext(config);
  await ensureMongoIndexes(ctx.db.mongo.models);
  const { models } = ctx;

  const user = await models.User.create({ email: `chaos-${options.tag}@example.com`, name: `Chaos ${options.tag}` } as never);
  const organization = await models.Organization.create({ name: `Chaos ${options.tag}`, slug: `chaos-${options.tag}` } as never);
  await models.OrganizationMember.create({ organization_id: organization.id, user_id: user.id, role: 'owner' } as never);
  const plan = await models.SubscriptionPlan.findOne({ where: { code: 'pro' }, rejectOnEmpty: true });
  const now = new Date();
  await models.Subscription.create({
    organization_id: organization.id,
    plan_id: plan.id,
    started_at: now,
    current_period_start: now,
    current_period_end: new Date(now.getTime() + 30 * 86_400_000),
    // More than the run can spend even if every production were charged twice.
    credits_remaining: 2 * options.productions + 10,
  } as never);
  const project = (name: string, autoPublish: boolean) =>
    models.Project.create({
      organization_id: organization.id,
      name,
      vertical: 'tech',
      language: 'ko',
      content_format: 'short',
      tone: 'casual',
      target_platforms: autoPublish ? ['youtube_shorts', 'tiktok', 'instagram_reels'] : ['youtube_shorts'],
      is_auto_publish: autoPublish,
    } as never);
  const plain = await project('Chaos: no channels', false);
  const publishing = await project('Chaos: publishes at once', true);

  const box = SecretBox.fromConfig(config.secrets);
  const inADay = new Date(Date.now() + 86_400_000);
  const connections: { platform: Platform; channelId: string; tokens: { accessToken: string; refreshToken?: string; expiresAt: Date } }[] = [
    { platform: 'youtube', channelId: 'UCchaos', tokens: { accessToken: fakes.youtube.state.issueAccessToken(), refreshToken: fakes.youtube.state.refreshToken, expiresAt: inADay } },
    { platform: 'tiktok', channelId: '-000chaos', tokens: { accessToken: fakes.tiktok.state.issueAccessToken(), refreshToken: fakes.tiktok.state.refreshToken, expiresAt: inADay } },
    // Instagram renews a token in its last week only: a month keeps refreshes out of the run.
    { platform: 'instagram', channelId: fakes.instagram.state.userId, tokens: { accessToken: fakes.instagram.state.issueAccessToken(), expiresAt: new Date(Date.now() + 30 * 86_400_000) } },
  ];
  const channels: ChaosWorld['channels'] = [];
  for (const { platform, channelId, tokens } of connections) {
    const channel = models.Channel.build({
      project_id: publishing.id,
      platform,
      channel_id: channelId,
      channel_name: `Chaos ${platform}`,
      upload_settings: { default_visibility: 'public', made_for_kids: false },
    } as never);
    channel.setTokens(box, tokens);
    await channel.save();
    channels.push({ platform, channelId: channel.id });
  }

  const contents: ChaosContent[] = [];
  for (let i = 0; i < options.productions; i += 1) {
    const publishes = i % 2 === 0;
    const title = `카오스 ${String(i + 1).padStart(2, '0')}: ${TOPICS[i % TOPICS.length]}`;
    const projectId = publishes ? publishing.id : plain.id;
    const content = await models.Content.create({ project_id: projectId, title, script: EMPTY_SCRIPT, source_type: 'manual' } as never);
    contents.push({ index: i + 1, contentId: content.id, title, projectId, publishes });
  }

  return {
    ctx,
    workerEnv,
    fakes,
    organizationId: organization.id,
    channels,
    contents,
    database,
    async close({ keepDatabase }) {
      await ctx.close();
      await Promise.allSettled([fakes.youtube.close(), fakes.tiktok.close(), fakes.instagram.close()]);
      if (!keepDatabase) await scratch.drop();
    },
  };
}
