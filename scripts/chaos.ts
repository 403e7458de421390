import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { AppContext } from '../control/app-context';
import { startProduction } from '../control/productions';
import { runCli } from './cli';
import { describeVerdict, totalsOf, verifyContent, type ContentVerdict } from './chaos/checks';
import { at, describePlan, planFaults, runFaults } from './chaos/faults';
import { Random } from './chaos/random';
import { ProductionWatch } from './chaos/watch';
import { WorkerFleet } from './chaos/workers';
import { createWorld, type ChaosWorld } from './chaos/world';
import { stackContext, startStack, type Profile } from './local-stack';

/**
 * `npm run chaos [-- --productions N] [-- --seed S]`: the fault suite. On the test stack, with the
 * workers as separate processes (one orchestration, two media) and the YouTube, TikTok and
 * Instagram fakes, it runs N productions (half of them auto-publishing to the three platforms)
 * while it kills workers and services with kill -9 and puts the platforms in 429/5xx storms, at
 * moments drawn from the seed. Then it waits for every production to settle and checks every
 * content: its video plays, its net credit is -1 produced or 0 not, each platform holds at most
 * one upload of it per channel, no job row is left running, every failure has a recorded reason.
 * The last line counts what broke; the exit code is 1 when anything did.
 */
const PROFILE: Profile = 'test';
const DEFAULT_PRODUCTIONS = 12;
const WORKERS = { orchestration: 'orchestration', media: ['media-1', 'media-2'] };
/** How long the productions get to settle once the last fault is over and every one was started. */
const SETTLE_MS = 7 * 60_000;
/** How long the run keeps trying to start one production while services are down. */
const START_DEADLINE_MS = 3 * 60_000;

interface Options {
  productions: number;
  seed: number;
}

function parseOptions(argv: string[]): Options {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const unknown = argv.filter((a, i) => a.startsWith('--') && !['--productions', '--seed'].includes(a) && !(i > 0 && ['--productions', '--seed'].includes(argv[i - 1] ?? '')));
  if (unknown.length > 0) throw new Error(`unknown option ${unknown.join(' ')}: use --productions N and --seed S`);
  const productions = Number(value('productions') ?? DEFAULT_PRODUCTIONS);
  if (!Number.isInteger(productions) || productions < 1) throw new Error('--productions must be a positive integer');
  const seedText = value('seed');
  const seed = seedText === undefined ? Random.freshSeed() : Number(seedText);
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error('--seed must be an integer from 0 to 4294967295');
  return { productions, seed };
}

/** When each production starts, from the run's start: the first at once, then 2–10 s apart. */
function productionStarts(rng: Random, count: number): number[] {
  const starts: number[] = [];
  for (let i = 0, t = 0; i < count; i += 1, t += rng.between(2_000, 10_000)) starts.push(t);
  return starts;
}

/** Starts one production, trying again while Temporal or PostgreSQL is down; the last error if it never started. */
async function startWithRetries(ctx: AppContext, contentId: string): Promise<string | undefined> {
  const deadline = Date.now() + START_DEADLINE_MS;
  for (;;) {
    try {
      await ctx.temporal.withDeadline(Date.now() + 15_000, () => startProduction(ctx, contentId));
      return undefined;
    } catch (err) {
      // An earlier attempt reached the server although its answer was lost.
      if (err instanceof WorkflowExecutionAlreadyStartedError) return undefined;
      if (Date.now() > deadline) return err instanceof Error ? err.message : String(err);
      await sleep(2000);
    }
  }
}

async function startProductions(world: ChaosWorld, starts: number[], watch: ProductionWatch, clock: () => number, log: (line: string) => void): Promise<Map<string, string>> {
  const failures = new Map<string, string>();
  await Promise.all(
    world.contents.map(async (content, i) => {
      await sleep(Math.max(0, (starts[i] ?? 0) - clock()));
      const error = await startWithRetries(world.ctx, content.contentId);
      if (error) {
        failures.set(content.contentId, error);
        watch.markAbandoned(content.contentId);
      } else {
        watch.markStarted(content.contentId);
      }
      log(`${at(clock())} production #${content.index} (${content.publishes ? 'publishes' : 'no channels'}) ${error ? `could not be started: ${error}` : 'started'}`);
    }),
  );
  return failures;
}

