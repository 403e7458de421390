import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';

export interface ScratchDir {
  /** The folder; set once the suite's first `before` hook has run. */
  readonly path: string;
  /** A fresh sub-folder name for the outputs of one run. */
  next(): string;
}

/** A temporary folder for the suite it is called in: made before its tests, removed after them. */
export function scratchDir(prefix: string): ScratchDir {
  let path = '';
  let runs = 0;
  before(async () => {
    path = await mkdtemp(join(tmpdir(), prefix));
  });
  after(() => rm(path, { recursive: true, force: true }));
  return {
    get path() {
      return path;
    },
    next() {
      runs += 1;
      return join(path, `run-${runs}`);
    },
  };
}
