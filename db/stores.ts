import type { Redis } from 'ioredis';
import type { Sequelize } from 'sequelize';
import type { AppConfig } from '../lib/config';
import { SecretBox } from '../lib/secrets';
import { AnalyticsRepository } from './analytics';
import { BillingRepository } from './repositories/billing';
import { IdempotencyStore, RedisLocks } from './claims';
import { RedisCircuitBreaker } from './circuits';
import { RedisConcurrencyLimiter } from './leases';
import { initModels, type Models } from './models';
import { connectMongo, type MongoStore } from './mongo';
import { ObjectStore } from './objects';
import { RecoveryDrillRepository } from './repositories/recovery-drills';
import { ProgressEvents } from './progress';
import { RateCounters } from './rate-limits';
import { createRedis } from './redis';
import { ApiKeyRepository } from './repositories/api-keys';
import { ChannelRepository } from './repositories/channels';
import { ContentRepository } from './repositories/contents';
import { JobRepository } from './repositories/jobs';
import { LedgerRepository } from './repositories/ledger';
import { SourceRepository } from './repositories/sources';
import { PlanRepository } from './repositories/plans';
import { WebhookRepository } from './repositories/webhooks';
import { ProviderKeyRepository } from './repositories/provider-keys';
import { UploadRepository } from './repositories/uploads';
import { UsageRepository } from './repositories/usage';
import { createSequelize } from './sequelize';
import { OneTimeTokens, RefreshTokens } from './sessions';

export type StoreName = 'postgresql' | 'redis' | 'mongodb' | 's3' | 'temporal';

export interface StoreCheck {
  store: StoreName;
  ok: boolean;
  latencyMs: number;
  error?: string;
}

/** How long one store may take to answer a probe before it counts as down. */
const PROBE_DEADLINE_MS = 3000;

async function timed(store: StoreName, probe: () => Promise<unknown>): Promise<StoreCheck> {
  const began = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${PROBE_DEADLINE_MS} ms`)), PROBE_DEADLINE_MS);
  });
  try {
    await Promise.race([probe(), deadline]);
    return { store, ok: true, latencyMs: Math.round(performance.now() - began) };
  } catch (err) {
    return { store, ok: false, latencyMs: Math.round(performance.now() - began), error: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every store the platform speaks to, and one repository per aggregate over them, built once per
 * process and handed to routes and activities. Nothing outside db/ holds a connection of its own.
 */
export interface Stores {
  sequelize: Sequelize;
  models: Models;
  redis: Redis;
  mongo: MongoStore;
  objects: ObjectStore;
  /** The backups' own bucket (S3_BACKUP_BUCKET), object-locked: the platform's key writes and reads, never deletes. */
  backups: ObjectStore;
  recoveryDrills: RecoveryDrillRepository;
  contents: ContentRepository;
  jobs: JobRepository;
  usage: UsageRepository;
  ledger: LedgerRepository;
  /** Stripe customers, webhook events and the subscription changes they bring. */
  billing: BillingRepository;
  sources: SourceRepository;
  /** Plans and their features as they bind an owner; template use counts. */
  plans: PlanRepository;
  uploads: UploadRepository;
  /** API keys, found by prefix on every request made with one. */
  apiKeys: ApiKeyRepository;
  /** Channel rows as a whole (the sealed tokens' rotation). */
  channels: ChannelRepository;
  /** Organizations' own provider keys (sealed; hints for the API, opened for the worker). */
  providerKeys: ProviderKeyRepository;
  /** Webhook endpoints (sealed signing secrets) and their delivery log. */
  webhooks: WebhookRepository;
  progress: ProgressEvents;
  analytics: AnalyticsRepository;
  idempotency: IdempotencyStore;
  locks: RedisLocks;
  rateCounters: RateCounters;
  /** Provider concurrency slots shared by every worker. */
  leases: RedisConcurrencyLimiter;
  /** Each provider's circuit, shared by every worker (steps with an ordered list of providers). */
  circuits: RedisCircuitBreaker;
  refreshTokens: RefreshTokens;
  /** Single-use, short-lived tokens: email verification, password reset, OAuth state. */
  oneTimeTokens: OneTimeTokens;
  /** Probes each store (and `extra` ones, e.g. Temporal), each within a short deadline. */
  probe(extra?: Partial<Record<StoreName, () => Promise<unknown>>>): Promise<StoreCheck[]>;
  close(): Promise<void>;
}

export async function openStores(config: AppConfig): Promise<Stores> {
  const sequelize = createSequelize(config);
  const models = initModels(sequelize);
  const redis = createRedis(config);
  const objects = new ObjectStore(config.s3);
  const backups = new ObjectStore({ ...config.s3, bucket: config.s3.backupBucket, publicUrl: undefined });
  const mongo = await connectMongo(config);
  return {
    sequelize,
    models,
    redis,
    mongo,
    objects,
    backups,
    recoveryDrills: new RecoveryDrillRepository(sequelize),
    contents: new ContentRepository(sequelize, models),
    jobs: new JobRepository(sequelize, models, mongo.models),
    usage: new UsageRepository(sequelize, models),
    ledger: new LedgerRepository(sequelize),
    billing: new BillingRepository(sequelize),
    sources: new SourceRepository(sequelize, models),
    plans: new PlanRepository(sequelize, models),
    uploads: new UploadRepository(sequelize),
    apiKeys: new ApiKeyRepository(models),
    channels: new ChannelRepository(sequelize),
    providerKeys: new ProviderKeyRepository(sequelize, models, SecretBox.fromConfig(config.secrets)),
    webhooks: new WebhookRepository(sequelize, SecretBox.fromConfig(config.secrets)),
    progress: new ProgressEvents(redis),
    analytics: new AnalyticsRepository(mongo.models),
    idempotency: new IdempotencyStore(redis),
    locks: new RedisLocks(redis),
    rateCounters: new RateCounters(redis),
    leases: new RedisConcurrencyLimiter(redis),
    circuits: new RedisCircuitBreaker(redis, config.fallback.breaker),
    refreshTokens: new RefreshTokens(redis, config.auth.refreshTokenTtlSec),
    oneTimeTokens: new OneTimeTokens(redis),
    async probe(extra = {}) {
      const probes: [StoreName, () => Promise<unknown>][] = [
        ...Object.entries(extra).map(([store, probe]) => [store as StoreName, probe] as [StoreName, () => Promise<unknown>]),
        ['postgresql', () => sequelize.authenticate({ logging: false })],
        ['redis', () => redis.ping()],
        ['mongodb', () => mongo.ping()],
        ['s3', () => objects.probe()],
      ];
      return Promise.all(probes.map(([store, probe]) => timed(store, probe)));
    },
    async close() {
      await Promise.allSettled([sequelize.close(), redis.quit(), mongo.close()]);
      objects.destroy();
      backups.destroy();
    },
  };
}
