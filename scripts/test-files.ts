import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const REPO_ROOT = resolve(__dirname, '..');

/** The test files of a file or folder (recursively), relative to the repository. */
export function testFiles(path: string): string[] {
  const full = resolve(REPO_ROOT, path);
  if (!existsSync(full)) {
    console.error(`[test] ${path} does not exist: check the path (UNIT_TESTS in scripts/test-unit.ts lists the stackless ones)`);
    return [];
  }
  if (!statSync(full).isDirectory()) return [relative(REPO_ROOT, full)];
  return readdirSync(full, { withFileTypes: true }).flatMap((entry) => {
    const child = join(full, entry.name);
    if (entry.isDirectory()) return testFiles(child);
    return entry.name.endsWith('.test.ts') ? [relative(REPO_ROOT, child)] : [];
  });
}
