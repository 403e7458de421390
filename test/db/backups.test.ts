import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DeleteObjectsCommand, GetObjectTaggingCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { mongo } from 'mongoose';
import {
  backupKey,
  backupMongo,
  backupPostgres,
  listBackups,
  parseBackupKey,
  pruneBackups,
  restoreMongo,
  restorePostgres,
  type BackupKind,
} from '../../db/backups';
import { migrateUp, readMigrationFiles } from '../../db/migrate';
import { ObjectStore } from '../../db/objects';
import { loadConfig } from '../../lib/config';
import { connect, createScratchDatabase, type ScratchDatabase } from '../support/database';

const DAY_MS = 86_400_000;
const REPO_ROOT = join(__dirname, '..', '..');

/** The configured MongoDB URL with a fresh database name, so runs never see each other's data. */
function scratchMongoUrl(baseUrl: string, label: string): string {
  const url = new URL(baseUrl);
  url.pathname = `/backup_${label}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  return url.toString();
}

async function withMongo<T>(url: string, work: (db: mongo.Db) => Promise<T>): Promise<T> {
  const client = new mongo.MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  try {
    return await work(client.db());
  } finally {
    await client.close();
  }
}

describe('backups (against the PostgreSQL, MongoDB-compatible server and MinIO of the test stack)', () => {
  const config = loadConfig();
  const store = new ObjectStore(config.s3);
  const prefix = `test/backups-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}/`;
  const scratch: ScratchDatabase[] = [];
  const mongoDatabases: string[] = [];

  async function putEmpty(key: string): Promise<void> {
    await store.put(key, 'x', 'application/octet-stream');
  }

  async function keysUnder(under: string): Promise<string[]> {
    const page = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: under }));
    return (page.Contents ?? []).map((object) => object.Key ?? '').sort();
  }

  after(async () => {
    const keys = await keysUnder(prefix);
    if (keys.length > 0) {
      await store.client.send(new DeleteObjectsCommand({ Bucket: store.bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    }
    await Promise.all(scratch.map((db) => db.drop()));
    await Promise.all(mongoDatabases.map((url) => withMongo(url, (db) => db.dropDatabase())));
    store.destroy();
  });

  it('keys carry the kind and UTC date, and only such keys are read back as backups', () => {
    const at = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6));
    assert.equal(backupKey('backups/', 'postgres', at), 'backups/postgres/2025/01/02/20250102T030405.006Z.dump');
    assert.equal(backupKey('backups/', 'mongo', at), 'backups/mongo/2025/01/02/20250102T030405.006Z.jsonl.gz');
    assert.deepEqual(parseBackupKey('backups/', 'backups/mongo/2025/01/02/20250102T030405.006Z.jsonl.gz'), { kind: 'mongo', takenAt: at });
    assert.equal(parseBackupKey('backups/', 'backups/postgres/2025/01/02/notes.txt'), undefined);
    assert.equal(parseBackupKey('backups/', 'backups/postgres/2025/01/03/20250102T030405.006Z.dump'), undefined, 'folder and time disagree');
    assert.equal(parseBackupKey('backups/', 'backups/postgres/2025/01/02/20250102T030405.006Z.jsonl.gz'), undefined, 'wrong extension for the kind');
    assert.equal(parseBackupKey('other/', 'backups/postgres/2025/01/02/20250102T030405.006Z.dump'), undefined);
  });

  it('PostgreSQL: a backup restores into an empty database with its rows, types, indexes and sequences', async () => {
    const source = await createScratchDatabase('backup_pg_src');
    scratch.push(source);
    const client = await connect(source.url);
    try {
      await client.query(`
        CREATE TABLE notes (
          id bigserial PRIMARY KEY,
          title text NOT NULL,
          body jsonb NOT NULL,
          blob bytea,
          created_at timestamptz NOT NULL
        );
        CREATE UNIQUE INDEX notes_title ON notes (title);
        INSERT INTO notes (title, body, blob, created_at) VALUES
          ('첫 번째 노트', '{"tags": ["한국어", "tech"], "score": 0.93}', '\\x00ff10', '2025-01-02T03:04:05.678Z'),
          ('second', '{"nested": {"ok": true}}', NULL, '2025-01-03T00:00:00Z');
      `);
    } finally {
      await client.end();
    }

    const progress: number[] = [];
    const summary = await backupPostgres({ store, prefix, databaseUrl: source.url, onProgress: (bytes) => progress.push(bytes) });
    assert.equal(summary.kind, 'postgres');
    assert.equal(summary.database, new URL(source.url).pathname.slice(1));
    assert.match(summary.key, new RegExp(`^${prefix}postgres/\\d{4}/\\d{2}/\\d{2}/\\d{8}T\\d{6}\\.\\d{3}Z\\.dump$`));
    assert.ok(summary.bytes > 0 && summary.durationMs >= 0);
    assert.equal(progress.at(-1), summary.bytes);

    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: summary.key }));
    assert.equal(head.ContentLength, summary.bytes);
    assert.equal(head.Metadata?.database, summary.database);
    assert.equal(head.Metadata?.kind, 'postgres');
    const tags = await store.client.send(new GetObjectTaggingCommand({ Bucket: store.bucket, Key: summary.key }));
    assert.deepEqual(Object.fromEntries((tags.TagSet ?? []).map((tag) => [tag.Key, tag.Value])), {
      bytes: String(summary.bytes),
      'duration-ms': String(summary.durationMs),
    });
    assert.equal((await store.getBuffer(summary.key)).subarray(0, 5).toString('latin1'), 'PGDMP', 'pg_dump custom format');

    const target = await createScratchDatabase('backup_pg_dst');
    scratch.push(target);
    const restored = await restorePostgres({ store, databaseUrl: target.url }, summary.key);
    assert.equal(restored.bytes, summary.bytes);
    assert.equal(restored.database, new URL(target.url).pathname.slice(1));

    const check = await connect(target.url);
    try {
      const { rows } = await check.query<{ id: string; title: string; body: unknown; blob: Buffer | null; created_at: Date }>(
        'SELECT id, title, body, blob, created_at FROM notes ORDER BY id',
      );
      assert.deepEqual(
        rows.map((row) => ({ ...row, blob: row.blob?.toString('hex') ?? null, created_at: row.created_at.toISOString() })),
        [
          { id: '1', title: '첫 번째 노트', body: { tags: ['한국어', 'tech'], score: 0.93 }, blob: '00ff10', created_at: '2025-01-02T03:04:05.678Z' },
          { id: '2', title: 'second', body: { nested: { ok: true } }, blob: null, created_at: '2025-01-03T00:00:00.000Z' },
        ],
      );
      const next = await check.query<{ id: string }>("INSERT INTO notes (title, body, created_at) VALUES ('third', '{}', now()) RETURNING id");
      assert.equal(next.rows[0]?.id, '3', 'the sequence continues after the restored rows');
      await assert.rejects(check.query("INSERT INTO notes (title, body, created_at) VALUES ('second', '{}', now())"), /notes_title/);
    } finally {
      await check.end();
    }

    await assert.rejects(restorePostgres({ store, databaseUrl: target.url }, summary.key), (error: Error) => {
      assert.match(error.message, /^pg_restore exited with 1: .*already exists/s);
      return true;
    });
  });

  it('PostgreSQL: the read-only login role (BACKUP_DATABASE_URL) dumps a migrated database, partitions and sequences included', async () => {
    const source = await createScratchDatabase('backup_pg_ro_src');
    scratch.push(source);
    await migrateUp(source.url);
    const owner = await connect(source.url);
    try {
      // A table (with its sequence) a later migration might add: default privileges let app_readonly read both.
      await owner.query("CREATE TABLE later_notes (id bigserial PRIMARY KEY, title text NOT NULL); INSERT INTO later_notes (title) VALUES ('one'), ('two')");
    } finally {
      await owner.end();
    }
    const app = await connect(source.appUrl);
    try {
      await app.query("INSERT INTO users (email, name) VALUES ('backup-ro@example.com', '백업')");
      await app.query("INSERT INTO api_usages (service, operation, created_at) VALUES ('tts', 'tts', now()), ('tts', 'tts', '2001-01-01Z')");
    } finally {
      await app.end();
    }
    const backup = await connect(source.backupUrl);
    try {
      const { rows } = await backup.query<{ readonly: boolean; readwrite: boolean }>(
        "SELECT pg_has_role(current_user, 'app_readonly', 'MEMBER') AS readonly, pg_has_role(current_user, 'app_readwrite', 'MEMBER') AS readwrite",
      );
      assert.deepEqual(rows, [{ readonly: true, readwrite: false }], `${new URL(source.backupUrl).username} reads only`);
    } finally {
      await backup.end();
    }

    const summary = await backupPostgres({ store, prefix: `${prefix}readonly/`, databaseUrl: source.backupUrl });
    const target = await createScratchDatabase('backup_pg_ro_dst');
    scratch.push(target);
    await restorePostgres({ store, databaseUrl: target.url }, summary.key);
    const check = await connect(target.url);
    try {
      const counts = await check.query<{ users: number; usages: number; partitions: string[]; migrations: number; next_note: string }>(
        `SELECT (SELECT count(*) FROM users WHERE email = 'backup-ro@example.com')::int AS users,
                (SELECT count(*) FROM api_usages)::int AS usages,
                ARRAY(SELECT DISTINCT tableoid::regclass::text FROM api_usages ORDER BY 1) AS partitions,
                (SELECT count(*) FROM schema_migrations)::int AS migrations,
                nextval('later_notes_id_seq')::text AS next_note`,
      );
      const now = new Date();
      const month = `api_usages_${now.getUTCFullYear()}_${String(now.getUTCMonth() + 1).padStart(2, '0')}`;
      assert.deepEqual(counts.rows, [{ users: 1, usages: 2, partitions: [month, 'api_usages_default'].sort(), migrations: readMigrationFiles().length, next_note: '3' }]);
    } finally {
      await check.end();
    }
  });

  it('PostgreSQL: the documented restore command restores a backup by its key', async () => {
    const [backup] = await listBackups({ store, prefix }, 'postgres');
    assert.ok(backup, 'the backup of the previous test');
    const target = await createScratchDatabase('backup_pg_cli');
    scratch.push(target);
    const cli = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/backup.ts', 'restore', 'postgres', backup.key, '--database-url', target.url],
      { cwd: REPO_ROOT, encoding: 'utf8', env: process.env },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`restored ${backup.key} into ${new URL(target.url).pathname.slice(1)}`));
    const check = await connect(target.url);
    try {
      assert.equal((await check.query<{ n: string }>('SELECT count(*) AS n FROM notes')).rows[0]?.n, '2');
    } finally {
      await check.end();
    }

    const usage = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/backup.ts', 'restore', 'postgres', backup.key], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: process.env,
    });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /restore postgres needs --database-url URL/);
  });

  it('PostgreSQL: a failed dump carries pg_dump\'s message without the password and leaves no object', async () => {
    const password = `wrong-${randomBytes(8).toString('hex')}`;
    const url = new URL(config.backupDatabaseUrl);
    url.password = password;
    const existing = await listBackups({ store, prefix }, 'postgres');
    await assert.rejects(backupPostgres({ store, prefix, databaseUrl: url.toString() }), (error: Error) => {
      assert.match(error.message, /^pg_dump exited with 1: .*password authentication failed/s);
      assert.ok(!error.message.includes(password), error.message);
      return true;
    });
    assert.deepEqual(await listBackups({ store, prefix }, 'postgres'), existing);
  });

  it('MongoDB: a backup restores every collection, document type and index into a fresh database', async () => {
    const sourceUrl = scratchMongoUrl(config.mongodbUrl, 'src');
    mongoDatabases.push(sourceUrl);
    const id = new mongo.ObjectId();
    const events = Array.from({ length: 2500 }, (_, i) => ({ seq: i, type: i % 2 ? 'content_created' : 'video_rendered', created_at: new Date(Date.UTC(2025, 0, 1, 0, 0, i)) }));
    const outputs = [
      {
        _id: id,
        content_id: 'c-1',
        text: '한국어 스크립트',
        tokens: mongo.Long.fromString('9007199254740993'),
        ratio: new mongo.Double(1),
        count: 7,
        small: mongo.Long.fromNumber(5),
        pattern: new mongo.BSONRegExp('^a.b$', 'imsx'),
        raw: new mongo.Binary(Buffer.from([0, 1, 2, 255])),
        nested: { list: [1, 'two', null], when: new Date(Date.UTC(2025, 5, 6, 7, 8, 9, 10)) },
      },
    ];
    await withMongo(sourceUrl, async (db) => {
      await db.collection('analytics_events').insertMany(events);
      await db.collection('analytics_events').createIndex({ type: 1, created_at: -1 }, { name: 'idx_type_created' });
      await db.collection('ai_outputs').insertMany(outputs);
      await db.collection('ai_outputs').createIndex({ content_id: 1 }, { name: 'idx_content', unique: true });
      await db.createCollection('empty_logs');
    });

    const summary = await backupMongo({ store, prefix, mongodbUrl: sourceUrl });
    assert.equal(summary.kind, 'mongo');
    assert.match(summary.key, new RegExp(`^${prefix}mongo/\\d{4}/\\d{2}/\\d{2}/\\d{8}T\\d{6}\\.\\d{3}Z\\.jsonl\\.gz$`));
    assert.deepEqual(summary.collections, ['ai_outputs', 'analytics_events', 'empty_logs']);
    assert.equal(summary.documents, 2501);
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: summary.key }));
    assert.equal(head.ContentLength, summary.bytes);
    assert.equal(head.Metadata?.database, new URL(sourceUrl).pathname.slice(1));

    const targetUrl = scratchMongoUrl(config.mongodbUrl, 'dst');
    mongoDatabases.push(targetUrl);
    const restored = await restoreMongo({ store, mongodbUrl: targetUrl }, summary.key);
    assert.equal(restored.documents, 2501);
    assert.equal(restored.bytes, summary.bytes);
    assert.deepEqual(restored.collections, summary.collections);

    await withMongo(targetUrl, async (db) => {
      const names = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name).sort();
      assert.deepEqual(names, ['ai_outputs', 'analytics_events', 'empty_logs']);
      const [output] = await db.collection('ai_outputs').find({}, { promoteLongs: false, promoteValues: false, bsonRegExp: true }).toArray();
      assert.ok(output);
      assert.ok(output._id instanceof mongo.ObjectId && output._id.equals(id));
      assert.ok(output.tokens instanceof mongo.Long && output.tokens.toString() === '9007199254740993', 'a 64-bit integer stays exact');
      assert.equal(output.ratio?._bsontype, 'Double', 'a double holding a whole number stays a double');
      assert.equal(output.count?._bsontype, 'Int32');
      assert.ok(output.small instanceof mongo.Long && output.small.toNumber() === 5, 'a small 64-bit integer stays a Long');
      assert.ok(output.pattern instanceof mongo.BSONRegExp && output.pattern.pattern === '^a.b$' && output.pattern.options === 'imsx');
      const plain = await db.collection('ai_outputs').findOne({ _id: id });
      assert.equal(plain?.text, '한국어 스크립트');
      assert.deepEqual(plain?.nested, outputs[0]?.nested);
      assert.ok(plain?.raw instanceof mongo.Binary && Buffer.from(plain.raw.buffer).equals(Buffer.from([0, 1, 2, 255])));

      const restoredEvents = await db.collection('analytics_events').find({}, { projection: { _id: 0 } }).sort({ seq: 1 }).toArray();
      assert.deepEqual(restoredEvents, events.map(({ seq, type, created_at }) => ({ seq, type, created_at })));

      const indexNames = async (name: string): Promise<string[]> => (await db.collection(name).listIndexes().toArray()).map((index) => index.name as string).sort();
      assert.deepEqual(await indexNames('analytics_events'), ['_id_', 'idx_type_created']);
      assert.deepEqual(await indexNames('ai_outputs'), ['_id_', 'idx_content']);
      await assert.rejects(db.collection('ai_outputs').insertOne({ content_id: 'c-1' }), /duplicate key/i, 'the unique index is enforced');
    });

    await assert.rejects(restoreMongo({ store, mongodbUrl: targetUrl }, summary.key), /collection ai_outputs .* already holds documents/);

    const whole = await store.getBuffer(summary.key);
    const truncated = `${prefix}broken/truncated.jsonl.gz`;
    await store.put(truncated, whole.subarray(0, Math.floor(whole.length / 2)), 'application/gzip');
    const brokenUrl = scratchMongoUrl(config.mongodbUrl, 'broken');
    mongoDatabases.push(brokenUrl);
    await assert.rejects(restoreMongo({ store, mongodbUrl: brokenUrl }, truncated), /unexpected end of file/);
    await assert.rejects(restoreMongo({ store, mongodbUrl: brokenUrl }, `${prefix}mongo/missing.jsonl.gz`), /no backup is stored at/);
    await assert.rejects(restoreMongo({ store, mongodbUrl: 'mongodb://127.0.0.1:1' }, summary.key), /must name a database/);
  });

  it('a backup stopped by its signal leaves no object', async () => {
    const stopped = new AbortController();
    stopped.abort(new Error('stopped by the schedule'));
    const existing = await listBackups({ store, prefix });
    await assert.rejects(backupPostgres({ store, prefix, databaseUrl: config.backupDatabaseUrl }, stopped.signal), /stopped by the schedule/);
    await assert.rejects(backupMongo({ store, prefix, mongodbUrl: config.mongodbUrl }, stopped.signal), /stopped by the schedule/);
    assert.deepEqual(await listBackups({ store, prefix }), existing);
  });

  it('pruning deletes only what is past its kind\'s retention and always keeps the newest backup', async () => {
    const now = new Date();
    const daysAgo = (days: number): Date => new Date(now.getTime() - days * DAY_MS);
    const old = (kind: BackupKind, days: number): string => backupKey(prefix, kind, daysAgo(days));
    const expired = [old('postgres', 31), old('postgres', 400), old('mongo', 15)];
    const kept = [old('postgres', 29), old('mongo', 13), old('mongo', 1)];
    const stranger = `${prefix}postgres/2001/01/01/readme.txt`;
    for (const key of [...expired, ...kept, stranger]) await putEmpty(key);
    const existing = await listBackups({ store, prefix });

    const result = await pruneBackups({ store, prefix, now });
    assert.deepEqual(result.deleted.sort(), [...expired].sort());
    assert.equal(result.kept, existing.length - expired.length);
    const left = await keysUnder(prefix);
    for (const key of expired) assert.ok(!left.includes(key), `${key} deleted`);
    for (const key of [...kept, stranger, ...existing.map((b) => b.key).filter((k) => !expired.includes(k))]) assert.ok(left.includes(key), `${key} kept`);

    const onlyOld = `${prefix}stale/`;
    const newestOld = backupKey(onlyOld, 'postgres', daysAgo(60));
    const oldest = backupKey(onlyOld, 'postgres', daysAgo(90));
    await putEmpty(newestOld);
    await putEmpty(oldest);
    const stale = await pruneBackups({ store, prefix: onlyOld, now });
    assert.deepEqual(stale, { deleted: [oldest], kept: 1 });
    assert.deepEqual(await keysUnder(onlyOld), [newestOld]);

    assert.deepEqual(await pruneBackups({ store, prefix: onlyOld, now }, { postgres: 1, mongo: 1 }), { deleted: [], kept: 1 });
  });
});
