import { spawn, type ChildProcess } from 'node:child_process';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectTaggingCommand,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { mongo } from 'mongoose';
import { redactSecrets } from '../providers/http';
import type { ObjectStore } from './objects';

/**
 * Backups of PostgreSQL and MongoDB to the object store (design §7.1): a dump per run, streamed
 * from the database to an S3 multipart upload and back, never held whole in memory.
 *
 * Keys: `<prefix><kind>/YYYY/MM/DD/<YYYYMMDDTHHMMSS.sssZ>.<ext>` (UTC), `.dump` for PostgreSQL
 * (`pg_dump --format=custom`) and `.jsonl.gz` for MongoDB (gzipped lines of canonical Extended
 * JSON, collection by collection with their indexes, read through the driver since the store may be
 * FerretDB, which mongodump does not serve). The time in the key is what retention is measured on.
 * Each object's metadata names the database and kind; its tags record `bytes` and `duration-ms`.
 */
export type BackupKind = 'postgres' | 'mongo';

const BACKUP_KINDS: readonly BackupKind[] = ['postgres', 'mongo'];

/** Days each kind is kept (design §7.1: PostgreSQL 30, MongoDB 14). */
export const BACKUP_RETENTION_DAYS: Readonly<Record<BackupKind, number>> = { postgres: 30, mongo: 14 };

const DEFAULT_BACKUP_PREFIX = 'backups/';

const EXTENSIONS: Record<BackupKind, string> = { postgres: 'dump', mongo: 'jsonl.gz' };
const KEY_PATTERN = /^(postgres|mongo)\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.(dump|jsonl\.gz)$/;
const DAY_MS = 86_400_000;
/** 16 MiB parts, two in flight: at most 32 MiB buffered, and up to 160 GiB per backup (10,000 parts). */
const PART_SIZE = 16 * 1024 * 1024;
const QUEUE_SIZE = 2;
const INSERT_BATCH_DOCS = 1000;
const INSERT_BATCH_BYTES = 8 * 1024 * 1024;
const MONGO_FORMAT = 'autoclip-mongo-backup';

export interface BackupStoreDeps {
  store: ObjectStore;
  /** Where backups live in the bucket; `backups/` unless told. */
  prefix?: string;
}

export interface BackupRunDeps extends BackupStoreDeps {
  /** Called with the bytes moved so far (e.g. to heartbeat a Temporal activity). */
  onProgress?: (bytes: number) => void;
}

export interface BackupSummary {
  kind: BackupKind;
  key: string;
  database: string;
  /** Size of the stored object. */
  bytes: number;
  durationMs: number;
}

export interface MongoBackupSummary extends BackupSummary {
  documents: number;
  collections: string[];
}

export interface RestoreSummary {
  key: string;
  database: string;
  /** Bytes read from the object store. */
  bytes: number;
  durationMs: number;
}

export interface MongoRestoreSummary extends RestoreSummary {
  documents: number;
  collections: string[];
}

export interface StoredBackup {
  kind: BackupKind;
  key: string;
  takenAt: Date;
  bytes: number;
}

export interface PruneResult {
  deleted: string[];
  kept: number;
}

function prefixOf(deps: BackupStoreDeps): string {
  return deps.prefix ?? DEFAULT_BACKUP_PREFIX;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

export function backupKey(prefix: string, kind: BackupKind, takenAt: Date): string {
  const [y, m, d] = [takenAt.getUTCFullYear(), pad(takenAt.getUTCMonth() + 1), pad(takenAt.getUTCDate())];
  const time = `${pad(takenAt.getUTCHours())}${pad(takenAt.getUTCMinutes())}${pad(takenAt.getUTCSeconds())}.${pad(takenAt.getUTCMilliseconds(), 3)}`;
  return `${prefix}${kind}/${y}/${m}/${d}/${y}${m}${d}T${time}Z.${EXTENSIONS[kind]}`;
}

/** The kind and time of a backup key under `prefix`, or undefined for anything else stored there. */
export function parseBackupKey(prefix: string, key: string): { kind: BackupKind; takenAt: Date } | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const match = KEY_PATTERN.exec(key.slice(prefix.length));
  if (!match) return undefined;
  const [, kind, y, m, d, ky, km, kd, hh, mi, ss, ms, ext] = match;
  if (y !== ky || m !== km || d !== kd || ext !== EXTENSIONS[kind as BackupKind]) return undefined;
  const takenAt = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d), Number(hh), Number(mi), Number(ss), Number(ms)));
  return Number.isNaN(takenAt.getTime()) ? undefined : { kind: kind as BackupKind, takenAt };
}

