import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import type { ContentActivities } from '../../activities/content';
import type { MediaActivities } from '../../activities/media';
import type { PublishActivities } from '../../activities/publish';
import { GO_SERVERS, onPath } from '../../scripts/local-stack/binaries';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';
import { waitFor } from './wait';

/**
 * Workflow logic tests without the stack: the real workflows (`workflows/`) run on real workers
 * against the Temporal dev server (the project's cached CLI binary), with stub activities in place
 * of `activities/*`. No PostgreSQL, Redis, MongoDB or MinIO is involved.
 *
 * Temporal's time-skipping test server is a Java-based binary that @temporalio/testing downloads
 * from the internet; it cannot be had on these machines, so timers here run in real time: tests
 * pass short durations (approvalTimeout, mediaHeartbeatTimeout, `nextRetryDelay`) where they wait.
 */

/** The Temporal CLI: TEMPORAL_CLI_PATH (set by `npm test` and `npm run test:unit`), `temporal` on PATH, or the stack's cache. */
export function temporalCliPath(): string {
  const candidates = [process.env.TEMPORAL_CLI_PATH, onPath('temporal'), cachedTemporalBinary()];
  const found = candidates.find((p): p is string => p !== undefined && existsSync(p));
  if (!found) {
    throw new Error('No Temporal CLI found: run these tests through `npm run test:unit` (it builds the CLI once into the cache) or set TEMPORAL_CLI_PATH');
  }
  return found;
}

/** Where scripts/local-stack/binaries.ts caches the CLI (without creating the folder or building). */
function cachedTemporalBinary(): string {
  const base = process.env.AUTOCLIP_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'autoclip');
  return join(base, 'bin', `temporal-${GO_SERVERS.temporal.version}`);
}

// ---- stub activities --------------------------------------------------------------------------

type AllActivities = ContentActivities & MediaActivities & PublishActivities;

/** The activities produceContent, publishToChannel and the single steps call, by task queue. */
type OrchestrationName =
  | 'chargeCredit' | 'refundCredit' | 'writeScript' | 'checkSafety' | 'recordRejection' | 'finishRun' | 'finishStep'
  | 'markReadyForPublishing' | 'preparePublication' | 'refreshChannelToken' | 'uploadToChannel' | 'markUploadFailed';
type MediaName = 'synthesizeSpeech' | 'createSceneImages' | 'renderVideo' | 'measureUploadedVoice' | 'writeCaptions';

export type StubName = OrchestrationName | MediaName;
type Input<K extends StubName> = Parameters<AllActivities[K]>[0];
type Output<K extends StubName> = Awaited<ReturnType<AllActivities[K]>>;

/** Replaces one activity for one content; receives the input and the activity's context. */
export type StubOverride<K extends StubName> = (input: Input<K>, ctx: Context) => Promise<Output<K>>;

export interface Scenario {
  /** The channels markReadyForPublishing returns (default none). */
  channels?: string[];
  /** Whether the project publishes without approval (default false). */
  autoPublish?: boolean;
  overrides?: { [K in StubName]?: StubOverride<K> };
}

export interface StubCall<K extends StubName = StubName> {
  name: K;
  input: Input<K>;
  taskQueue: string;
  attempt: number;
  at: number;
  /** Settles when the attempt ends: 'completed', 'failed' or 'cancelled'. */
  outcome?: 'completed' | 'failed' | 'cancelled';
}

/** A door a stub waits at until the test opens it (or the activity is cancelled). */
export class Gate {
  private opened = false;
  private readonly waiters: (() => void)[] = [];

