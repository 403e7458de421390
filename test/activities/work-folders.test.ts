import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { describe, it } from 'node:test';
import { cleanWorkRoot, processWorkDir } from '../../activities/work-folders';
import { scratchDir } from '../support/scratch-dir';

/** A pid no process has any more: a child that has exited (and was reaped). */
async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

describe('media work folders', () => {
  const scratch = scratchDir('work-folders-');

  /** A process folder with a render folder and a file in it, as a killed attempt leaves it. */
  async function leftBehind(root: string, name: string): Promise<void> {
    await mkdir(join(root, name, 'render-c0ffee-Ab12Cd'), { recursive: true });
    await writeFile(join(root, name, 'render-c0ffee-Ab12Cd', 'video.mp4'), 'half a video');
  }

  it('at start, removes the folders of this machine’s worker processes that are gone, and nothing else', async () => {
    const root = scratch.next();
    const host = hostname();
    const gone = `${host}-${await deadPid()}-0123abcd`;
    const samePidEarlierProcess = `${host}-${process.pid}-fedc9876`;
    const live = spawn('sleep', ['30']);
    try {
      const running = `${host}-${live.pid}-00aa11bb`;
      const otherMachine = `other-machine-${await deadPid()}-0123abcd`;
      const ours = basename(processWorkDir(root));
      for (const name of [gone, samePidEarlierProcess, running, otherMachine, ours, 'not-a-worker-folder']) await leftBehind(root, name);

      assert.deepEqual((await cleanWorkRoot(root)).sort(), [gone, samePidEarlierProcess].sort());
      assert.deepEqual((await readdir(root)).sort(), [running, otherMachine, ours, 'not-a-worker-folder'].sort());
      assert.deepEqual(await cleanWorkRoot(root), [], 'nothing more to remove');
    } finally {
      live.kill();
    }
  });

  it('has nothing to do when the work root does not exist yet', async () => {
    assert.deepEqual(await cleanWorkRoot(join(scratch.next(), 'missing')), []);
  });
});
