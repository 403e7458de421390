import { setTimeout as sleep } from 'node:timers/promises';
import { killService, restartService, type Profile } from '../local-stack';
import type { Random } from './random';
import type { WorkerFleet } from './workers';
import type { PlatformFakes } from './world';

/** The stack's services a chaos run kills (the replica MinIO and stripe-mock are left alone). */
export const KILLED_SERVICES = ['temporal', 'postgres', 'redis', 'mongodb', 'minio'] as const;
export type KilledService = (typeof KILLED_SERVICES)[number];
export type StormPlatform = keyof PlatformFakes;

/** What a storm answers: 429 with a Retry-After, or a server error. */
const STORM_STATUSES = [429, 500, 502, 503] as const;
const STORM_RETRY_AFTER_SEC = 5;

/** A worker or service fault of the sequence, after `gapMs` from the end of the one before. */
export type SequencedFault = { gapMs: number; downMs: number } & ({ kind: 'worker'; worker: string } | { kind: 'service'; service: KilledService });

export interface StormFault {
  kind: 'storm';
  platform: StormPlatform;
  status: number;
  /** From the start of the run. */
  atMs: number;
  downMs: number;
}

export interface FaultPlan {
  sequence: SequencedFault[];
  storms: StormFault[];
}

/** What happened: printed as each fault ends and again in the summary. */
export interface FaultRecord {
  what: string;
  /** False when the target was not there to fault (an external service). */
  injected: boolean;
  atMs: number;
  downMs: number;
  detail: string;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
export const at = (ms: number) => `t+${(ms / 1000).toFixed(1).padStart(5)}s`;

/**
 * The faults of a run, all drawn from the seed: a kill -9 of the orchestration worker and of one
 * media worker (each down 3–10 s), and a kill -9 of each killed service (down 10–30 s), in a
 * random order, one at a time, 5–15 s apart, starting 15–30 s into the run; and on their own
 * timeline, one storm on each platform fake (429 or 5xx for 15–40 s), starting 45–240 s in, when
 * the first productions publish.
 */
export function planFaults(rng: Random, workers: { orchestration: string; media: string[] }): FaultPlan {
  const targets: SequencedFault[] = rng.shuffle([
    { kind: 'worker' as const, worker: workers.orchestration },
    { kind: 'worker' as const, worker: rng.pick(workers.media) },
    ...KILLED_SERVICES.map((service) => ({ kind: 'service' as const, service })),
  ]).map((target, index) => ({
    ...target,
    gapMs: index === 0 ? rng.between(15_000, 30_000) : rng.between(5_000, 15_000),
    downMs: target.kind === 'worker' ? rng.between(3_000, 10_000) : rng.between(10_000, 30_000),
  }));
  const storms = rng.shuffle(['youtube', 'tiktok', 'instagram'] as const).map((platform) => ({
    kind: 'storm' as const,
    platform,
    status: rng.pick(STORM_STATUSES),
    atMs: rng.between(45_000, 240_000),
    downMs: rng.between(15_000, 40_000),
  }));
  return { sequence: targets, storms };
}

export function describePlan(plan: FaultPlan): string[] {
  return [
    ...plan.sequence.map((f) => `${f.kind === 'worker' ? `kill -9 worker ${f.worker}` : `kill -9 ${f.service}`}, ${seconds(f.gapMs)} after the previous fault, down ${seconds(f.downMs)}`),
    ...plan.storms.map((s) => `${s.status} storm on ${s.platform} at ${at(s.atMs).trim()} for ${seconds(s.downMs)}`),
  ];
}

interface FaultDeps {
  profile: Profile;
  fleet: WorkerFleet;
  fakes: PlatformFakes;
  /** Milliseconds since the run started. */
  clock: () => number;
  log: (line: string) => void;
}

/** Restarts a killed service, trying again (after killing what a failed start left) up to three times. */
async function bringBack(profile: Profile, service: KilledService, log: (line: string) => void): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await restartService(profile, service);
      return;
    } catch (err) {
      if (attempt === 3) throw err;
      log(`${service} did not come back (${err instanceof Error ? err.message.split('\n')[0] : String(err)}); trying again`);
      await killService(profile, service);
      await sleep(3000);
    }
  }
}

async function runSequenced(fault: SequencedFault, deps: FaultDeps): Promise<FaultRecord> {
  const atMs = deps.clock();
  if (fault.kind === 'worker') {
    deps.log(`${at(atMs)} kill -9 worker ${fault.worker}`);
    const pid = await deps.fleet.kill(fault.worker);
    await sleep(fault.downMs);
    deps.fleet.restart(fault.worker);
    const downMs = deps.clock() - atMs;
    const killed = pid === undefined ? 'was not running (restarting after its own exit)' : `kill -9 of process group ${pid}`;
    return { what: `worker ${fault.worker}`, injected: true, atMs, downMs, detail: `${killed}; started again after ${seconds(downMs)}` };
  }
  deps.log(`${at(atMs)} kill -9 ${fault.service}`);
  const pid = await killService(deps.profile, fault.service);
  if (pid === undefined) return { what: fault.service, injected: false, atMs, downMs: 0, detail: 'not running from this stack (external or already down): skipped' };
  await sleep(fault.downMs);
  const restartBegan = deps.clock();
  await bringBack(deps.profile, fault.service, deps.log);
  const downMs = deps.clock() - atMs;
  return {
    what: fault.service,
    injected: true,
    atMs,
    downMs,
    detail: `kill -9 of process group ${pid}; down ${seconds(downMs)} (planned ${seconds(fault.downMs)}, restart and ready took ${seconds(deps.clock() - restartBegan)})`,
  };
}

async function runStorm(storm: StormFault, deps: FaultDeps): Promise<FaultRecord> {
  await sleep(Math.max(0, storm.atMs - deps.clock()));
  const atMs = deps.clock();
  const { state } = deps.fakes[storm.platform];
  const before = state.storm.answered;
  deps.log(`${at(atMs)} ${storm.status} storm on ${storm.platform}`);
  state.storm.start(storm.downMs / 1000, storm.status === 429 ? { status: 429, retryAfterSec: STORM_RETRY_AFTER_SEC } : { status: storm.status });
  await sleep(storm.downMs);
  const answer = storm.status === 429 ? `429 with Retry-After ${STORM_RETRY_AFTER_SEC}` : String(storm.status);
  return {
    what: `${storm.platform} storm`,
    injected: true,
    atMs,
    downMs: storm.downMs,
    detail: `every request answered ${answer} for ${seconds(storm.downMs)}: ${state.storm.answered - before} requests turned away`,
  };
}

/** Runs the plan's two timelines side by side; every fault's record, in the order they began. */
export async function runFaults(plan: FaultPlan, deps: FaultDeps): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  const report = (record: FaultRecord) => {
    records.push(record);
    deps.log(`${at(deps.clock())} ${record.what}: ${record.detail}`);
  };
  const sequence = (async () => {
    for (const fault of plan.sequence) {
      await sleep(fault.gapMs);
      report(await runSequenced(fault, deps));
    }
  })();
  const storms = plan.storms.map(async (storm) => report(await runStorm(storm, deps)));
  await Promise.all([sequence, ...storms]);
  return records.sort((a, b) => a.atMs - b.atMs);
}
