import { execFileSync, spawn } from 'node:child_process';

/**
 * pgBackRest, the point-in-time recovery of PostgreSQL: WAL archived continuously and full backups
 * in the backups bucket. It runs as the user PostgreSQL runs as (it reads the data folder and the
 * server's socket), given by `runAs` when this process is root.
 */
export interface PgBackRestSetup {
  /** pgBackRest's configuration file (PGBACKREST_CONFIG). */
  config: string;
  stanza: string;
  runAs?: { uid: number; gid: number };
}

export class PgBackRestError extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`pgbackrest ${command} failed (exit ${exitCode}): ${stderr.trim().split('\n').slice(-3).join(' ') || 'no message'}`);
    this.name = 'PgBackRestError';
  }
}

/** Runs one pgBackRest command; resolves with its standard output. */
export function pgBackRest(setup: PgBackRestSetup, args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('pgbackrest', [`--config=${setup.config}`, `--stanza=${setup.stanza}`, ...args], {
      ...setup.runAs,
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
      // Its own temporary files and the home it may look in belong to the user it runs as.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/tmp', LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else reject(new PgBackRestError(args[0] ?? '', code, Buffer.concat(err).toString('utf8') + Buffer.concat(out).toString('utf8')));
    });
  });
}

export interface PgBackRestBackup {
  label: string;
  type: 'full' | 'diff' | 'incr';
  startedAt: Date;
  stoppedAt: Date;
  /** Bytes of the database it copied, before compression. */
  size: number;
  /** Bytes in the repository. */
  repoSize: number;
}

export interface PgBackRestInfo {
  status: string;
  backups: PgBackRestBackup[];
  /** The oldest and newest WAL segment the repository holds. */
  archive: { min: string; max: string } | undefined;
}

interface RawInfo {
  status: { message: string };
  backup: { label: string; type: 'full' | 'diff' | 'incr'; timestamp: { start: number; stop: number }; info: { size: number; repository: { delta: number } } }[];
  archive: { min: string | null; max: string | null }[];
}

export async function pgBackRestInfo(setup: PgBackRestSetup, signal?: AbortSignal): Promise<PgBackRestInfo> {
  const [raw] = JSON.parse(await pgBackRest(setup, ['info', '--output=json'], signal)) as RawInfo[];
  if (!raw) return { status: 'missing stanza', backups: [], archive: undefined };
  const archive = raw.archive.find((a) => a.min && a.max);
  return {
    status: raw.status.message,
    backups: raw.backup.map((b) => ({
      label: b.label,
      type: b.type,
      startedAt: new Date(b.timestamp.start * 1000),
      stoppedAt: new Date(b.timestamp.stop * 1000),
      size: b.info.size,
      repoSize: b.info.repository.delta,
    })),
    archive: archive ? { min: archive.min!, max: archive.max! } : undefined,
  };
}

/** pgBackRest as the deployment configures it; run as `osUser` when this process is root. */
export function pgBackRestSetupOf(recovery: { pgBackRestConfig: string; stanza: string; osUser: string | undefined }): PgBackRestSetup {
  const root = process.getuid?.() === 0;
  const id = (flag: string) => Number.parseInt(execFileSync('id', [flag, recovery.osUser!], { encoding: 'utf8' }), 10);
  return { config: recovery.pgBackRestConfig, stanza: recovery.stanza, runAs: root && recovery.osUser ? { uid: id('-u'), gid: id('-g') } : undefined };
}
