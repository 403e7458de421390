/**
 * Small helpers shared by the HTTP clients of outside services: per-request deadlines combined
 * with the caller's cancellation, Retry-After parsing, tolerant body reading and secret redaction.
 */

/** The caller's signal (cancellation) and a per-request deadline, as one signal for `fetch`. */
export function requestSignal(timeoutMs: number, callerSignal?: AbortSignal): AbortSignal {
  const deadline = AbortSignal.timeout(timeoutMs);
  return callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline;
}

/** True when an error comes from an aborted or timed-out request rather than from the network. */
export function isAbortOrTimeout(error: unknown): boolean {
  const name = (error as { name?: unknown } | null)?.name;
  return name === 'AbortError' || name === 'TimeoutError';
}

/**
 * Milliseconds to wait according to a `Retry-After` header (delta-seconds or an HTTP date);
 * undefined when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The body as JSON when it parses, else as text (providers answer HTML on some gateway errors). */
export async function readBody(response: Response, maxChars = 65_536): Promise<unknown> {
  const text = (await response.text()).slice(0, maxChars);
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Frees the connection of a response whose body is not needed. */
export async function discardBody(response: Response): Promise<void> {
  await response.body?.cancel().catch(() => undefined);
}

/** Replaces every occurrence of the given secrets (tokens, keys) so a message can be logged or stored. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let result = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) result = result.split(secret).join('[redacted]');
  }
  return result;
}

/** Resolves after `ms`, or rejects at once with the signal's reason when it is aborted. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