/** Counts the bytes passing through and reports the running total. */
function byteCounter(onBytes: (total: number) => void): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      total += chunk.length;
      onBytes(total);
      done(null, chunk);
    },
  });
}

/**
 * Streams `body` into `key` while `produce` writes it; whichever side fails first stops the other,
 * and a failed run leaves no object behind. Resolves with the stored size and tags the object.
 */
async function uploadStream(
  deps: BackupRunDeps,
  key: string,
  metadata: Record<string, string>,
  contentType: string,
  produce: (body: Writable, stop: AbortSignal) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<{ bytes: number; durationMs: number }> {
  const started = performance.now();
  let bytes = 0;
  const body = byteCounter((total) => {
    bytes = total;
    deps.onProgress?.(total);
  });
  const stop = new AbortController();
  const upload = new Upload({
    client: deps.store.client,
    params: { Bucket: deps.store.bucket, Key: key, Body: body, ContentType: contentType, Metadata: metadata },
    partSize: PART_SIZE,
    queueSize: QUEUE_SIZE,
  });
  let firstError: unknown;
  const fail = (error: unknown): void => {
    firstError ??= error;
    stop.abort(error);
    body.destroy();
    void upload.abort().catch(() => undefined);
  };
  const onAbort = (): void => fail(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.allSettled([upload.done().catch(fail), produce(body, stop.signal).catch(fail)]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (firstError !== undefined) {
    await deps.store.client.send(new DeleteObjectCommand({ Bucket: deps.store.bucket, Key: key })).catch(() => undefined);
    throw firstError;
  }
  const durationMs = Math.round(performance.now() - started);
  await deps.store.client.send(
    new PutObjectTaggingCommand({
      Bucket: deps.store.bucket,
      Key: key,
      Tagging: { TagSet: [{ Key: 'bytes', Value: String(bytes) }, { Key: 'duration-ms', Value: String(durationMs) }] },
    }),
  );
  return { bytes, durationMs };
}

/** The body of a stored backup, as a stream. */
async function openObject(store: ObjectStore, key: string, signal: AbortSignal | undefined): Promise<Readable> {
  const out = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }), { abortSignal: signal }).catch((error: unknown) => {
    throw (error as { name?: string }).name === 'NoSuchKey' ? new Error(`no backup is stored at ${key} (see \`npm run backup -- list\`)`) : error;
  });
  if (!(out.Body instanceof Readable)) throw new Error(`backup ${key} has no readable body`);
  return out.Body;
}

interface PgTarget {
  /** The URL given to libpq, without the password. */
  url: string;
  password: string | undefined;
  database: string;
  secrets: string[];
}

/**
 * The libpq form of a `postgres://` URL: the password leaves the URL (the tools get it through
 * PGPASSWORD, never on the command line, where any local user could read it), and node-pg's
 * `ssl=true` becomes libpq's `sslmode=require`.
 */
function pgTarget(databaseUrl: string): PgTarget {
  const url = new URL(databaseUrl);
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new Error('the database URL must be a postgres:// or postgresql:// URL');
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!database) throw new Error('the database URL must name a database');
  const rawPassword = url.password;
  const password = rawPassword ? decodeURIComponent(rawPassword) : undefined;
  url.password = '';
  const ssl = url.searchParams.get('ssl');
  if (ssl !== null) {
    if ((ssl === 'true' || ssl === '1') && !url.searchParams.has('sslmode')) url.searchParams.set('sslmode', 'require');
    url.searchParams.delete('ssl');
  }
  return { url: url.toString(), password, database, secrets: [databaseUrl, rawPassword, password].filter((s): s is string => Boolean(s)) };
}

interface Tool {
  child: ChildProcess;
  /** Resolves when the tool exits 0; rejects with its stderr (secrets redacted) otherwise. */
  exited: Promise<void>;
}

