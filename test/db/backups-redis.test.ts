import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Redis } from 'ioredis';
import { backupRedis, listBackups, parseBackupKey, restoreRedis, retainUntil } from '../../db/backups';
import { ObjectStore } from '../../db/objects';
import { loadConfig } from '../../lib/config';
import { freeLoopbackPort } from '../../lib/ports';
import { scratchDir } from '../support/scratch-dir';
import { waitFor } from '../support/wait';

const REPO_ROOT = join(__dirname, '..', '..');

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function backupCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scripts/backup.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8', env: process.env });
}

/**
 * Redis snapshots (seed §7.1: every 4 hours, kept 7 days) taken from the test stack's Redis through
 * the platform's code path, and brought back the documented way: a stopped (here: new) redis-server
 * started on the restored dump.rdb.
 */
describe('Redis snapshots (against the Redis and MinIO of the test stack)', () => {
  const config = loadConfig();
  const store = new ObjectStore({ ...config.s3, bucket: config.s3.backupBucket, publicUrl: undefined });
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const scope = `test/redis-${runId}`;
  const prefix = `backup-test:${runId}:`;
  const database = Number(new URL(config.redisUrl).pathname.slice(1) || 0);
  const live = new Redis(config.redisUrl);
  const work = scratchDir('redis-restore-');
  const servers: ChildProcess[] = [];

  after(async () => {
    const keys = await live.keys(`${prefix}*`);
    if (keys.length > 0) await live.del(...keys);
    live.disconnect();
    await Promise.all(servers.map((server) => stopServer(server)));
    store.destroy();
  });

  /** A redis-server of its own on a free port, loading `dir`/dump.rdb and never saving; with a client on the platform's database number. */
  async function startFromDump(dir: string): Promise<{ server: ChildProcess; client: Redis }> {
    const port = await freeLoopbackPort();
    const server = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--dbfilename', 'dump.rdb', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    servers.push(server);
    await waitFor('the scratch redis-server listening', () => portOpen(port), 20_000);
    const client = new Redis({ port, host: '127.0.0.1', db: database });
    // It answers LOADING until the dump is in memory.
    await waitFor('the dump loaded', () => client.ping().then((reply) => reply === 'PONG', () => false), 20_000);
    return { server, client };
  }

  async function stopServer(server: ChildProcess): Promise<void> {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    await exited;
  }

  async function writeSample(label: string): Promise<void> {
    await live.set(`${prefix}${label}:text`, '안녕하세요, AutoClip');
    await live.set(`${prefix}${label}:bytes`, Buffer.from([0, 255, 1, 128]));
    await live.hset(`${prefix}${label}:hash`, { plan: 'pro', credits: '42' });
    await live.set(`${prefix}${label}:ttl`, 'expires within the hour', 'PX', 3_600_000);
  }

  async function assertSample(client: Redis, label: string): Promise<void> {
    assert.equal(await client.get(`${prefix}${label}:text`), '안녕하세요, AutoClip');
    assert.deepEqual(await client.getBuffer(`${prefix}${label}:bytes`), Buffer.from([0, 255, 1, 128]));
    assert.deepEqual(await client.hgetall(`${prefix}${label}:hash`), { plan: 'pro', credits: '42' });
    assert.equal(await client.pttl(`${prefix}${label}:text`), -1, 'a key without expiry has none');
    assert.equal(await client.get(`${prefix}${label}:ttl`), 'expires within the hour');
    const ttl = await client.pttl(`${prefix}${label}:ttl`);
    assert.ok(ttl > 0 && ttl <= 3_600_000, `the key keeps its expiry (${ttl} ms left)`);
  }

  it('a snapshot is stored locked for 7 days and a redis-server started on its restored dump.rdb serves strings, bytes, a hash and a key with its TTL', async () => {
    await writeSample('lib');
    const progress: number[] = [];
    const summary = await backupRedis({ store, scope, redisUrl: config.redisUrl, onProgress: (bytes) => progress.push(bytes) });
    assert.equal(summary.kind, 'redis');
    assert.equal(summary.database, new URL(config.redisUrl).host);
    assert.match(summary.key, new RegExp(`^redis/${scope}/\\d{4}/\\d{2}/\\d{2}/\\d{8}T\\d{6}\\.\\d{3}Z\\.rdb$`));
    assert.equal(progress.at(-1), summary.bytes);
    const parsed = parseBackupKey(summary.key, scope);
    assert.ok(parsed);
    assert.equal(summary.retainUntil, retainUntil('redis', parsed.takenAt).toISOString());
    assert.equal(new Date(summary.retainUntil).getTime() - parsed.takenAt.getTime(), 7 * 86_400_000);
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: summary.key }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE');
    assert.equal(head.ObjectLockRetainUntilDate?.toISOString(), summary.retainUntil);
    assert.equal(head.ContentLength, summary.bytes);

    const dir = join(work.path, 'restored');
    const restored = await restoreRedis({ store }, summary.key, dir);
    assert.deepEqual(restored.path, join(dir, 'dump.rdb'));
    assert.equal(restored.bytes, summary.bytes);
    assert.deepEqual(await readdir(dir), ['dump.rdb'], 'nothing else is left in the folder');

    const { server, client } = await startFromDump(dir);
    try {
      await assertSample(client, 'lib');
    } finally {
      client.disconnect();
      await stopServer(server);
    }

    await assert.rejects(restoreRedis({ store }, summary.key, dir), /dump\.rdb already exists: move it aside/);
    assert.deepEqual(await readdir(dir), ['dump.rdb']);
  });

  it('refuses what is not a Redis snapshot and leaves no file', async () => {
    const dir = join(work.path, 'refused');
    await mkdir(dir);
    const notRdb = `redis/${scope}/not-a-snapshot.rdb`;
    await store.put(notRdb, 'PGDMP and more', 'application/octet-stream');
    await assert.rejects(restoreRedis({ store }, notRdb, dir), /is not an RDB file/);
    const tooShort = `redis/${scope}/too-short.rdb`;
    await store.put(tooShort, 'REDIS', 'application/octet-stream');
    await assert.rejects(restoreRedis({ store }, tooShort, dir), /is too short to be an RDB file/);
    await assert.rejects(restoreRedis({ store }, `redis/${scope}/missing.rdb`, dir), /no backup is stored at/);
    await assert.rejects(restoreRedis({ store }, 'postgres/2025/01/02/20250102T030405.006Z.dump', dir), /is not a redis backup/);
    assert.deepEqual(await readdir(dir), []);
  });

  it("a snapshot redis-cli cannot take carries its message without the password and leaves no object", async () => {
    const password = `wrong-${randomBytes(8).toString('hex')}`;
    const url = new URL(config.redisUrl);
    url.username = 'backup';
    url.password = password;
    const existing = await listBackups({ store, scope }, 'redis');
    await assert.rejects(backupRedis({ store, scope, redisUrl: url.toString() }), (error: Error) => {
      assert.match(error.message, /^redis-cli exited with 1: .*AUTH failed/s);
      assert.ok(!error.message.includes(password), error.message);
      return true;
    });
    assert.deepEqual(await listBackups({ store, scope }, 'redis'), existing);
  });

  it('the documented commands take a snapshot, list it with its lock and restore the latest into a folder', async () => {
    await writeSample('cli');
    const taken = backupCli(['redis']);
    assert.equal(taken.status, 0, taken.stderr);
    const [, key, until] = /^redis backup of \S+: (redis\/\S+\.rdb) \(.* locked until (\S+)\)$/m.exec(taken.stdout) ?? [];
    assert.ok(key && until, taken.stdout);
    const parsed = parseBackupKey(key);
    assert.ok(parsed, `${key} is a key of the platform's own layout`);
    assert.equal(until, retainUntil('redis', parsed.takenAt).toISOString());

    const listed = backupCli(['list', 'redis']);
    assert.equal(listed.status, 0, listed.stderr);
    const line = listed.stdout.split('\n').find((each) => each.endsWith(key));
    assert.ok(line, listed.stdout);
    assert.match(line, new RegExp(`^${parsed.takenAt.toISOString()}\\s+redis\\s+.*compliance until ${until}\\s+${key}$`));

    const dir = join(work.path, 'cli');
    const restored = backupCli(['restore', 'redis', 'latest', '--to', dir]);
    assert.equal(restored.status, 0, restored.stderr);
    assert.match(restored.stdout, new RegExp(`^restored ${key} into ${join(dir, 'dump.rdb')} `));
    const { server, client } = await startFromDump(dir);
    try {
      await assertSample(client, 'cli');
    } finally {
      client.disconnect();
      await stopServer(server);
    }

    const usage = backupCli(['restore', 'redis', 'latest']);
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /restore redis needs --to DIR/);
    const help = backupCli(['help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /redis-check-rdb .*dump\.rdb/);
  });
});
