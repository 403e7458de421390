import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
} from '@aws-sdk/client-s3';
import { mongo } from 'mongoose';
import {
  BACKUP_KINDS,
  backupKey,
  backupMongo,
  backupPostgres,
  listBackups,
  parseBackupKey,
  readRetention,
  restoreMongo,
  restorePostgres,
  retainUntil,
  type BackupSummary,
} from '../../db/backups';
import { migrateUp, readMigrationFiles } from '../../db/migrate';
import { ObjectStore } from '../../db/objects';
import { loadConfig } from '../../lib/config';
import { connect, createScratchDatabase, type ScratchDatabase } from '../support/database';
import { waitFor } from '../support/wait';

const REPO_ROOT = join(__dirname, '..', '..');
const MiB = 1024 * 1024;

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

/**
 * Backups as the platform writes them: into the backups bucket of the test stack with the platform's
 * own key, which cannot delete there. Each run writes under a scope of its own (locked objects stay
 * until the bucket expires them), so its listings see only its own backups.
 */
describe('backups (against the PostgreSQL, MongoDB-compatible server and MinIO of the test stack)', () => {
  const config = loadConfig();
  const store = new ObjectStore({ ...config.s3, bucket: config.s3.backupBucket, publicUrl: undefined });
  const scope = `test/backups-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const scratch: ScratchDatabase[] = [];
  const mongoDatabases: string[] = [];
  let notesBackup: BackupSummary | undefined;

  after(async () => {
    await Promise.all(scratch.map((db) => db.drop()));
    await Promise.all(mongoDatabases.map((url) => withMongo(url, (db) => db.dropDatabase())));
    store.destroy();
  });

  /** The stored object's lock as S3 reports it, against what the summary promised. */
  async function assertLocked(summary: BackupSummary, within = scope): Promise<void> {
    const parsed = parseBackupKey(summary.key, within);
    assert.ok(parsed, `${summary.key} is a backup key of the scope`);
    assert.equal(summary.retainUntil, retainUntil(summary.kind, parsed.takenAt).toISOString());
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: summary.key }));
    assert.equal(head.ObjectLockMode, 'COMPLIANCE');
    assert.equal(head.ObjectLockRetainUntilDate?.toISOString(), summary.retainUntil);
    assert.deepEqual(await readRetention({ store }, summary.key), { mode: 'COMPLIANCE', retainUntil: new Date(summary.retainUntil) });
    await assert.rejects(
      store.client.send(new DeleteObjectCommand({ Bucket: store.bucket, Key: summary.key, VersionId: head.VersionId })),
      { name: 'AccessDenied' },
      "the platform's key cannot delete a backup",
    );
  }

  it('keys lead with the kind, carry the UTC time, and only such keys are read back as backups', () => {
    const at = new Date(Date.UTC(2025, 0, 2, 3, 4, 5, 6));
    assert.equal(backupKey('postgres', at), 'postgres/2025/01/02/20250102T030405.006Z.dump');
    assert.equal(backupKey('mongo', at), 'mongo/2025/01/02/20250102T030405.006Z.jsonl.gz');
    assert.equal(backupKey('redis', at), 'redis/2025/01/02/20250102T030405.006Z.rdb');
    assert.equal(backupKey('redis', at, 'test/run-1'), 'redis/test/run-1/2025/01/02/20250102T030405.006Z.rdb');
    assert.throws(() => backupKey('redis', at, '../elsewhere'), /must be folder names joined by \//);

    assert.deepEqual(parseBackupKey('mongo/2025/01/02/20250102T030405.006Z.jsonl.gz'), { kind: 'mongo', takenAt: at });
    assert.deepEqual(parseBackupKey('redis/test/run-1/2025/01/02/20250102T030405.006Z.rdb', 'test/run-1'), { kind: 'redis', takenAt: at });
    assert.equal(parseBackupKey('redis/test/run-1/2025/01/02/20250102T030405.006Z.rdb'), undefined, "another scope's backup");
    assert.equal(parseBackupKey('redis/2025/01/02/20250102T030405.006Z.rdb', 'test/run-1'), undefined, 'outside the scope');
    assert.equal(parseBackupKey('postgres/2025/01/02/notes.txt'), undefined);
    assert.equal(parseBackupKey('postgres/2025/01/03/20250102T030405.006Z.dump'), undefined, 'folder and time disagree');
    assert.equal(parseBackupKey('postgres/2025/01/02/20250102T030405.006Z.rdb'), undefined, 'wrong extension for the kind');
    assert.equal(parseBackupKey('backups/postgres/2025/01/02/20250102T030405.006Z.dump'), undefined, 'the former layout');
    assert.equal(parseBackupKey('pgbackrest/2025/01/02/20250102T030405.006Z.dump'), undefined, 'not a kind');

    assert.equal(retainUntil('postgres', at).toISOString(), '2025-02-01T03:04:05.006Z');
    assert.equal(retainUntil('mongo', at).toISOString(), '2025-01-16T03:04:05.006Z');
    assert.equal(retainUntil('redis', at).toISOString(), '2025-01-09T03:04:05.006Z');
  });

  it('PostgreSQL: a backup is stored locked for 30 days and restores into an empty database with its rows, types, indexes and sequences', async () => {
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
    const summary = await backupPostgres({ store, scope, databaseUrl: source.url, onProgress: (bytes) => progress.push(bytes) });
    notesBackup = summary;
    assert.equal(summary.kind, 'postgres');
    assert.equal(summary.database, new URL(source.url).pathname.slice(1));
    assert.match(summary.key, new RegExp(`^postgres/${scope}/\\d{4}/\\d{2}/\\d{2}/\\d{8}T\\d{6}\\.\\d{3}Z\\.dump$`));
    assert.ok(summary.bytes > 0 && summary.durationMs >= 0);
    assert.equal(progress.at(-1), summary.bytes);
    await assertLocked(summary);

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
    await assert.rejects(restorePostgres({ store, databaseUrl: target.url }, summary.key.replace(/^postgres\//, 'mongo/')), /is not a postgres backup/);
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

    const summary = await backupPostgres({ store, scope: `${scope}/readonly`, databaseUrl: source.backupUrl });
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
    assert.ok(notesBackup, 'the backup of the first PostgreSQL test');
    const target = await createScratchDatabase('backup_pg_cli');
    scratch.push(target);
    const cli = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'scripts/backup.ts', 'restore', 'postgres', notesBackup.key, '--database-url', target.url],
      { cwd: REPO_ROOT, encoding: 'utf8', env: process.env },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(`restored ${notesBackup.key} into ${new URL(target.url).pathname.slice(1)}`));
    const check = await connect(target.url);
    try {
      assert.equal((await check.query<{ n: string }>('SELECT count(*) AS n FROM notes')).rows[0]?.n, '2');
    } finally {
      await check.end();
    }

    const usage = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/backup.ts', 'restore', 'postgres', notesBackup.key], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: process.env,
    });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /restore postgres needs --database-url URL/);
  });

  it("PostgreSQL: a failed dump carries pg_dump's message without the password and leaves no object", async () => {
    const password = `wrong-${randomBytes(8).toString('hex')}`;
    const url = new URL(config.backupDatabaseUrl);
    url.password = password;
    const existing = await listBackups({ store, scope }, 'postgres');
    await assert.rejects(backupPostgres({ store, scope, databaseUrl: url.toString() }), (error: Error) => {
      assert.match(error.message, /^pg_dump exited with 1: .*password authentication failed/s);
      assert.ok(!error.message.includes(password), error.message);
      return true;
    });
    assert.deepEqual(await listBackups({ store, scope }, 'postgres'), existing);
  });

  it('PostgreSQL: a dump larger than one part goes up in parts under the same lock, and one stopped half-way leaves neither object nor parts', async () => {
    const source = await createScratchDatabase('backup_pg_big');
    scratch.push(source);
    const owner = await connect(source.url);
    const digest = async (client: Awaited<ReturnType<typeof connect>>): Promise<{ rows: number; digest: string }> => {
      const { rows } = await client.query<{ rows: number; digest: string }>("SELECT count(*)::int AS rows, md5(string_agg(md5(data), '' ORDER BY id)) AS digest FROM blobs");
      return rows[0]!;
    };
    let written: { rows: number; digest: string };
    try {
      // 24 rows of 1 MiB that do not compress (md5 output): the dump outgrows one 16 MiB part.
      await owner.query(`
        CREATE TABLE blobs (id int PRIMARY KEY, data bytea NOT NULL);
        INSERT INTO blobs SELECT g, (SELECT string_agg(decode(md5(g || ':' || i), 'hex'), ''::bytea) FROM generate_series(1, 65536) i) FROM generate_series(1, 24) g;
      `);
      written = await digest(owner);
    } finally {
      await owner.end();
    }

    const summary = await backupPostgres({ store, scope: `${scope}/big`, databaseUrl: source.url });
    assert.ok(summary.bytes > 16 * MiB, `${summary.bytes} bytes`);
    const firstPart = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: summary.key, PartNumber: 1 }));
    assert.equal(firstPart.PartsCount, Math.ceil(summary.bytes / (16 * MiB)), 'stored as a multipart upload');
    await assertLocked(summary, `${scope}/big`);
    const checksum = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: summary.key, ChecksumMode: 'ENABLED' }));
    assert.ok(checksum.ChecksumCRC32, 'every part went up with its CRC32');

    const target = await createScratchDatabase('backup_pg_big_dst');
    scratch.push(target);
    await restorePostgres({ store, databaseUrl: target.url }, summary.key);
    const check = await connect(target.url);
    try {
      assert.deepEqual(await digest(check), written);
    } finally {
      await check.end();
    }

    // MinIO lists the uploads in progress of one key at a time: the multipart uploads started are recorded as they start.
    const started: { key: string; uploadId: string }[] = [];
    store.client.middlewareStack.add(
      (next, context) => async (args) => {
        const out = await next(args);
        if (context.commandName === 'CreateMultipartUploadCommand') {
          started.push({ key: (args.input as { Key: string }).Key, uploadId: (out.output as { UploadId: string }).UploadId });
        }
        return out;
      },
      { step: 'initialize', name: 'recordMultipartUploads' },
    );
    const inProgress = async (key: string): Promise<string[]> =>
      ((await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket, Prefix: key }))).Uploads ?? []).map((u) => u.UploadId ?? '');
    try {
      const probeKey = `postgres/${scope}/big/probe`;
      const probe = await store.client.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: probeKey }));
      assert.deepEqual(await inProgress(probeKey), [probe.UploadId], 'an upload in progress is listed (else the check below could not fail)');
      await store.client.send(new AbortMultipartUploadCommand({ Bucket: store.bucket, Key: probeKey, UploadId: probe.UploadId }));

      const stopped = new AbortController();
      const before = await listBackups({ store, scope: `${scope}/big` });
      const failure = backupPostgres(
        {
          store,
          scope: `${scope}/big`,
          databaseUrl: source.url,
          onProgress: (bytes) => {
            if (bytes > 20 * MiB) stopped.abort(new Error('stopped after the first part'));
          },
        },
        stopped.signal,
      );
      await assert.rejects(failure, /stopped after the first part/);
      assert.deepEqual(await listBackups({ store, scope: `${scope}/big` }), before);
      const [upload, ...more] = started.filter((each) => each.key !== probeKey);
      assert.ok(upload && more.length === 0 && upload.key.startsWith(`postgres/${scope}/big/`), 'the stopped backup had started one multipart upload');
      await waitFor('the parts of the stopped upload discarded', async () => (await inProgress(upload.key)).length === 0, 30_000);
    } finally {
      store.client.middlewareStack.remove('recordMultipartUploads');
    }
  });

  it('MongoDB: a backup is stored locked for 14 days and restores every collection, document type and index into a fresh database', async () => {
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

    const summary = await backupMongo({ store, scope, mongodbUrl: sourceUrl });
    assert.equal(summary.kind, 'mongo');
    assert.match(summary.key, new RegExp(`^mongo/${scope}/\\d{4}/\\d{2}/\\d{2}/\\d{8}T\\d{6}\\.\\d{3}Z\\.jsonl\\.gz$`));
    assert.deepEqual(summary.collections, ['ai_outputs', 'analytics_events', 'empty_logs']);
    assert.equal(summary.documents, 2501);
    await assertLocked(summary);
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
    const truncated = `mongo/${scope}/broken/truncated.jsonl.gz`;
    await store.put(truncated, whole.subarray(0, Math.floor(whole.length / 2)), 'application/gzip');
    const brokenUrl = scratchMongoUrl(config.mongodbUrl, 'broken');
    mongoDatabases.push(brokenUrl);
    await assert.rejects(restoreMongo({ store, mongodbUrl: brokenUrl }, truncated), /unexpected end of file/);
    await assert.rejects(restoreMongo({ store, mongodbUrl: brokenUrl }, `mongo/${scope}/missing.jsonl.gz`), /no backup is stored at/);
    await assert.rejects(restoreMongo({ store, mongodbUrl: brokenUrl }, notesBackup?.key ?? 'postgres/'), /is not a mongo backup/);
    assert.equal(await readRetention({ store }, truncated), undefined, 'an object written without a lock has none');
    await assert.rejects(restoreMongo({ store, mongodbUrl: 'mongodb://127.0.0.1:1' }, summary.key), /must name a database/);
  });

  it('a backup stopped by its signal leaves no object', async () => {
    const stopped = new AbortController();
    stopped.abort(new Error('stopped by the schedule'));
    const existing = await listBackups({ store, scope });
    await assert.rejects(backupPostgres({ store, scope, databaseUrl: config.backupDatabaseUrl }, stopped.signal), /stopped by the schedule/);
    await assert.rejects(backupMongo({ store, scope, mongodbUrl: config.mongodbUrl }, stopped.signal), /stopped by the schedule/);
    assert.deepEqual(await listBackups({ store, scope }), existing);
  });

  it("lists a scope's backups of every kind, newest first, each locked until its time plus its kind's retention", async () => {
    const listed = await listBackups({ store, scope });
    assert.deepEqual([...new Set(listed.map((b) => b.kind))].sort(), ['mongo', 'postgres']);
    assert.deepEqual(listed.map((b) => b.takenAt.getTime()), listed.map((b) => b.takenAt.getTime()).sort((a, b) => b - a));
    for (const backup of listed) {
      assert.ok(backup.key.startsWith(`${backup.kind}/${scope}/`), backup.key);
      assert.ok(backup.bytes > 0);
      assert.deepEqual(await readRetention({ store }, backup.key), { mode: 'COMPLIANCE', retainUntil: retainUntil(backup.kind, backup.takenAt) });
    }
    assert.ok(!listed.some((b) => b.key.includes('/broken/')), 'objects that are not backups are left out');
    assert.deepEqual(await listBackups({ store, scope }, 'mongo'), listed.filter((b) => b.kind === 'mongo'));
    for (const kind of BACKUP_KINDS) {
      const unscoped = await listBackups({ store }, kind);
      assert.ok(!unscoped.some((b) => b.key.includes(scope)), `the platform's own listing of ${kind} leaves the scope out`);
    }
  });
});