/** Starts a PostgreSQL client tool (pg_dump, pg_restore) against `target`. */
function startPgTool(command: string, args: string[], target: PgTarget, stdin: 'pipe' | 'ignore', stop: AbortSignal): Tool {
  const env = { ...process.env };
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  const child = spawn(command, [...args, '--no-password', `--dbname=${target.url}`], { env, stdio: [stdin, 'pipe', 'pipe'], signal: stop });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-8000);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') reject(new Error(`${command} is not installed (Debian: apt-get install postgresql-client)`));
      else reject(error);
    });
    child.once('close', (code, signalName) => {
      if (code === 0) return resolve();
      const status = code === null ? `was stopped by ${signalName}` : `exited with ${code}`;
      const detail = stderr.trim() ? `: ${stderr.trim()}` : '';
      reject(new Error(redactSecrets(`${command} ${status}${detail}`, target.secrets)));
    });
  });
  return { child, exited };
}

function isBrokenPipe(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}

/** Dumps the database of `databaseUrl` with `pg_dump --format=custom` straight into the object store. */
export async function backupPostgres(deps: BackupRunDeps & { databaseUrl: string }, signal?: AbortSignal): Promise<BackupSummary> {
  const target = pgTarget(deps.databaseUrl);
  const key = backupKey(prefixOf(deps), 'postgres', new Date());
  const metadata = { kind: 'postgres', database: target.database, format: 'pg_dump-custom' };
  const { bytes, durationMs } = await uploadStream(
    deps,
    key,
    metadata,
    'application/octet-stream',
    async (body, stop) => {
      const tool = startPgTool('pg_dump', ['--format=custom'], target, 'ignore', stop);
      const stdout = tool.child.stdout as Readable;
      stdout.once('error', (error) => body.destroy(error));
      stdout.pipe(body);
      await tool.exited;
    },
    signal,
  );
  return { kind: 'postgres', key, database: target.database, bytes, durationMs };
}

/**
 * Restores a PostgreSQL backup into the (empty) database of `databaseUrl` with pg_restore, in one
 * transaction: on any error nothing is left half-restored. Objects are owned by the connecting role
 * (`--no-owner --no-privileges`), so a backup restores into another cluster with other roles.
 */
