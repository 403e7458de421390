import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { WorkflowFailedError } from '@temporalio/client';
import { createSystemActivities } from '../../activities/system';
import { createAppContext, type AppContext } from '../../control/app-context';
import { loadConfig } from '../../lib/config';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { systemCheck } from '../../workflows';

/** A workflow on a real worker against the Temporal dev server (the stack's cached CLI binary). */
describe('systemCheck workflow', () => {
  let env: TestWorkflowEnvironment;
  let ctx: AppContext;

  before(async () => {
    const path = process.env.TEMPORAL_CLI_PATH;
    assert.ok(path, 'TEMPORAL_CLI_PATH is set by the test runner');
    env = await TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path }, searchAttributes: SEARCH_ATTRIBUTES },
    });
    ctx = await createAppContext(loadConfig({ ...process.env, TEMPORAL_ADDRESS: env.address }));
  });

  after(async () => {
    await ctx?.close();
    await env?.teardown();
  });

  async function runOnWorker<T>(activities: object, fn: () => Promise<T>): Promise<T> {
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue: 'system-check-test',
      workflowsPath: require.resolve('../../workflows'),
      activities,
    });
    return worker.runUntil(fn());
  }

  it('reaches every store and returns their latencies', async () => {
    const checks = await runOnWorker(createSystemActivities(ctx), () =>
      env.client.workflow.execute(systemCheck, { taskQueue: 'system-check-test', workflowId: `system-check-${Date.now()}` }),
    );
    assert.deepEqual(checks.map((c) => c.store).sort(), ['mongodb', 'postgresql', 'redis', 's3', 'temporal']);
    for (const c of checks) assert.equal(c.ok, true, `${c.store}: ${c.error}`);
  });

  it('fails non-retryably, naming the store, when one is unreachable', async () => {
    const activities = {
      async checkStores() {
        return [
          { store: 'postgresql', ok: true, latencyMs: 1 },
          { store: 'redis', ok: false, latencyMs: 1, error: 'connection refused' },
        ];
      },
    };
    await assert.rejects(
      runOnWorker(activities, () =>
        env.client.workflow.execute(systemCheck, { taskQueue: 'system-check-test', workflowId: `system-check-fail-${Date.now()}` }),
      ),
      (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        assert.match(String(err.cause?.message), /unreachable: redis \(connection refused\)/);
        return true;
      },
    );
  });

  it('registers the custom search attributes on the dev server', async () => {
    const { customAttributes } = await env.connection.operatorService.listSearchAttributes({ namespace: 'default' });
    const custom = Object.keys(customAttributes ?? {});
    for (const key of SEARCH_ATTRIBUTES) assert.ok(custom.includes(key.name), `${key.name} registered`);
  });
});
