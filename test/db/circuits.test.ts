import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisCircuitBreaker } from '../../db/circuits';
import { createRedis } from '../../db/redis';
import { loadConfig } from '../../lib/config';
import { sleep } from '../../providers/http';

describe("RedisCircuitBreaker: each provider's circuit shared by every worker", () => {
  let redis: Redis[];
  let breakers: RedisCircuitBreaker[];
  const settings = { failures: 3, windowMs: 5000, cooldownMs: 400 };

  before(() => {
    const config = loadConfig();
    // Two connections stand for two worker processes.
    redis = [createRedis(config), createRedis(config)];
    breakers = redis.map((r) => new RedisCircuitBreaker(r, settings));
  });
  after(async () => {
    await Promise.all(redis.map((r) => r.quit()));
  });

  const key = (): string => `test-circuit-${randomBytes(4).toString('hex')}`;

  it('opens after the failures in a row that any worker saw, passes the provider over while open, and lets one trial through after the cool-down', async () => {
    const [a, b] = breakers as [RedisCircuitBreaker, RedisCircuitBreaker];
    const circuit = key();
    await a.failed(circuit);
    await b.failed(circuit);
    assert.equal(await a.allow(circuit), true, 'two failures of three: still closed');
    await a.failed(circuit);
    assert.deepEqual([await a.allow(circuit), await b.allow(circuit)], [false, false], 'open for every worker');

    await sleep(settings.cooldownMs + 50);
    const trial = await Promise.all([a.allow(circuit), b.allow(circuit), a.allow(circuit)]);
    assert.deepEqual(trial.filter(Boolean).length, 1, 'half-open: one trial call, the others passed over');

    await b.failed(circuit);
    assert.deepEqual([await a.allow(circuit), await b.allow(circuit)], [false, false], 'a failed trial opens it for another cool-down');

    await sleep(settings.cooldownMs + 50);
    assert.equal(await b.allow(circuit), true, 'the next trial');
    await b.succeeded(circuit);
    assert.deepEqual([await a.allow(circuit), await a.allow(circuit), await b.allow(circuit)], [true, true, true], 'closed again for everyone');
    await a.failed(circuit);
    await a.failed(circuit);
    assert.equal(await b.allow(circuit), true, 'a success forgot the earlier failures');
  });

  it('counts only failures within the window', async () => {
    const breaker = new RedisCircuitBreaker(redis[0]!, { failures: 2, windowMs: 200, cooldownMs: 10_000 });
    const circuit = key();
    await breaker.failed(circuit);
    await sleep(300);
    await breaker.failed(circuit);
    assert.equal(await breaker.allow(circuit), true, 'the first failure was outside the window');
    await breaker.failed(circuit);
    assert.equal(await breaker.allow(circuit), false);
  });

  it('keeps each provider apart', async () => {
    const [a] = breakers as [RedisCircuitBreaker];
    const one = key();
    const other = key();
    for (let i = 0; i < settings.failures; i += 1) await a.failed(one);
    assert.deepEqual([await a.allow(one), await a.allow(other)], [false, true]);
  });
});
