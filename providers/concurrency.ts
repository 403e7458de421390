/**
 * A limit on concurrent jobs at one provider, shared by every worker process: TTS and render
 * services cap the jobs an account may run at once and answer 429 past it. Clients take a slot
 * before each job and free it after; the Redis implementation lives in `lib/concurrency.ts`.
 */
export interface ConcurrencyLimiter {
  /**
   * Waits until fewer than `limit` holders have the slot `key` (across all workers), then holds it
   * until the returned function is called. Rejects with the signal's reason when it is aborted.
   */
  acquire(key: string, limit: number, signal?: AbortSignal): Promise<() => Promise<void>>;
}

/** A provider's share of a limiter: its key and how many jobs it may run at once. */
export interface ConcurrencySlot {
  limiter: ConcurrencyLimiter;
  key: string;
  limit: number;
}

/** Runs `job` inside the slot (at once when there is no limiter configured). */
export async function withSlot<T>(slot: ConcurrencySlot | undefined, signal: AbortSignal | undefined, job: () => Promise<T>): Promise<T> {
  if (!slot) return job();
  const release = await slot.limiter.acquire(slot.key, slot.limit, signal);
  try {
    return await job();
  } finally {
    await release();
  }
}
