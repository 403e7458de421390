import { spawn } from 'node:child_process';
import { join, resolve, sep } from 'node:path';
import { FONTS_DIR_VARIABLE } from '../providers/ffmpeg/fonts';
import { temporalBinary } from './local-stack/binaries';
import { ensureScriptFonts } from './local-stack/fonts';
import { testFiles } from './test-files';

/**
 * `npm run test:unit`: the tests that need no stack (no PostgreSQL, Redis, MongoDB or MinIO), in a
 * minute or two: workflow logic with stub activities, provider clients against their in-process fake
 * servers and local tools (ffmpeg, espeak-ng), command builders, configuration, and the replay of
 * saved histories.
 * `npm run test:unit -- test/workflows` runs only the files or folders named; arguments starting
 * with `--` go to Node's test runner.
 *
 * The rule: a file or folder belongs in UNIT_TESTS when none of its tests starts a service or reads
 * a stack variable. The only server they use is the Temporal CLI dev server that
 * @temporalio/testing starts per file (the stack's cached CLI binary, built once when missing).
 * The stack's variables are removed from the environment, so a test that comes to need the stack
 * fails here instead of silently using a developer's running one. The script fonts are fetched
 * into the cache as the stack does (./local-stack/fonts.ts), for the media tests.
 */
const UNIT_TESTS = [
  'test/workflows', // produceContent / publishToChannel on real workers with stub activities, and the replay of saved histories
  'test/providers', // provider clients against local fakes of their protocols, builders, ffmpeg/espeak-ng (any subfolder)
  'test/lib',
  'test/db/secrets.test.ts',
  'test/deploy',
];

const STACK_VARIABLES = [
  'DATABASE_URL', 'MIGRATION_DATABASE_URL', 'BACKUP_DATABASE_URL', 'PGBOUNCER_ADMIN_URL', 'REDIS_URL', 'MONGODB_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_UI_URL',
  'S3_ENDPOINT', 'S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_REGION', 'S3_FORCE_PATH_STYLE',
];

const REPO_ROOT = resolve(__dirname, '..');

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const flags = args.filter((a) => a.startsWith('--'));
  const requested = args.filter((a) => !a.startsWith('--'));
  const files = (requested.length > 0 ? requested : UNIT_TESTS).flatMap(testFiles).sort();
  if (files.length === 0) throw new Error('no test files found');
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };
  for (const name of STACK_VARIABLES) delete env[name];
  const fontsDir = ensureScriptFonts();
  if (fontsDir) env[FONTS_DIR_VARIABLE] = fontsDir;
  const workflowTests = join(REPO_ROOT, 'test', 'workflows') + sep;
  if (files.some((f) => resolve(REPO_ROOT, f).startsWith(workflowTests))) env.TEMPORAL_CLI_PATH = await temporalBinary();
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-timeout=120000', ...flags, ...files], {
    cwd: REPO_ROOT,
    stdio: 'inherit',
    env,
  });
  const [code] = await new Promise<[number | null]>((done) => child.once('exit', (c) => done([c])));
  return code ?? 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
