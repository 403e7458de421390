import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Redis } from 'ioredis';
import { createRedis } from '../../db/redis';
import { RedisConcurrencyLimiter } from '../../db/leases';
import { loadConfig } from '../../lib/config';
import { withSlot } from '../../providers/concurrency';
import { sleep } from '../../providers/http';

describe('RedisConcurrencyLimiter: one provider limit shared by every worker', () => {
  let redis: Redis[];

  before(() => {
    const config = loadConfig();
    // Two connections stand for two worker processes.
    redis = [createRedis(config), createRedis(config)];
  });
  after(async () => {
    await Promise.all(redis.map((r) => r.quit()));
  });

  const key = (): string => `test-${randomBytes(4).toString('hex')}`;

  it('never lets more than the limit hold the slot at once, across processes, and serves every waiter', async () => {
    const limiters = redis.map((r) => new RedisConcurrencyLimiter(r, { maxPollMs: 50 }));
    const slotKey = key();
    let running = 0;
    let peak = 0;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        withSlot({ limiter: limiters[i % 2]!, key: slotKey, limit: 2 }, undefined, async () => {
          running += 1;
          peak = Math.max(peak, running);
          await sleep(60);
          running -= 1;
          done.push(i);
        }),
      ),
    );
    assert.equal(peak, 2);
    assert.equal(done.length, 8);
    assert.equal(await redis[0]!.zcard(`autoclip:slots:${slotKey}`), 0, 'every slot is freed');
  });

  it('frees the slot of a holder that died once its lease runs out, and keeps a live holder by renewing', async () => {
    const slotKey = key();
    const limiter = new RedisConcurrencyLimiter(redis[1]!, { leaseMs: 300, maxPollMs: 50 });
    // A worker that crashed while holding the only slot: its lease is never renewed.
    await redis[0]!.zadd(`autoclip:slots:${slotKey}`, Date.now() + 300, 'crashed-worker');
    const began = Date.now();
    const release = await limiter.acquire(slotKey, 1);
    const waited = Date.now() - began;
    assert.ok(waited >= 200 && waited < 3000, `the slot came free with the lease (${waited} ms)`);

    // The live holder renews its 300 ms lease: a second caller still waits after three leases.
    const other = new RedisConcurrencyLimiter(redis[0]!, { leaseMs: 300, maxPollMs: 50 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('gave up')), 1000);
    await assert.rejects(other.acquire(slotKey, 1, controller.signal), /gave up/);
    await release();
    await (await other.acquire(slotKey, 1))();
  });

  it('gives up waiting when the caller is cancelled', async () => {
    const slotKey = key();
    const limiter = new RedisConcurrencyLimiter(redis[0]!, { maxPollMs: 50 });
    const release = await limiter.acquire(slotKey, 1);
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('activity cancelled')), 100);
    await assert.rejects(limiter.acquire(slotKey, 1, controller.signal), /activity cancelled/);
    await release();
  });
});
