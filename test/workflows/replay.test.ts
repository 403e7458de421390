import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';

/**
 * Replays the saved histories of the pipeline tests' runs (test/workflows/histories, recorded with
 * `RECORD_HISTORIES=1 npm test -- test/e2e/produce-content.test.ts`) against the current
 * workflow code: a change that would break running workflows (non-determinism) fails here.
 */
const HISTORY_DIR = resolve(__dirname, 'histories');

describe('workflow replay', () => {
  it('replays every saved history without non-determinism', async () => {
    const files = (await readdir(HISTORY_DIR)).filter((f) => f.endsWith('.json')).sort();
    assert.ok(files.length >= 5, `saved histories in ${HISTORY_DIR}`);
    const histories = await Promise.all(
      files.map(async (file) => ({
        workflowId: file.replace(/\.json$/, ''),
        history: historyFromJSON(JSON.parse(await readFile(join(HISTORY_DIR, file), 'utf8'))),
      })),
    );
    const results: string[] = [];
    for await (const result of Worker.runReplayHistories({ workflowsPath: require.resolve('../../workflows') }, histories)) {
      assert.equal(result.error, undefined, `${result.workflowId}: ${String(result.error)}`);
      results.push(result.workflowId);
    }
    assert.deepEqual(results.sort(), files.map((f) => f.replace(/\.json$/, '')));
  });
});