export async function restorePostgres(deps: BackupStoreDeps & { databaseUrl: string }, key: string, signal?: AbortSignal): Promise<RestoreSummary> {
  const started = performance.now();
  const target = pgTarget(deps.databaseUrl);
  const stop = new AbortController();
  const onAbort = (): void => stop.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const source = await openObject(deps.store, key, stop.signal);
    let bytes = 0;
    const tool = startPgTool(
      'pg_restore',
      ['--format=custom', '--single-transaction', '--exit-on-error', '--no-owner', '--no-privileges'],
      target,
      'pipe',
      stop.signal,
    );
    const fed = pipeline(source, byteCounter((total) => (bytes = total)), tool.child.stdin as Writable, { signal: stop.signal });
    const [feeding, restoring] = await Promise.allSettled([fed, tool.exited]);
    // When pg_restore stops reading, its own error explains the broken pipe better than the pipe does.
    if (feeding.status === 'rejected' && !isBrokenPipe(feeding.reason)) throw feeding.reason;
    if (restoring.status === 'rejected') throw restoring.reason;
    if (feeding.status === 'rejected') throw feeding.reason;
    return { key, database: target.database, bytes, durationMs: Math.round(performance.now() - started) };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

async function connectMongoClient(mongodbUrl: string): Promise<{ client: mongo.MongoClient; db: mongo.Db }> {
  // Not `new URL`: a replica set's URL lists several hosts, which WHATWG URLs refuse.
  if (!/^mongodb(\+srv)?:\/\/[^/]+\/[^/?]+/.test(mongodbUrl)) throw new Error('the MongoDB URL must name a database (mongodb://host/<database>)');
  const client = new mongo.MongoClient(mongodbUrl, { serverSelectionTimeoutMS: 10_000 });
  await client.connect();
  return { client, db: client.db() };
}

/** One line of a MongoDB backup: a header, a collection (followed by its documents), a document. */
type MongoHeaderLine = { format: typeof MONGO_FORMAT; version: 1; database: string; takenAt: string };
type MongoCollectionLine = { collection: string; indexes: mongo.Document[] };

const EJSON = mongo.BSON.EJSON;
/** Reads values as their BSON types (Int32, Double, Long, BSONRegExp), so a double holding 1.0 or a small Long keeps its type. */
const EXACT_TYPES = { promoteValues: false, promoteLongs: false, bsonRegExp: true } as const;
const COLLECTION_LINE_START = '{"collection":';
const DOCUMENT_LINE_START = '{"document":';

/**
 * Streams every collection of the database of `mongodbUrl` (documents in canonical Extended JSON,
 * so dates, ObjectIds, 64-bit integers and binaries keep their types) into one gzipped object.
 * Collections are read one after another, not as one snapshot.
 */
export async function backupMongo(deps: BackupRunDeps & { mongodbUrl: string }, signal?: AbortSignal): Promise<MongoBackupSummary> {
  const takenAt = new Date();
  const key = backupKey(prefixOf(deps), 'mongo', takenAt);
  const { client, db } = await connectMongoClient(deps.mongodbUrl);
  const collections: string[] = [];
  let documents = 0;
  try {
    const { bytes, durationMs } = await uploadStream(
      deps,
      key,
      { kind: 'mongo', database: db.databaseName, format: 'jsonl-ejson-gzip' },
      'application/gzip',
      async (body, stop) => {
        async function* lines(): AsyncGenerator<string> {
          const header: MongoHeaderLine = { format: MONGO_FORMAT, version: 1, database: db.databaseName, takenAt: takenAt.toISOString() };
          yield `${JSON.stringify(header)}\n`;
          const listed = await db.listCollections({}, { nameOnly: false }).toArray();
          const names = listed.filter((c) => (c.type ?? 'collection') === 'collection' && !c.name.startsWith('system.')).map((c) => c.name);
          for (const name of names.sort()) {
            const collection = db.collection(name);
            const line: MongoCollectionLine = { collection: name, indexes: await collection.listIndexes().toArray() };
            yield `${EJSON.stringify(line, { relaxed: true })}\n`;
            collections.push(name);
            for await (const document of collection.find({}, { batchSize: 1000, ...EXACT_TYPES })) {
              documents += 1;
              yield `${EJSON.stringify({ document }, { relaxed: false })}\n`;
            }
          }
        }
        await pipeline(Readable.from(lines()), createGzip(), body, { signal: stop });
      },
      signal,
    );
    return { kind: 'mongo', key, database: db.databaseName, bytes, durationMs, documents, collections };
  } finally {
    await client.close();
  }
}

/** What the server fills in on its own, left out when an index is recreated. */
const SERVER_INDEX_FIELDS = new Set(['v', 'ns', 'background']);

function indexSpec(index: mongo.Document): mongo.IndexDescription {
  const options = Object.fromEntries(Object.entries(index).filter(([field]) => !SERVER_INDEX_FIELDS.has(field)));
  return { ...options, key: index.key as mongo.IndexDescription['key'], name: index.name as string };
}

/** The lines of a text stream (a last line without a newline included); long lines are joined once. */
async function* splitLines(text: AsyncIterable<string>): AsyncGenerator<string> {
  let pending: string[] = [];
  for await (const chunk of text) {
    let start = 0;
    for (let end = chunk.indexOf('\n'); end !== -1; end = chunk.indexOf('\n', start)) {
      pending.push(chunk.slice(start, end));
      yield pending.join('');
      pending = [];
      start = end + 1;
    }
    if (start < chunk.length) pending.push(chunk.slice(start));
  }
  if (pending.length > 0) yield pending.join('');
}

/**
 * Restores a MongoDB backup into the database of `mongodbUrl`: each collection is created, its
 * documents inserted in batches, then its indexes built. A collection that already holds documents
 * stops the restore before anything is written to it.
 */
export async function restoreMongo(deps: BackupStoreDeps & { mongodbUrl: string }, key: string, signal?: AbortSignal): Promise<MongoRestoreSummary> {
  const started = performance.now();
  const { client, db } = await connectMongoClient(deps.mongodbUrl);
  const collections: string[] = [];
  let documents = 0;
  let bytes = 0;
  try {
    const source = await openObject(deps.store, key, signal);
    const text = createGunzip().setEncoding('utf8');
    const feeding = pipeline(source, byteCounter((total) => (bytes = total)), text, signal ? { signal } : {});
    feeding.catch(() => undefined);

    let current: { collection: mongo.Collection; indexes: mongo.Document[] } | undefined;
    let batch: mongo.Document[] = [];
    let batchBytes = 0;
    const flush = async (): Promise<void> => {
      if (!current || batch.length === 0) return;
      await current.collection.insertMany(batch, { ordered: true });
      documents += batch.length;
      batch = [];
      batchBytes = 0;
    };
    const finishCollection = async (): Promise<void> => {
      await flush();
      const specs = (current?.indexes ?? []).filter((index) => index.name !== '_id_').map(indexSpec);
      if (current && specs.length > 0) await current.collection.createIndexes(specs);
    };
    const handle = async (line: string, lineNumber: number): Promise<void> => {
      if (lineNumber === 1) {
        const header = JSON.parse(line) as Partial<MongoHeaderLine>;
        if (header.format !== MONGO_FORMAT || header.version !== 1) throw new Error(`${key} is not a MongoDB backup of this format`);
      } else if (line.startsWith(DOCUMENT_LINE_START)) {
        if (!current) throw new Error(`${key} line ${lineNumber}: a document before any collection`);
        batch.push((EJSON.parse(line, { relaxed: false }) as { document: mongo.Document }).document);
        batchBytes += line.length;
        if (batch.length >= INSERT_BATCH_DOCS || batchBytes >= INSERT_BATCH_BYTES) await flush();
      } else if (line.startsWith(COLLECTION_LINE_START)) {
        await finishCollection();
        const { collection: name, indexes } = EJSON.parse(line, { relaxed: true }) as MongoCollectionLine;
        const collection = db.collection(name);
        if ((await collection.countDocuments({}, { limit: 1 })) > 0) {
          throw new Error(`collection ${name} of database ${db.databaseName} already holds documents; restore into an empty database`);
        }
        if (!(await db.listCollections({ name }, { nameOnly: true }).hasNext())) await db.createCollection(name);
        current = { collection, indexes };
        collections.push(name);
      } else if (line !== '') {
        throw new Error(`${key} line ${lineNumber}: not a line of a MongoDB backup`);
      }
    };

    let lineNumber = 0;
    for await (const line of splitLines(text)) await handle(line, ++lineNumber);
    if (lineNumber === 0) throw new Error(`${key} is empty`);
    await feeding;
    await finishCollection();
    return { key, database: db.databaseName, bytes, durationMs: Math.round(performance.now() - started), documents, collections };
  } finally {
    await client.close();
  }
}

/** The backups under the prefix (all kinds, or one), newest first; other objects there are ignored. */
export async function listBackups(deps: BackupStoreDeps, kind?: BackupKind, signal?: AbortSignal): Promise<StoredBackup[]> {
  const prefix = prefixOf(deps);
  const found: StoredBackup[] = [];
  for (const each of kind ? [kind] : BACKUP_KINDS) {
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await deps.store.client.send(
        new ListObjectsV2Command({ Bucket: deps.store.bucket, Prefix: `${prefix}${each}/`, ContinuationToken: token }),
        { abortSignal: signal },
      );
      for (const object of page.Contents ?? []) {
        const parsed = object.Key ? parseBackupKey(prefix, object.Key) : undefined;
        if (parsed && parsed.kind === each) found.push({ kind: each, key: object.Key as string, takenAt: parsed.takenAt, bytes: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return found.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || (a.key < b.key ? 1 : -1));
}

/**
 * Deletes the backups older than their kind's retention (days, by the time in the key), always
 * keeping the newest backup of each kind even when it is older, so a stalled schedule never leaves
 * nothing to restore.
 */
export async function pruneBackups(
  deps: BackupStoreDeps & { now?: Date },
  retention: Readonly<Record<BackupKind, number>> = BACKUP_RETENTION_DAYS,
  signal?: AbortSignal,
): Promise<PruneResult> {
  const now = (deps.now ?? new Date()).getTime();
  const deleted: string[] = [];
  let kept = 0;
  for (const kind of BACKUP_KINDS) {
    const [newest, ...older] = await listBackups(deps, kind, signal);
    if (!newest) continue;
    const cutoff = now - retention[kind] * DAY_MS;
    const expired = older.filter((backup) => backup.takenAt.getTime() < cutoff).map((backup) => backup.key);
    kept += 1 + older.length - expired.length;
    for (let i = 0; i < expired.length; i += 1000) {
      const chunk = expired.slice(i, i + 1000);
      const out = await deps.store.client.send(
        new DeleteObjectsCommand({ Bucket: deps.store.bucket, Delete: { Objects: chunk.map((Key) => ({ Key })), Quiet: true } }),
        { abortSignal: signal },
      );
      const failed = out.Errors ?? [];
      if (failed.length > 0) throw new Error(`could not delete ${failed.map((e) => `${e.Key} (${e.Code ?? 'error'}: ${e.Message ?? ''})`).join(', ')}`);
      deleted.push(...chunk);
    }
  }
  return { deleted, kept };
}
