import {
  BACKUP_KINDS,
  BACKUP_RETENTION_DAYS,
  REDIS_DUMP_FILE,
  backupMongo,
  backupPostgres,
  backupRedis,
  listBackups,
  readRetention,
  restoreMongo,
  restorePostgres,
  restoreRedis,
  type BackupKind,
  type BackupStoreDeps,
  type BackupSummary,
} from '../db/backups';
import { ObjectStore } from '../db/objects';
import { loadConfig, type AppConfig } from '../lib/config';

const USAGE = `usage: npm run backup -- <command>
  postgres | mongo | redis | all                    back up now: BACKUP_DATABASE_URL's (else DATABASE_URL's) database,
                                                    MONGODB_URL's database, REDIS_URL's server (an RDB snapshot), or all three
  list [postgres|mongo|redis]                       the stored backups, newest first, with the end of each one's lock
  restore postgres [<key>|latest] --database-url URL  into URL's database, which must be empty (createdb it first)
  restore mongo [<key>|latest] --mongo-url URL        into URL's database, whose collections must be empty
  restore redis [<key>|latest] --to DIR               writes DIR/${REDIS_DUMP_FILE} (never over one already there)
  help                                              this text

Backups live in S3_BACKUP_BUCKET under postgres/, mongo/ and redis/, each object locked (S3 Object Lock,
COMPLIANCE) for ${BACKUP_RETENTION_DAYS.postgres}, ${BACKUP_RETENTION_DAYS.mongo} and ${BACKUP_RETENTION_DAYS.redis} days from when it was taken; the bucket's lifecycle expires them afterwards.
Nothing here deletes a backup. Without a key, restore takes the latest of its kind.

Bringing Redis back from a snapshot:
  1. npm run backup -- restore redis latest --to /tmp/redis-restore
  2. check the file with a redis-check-rdb of the server's version or newer:
     redis-check-rdb /tmp/redis-restore/${REDIS_DUMP_FILE}
  3. note where the server keeps its snapshot: redis-cli -u "$REDIS_URL" config get dir  (and: config get dbfilename)
  4. stop the server (its service or container, or: redis-cli -u "$REDIS_URL" shutdown nosave)
  5. copy /tmp/redis-restore/${REDIS_DUMP_FILE} over the file of step 3 (compose: ${REDIS_DUMP_FILE} in the redis-data volume)
  6. start the server with appendonly off: a server with an append-only file loads that instead of the snapshot.
     If it ran with one, turn it back on once the data is loaded (redis-cli config set appendonly yes rewrites it
     from what was loaded), then restore appendonly yes in its configuration
  7. check: redis-cli -u "$REDIS_URL" info keyspace`;

class UsageError extends Error {}

/** How many retention look-ups `list` has in flight at once. */
const RETENTION_LOOKUPS = 16;

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function isKind(value: string | undefined): value is BackupKind {
  return value !== undefined && (BACKUP_KINDS as readonly string[]).includes(value);
}

function parseKind(value: string | undefined): BackupKind {
  if (isKind(value)) return value;
  throw new UsageError(value ? `unknown backup kind ${value}` : `name the kind: ${BACKUP_KINDS.join(', ')}`);
}

function noMoreArguments(command: string, args: string[]): void {
  if (args.length > 0) throw new UsageError(`${command} takes no further arguments, got ${args.join(' ')}`);
}

/** Where each kind restores to: never taken from the environment, so a restore cannot land on the live service by default. */
const RESTORE_TARGET_FLAGS: Record<BackupKind, { flag: string; what: string }> = {
  postgres: { flag: '--database-url', what: 'URL naming the database to restore into' },
  mongo: { flag: '--mongo-url', what: 'URL naming the database to restore into' },
  redis: { flag: '--to', what: `DIR, the folder to write ${REDIS_DUMP_FILE} into` },
};

type Command =
  | { name: 'help' }
  | { name: 'backup'; kinds: BackupKind[] }
  | { name: 'list'; kind: BackupKind | undefined }
  | { name: 'restore'; kind: BackupKind; key: string; target: string };

