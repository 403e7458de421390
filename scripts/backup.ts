import {
  BACKUP_RETENTION_DAYS,
  backupMongo,
  backupPostgres,
  listBackups,
  pruneBackups,
  restoreMongo,
  restorePostgres,
  type BackupKind,
} from '../db/backups';
import { ObjectStore } from '../db/objects';
import { loadConfig } from '../lib/config';

const USAGE = `usage: npm run backup -- <command>
  postgres | mongo | all                           back up BACKUP_DATABASE_URL's (else DATABASE_URL's) and/or
                                                   MONGODB_URL's database to S3 now
  list [postgres|mongo]                            list the stored backups, newest first
  prune                                            delete backups past their retention (PostgreSQL ${BACKUP_RETENTION_DAYS.postgres} days,
                                                   MongoDB ${BACKUP_RETENTION_DAYS.mongo} days), always keeping the newest of each
  restore postgres <key> --database-url URL        restore a PostgreSQL backup into URL's (empty) database
  restore mongo <key> --mongo-url URL              restore a MongoDB backup into URL's database (its collections must be empty)
Reads the configuration from the environment (S3_* for the bucket); backups live under backups/ in S3_BUCKET.`;

class UsageError extends Error {}

function size(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function parseKind(value: string | undefined): BackupKind {
  if (value === 'postgres' || value === 'mongo') return value;
  throw new UsageError(value ? `unknown backup kind ${value}` : 'name the kind: postgres or mongo');
}

function noMoreArguments(command: string, args: string[]): void {
  if (args.length > 0) throw new UsageError(`${command} takes no further arguments, got ${args.join(' ')}`);
}

type Command =
  | { name: 'backup'; kinds: BackupKind[] }
  | { name: 'list'; kind: BackupKind | undefined }
  | { name: 'prune' }
  | { name: 'restore'; kind: BackupKind; key: string; url: string };

/** Reads the command line before any configuration, so a mistyped command gets the usage text. */
function parseCommand(argv: string[]): Command {
  const [command, ...args] = argv;
  switch (command) {
    case 'postgres':
    case 'mongo':
    case 'all':
      noMoreArguments(command, args);
      return { name: 'backup', kinds: command === 'all' ? ['postgres', 'mongo'] : [command] };
    case 'list': {
      const [kind, ...rest] = args;
      noMoreArguments('list', rest);
      return { name: 'list', kind: kind === undefined ? undefined : parseKind(kind) };
    }
    case 'prune':
      noMoreArguments('prune', args);
      return { name: 'prune' };
    case 'restore': {
      // The target is never taken from the environment, so a restore cannot land on the live database by default.
      const [kindArg, key, flag, url, ...rest] = args;
      const kind = parseKind(kindArg);
      const expected = kind === 'postgres' ? '--database-url' : '--mongo-url';
      if (!key || key.startsWith('--')) throw new UsageError('restore needs the key of the backup (see `list`)');
      if (flag !== expected || !url) throw new UsageError(`restore ${kind} needs ${expected} URL naming the database to restore into`);
      noMoreArguments('restore', rest);
      return { name: 'restore', kind, key, url };
    }
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'no command given');
  }
}

async function run(command: Command, signal: AbortSignal): Promise<void> {
  const config = loadConfig();
  const store = new ObjectStore({ ...config.s3, bucket: config.s3.backupBucket });
  try {
    switch (command.name) {
      case 'backup':
        if (command.kinds.includes('postgres')) {
          const done = await backupPostgres({ store, databaseUrl: config.backupDatabaseUrl }, signal);
          console.log(`postgres backup of ${done.database}: ${done.key} (${size(done.bytes)} in ${seconds(done.durationMs)})`);
        }
        if (command.kinds.includes('mongo')) {
          const done = await backupMongo({ store, mongodbUrl: config.mongodbUrl }, signal);
          console.log(
            `mongo backup of ${done.database}: ${done.key} (${done.documents} documents in ${done.collections.length} collections, ${size(done.bytes)} in ${seconds(done.durationMs)})`,
          );
        }
        return;
      case 'list': {
        const backups = await listBackups({ store }, command.kind, signal);
        if (backups.length === 0) console.log('no backups');
        for (const backup of backups) console.log(`${backup.takenAt.toISOString()}  ${backup.kind.padEnd(8)}  ${size(backup.bytes).padStart(12)}  ${backup.key}`);
        return;
      }
      case 'prune': {
        const { deleted, kept } = await pruneBackups({ store }, BACKUP_RETENTION_DAYS, signal);
        for (const key of deleted) console.log(`deleted ${key}`);
        console.log(`${deleted.length} deleted, ${kept} kept`);
        return;
      }
      case 'restore':
        if (command.kind === 'postgres') {
          const done = await restorePostgres({ store, databaseUrl: command.url }, command.key, signal);
          console.log(`restored ${command.key} into ${done.database} (${size(done.bytes)} in ${seconds(done.durationMs)})`);
        } else {
          const done = await restoreMongo({ store, mongodbUrl: command.url }, command.key, signal);
          console.log(`restored ${command.key} into ${done.database}: ${done.documents} documents in ${done.collections.length} collections (${seconds(done.durationMs)})`);
        }
        return;
    }
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
