import { Redis } from 'ioredis';
import type { AppConfig } from '../lib/config';

export function createRedis(config: Pick<AppConfig, 'redisUrl'>, options: { lazyConnect?: boolean } = {}): Redis {
  return new Redis(config.redisUrl, {
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: 3,
    enableOfflineQueue: true,
  });
}