  open(): void {
    this.opened = true;
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits heartbeating (so a cancellation requested by the workflow reaches the activity); throws CancelledFailure if cancelled. */
  async pass(ctx: Context): Promise<void> {
    if (this.opened) return;
    const timer = setInterval(() => ctx.heartbeat(), 100);
    try {
      ctx.heartbeat();
      await Promise.race([new Promise<void>((resolve) => this.waiters.push(resolve)), ctx.cancelled]);
    } finally {
      clearInterval(timer);
    }
  }
}

/** The content id an activity input belongs to (upload ids are made as `upload:<contentId>:<channelId>`). */
function contentOf(input: object): string {
  if ('contentId' in input && typeof input.contentId === 'string') return input.contentId;
  if ('uploadId' in input && typeof input.uploadId === 'string') return input.uploadId.split(':')[1] ?? '';
  throw new Error(`no content id in ${JSON.stringify(input)}`);
}

/**
 * Stub activities registered under the real names; each content has its own scenario (channels,
 * overrides) and its own call log, so one pair of workers serves every test of a file.
 */
export class StubActivities {
  private readonly scenarios = new Map<string, Scenario>();
  private readonly log = new Map<string, StubCall[]>();

  scenario(contentId: string, scenario: Scenario = {}): void {
    this.scenarios.set(contentId, scenario);
  }

  /** Every call of one content, in the order they started. */
  calls(contentId: string): StubCall[] {
    return this.log.get(contentId) ?? [];
  }

  /** The inputs of each call of one activity for one content. */
  inputs<K extends StubName>(contentId: string, name: K): Input<K>[] {
    return this.calls(contentId).filter((c) => c.name === name).map((c) => c.input as Input<K>);
  }

  count(contentId: string, name: StubName): number {
    return this.calls(contentId).filter((c) => c.name === name).length;
  }

