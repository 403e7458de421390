import { chownSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgBackRest, pgBackRestInfo, type PgBackRestSetup } from '../../db/pitr';
import { localSecret, type StackContext } from './context';
import { BACKUP_BUCKET_NAME, minioCaFile, minioKeys, PGBACKREST_PREFIX } from './minio';

/**
 * Point-in-time recovery of the local PostgreSQL (seed §7.2, RPO 1 hour): pgBackRest archives every
 * WAL segment to the backups bucket as PostgreSQL closes it, and keeps full backups there. A quiet
 * database still closes its segment within ARCHIVE_TIMEOUT_S of its last write, so what a loss
 * could take is never older than that plus one archive push.
 */
export const STANZA = 'autoclip';
const ARCHIVE_TIMEOUT_S = 300;

export interface PgBackRestFiles {
  dir: string;
  config: string;
  /** pgBackRest reaches PostgreSQL through a Unix socket only: the server also listens here. */
  socketDir: string;
}

/** Beside the data folder (same owner and reachability), e.g. `.autoclip/dev/postgres-pgbackrest`. */
export function pgBackRestFiles(postgresDataDir: string): PgBackRestFiles {
  const dir = `${postgresDataDir}-pgbackrest`;
  return { dir, config: join(dir, 'pgbackrest.conf'), socketDir: join(dir, 'socket') };
}

/**
 * Writes the configuration (the repository on the first MinIO site over HTTPS, encrypted, with
 * pgBackRest's own key) and the folders, owned by the user PostgreSQL runs as.
 */
export function writePgBackRestConfig(ctx: StackContext, files: PgBackRestFiles, postgres: { dataDir: string; port: number; user: string; minioPort: number }, runAs?: { uid: number; gid: number }): void {
  const folders = [files.dir, files.socketDir, join(files.dir, 'lock'), join(files.dir, 'log'), join(files.dir, 'spool')];
  for (const folder of folders) {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    if (runAs) chownSync(folder, runAs.uid, runAs.gid);
  }
  const key = minioKeys(ctx).pgbackrest;
  const lines = [
    '[global]',
    'repo1-type=s3',
    `repo1-path=/${PGBACKREST_PREFIX}`,
    `repo1-s3-bucket=${BACKUP_BUCKET_NAME}`,
    // The certificate names localhost: pgBackRest 2.45 does not check IP entries.
    'repo1-s3-endpoint=localhost',
    `repo1-storage-port=${postgres.minioPort}`,
    `repo1-storage-ca-file=${minioCaFile(ctx)}`,
    'repo1-s3-region=us-east-1',
    'repo1-s3-uri-style=path',
    `repo1-s3-key=${key.accessKey}`,
    `repo1-s3-key-secret=${key.secretKey}`,
    'repo1-cipher-type=aes-256-cbc',
    `repo1-cipher-pass=${localSecret(ctx, 'pgbackrest-cipher-pass', 'hex')}`,
    // Full backups kept 30 days (seed §7.1), with the WAL that makes every moment since restorable.
    'repo1-retention-full-type=time',
    'repo1-retention-full=30',
    'compress-type=lz4',
    'start-fast=y',
    `lock-path=${join(files.dir, 'lock')}`,
    `log-path=${join(files.dir, 'log')}`,
    `spool-path=${join(files.dir, 'spool')}`,
    'log-level-console=warn',
    'log-level-file=info',
    '',
    `[${STANZA}]`,
    `pg1-path=${postgres.dataDir}`,
    `pg1-port=${postgres.port}`,
    `pg1-socket-path=${files.socketDir}`,
    `pg1-user=${postgres.user}`,
    '',
  ];
  writeFileSync(files.config, lines.join('\n'), { mode: 0o600 });
  if (runAs) chownSync(files.config, runAs.uid, runAs.gid);
}

/** The server settings that archive WAL through pgBackRest. */
export function archiveSettings(files: PgBackRestFiles): string[] {
  return [
    '-c', 'wal_level=replica',
    '-c', 'archive_mode=on',
    '-c', `archive_command=pgbackrest --config=${files.config} --stanza=${STANZA} archive-push %p`,
    '-c', `archive_timeout=${ARCHIVE_TIMEOUT_S}`,
    '-c', `unix_socket_directories=${files.socketDir}`,
  ];
}

export function pgBackRestSetup(files: PgBackRestFiles, runAs?: { uid: number; gid: number }): PgBackRestSetup {
  return { config: files.config, stanza: STANZA, runAs };
}

/**
 * Once PostgreSQL and MinIO answer: the stanza (idempotent), and a first full backup when the
 * repository has none, so point-in-time recovery works from the first start.
 */
export async function ensurePgBackRest(setup: PgBackRestSetup, log: (line: string) => void): Promise<void> {
  if (!existsSync(setup.config)) throw new Error(`pgBackRest has no configuration at ${setup.config}`);
  await pgBackRest(setup, ['stanza-create']);
  const info = await pgBackRestInfo(setup);
  if (info.backups.length > 0) return;
  const began = Date.now();
  await pgBackRest(setup, ['backup', '--type=full']);
  log(`[stack] pgbackrest: first full backup in ${Date.now() - began} ms`);
}
