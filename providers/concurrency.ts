/**
 * A limit on concurrent jobs at one provider, shared by every worker process: TTS and render
 * services cap the jobs an account may run at once and answer 429 past it. Clients take a slot
 * before each job and free it after; the Redis implementation lives in `db/leases.ts`.
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

/**
 * Runs `job` for every item, at most `limit` at once, and returns the results in order. The first
 * failure aborts the signal the other jobs got and is thrown once they have all settled, so no
 * job keeps writing after the call returned.
 */
export async function runLimited<T, R>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal | undefined,
  job: (item: T, index: number, signal: AbortSignal) => Promise<R>,
): Promise<R[]> {
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure && !controller.signal.aborted && next < items.length) {
      const index = next;
      next += 1;
      try {
        results[index] = await job(items[index] as T, index, controller.signal);
      } catch (error) {
        if (!failure) {
          failure = { error };
          controller.abort(error);
        }
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (failure) throw failure.error;
  if (controller.signal.aborted) throw controller.signal.reason;
  return results;
}