/** Reads the command line before any configuration, so a mistyped command gets the usage text. */
function parseCommand(argv: string[]): Command {
  const [command, ...args] = argv;
  switch (command) {
    case 'help':
    case '--help':
      return { name: 'help' };
    case 'all':
      noMoreArguments(command, args);
      return { name: 'backup', kinds: [...BACKUP_KINDS] };
    case 'list': {
      const [kind, ...rest] = args;
      noMoreArguments('list', rest);
      return { name: 'list', kind: kind === undefined ? undefined : parseKind(kind) };
    }
    case 'restore': {
      const [kindArg, ...rest] = args;
      const kind = parseKind(kindArg);
      const key = rest[0] !== undefined && !rest[0].startsWith('--') ? (rest.shift() as string) : 'latest';
      const [flag, target, ...extra] = rest;
      const expected = RESTORE_TARGET_FLAGS[kind];
      if (flag !== expected.flag || !target) throw new UsageError(`restore ${kind} needs ${expected.flag} ${expected.what}`);
      noMoreArguments('restore', extra);
      return { name: 'restore', kind, key, target };
    }
    default:
      if (isKind(command)) {
        noMoreArguments(command, args);
        return { name: 'backup', kinds: [command] };
      }
      throw new UsageError(command ? `unknown command ${command}` : 'no command given');
  }
}

function describeBackup(done: BackupSummary): string {
  return `${done.kind} backup of ${done.database}: ${done.key} (${size(done.bytes)} in ${seconds(done.durationMs)}, locked until ${done.retainUntil})`;
}

async function backUp(deps: BackupStoreDeps, config: AppConfig, kinds: BackupKind[], signal: AbortSignal): Promise<void> {
  for (const kind of kinds) {
    if (kind === 'postgres') console.log(describeBackup(await backupPostgres({ ...deps, databaseUrl: config.backupDatabaseUrl }, signal)));
    if (kind === 'mongo') {
      const done = await backupMongo({ ...deps, mongodbUrl: config.mongodbUrl }, signal);
      console.log(`${describeBackup(done)}: ${done.documents} documents in ${done.collections.length} collections`);
    }
    if (kind === 'redis') console.log(describeBackup(await backupRedis({ ...deps, redisUrl: config.redisUrl }, signal)));
  }
}

async function list(deps: BackupStoreDeps, kind: BackupKind | undefined, signal: AbortSignal): Promise<void> {
  const backups = await listBackups(deps, kind, signal);
  if (backups.length === 0) console.log('no backups');
  for (let i = 0; i < backups.length; i += RETENTION_LOOKUPS) {
    const batch = backups.slice(i, i + RETENTION_LOOKUPS);
    const locks = await Promise.all(batch.map((backup) => readRetention(deps, backup.key, signal)));
    batch.forEach((backup, j) => {
      const lock = locks[j];
      const until = lock ? `${lock.mode.toLowerCase()} until ${lock.retainUntil.toISOString()}` : 'not locked';
      console.log(`${backup.takenAt.toISOString()}  ${backup.kind.padEnd(8)}  ${size(backup.bytes).padStart(10)}  ${until.padEnd(41)}  ${backup.key}`);
    });
  }
}

async function restore(deps: BackupStoreDeps, command: Extract<Command, { name: 'restore' }>, signal: AbortSignal): Promise<void> {
  let key = command.key;
  if (key === 'latest') {
    const [latest] = await listBackups(deps, command.kind, signal);
    if (!latest) throw new Error(`no ${command.kind} backup is stored`);
    key = latest.key;
  }
  if (command.kind === 'postgres') {
    const done = await restorePostgres({ ...deps, databaseUrl: command.target }, key, signal);
    console.log(`restored ${key} into ${done.database} (${size(done.bytes)} in ${seconds(done.durationMs)})`);
  } else if (command.kind === 'mongo') {
    const done = await restoreMongo({ ...deps, mongodbUrl: command.target }, key, signal);
    console.log(`restored ${key} into ${done.database}: ${done.documents} documents in ${done.collections.length} collections (${seconds(done.durationMs)})`);
  } else {
    const done = await restoreRedis(deps, key, command.target, signal);
    console.log(`restored ${key} into ${done.path} (${size(done.bytes)} in ${seconds(done.durationMs)}); to load it, see the steps in \`npm run backup -- help\``);
  }
}

async function run(command: Command, signal: AbortSignal): Promise<void> {
  if (command.name === 'help') {
    console.log(USAGE);
    return;
  }
  const config = loadConfig();
  const store = new ObjectStore({ ...config.s3, bucket: config.s3.backupBucket, publicUrl: undefined });
  try {
    if (command.name === 'backup') await backUp({ store }, config, command.kinds, signal);
    else if (command.name === 'list') await list({ store }, command.kind, signal);
    else await restore({ store }, command, signal);
  } finally {
    store.destroy();
  }
}

const interrupted = new AbortController();
process.once('SIGINT', () => interrupted.abort(new Error('interrupted')));
process.once('SIGTERM', () => interrupted.abort(new Error('terminated')));

Promise.resolve()
  .then(() => run(parseCommand(process.argv.slice(2)), interrupted.signal))
  .catch((error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${USAGE}`);
      process.exitCode = 2;
      return;
    }
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
