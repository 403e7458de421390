import { Redis } from 'ioredis';
import type { AppConfig } from '../lib/config';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('redis');

export function createRedis(config: Pick<AppConfig, 'redisUrl'>, options: { lazyConnect?: boolean } = {}): Redis {
  const redis = new Redis(config.redisUrl, {
    lazyConnect: options.lazyConnect ?? false,
    maxRetriesPerRequest: 3,
    enableOfflineQueue: true,
  });
  // ioredis reconnects by itself; its errors are logged once per outage, not at every attempt.
  let reported = false;
  redis.on('error', (err: Error) => {
    if (reported) return;
    reported = true;
    log.warn({ err }, 'Redis is unreachable; reconnecting');
  });
  redis.on('ready', () => {
    if (reported) log.info('Redis is reachable again');
    reported = false;
  });
  return redis;
}