async function main(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  console.log(`seed ${options.seed}`);
  const rng = new Random(options.seed);
  const plan = planFaults(rng, WORKERS);
  const starts = productionStarts(rng, options.productions);
  console.log(`${options.productions} productions, started over ${(starts.at(-1)! / 1000).toFixed(1)} s; faults planned:`);
  for (const line of describePlan(plan)) console.log(`  ${line}`);

  let began = Date.now();
  const clock = () => Date.now() - began;
  const log = (line: string) => console.log(line);
  const stack = await startStack(PROFILE, log);
  const tag = `${options.seed.toString(36)}_${randomBytes(3).toString('hex')}`;
  const runDir = join(stackContext(PROFILE).dataDir, 'chaos', tag);
  let world: ChaosWorld | undefined;
  let fleet: WorkerFleet | undefined;
  const stopEverything = async () => {
    await fleet?.stopAll();
    await stack.stop();
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      console.log(`${signal}: stopping the workers and the stack`);
      void stopEverything().finally(() => process.exit(130));
    });
  }

  // Kept for inspection unless the run ends with nothing to look at.
  let keepDatabase = true;
  let summary: string;
  try {
    world = await createWorld(stack.env, { tag, productions: options.productions, runDir });
    fleet = new WorkerFleet(world.workerEnv, runDir, clock, log);
    fleet.add(WORKERS.orchestration, 'orchestration');
    for (const name of WORKERS.media) fleet.add(name, 'media');
    log(`workers ${fleet.names.join(', ')} started; their logs are in ${runDir}`);

    began = Date.now();
    const watch = new ProductionWatch(world.ctx, world.contents, clock, log);
    const watching = watch.run();
    const starting = startProductions(world, starts, watch, clock, log);
    const faults = await runFaults(plan, { profile: PROFILE, fleet, fakes: world.fakes, clock, log });
    const startErrors = await starting;
    log(`${at(clock())} faults over; waiting for the productions to settle (at most ${SETTLE_MS / 60_000} min)`);
    watch.settleWithin(SETTLE_MS);
    await watching;

    const verdicts: ContentVerdict[] = [];
    for (const content of world.contents) {
      const { contentId } = content;
      verdicts.push(await verifyContent(world, content, { startError: startErrors.get(contentId), startedAtMs: watch.startedAt.get(contentId), endedAtMs: watch.endedAt.get(contentId) }));
    }
    console.log('\ncontents:');
    for (const verdict of verdicts) for (const line of describeVerdict(verdict, faults)) console.log(`  ${line}`);
    console.log('\nfaults (what, when, how long down):');
    faults.forEach((f, i) => console.log(`  ${String(i + 1).padStart(2)}. ${at(f.atMs)}  ${f.what}: ${f.detail}`));
    if (fleet.unplannedExits.length > 0) {
      console.log('\nworkers that died without being killed (and were started again):');
      for (const e of fleet.unplannedExits) console.log(`  ${at(e.atMs)}  ${e.worker}: ${e.signal ?? `exit code ${e.code}`}`);
    }
    const totals = totalsOf(verdicts);
    keepDatabase = Object.values(totals).some((n) => n > 0);
    if (keepDatabase) console.log(`\nthe scratch database ${world.database} is kept for inspection; the workers' logs are in ${runDir}`);
    summary =
      `${options.productions} productions, ${faults.filter((f) => f.injected).length} faults, ${totals.lost} lost, ${totals.doubleCharges} double charges, ` +
      `${totals.doublePublishes} double publishes, ${totals.stuck} stuck, ${totals.unexplained} failures without reason`;
  } finally {
    await fleet?.stopAll();
    await world?.close({ keepDatabase });
    await stack.stop();
  }
  console.log(summary);
  return keepDatabase ? 1 : 0;
}

runCli(main);
