import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

const root = path.resolve(__dirname, '..', '..');

/**
 * The project runs on Node 24 whatever the system's Node: npm scripts put node_modules/.bin first
 * on PATH, where the `node` package (a dev dependency) links its Node 24 binary.
 */
describe('runtime', () => {
  it('runs on Node 24', () => {
    const major = Number(process.versions.node.split('.')[0]);
    assert.equal(major, 24, `running on Node ${process.version} (${process.execPath})`);
  });

  it("runs the binary of the project's node package", () => {
    const installed = JSON.parse(readFileSync(path.join(root, 'node_modules', 'node', 'package.json'), 'utf8')) as { version: string };
    assert.equal(process.versions.node, installed.version, `running ${process.execPath}`);
  });
});
