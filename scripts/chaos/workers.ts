import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const REPO_ROOT = resolve(__dirname, '..', '..');

export type WorkerRole = 'orchestration' | 'media';

/** A worker process that died without being told to: the supervisor started it again. */
export interface UnplannedExit {
  worker: string;
  atMs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface WorkerProcess {
  name: string;
  role: WorkerRole;
  child?: ChildProcess;
  /** Set while the fleet itself kills or stops it, so the exit is not taken for a crash. */
  expected: boolean;
}

/** How long a crashed worker stays down before its supervisor starts it again. */
const RESPAWN_DELAY_MS = 2000;

/** Sends `signal` to a process group; a group that is already gone is no error. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

function isRunning(child: ChildProcess | undefined): child is ChildProcess & { pid: number } {
  return child?.pid !== undefined && child.exitCode === null && child.signalCode === null;
}

/**
 * The platform's workers as separate processes (`worker.ts --role …`, run through the project's
 * tsx with the stack's environment), each in its own process group so a kill takes its ffmpeg and
 * espeak-ng children with it, as the loss of its machine would. Like a process supervisor, the
 * fleet starts again a worker that exits on its own, and keeps a list of those exits.
 */
export class WorkerFleet {
  private readonly workers = new Map<string, WorkerProcess>();
  private stopping = false;
  readonly unplannedExits: UnplannedExit[] = [];

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    private readonly clock: () => number,
    private readonly log: (line: string) => void,
  ) {}

  get names(): string[] {
    return [...this.workers.keys()];
  }

  logFile(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  add(name: string, role: WorkerRole): void {
    const worker: WorkerProcess = { name, role, expected: false };
    this.workers.set(name, worker);
    this.spawn(worker);
  }

  private spawn(worker: WorkerProcess): void {
    const out = openSync(this.logFile(worker.name), 'a');
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'worker.ts', '--role', worker.role], {
        cwd: REPO_ROOT,
        env: this.env,
        detached: true,
        stdio: ['ignore', out, out],
      });
      worker.child = child;
      worker.expected = false;
      child.once('exit', (code, signal) => {
        if (worker.expected || this.stopping) return;
        this.unplannedExits.push({ worker: worker.name, atMs: this.clock(), code, signal });
        this.log(`worker ${worker.name} exited on its own (${signal ?? `code ${code}`}); starting it again in ${RESPAWN_DELAY_MS / 1000} s (see ${this.logFile(worker.name)})`);
        setTimeout(() => {
          if (!this.stopping && worker.child === child) this.spawn(worker);
        }, RESPAWN_DELAY_MS);
      });
    } finally {
      closeSync(out);
    }
  }

  private named(name: string): WorkerProcess {
    const worker = this.workers.get(name);
    if (!worker) throw new Error(`no worker named ${name}`);
    return worker;
  }

  /** SIGKILL to the worker's process group; resolves with its pid once it is gone. */
  async kill(name: string): Promise<number | undefined> {
    const worker = this.named(name);
    const child = worker.child;
    if (!isRunning(child)) return undefined;
    worker.expected = true;
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    signalGroup(child.pid, 'SIGKILL');
    await exited;
    return child.pid;
  }

  restart(name: string): void {
    this.spawn(this.named(name));
  }

  /** SIGTERM to every worker (they finish running activities), SIGKILL to the groups still there after `graceMs`. */
  async stopAll(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    const running = [...this.workers.values()].flatMap((w) => (isRunning(w.child) ? [w.child] : []));
    const exits = running.map((child) => new Promise<void>((done) => child.once('exit', () => done())));
    for (const child of running) signalGroup(child.pid, 'SIGTERM');
    const timedOut = await Promise.race([Promise.all(exits).then(() => false), sleep(graceMs).then(() => true)]);
    if (!timedOut) return;
    for (const child of running) if (isRunning(child)) signalGroup(child.pid, 'SIGKILL');
    await Promise.all(exits);
  }
}
