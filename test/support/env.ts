import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from '../../lib/config';

/** The smallest environment `loadConfig` accepts (nothing is connected to), for configuration tests. */
export function minimalEnv(): Record<string, string> {
  return {
    DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/autoclip',
    REDIS_URL: 'redis://127.0.0.1:6379/0',
    MONGODB_URL: 'mongodb://127.0.0.1:27017/autoclip',
    S3_BUCKET: 'autoclip-media',
    S3_ACCESS_KEY_ID: 'key',
    S3_SECRET_ACCESS_KEY: 'secret',
    TEMPORAL_ADDRESS: '127.0.0.1:7233',
    SECRETS_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
    SECRETS_ACTIVE_KEY_ID: 'k1',
    AUTH_TOKEN_SECRET: 'a'.repeat(40),
  };
}

/** The problems `loadConfig` names when it refuses `env`; fails the test when it accepts it. */
export function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    return err.problems;
  }
  return assert.fail('the configuration should have been refused');
}
