import { setTimeout as sleep } from 'node:timers/promises';
import type { AppContext } from '../../control/app-context';
import { describeProduction } from '../../control/production-state';
import { at } from './faults';
import type { ChaosContent } from './world';

const POLL_MS = 5000;
const STATUS_EVERY_MS = 30_000;

/**
 * Follows every production from the start of the run: logs when each one's workflow closes, and
 * once told to settle, waits until all have closed or the deadline passes, reporting the running
 * ones and their steps every half minute.
 */
export class ProductionWatch {
  /** When each production was started and when its workflow was seen closed, from the start of the run. */
  readonly startedAt = new Map<string, number>();
  readonly endedAt = new Map<string, number>();
  private readonly abandoned = new Set<string>();
  private deadline = Number.POSITIVE_INFINITY;
  private settling = false;

  constructor(
    private readonly ctx: AppContext,
    private readonly contents: ChaosContent[],
    private readonly clock: () => number,
    private readonly log: (line: string) => void,
  ) {}

  markStarted(contentId: string): void {
    this.startedAt.set(contentId, this.clock());
  }

  /** A production the run could not start: nothing to wait for. */
  markAbandoned(contentId: string): void {
    this.abandoned.add(contentId);
  }

  settleWithin(ms: number): void {
    this.deadline = Date.now() + ms;
    this.settling = true;
  }

  async run(): Promise<void> {
    let lastStatus = 0;
    for (;;) {
      const running: string[] = [];
      for (const content of this.contents) {
        if (this.abandoned.has(content.contentId) || this.endedAt.has(content.contentId)) continue;
        if (!this.startedAt.has(content.contentId)) {
          running.push(`#${content.index} not started`);
          continue;
        }
        const production = await describeProduction(this.ctx.temporal, content.contentId).catch(() => undefined);
        if (production && !production.running) {
          this.endedAt.set(content.contentId, this.clock());
          this.log(`${at(this.clock())} production #${content.index} ${production.status.toLowerCase()} (${production.step ?? 'no step'})`);
        } else {
          running.push(`#${content.index} ${production?.step ?? 'unknown'}`);
        }
      }
      if (running.length === 0 && this.settling) return;
      if (Date.now() >= this.deadline) {
        this.log(`${at(this.clock())} deadline passed with ${running.length} productions still running: ${running.join(', ')}`);
        return;
      }
      if (this.settling && Date.now() - lastStatus >= STATUS_EVERY_MS) {
        lastStatus = Date.now();
        this.log(`${at(this.clock())} waiting for ${running.length} productions: ${running.join(', ')}`);
      }
      await sleep(POLL_MS);
    }
  }
}
