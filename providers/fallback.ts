import type { CircuitBreaker } from './circuit-breaker';
import { isProviderError, ProviderError, type ProviderErrorCode } from './errors';
import { sleep } from './http';
import type { CallOptions, ImageProvider, PassedProvider, Renderer, SafetyChecker, ScriptWriter, SpeechSynthesizer } from './types';

/**
 * A step with an ordered list of providers (SCRIPT_PROVIDER=gemini,openai,local, a project's own
 * order…): the first does the work unless it fails in a way another provider could do better, then
 * the next one runs, and so on. A provider is passed over when
 *  - it failed with a `ProviderError` that a retry may fix (5xx, network, timeout, 429) on each of its
 *    tries, or when it asked to wait longer than the step may (Retry-After);
 *  - it refused for good (a revoked key, a used-up quota, a refusal of the request);
 *  - its circuit is open (providers/circuit-breaker.ts): too many failures in a row, across workers.
 * Cancellation, the creator's own bad input and a missing tool on the machine
 * (`PermanentProviderError`) and any other error fail the step at once: no other provider changes
 * them. The last provider is always tried, even with its circuit open. The one that did the work and
 * the ones passed over are reported through `CallOptions.onEngine`; each failed exchange is recorded
 * by its provider through `onFailedCall` as usual. When every provider failed, the step fails with
 * all their reasons, retryable when any of them was.
 */

/** A provider of an ordered list, under the name the configuration gives it ('elevenlabs', 'local'…). */
export interface OrderedEngine<E> {
  name: string;
  engine: E;
}

export interface FallbackPolicy {
  /** Tries a provider gets for a failure a retry may fix, before the next one runs. */
  tries: number;
  /** The longest wait before a provider's next try; one asking longer (Retry-After) is passed at once. */
  maxRetryWaitMs: number;
  breaker?: CircuitBreaker;
  /** Names the circuits: `<prefix>:<step>:<provider>` (an organization's own keys get circuits of their own). */
  circuitPrefix: string;
}

/** Failures that say the provider itself is unwell or unusable, not that one request was wrong. */
const UNWELL: ReadonlySet<ProviderErrorCode> = new Set(['server_error', 'network_error', 'invalid_response', 'rate_limited', 'unauthorized', 'quota_exceeded', 'auth_revoked']);

/** The wait before a provider's next try: its own Retry-After, else one second doubled per try. */
function retryWaitMs(error: ProviderError, tries: number): number {
  return error.retryAfterMs ?? 1000 * 2 ** (tries - 1);
}

async function circuitAllows(policy: FallbackPolicy, key: string): Promise<boolean> {
  return policy.breaker ? policy.breaker.allow(key) : true;
}

async function tell(policy: FallbackPolicy, key: string, outcome: 'failed' | 'succeeded'): Promise<void> {
  await policy.breaker?.[outcome](key);
}

/** The failure of a step whose every provider failed: all their reasons, retryable when any was. */
function everyProviderFailed(step: string, failures: readonly ProviderError[], passed: readonly PassedProvider[]): ProviderError {
  const decisive = failures.find((failure) => failure.retryable) ?? failures[failures.length - 1]!;
  const reasons = passed.map((p) => `${p.provider}: ${p.error}`).join('; ');
  return new ProviderError(decisive.provider, decisive.code, `every ${step} provider failed (${reasons})`.slice(0, 2000), {
    ...(decisive.statusCode !== undefined ? { statusCode: decisive.statusCode } : {}),
    ...(decisive.retryAfterMs !== undefined ? { retryAfterMs: decisive.retryAfterMs } : {}),
    ...(decisive.providerReason ? { providerReason: decisive.providerReason } : {}),
  });
}

/** Runs `call` on each provider of `engines` in order until one does the work (see above). */
export async function runInOrder<E, R>(
  step: string,
  engines: readonly OrderedEngine<E>[],
  policy: FallbackPolicy,
  options: CallOptions | undefined,
  call: (engine: E, position: number) => Promise<R>,
): Promise<R> {
  const passed: PassedProvider[] = [];
  const failures: ProviderError[] = [];
  for (const [position, { name, engine }] of engines.entries()) {
    const circuit = `${policy.circuitPrefix}:${step}:${name}`;
    if (position < engines.length - 1 && !(await circuitAllows(policy, circuit))) {
      passed.push({ provider: name, error: 'circuit open: skipped after repeated failures' });
      continue;
    }
    for (let tries = 1; ; tries += 1) {
      try {
        const result = await call(engine, position);
        await tell(policy, circuit, 'succeeded');
        options?.onEngine?.({ provider: name, fellBackFrom: [...passed] });
        return result;
      } catch (error) {
        if (options?.signal?.aborted || !isProviderError(error)) throw error;
        if (UNWELL.has(error.code)) await tell(policy, circuit, 'failed');
        const wait = retryWaitMs(error, tries);
        if (error.retryable && tries < policy.tries && wait <= policy.maxRetryWaitMs) {
          await sleep(wait, options?.signal);
          continue;
        }
        passed.push({ provider: name, error: error.message });
        failures.push(error);
        break;
      }
    }
  }
  throw everyProviderFailed(step, failures, passed);
}

/** The name a composite goes by: its providers in order, e.g. `elevenlabs>local`. */
function orderName(engines: readonly OrderedEngine<unknown>[]): string {
  return engines.map((e) => e.name).join('>');
}

/** Script writers in order. */
export function scriptWritersInOrder(engines: readonly OrderedEngine<ScriptWriter>[], policy: FallbackPolicy): ScriptWriter {
  return { name: orderName(engines), write: (request, options) => runInOrder('script', engines, policy, options, (engine) => engine.write(request, options)) };
}

/** Safety checkers in order. */
export function safetyCheckersInOrder(engines: readonly OrderedEngine<SafetyChecker>[], policy: FallbackPolicy): SafetyChecker {
  return { name: orderName(engines), check: (request, options) => runInOrder('safety', engines, policy, options, (engine) => engine.check(request, options)) };
}

/**
 * Speech in order. A request's voice (the project's own) names a voice of the first provider: the
 * ones after it speak with their own default voice.
 */
export function speechInOrder(engines: readonly OrderedEngine<SpeechSynthesizer>[], policy: FallbackPolicy): SpeechSynthesizer {
  return {
    name: orderName(engines),
    synthesize(request, options) {
      const { voice, ...withoutVoice } = request;
      return runInOrder('tts', engines, policy, options, (engine, position) =>
        engine.synthesize(position === 0 && voice !== undefined ? { ...withoutVoice, voice } : withoutVoice, options),
      );
    },
  };
}

/** Scene pictures in order. */
export function imagesInOrder(engines: readonly OrderedEngine<ImageProvider>[], policy: FallbackPolicy): ImageProvider {
  return { name: orderName(engines), createSceneImages: (request, options) => runInOrder('images', engines, policy, options, (engine) => engine.createSceneImages(request, options)) };
}

/** Renderers in order; a cloud render an earlier attempt started (`resumeExternalJobId`) is awaited by the renderer that knows it. */
export function renderersInOrder(engines: readonly OrderedEngine<Renderer>[], policy: FallbackPolicy): Renderer {
  return { name: orderName(engines), render: (request, options) => runInOrder('render', engines, policy, options, (engine) => engine.render(request, options)) };
}
