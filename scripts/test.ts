import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startStack } from './local-stack';
import { testFiles } from './test-files';

/**
 * `npm test`: starts the test stack (its own ports and data folder), runs every test file under
 * test/ with Node's test runner against it, and stops what it started.
 * `npm test -- test/some.test.ts` runs only the files named; arguments starting with `--` go to
 * Node's test runner (e.g. `--test-name-pattern=...`).
 */
const REPO_ROOT = resolve(__dirname, '..');

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const flags = args.filter((a) => a.startsWith('--'));
  const requested = args.filter((a) => !a.startsWith('--'));
  const files = requested.length > 0 ? requested : testFiles('test').sort();
  const stack = await startStack('test');
  try {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-timeout=600000', ...flags, ...files],
      { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, ...stack.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } },
    );
    const [code] = (await new Promise<[number | null]>((done) => child.once('exit', (c) => done([c]))));
    return code ?? 1;
  } finally {
    await stack.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  },
);
