import type { ConcurrencyLimiter } from '../../providers/concurrency';

export type CountingLimiter = ConcurrencyLimiter & { acquired: string[]; held: number; maxHeld: number };

/**
 * A limiter that counts the slots taken and the most held at once. A bounded one holds at most
 * the slot's limit at once, as the shared Redis limiter does; an unbounded one lets every job in.
 */
export function countingLimiter(bounded = false): CountingLimiter {
  const waiting: (() => void)[] = [];
  const limiter = {
    acquired: [] as string[],
    held: 0,
    maxHeld: 0,
    async acquire(key: string, limit: number): Promise<() => Promise<void>> {
      while (bounded && limiter.held >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
      limiter.acquired.push(key);
      limiter.held += 1;
      limiter.maxHeld = Math.max(limiter.maxHeld, limiter.held);
      return () => {
        limiter.held -= 1;
        waiting.shift()?.();
        return Promise.resolve();
      };
    },
  };
  return limiter;
}
