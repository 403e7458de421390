import type { Redis } from 'ioredis';
import { moduleLogger } from '../lib/logger';
import type { CircuitBreaker, CircuitSettings } from '../providers/circuit-breaker';

const log = moduleLogger('circuits');

/**
 * Each circuit is a Redis hash read and changed atomically by one script, on Redis's own clock so
 * that every worker agrees: `failures` in a row since `first_at`, `opened_at` once they reached the
 * threshold, and `trial_until` while a half-open circuit's one trial call runs (a trial whose worker
 * died frees the circuit for another after one cool-down). A circuit untouched for a while expires,
 * closed. When Redis does not answer, the call goes ahead and the report is dropped, with a warning.
 */

const NOW = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const ALLOW_SCRIPT = `${NOW}
local opened = redis.call('HGET', KEYS[1], 'opened_at')
if not opened then return 1 end
local cooldown = tonumber(ARGV[1])
if now - tonumber(opened) < cooldown then return 0 end
local trial = redis.call('HGET', KEYS[1], 'trial_until')
if trial and now < tonumber(trial) then return 0 end
redis.call('HSET', KEYS[1], 'trial_until', now + cooldown)
return 1`;

const FAILED_SCRIPT = `${NOW}
local threshold = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
if redis.call('HEXISTS', KEYS[1], 'opened_at') == 1 then
  redis.call('HSET', KEYS[1], 'opened_at', now)
  redis.call('HDEL', KEYS[1], 'trial_until')
else
  local first = redis.call('HGET', KEYS[1], 'first_at')
  local count = 1
  if first and now - tonumber(first) <= window then
    count = redis.call('HINCRBY', KEYS[1], 'failures', 1)
  else
    redis.call('HSET', KEYS[1], 'first_at', now, 'failures', 1)
  end
  if count >= threshold then redis.call('HSET', KEYS[1], 'opened_at', now) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1`;

export class RedisCircuitBreaker implements CircuitBreaker {
  constructor(
    private readonly redis: Redis,
    private readonly settings: CircuitSettings,
  ) {}

  async allow(key: string): Promise<boolean> {
    try {
      return (await this.redis.eval(ALLOW_SCRIPT, 1, key, this.settings.cooldownMs)) === 1;
    } catch (err) {
      log.warn({ err, circuit: key }, 'the circuit could not be read; the provider is tried');
      return true;
    }
  }

  async failed(key: string): Promise<void> {
    const { failures, windowMs, cooldownMs } = this.settings;
    await this.redis.eval(FAILED_SCRIPT, 1, key, failures, windowMs, 2 * (windowMs + cooldownMs)).catch((err: unknown) => log.warn({ err, circuit: key }, 'a failure could not be counted'));
  }

  async succeeded(key: string): Promise<void> {
    await this.redis.del(key).catch((err: unknown) => log.warn({ err, circuit: key }, 'the circuit could not be closed'));
  }
}
