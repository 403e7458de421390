import { randomBytes } from 'node:crypto';
import { readdir, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * The media work folders of a worker process live in one folder of the work root named after the
 * machine and the process (`<host>-<pid>-<token>`). Each activity removes its own folder when it
 * ends; a process killed mid-step cannot, so a worker starting on the same machine removes the
 * folders of its processes that are gone. Folders of other machines (a shared volume), of live
 * processes, and anything not named this way are left alone.
 */
const HOST = hostname();
const PROCESS_FOLDER = `${HOST}-${process.pid}-${randomBytes(4).toString('hex')}`;
const OWNED = /^(.+)-(\d+)-([0-9a-f]{8})$/;

/** This process's folder in `workRoot`, under which its activities make their own. */
export function processWorkDir(workRoot: string): string {
  return join(workRoot, PROCESS_FOLDER);
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes from `workRoot` the folders of this machine's worker processes that no longer run (and
 * an earlier process's that had this process's pid); returns their names.
 */
export async function cleanWorkRoot(workRoot: string): Promise<string[]> {
  const entries = await readdir(workRoot, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  const removed: string[] = [];
  for (const entry of entries) {
    const match = OWNED.exec(entry.name);
    if (!entry.isDirectory() || !match || match[1] !== HOST || entry.name === PROCESS_FOLDER) continue;
    const pid = Number(match[2]);
    if (pid !== process.pid && isRunning(pid)) continue;
    await rm(join(workRoot, entry.name), { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
