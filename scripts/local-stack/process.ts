import { spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A service process started detached, tracked by a pid file so `stack stop` works from another shell. */
export interface ManagedProcess {
  name: string;
  pidFile: string;
  logFile: string;
  /** What asks it to stop; SIGTERM unless the service says otherwise. */
  stopSignal?: NodeJS.Signals;
}

export function readPid(proc: ManagedProcess): number | undefined {
  if (!existsSync(proc.pidFile)) return undefined;
  const pid = Number.parseInt(readFileSync(proc.pidFile, 'utf8').trim(), 10);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function runningPid(proc: ManagedProcess): number | undefined {
  const pid = readPid(proc);
  return pid !== undefined && isAlive(pid) ? pid : undefined;
}

export function startDetached(
  proc: ManagedProcess,
  command: string,
  args: string[],
  options: Pick<SpawnOptions, 'cwd' | 'env' | 'uid' | 'gid'> = {},
): number {
  const out = openSync(proc.logFile, 'a');
  try {
    const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', out, out] });
    if (child.pid === undefined) throw new Error(`${proc.name}: could not spawn ${command}`);
    child.unref();
    writeFileSync(proc.pidFile, `${child.pid}\n`);
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/**
 * The stop signal, then, after the grace period, SIGKILL to its whole process group (a server's
 * children, such as PostgreSQL's archiver running pgBackRest, would otherwise outlive it); removes
 * the pid file.
 */
export async function stopProcess(proc: ManagedProcess, graceMs = 15_000): Promise<boolean> {
  const pid = runningPid(proc);
  if (pid === undefined) {
    rmSync(proc.pidFile, { force: true });
    return false;
  }
  process.kill(pid, proc.stopSignal ?? 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) process.kill(-pid, 'SIGKILL');
  while (isAlive(pid)) await sleep(50);
  rmSync(proc.pidFile, { force: true });
  return true;
}

export function tailLog(proc: ManagedProcess, lines = 20): string {
  if (!existsSync(proc.logFile)) return '(no log)';
  return readFileSync(proc.logFile, 'utf8').split('\n').slice(-lines).join('\n');
}

/** Polls `check` until it resolves true; fails naming the service and showing its log's tail. */
export async function waitUntil(
  proc: ManagedProcess,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    const pid = readPid(proc);
    if (pid !== undefined && !isAlive(pid)) {
      throw new Error(`${proc.name} exited during start-up. Last lines of ${proc.logFile}:\n${tailLog(proc)}`);
    }
    if (Date.now() > deadline) {
      throw new Error(`${proc.name} did not answer within ${timeoutMs / 1000}s. Last lines of ${proc.logFile}:\n${tailLog(proc)}`);
    }
    await sleep(200);
  }
}
