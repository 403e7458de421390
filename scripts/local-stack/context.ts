import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagedProcess } from './process';

/** What every service needs to know about the stack it belongs to. */
export interface StackContext {
  profile: string;
  dataDir: string;
  portOffset: number;
}

/**
 * One local service: `external` names the environment variables that, when set, mean the service is
 * provided from outside and must not be started; `env` is what the rest of the project connects with.
 */
export interface ServiceDefinition {
  name: string;
  external: string[];
  port(ctx: StackContext): number;
  env(ctx: StackContext): Promise<Record<string, string>> | Record<string, string>;
  /** Services that must be ready (and set up) before this one starts. */
  after?: string[];
  start(ctx: StackContext, proc: ManagedProcess): Promise<void>;
  ready(ctx: StackContext): Promise<boolean>;
  /** Runs once the service answers (create the database, the bucket…). */
  afterReady?(ctx: StackContext): Promise<void>;
  stopSignal?: NodeJS.Signals;
}

/** A secret made once per profile and kept in its data folder, so restarts can still decrypt and verify. */
export function localSecret(ctx: StackContext, name: string, encoding: 'base64' | 'hex' = 'base64'): string {
  const file = join(ctx.dataDir, name);
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString(encoding), { mode: 0o600 });
  return readFileSync(file, 'utf8').trim();
}

export function serviceDir(ctx: StackContext, name: string): string {
  const dir = join(ctx.dataDir, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

