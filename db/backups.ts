import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { link, mkdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import {
  GetObjectCommand,
  GetObjectRetentionCommand,
  ListObjectsV2Command,
  PutObjectTaggingCommand,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { mongo } from 'mongoose';
import { redactSecrets } from '../providers/http';
import type { ObjectStore } from './objects';

/**
 * Backups of PostgreSQL, MongoDB and Redis to the backups bucket (S3_BACKUP_BUCKET, seed §7.1): a
 * dump per run, streamed from the database to an S3 multipart upload and back, never held whole in
 * memory.
 *
 * Keys: `<kind>/YYYY/MM/DD/<YYYYMMDDTHHMMSS.sssZ>.<ext>` (UTC): `.dump` for PostgreSQL
 * (`pg_dump --format=custom`), `.jsonl.gz` for MongoDB (gzipped lines of canonical Extended JSON,
 * collection by collection with their indexes, read through the driver since the store may be
 * FerretDB, which mongodump does not serve) and `.rdb` for Redis (an RDB snapshot taken by
 * `redis-cli --rdb` over the replication protocol). The kind leads the key because the bucket
 * expires objects by that prefix.
 *
 * Each object is written under an S3 Object Lock in COMPLIANCE mode until its time plus its kind's
 * retention: nobody, the bucket's owner included, can delete or change it before then, and nothing
 * the platform runs deletes a backup at all (its key may not). The bucket's lifecycle expires them
 * afterwards. Each object's metadata names the kind and the database; its tags record `bytes` and
 * `duration-ms`.
 */
export type BackupKind = 'postgres' | 'mongo' | 'redis';

export const BACKUP_KINDS: readonly BackupKind[] = ['postgres', 'mongo', 'redis'];

/** Days each kind is kept (seed §7.1: PostgreSQL 30, MongoDB 14, Redis 7): the length of its lock; the bucket's lifecycle expires its prefix after as many. */
export const BACKUP_RETENTION_DAYS: Readonly<Record<BackupKind, number>> = { postgres: 30, mongo: 14, redis: 7 };

const EXTENSIONS: Record<BackupKind, string> = { postgres: 'dump', mongo: 'jsonl.gz', redis: 'rdb' };
const DATED_NAME = /^(\d{4})\/(\d{2})\/(\d{2})\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.(dump|jsonl\.gz|rdb)$/;
const SCOPE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)*$/;
const DAY_MS = 86_400_000;
/** 16 MiB parts, two in flight: at most 32 MiB buffered, and up to 160 GiB per backup (10,000 parts). */
const PART_SIZE = 16 * 1024 * 1024;
const QUEUE_SIZE = 2;
const INSERT_BATCH_DOCS = 1000;
const INSERT_BATCH_BYTES = 8 * 1024 * 1024;
const MONGO_FORMAT = 'autoclip-mongo-backup';
/** How every RDB file starts: `REDIS` and a four-digit version. */
const RDB_HEADER = /^REDIS\d{4}$/;
const RDB_HEADER_BYTES = 9;
/** The file name a redis-server loads by default (`dbfilename`). */
export const REDIS_DUMP_FILE = 'dump.rdb';

export interface BackupStoreDeps {
  store: ObjectStore;
  /**
   * A folder under each kind's prefix (`<kind>/<scope>/YYYY/…`) whose backups are listed apart from
   * the others; the platform writes none, the tests keep their runs apart with one.
   */
  scope?: string;
}

export interface BackupRunDeps extends BackupStoreDeps {
  /** Called with the bytes moved so far (e.g. to heartbeat a Temporal activity). */
  onProgress?: (bytes: number) => void;
}

export interface BackupSummary {
  kind: BackupKind;
  key: string;
  /** The database backed up (PostgreSQL, MongoDB), or the server (Redis, `host:port`, all its databases). */
  database: string;
  /** Size of the stored object. */
  bytes: number;
  durationMs: number;
  /** Until when the object is locked (ISO 8601): its time plus its kind's retention. */
  retainUntil: string;
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

export interface RedisRestoreSummary {
  key: string;
  /** The RDB file written. */
  path: string;
  bytes: number;
  durationMs: number;
}

export interface StoredBackup {
  kind: BackupKind;
  key: string;
  takenAt: Date;
  bytes: number;
}

export interface BackupRetention {
  mode: string;
  retainUntil: Date;
}

function folderOf(scope: string | undefined): string {
  if (scope === undefined || scope === '') return '';
  if (!SCOPE_PATTERN.test(scope)) throw new Error(`backup scope ${JSON.stringify(scope)} must be folder names joined by /`);
  return `${scope}/`;
}

function pad(value: number, width = 2): string {
  return String(value).padStart(width, '0');
}

export function backupKey(kind: BackupKind, takenAt: Date, scope?: string): string {
  const [y, m, d] = [takenAt.getUTCFullYear(), pad(takenAt.getUTCMonth() + 1), pad(takenAt.getUTCDate())];
  const time = `${pad(takenAt.getUTCHours())}${pad(takenAt.getUTCMinutes())}${pad(takenAt.getUTCSeconds())}.${pad(takenAt.getUTCMilliseconds(), 3)}`;
  return `${kind}/${folderOf(scope)}${y}/${m}/${d}/${y}${m}${d}T${time}Z.${EXTENSIONS[kind]}`;
}

function isKind(value: string): value is BackupKind {
  return (BACKUP_KINDS as readonly string[]).includes(value);
}

/** The kind and time of a backup key in `scope` (none unless told), or undefined for anything else stored in the bucket. */
export function parseBackupKey(key: string, scope?: string): { kind: BackupKind; takenAt: Date } | undefined {
  const slash = key.indexOf('/');
  const kind = key.slice(0, slash);
  if (slash < 0 || !isKind(kind)) return undefined;
  const folder = folderOf(scope);
  const rest = key.slice(slash + 1);
  if (!rest.startsWith(folder)) return undefined;
  const match = DATED_NAME.exec(rest.slice(folder.length));
  if (!match) return undefined;
  const [, y, m, d, ky, km, kd, hh, mi, ss, ms, ext] = match;
  if (y !== ky || m !== km || d !== kd || ext !== EXTENSIONS[kind]) return undefined;
  const takenAt = new Date(Date.UTC(Number(y), Number(m) - 1, Number(d), Number(hh), Number(mi), Number(ss), Number(ms)));
  return Number.isNaN(takenAt.getTime()) ? undefined : { kind, takenAt };
}

/** Until when a backup of `kind` taken at `takenAt` is locked. */
export function retainUntil(kind: BackupKind, takenAt: Date): Date {
  return new Date(takenAt.getTime() + BACKUP_RETENTION_DAYS[kind] * DAY_MS);
}

/** Refuses a key that is not under the kind's prefix, so a backup is never restored as another kind. */
function assertKind(kind: BackupKind, key: string): void {
  if (!key.startsWith(`${kind}/`)) throw new Error(`${key} is not a ${kind} backup (its key starts with ${kind}/)`);
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

interface NewBackup {
  kind: BackupKind;
  takenAt: Date;
  metadata: Record<string, string>;
  contentType: string;
}

/**
 * Streams what `produce` writes into a new locked object and resolves with its key, size and time.
 * `produce` leaves `body` open: it is ended only once `produce` succeeded, so a dump that fails
 * half-way never completes the upload (it is aborted instead) and no partial backup is ever stored,
 * which matters where nothing can be deleted. Whichever side fails first stops the other.
 */
async function uploadBackup(
  deps: BackupRunDeps,
  backup: NewBackup,
  produce: (body: Writable, stop: AbortSignal) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<{ key: string; bytes: number; durationMs: number; retainUntil: string }> {
  const started = performance.now();
  const key = backupKey(backup.kind, backup.takenAt, deps.scope);
  const lockedUntil = retainUntil(backup.kind, backup.takenAt);
  let bytes = 0;
  const body = byteCounter((total) => {
    bytes = total;
    deps.onProgress?.(total);
  });
  const stop = new AbortController();
  const upload = new Upload({
    client: deps.store.client,
    params: {
      Bucket: deps.store.bucket,
      Key: key,
      Body: body,
      ContentType: backup.contentType,
      Metadata: backup.metadata,
      ObjectLockMode: 'COMPLIANCE',
      ObjectLockRetainUntilDate: lockedUntil,
      // S3 asks a locked write for an integrity check (Content-MD5 or a checksum); each part carries one.
      ChecksumAlgorithm: 'CRC32',
    },
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
    await Promise.allSettled([
      upload.done().catch(fail),
      produce(body, stop.signal).then(() => void body.end(), fail),
    ]);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (firstError !== undefined) throw firstError;
  const durationMs = Math.round(performance.now() - started);
  await deps.store.client.send(
    new PutObjectTaggingCommand({
      Bucket: deps.store.bucket,
      Key: key,
      Tagging: { TagSet: [{ Key: 'bytes', Value: String(bytes) }, { Key: 'duration-ms', Value: String(durationMs) }] },
    }),
  );
  return { key, bytes, durationMs, retainUntil: lockedUntil.toISOString() };
}

/** The body of a stored backup, as a stream. */
async function openObject(store: ObjectStore, key: string, signal: AbortSignal | undefined): Promise<Readable> {
  const out = await store.client.send(new GetObjectCommand({ Bucket: store.bucket, Key: key }), { abortSignal: signal }).catch((error: unknown) => {
    throw (error as { name?: string }).name === 'NoSuchKey' ? new Error(`no backup is stored at ${key} (see \`npm run backup -- list\`)`) : error;
  });
  if (!(out.Body instanceof Readable)) throw new Error(`backup ${key} has no readable body`);
  return out.Body;
}

interface Tool {
  child: ChildProcess;
  /** Resolves when the tool exits 0; rejects with its stderr (secrets redacted) otherwise. */
  exited: Promise<void>;
}

interface ToolOptions {
  env: NodeJS.ProcessEnv;
  stdin: 'pipe' | 'ignore';
  stop: AbortSignal;
  /** Text to redact from the tool's messages. */
  secrets: string[];
  /** The Debian package that brings the tool. */
  debianPackage: string;
}

/** Starts a client tool (pg_dump, pg_restore, redis-cli), its arguments as separate tokens, never a shell string. */
function startTool(command: string, args: string[], options: ToolOptions): Tool {
  const child = spawn(command, args, { env: options.env, stdio: [options.stdin, 'pipe', 'pipe'], signal: options.stop });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    stderr = (stderr + text).slice(-8000);
  });
  const exited = new Promise<void>((resolve, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') reject(new Error(`${command} is not installed (Debian: apt-get install ${options.debianPackage})`));
      else reject(error);
    });
    child.once('close', (code, signalName) => {
      if (code === 0) return resolve();
      const status = code === null ? `was stopped by ${signalName}` : `exited with ${code}`;
      const detail = stderr.trim() ? `: ${stderr.trim()}` : '';
      reject(new Error(redactSecrets(`${command} ${status}${detail}`, options.secrets)));
    });
  });
  return { child, exited };
}

/**
 * Passes a tool's standard output on to `body` (left open) and resolves once the tool exited 0,
 * which is after all its output was passed on ('close' follows the end of its output).
 */
async function forwardOutput(tool: Tool, body: Writable): Promise<void> {
  const stdout = tool.child.stdout as Readable;
  stdout.once('error', (error) => body.destroy(error));
  stdout.pipe(body, { end: false });
  await tool.exited;
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

/** Starts a PostgreSQL client tool (pg_dump, pg_restore) against `target`. */
function startPgTool(command: string, args: string[], target: PgTarget, stdin: 'pipe' | 'ignore', stop: AbortSignal): Tool {
  const env = { ...process.env };
  if (target.password !== undefined) env.PGPASSWORD = target.password;
  return startTool(command, [...args, '--no-password', `--dbname=${target.url}`], { env, stdin, stop, secrets: target.secrets, debianPackage: 'postgresql-client' });
}

function isBrokenPipe(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EPIPE' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ERR_STREAM_DESTROYED';
}

/** Dumps the database of `databaseUrl` with `pg_dump --format=custom` straight into the backups bucket. */
export async function backupPostgres(deps: BackupRunDeps & { databaseUrl: string }, signal?: AbortSignal): Promise<BackupSummary> {
  const target = pgTarget(deps.databaseUrl);
  const stored = await uploadBackup(
    deps,
    {
      kind: 'postgres',
      takenAt: new Date(),
      metadata: { kind: 'postgres', database: target.database, format: 'pg_dump-custom' },
      contentType: 'application/octet-stream',
    },
    (body, stop) => forwardOutput(startPgTool('pg_dump', ['--format=custom'], target, 'ignore', stop), body),
    signal,
  );
  return { kind: 'postgres', database: target.database, ...stored };
}

/**
 * Restores a PostgreSQL backup into the (empty) database of `databaseUrl` with pg_restore, in one
 * transaction: on any error nothing is left half-restored. Objects are owned by the connecting role
 * (`--no-owner`), and the privileges come back as they were (the app_* roles' grants and default
 * privileges, without which the platform's login roles could not use the restored database): the
 * roles they name must exist in the target cluster, as they do wherever the platform has migrated
 * a database.
 */
export async function restorePostgres(deps: BackupStoreDeps & { databaseUrl: string }, key: string, signal?: AbortSignal): Promise<RestoreSummary> {
  assertKind('postgres', key);
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
      ['--format=custom', '--single-transaction', '--exit-on-error', '--no-owner'],
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
  const { client, db } = await connectMongoClient(deps.mongodbUrl);
  const collections: string[] = [];
  let documents = 0;
  try {
    const stored = await uploadBackup(
      deps,
      { kind: 'mongo', takenAt, metadata: { kind: 'mongo', database: db.databaseName, format: 'jsonl-ejson-gzip' }, contentType: 'application/gzip' },
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
        await pipeline(Readable.from(lines()), createGzip(), body, { signal: stop, end: false });
      },
      signal,
    );
    return { kind: 'mongo', database: db.databaseName, ...stored, documents, collections };
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
  assertKind('mongo', key);
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


interface RedisTarget {
  /** How redis-cli reaches the server, without the password. */
  args: string[];
  env: NodeJS.ProcessEnv;
  /** `host:port`, for the metadata and the summary. */
  server: string;
  secrets: string[];
}

/**
 * redis-cli's form of a `redis://` (or TLS, `rediss://`) URL: the password goes through
 * REDISCLI_AUTH, never the command line, where any local user could read it; an ACL user name
 * through `--user`.
 */
function redisTarget(redisUrl: string): RedisTarget {
  const url = new URL(redisUrl);
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw new Error('the Redis URL must be a redis:// or rediss:// URL');
  const user = decodeURIComponent(url.username);
  const rawPassword = url.password;
  const password = rawPassword ? decodeURIComponent(rawPassword) : undefined;
  url.username = '';
  url.password = '';
  url.search = '';
  const env = { ...process.env };
  if (password !== undefined) env.REDISCLI_AUTH = password;
  const args = ['-u', url.toString(), ...(user && password !== undefined ? ['--user', user] : [])];
  return { args, env, server: url.host, secrets: [redisUrl, rawPassword, password].filter((s): s is string => Boolean(s)) };
}

/**
 * Snapshots the Redis server of `redisUrl` into the backups bucket: `redis-cli --rdb -` asks the
 * server for a full resynchronisation as a replica would, so the server forks and streams a
 * point-in-time RDB of all its databases, and the snapshot works against any Redis the URL reaches
 * (the login must be allowed SYNC). Nothing is written on the server's disk by this.
 */
export async function backupRedis(deps: BackupRunDeps & { redisUrl: string }, signal?: AbortSignal): Promise<BackupSummary> {
  const target = redisTarget(deps.redisUrl);
  const stored = await uploadBackup(
    deps,
    { kind: 'redis', takenAt: new Date(), metadata: { kind: 'redis', database: target.server, format: 'rdb' }, contentType: 'application/octet-stream' },
    (body, stop) =>
      forwardOutput(
        startTool('redis-cli', [...target.args, '--rdb', '-'], { env: target.env, stdin: 'ignore', stop, secrets: target.secrets, debianPackage: 'redis-tools' }),
        body,
      ),
    signal,
  );
  return { kind: 'redis', database: target.server, ...stored };
}

/** Passes the bytes through once they start as an RDB file does (`REDIS` and a four-digit version). */
function rdbHeaderCheck(key: string): Transform {
  let head = Buffer.alloc(0);
  let checked = false;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (!checked) {
        head = Buffer.concat([head, chunk]).subarray(0, RDB_HEADER_BYTES);
        if (head.length < RDB_HEADER_BYTES) return done(null, chunk);
        checked = true;
        if (!RDB_HEADER.test(head.toString('latin1'))) return done(new Error(`${key} is not an RDB file`));
      }
      done(null, chunk);
    },
    flush(done) {
      done(checked ? null : new Error(`${key} is too short to be an RDB file`));
    },
  });
}

function refuseExisting(path: string, error?: NodeJS.ErrnoException): never {
  throw new Error(`${path} already exists: move it aside or restore into another folder`, { cause: error });
}

/**
 * Writes a Redis backup to `<dir>/dump.rdb` (the folder is made if missing) for a stopped
 * redis-server to load. The file appears whole or not at all: it is written beside under another
 * name, then linked into place, which fails rather than replace a dump.rdb that is already there.
 */
export async function restoreRedis(deps: BackupStoreDeps, key: string, dir: string, signal?: AbortSignal): Promise<RedisRestoreSummary> {
  assertKind('redis', key);
  const started = performance.now();
  const path = join(dir, REDIS_DUMP_FILE);
  await mkdir(dir, { recursive: true });
  if (await stat(path).then(() => true, () => false)) refuseExisting(path);
  const partial = join(dir, `.${REDIS_DUMP_FILE}.${randomBytes(4).toString('hex')}.partial`);
  let bytes = 0;
  try {
    const source = await openObject(deps.store, key, signal);
    await pipeline(
      source,
      rdbHeaderCheck(key),
      byteCounter((total) => (bytes = total)),
      createWriteStream(partial, { flags: 'wx', flush: true }),
      signal ? { signal } : {},
    );
    await link(partial, path).catch((error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? refuseExisting(path, error) : Promise.reject(error)));
  } finally {
    await unlink(partial).catch(() => undefined);
  }
  return { key, path, bytes, durationMs: Math.round(performance.now() - started) };
}

/** The backups of the scope (all kinds, or one), newest first; other objects in the bucket are ignored. */
export async function listBackups(deps: BackupStoreDeps, kind?: BackupKind, signal?: AbortSignal): Promise<StoredBackup[]> {
  const folder = folderOf(deps.scope);
  const found: StoredBackup[] = [];
  for (const each of kind ? [kind] : BACKUP_KINDS) {
    let token: string | undefined;
    do {
      const page: ListObjectsV2CommandOutput = await deps.store.client.send(
        new ListObjectsV2Command({ Bucket: deps.store.bucket, Prefix: `${each}/${folder}`, ContinuationToken: token }),
        { abortSignal: signal },
      );
      for (const object of page.Contents ?? []) {
        const parsed = object.Key ? parseBackupKey(object.Key, deps.scope) : undefined;
        if (parsed && parsed.kind === each) found.push({ kind: each, key: object.Key as string, takenAt: parsed.takenAt, bytes: object.Size ?? 0 });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return found.sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime() || (a.key < b.key ? 1 : -1));
}

/** The lock on a stored backup as the bucket reports it, or undefined for an object written without one. */
export async function readRetention(deps: BackupStoreDeps, key: string, signal?: AbortSignal): Promise<BackupRetention | undefined> {
  try {
    const out = await deps.store.client.send(new GetObjectRetentionCommand({ Bucket: deps.store.bucket, Key: key }), { abortSignal: signal });
    const { Mode: mode, RetainUntilDate: until } = out.Retention ?? {};
    return mode && until ? { mode, retainUntil: until } : undefined;
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchObjectLockConfiguration') return undefined;
    throw error;
  }
}