  /** Waits until `name` has been called for `contentId` (`times` calls); returns the last such call. */
  async called(contentId: string, name: StubName, times = 1, timeoutMs = 10_000): Promise<StubCall> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const calls = this.calls(contentId).filter((c) => c.name === name);
      if (calls.length >= times) return calls[times - 1]!;
      if (Date.now() > deadline) throw new Error(`${name} was not called ${times}× for ${contentId}; calls: ${this.calls(contentId).map((c) => c.name).join(', ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  private stub<K extends StubName>(name: K, fallback: (input: Input<K>, scenario: Scenario) => Output<K>): AllActivities[K] {
    const run = async (input: Input<K>): Promise<Output<K>> => {
      const ctx = Context.current();
      const contentId = contentOf(input as object);
      const call: StubCall = { name, input, taskQueue: ctx.info.taskQueue, attempt: ctx.info.attempt, at: Date.now() };
      const calls = this.log.get(contentId) ?? [];
      calls.push(call);
      this.log.set(contentId, calls);
      const scenario = this.scenarios.get(contentId) ?? {};
      const override = scenario.overrides?.[name] as StubOverride<K> | undefined;
      try {
        const result = override ? await override(input, ctx) : fallback(input, scenario);
        call.outcome = 'completed';
        return result;
      } catch (err) {
        call.outcome = ctx.cancellationSignal.aborted ? 'cancelled' : 'failed';
        throw err;
      }
    };
    return run as unknown as AllActivities[K];
  }

  /** The light activities of the orchestration task queue. */
  orchestration(): Pick<AllActivities, OrchestrationName> {
    return {
      chargeCredit: this.stub('chargeCredit', ({ contentId }) => ({ subscriptionId: 'sub-1', transactionId: `charge-${contentId}`, balance: 9, applied: true })),
      refundCredit: this.stub('refundCredit', ({ contentId }) => ({ subscriptionId: 'sub-1', transactionId: `refund-${contentId}`, balance: 10, applied: true })),
      writeScript: this.stub('writeScript', () => ({ title: 'A stub script', sections: 3, source: 'writer' })),
      checkSafety: this.stub('checkSafety', () => ({ passed: true, score: 0.02, flags: [] })),
      recordRejection: this.stub('recordRejection', () => undefined),
      finishRun: this.stub('finishRun', () => undefined),
      finishStep: this.stub('finishStep', () => undefined),
      markReadyForPublishing: this.stub('markReadyForPublishing', (_input, s) => ({
        autoPublish: s.autoPublish ?? false,
        channels: (s.channels ?? []).map((channelId) => ({ channelId, platform: 'youtube' as const })),
      })),
      preparePublication: this.stub('preparePublication', ({ contentId, channelId, scheduledAt }) => ({ uploadId: `upload:${contentId}:${channelId}`, scheduledAt: scheduledAt ?? null })),
      refreshChannelToken: this.stub('refreshChannelToken', () => ({ refreshed: true })),
      uploadToChannel: this.stub('uploadToChannel', ({ contentId, channelId, uploadId }) => ({ uploadId, platformVideoId: `vid-${channelId}`, url: videoUrl(contentId, channelId) })),
      markUploadFailed: this.stub('markUploadFailed', () => undefined),
    };
  }

  /** The heavy activities of the media task queue. */
  media(): Pick<AllActivities, MediaName> {
    return {
      synthesizeSpeech: this.stub('synthesizeSpeech', ({ contentId }) => ({ audioKey: `${contentId}/voice.m4a`, manifestKey: `${contentId}/voice.json`, durationSec: 21.5 })),
      createSceneImages: this.stub('createSceneImages', ({ contentId }) => ({ imageKeys: [0, 1, 2].map((i) => `${contentId}/scene-${i}.png`) })),
      renderVideo: this.stub('renderVideo', ({ contentId }) => ({ videoKey: `${contentId}/video.mp4`, thumbnailKey: `${contentId}/thumb.jpg`, durationSec: 21.5 })),
      measureUploadedVoice: this.stub('measureUploadedVoice', ({ contentId, audioKey }) => ({ audioKey, manifestKey: `${contentId}/voice.json`, durationSec: 12 })),
      writeCaptions: this.stub('writeCaptions', ({ contentId }) => ({ srtKey: `${contentId}/c.srt`, vttKey: `${contentId}/c.vtt`, assKey: `${contentId}/c.ass`, cues: 4 })),
    };
  }
}

export function videoUrl(contentId: string, channelId: string): string {
  return `https://videos.example/${contentId}/${channelId}`;
}

// ---- the environment -------------------------------------------------------------------------

export interface WorkflowTestEnv {
  env: TestWorkflowEnvironment;
  client: Client;
  stubs: StubActivities;
  taskQueue: string;
  mediaTaskQueue: string;
  close(): Promise<void>;
}

let runtimeInstalled = false;

/**
 * Starts the dev server (with the project's search attributes), bundles the workflows once and
 * runs two workers for the whole file: the orchestration queue (workflows + light stubs) and the
 * media queue (media stubs only), as worker.ts splits them.
 */
export async function startWorkflowTestEnv(label: string): Promise<WorkflowTestEnv> {
  if (!runtimeInstalled) {
    // Quiet: a stub released after its workflow ended makes Core warn "Activity not found on completion".
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
    runtimeInstalled = true;
  }
  const path = temporalCliPath();
  const [env, bundle] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: { executable: { type: 'existing-path', path }, searchAttributes: SEARCH_ATTRIBUTES, log: { format: 'pretty', level: 'error' } },
    }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../workflows'), logger: new DefaultLogger('ERROR') }),
  ]);
  const stubs = new StubActivities();
  const taskQueue = `wf-${label}`;
  const mediaTaskQueue = `wf-${label}-media`;
  const workers = await Promise.all([
    Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities: stubs.orchestration() }),
    Worker.create({ connection: env.nativeConnection, taskQueue: mediaTaskQueue, activities: stubs.media() }),
  ]);
  const running = workers.map((w) => w.run());
  return {
    env,
    client: env.client,
    stubs,
    taskQueue,
    mediaTaskQueue,
    async close() {
      for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
      await Promise.allSettled(running);
      await env.teardown();
    },
  };
}

/** Polls `probe` every 25 ms until it returns something truthy (the stubs answer at once). */
export function eventually<T>(what: string, probe: () => Promise<T | undefined | null | false>, timeoutMs = 10_000): Promise<T> {
  return waitFor(what, probe, timeoutMs, 25);
}
