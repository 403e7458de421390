import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CircuitBreaker } from '../../providers/circuit-breaker';
import { PermanentProviderError, ProviderError } from '../../providers/errors';
import { runInOrder, speechInOrder, type FallbackPolicy } from '../../providers/fallback';
import type { EngineReport, SpeechRequest, SpeechResult, SpeechSynthesizer } from '../../providers/types';

/** A breaker in memory: the circuits named in `open` pass their provider over; every report is kept. */
function memoryBreaker(open: string[] = []): CircuitBreaker & { reports: string[] } {
  const reports: string[] = [];
  return {
    reports,
    allow: async (key) => !open.includes(key),
    failed: async (key) => void reports.push(`failed ${key}`),
    succeeded: async (key) => void reports.push(`succeeded ${key}`),
  };
}

const policy = (breaker?: CircuitBreaker): FallbackPolicy => ({ tries: 2, maxRetryWaitMs: 50, circuitPrefix: 'c', ...(breaker ? { breaker } : {}) });

/** A provider that answers `outcomes` in turn (an error is thrown), counting its calls. */
function engine(name: string, ...outcomes: (string | Error)[]) {
  const calls = { count: 0 };
  return {
    calls,
    ordered: {
      name,
      engine: async (): Promise<string> => {
        const outcome = outcomes[Math.min(calls.count, outcomes.length - 1)]!;
        calls.count += 1;
        if (outcome instanceof Error) throw outcome;
        return outcome;
      },
    },
  };
}

/** A 503 asking to come back in 10 ms (Retry-After), so the tries are quick. */
const serverError = (provider: string): ProviderError => new ProviderError(provider, 'server_error', `${provider} failed with HTTP 503`, { statusCode: 503, retryAfterMs: 10 });

describe('providers in order (fallback)', () => {
  it('gives a provider its tries for a failure a retry may fix, then runs the next one and reports the switch', async () => {
    const first = engine('elevenlabs', serverError('elevenlabs'));
    const second = engine('local', 'spoken');
    const breaker = memoryBreaker();
    let report: EngineReport | undefined;
    const result = await runInOrder('tts', [first.ordered, second.ordered], policy(breaker), { onEngine: (r) => (report = r) }, (call) => call());
    assert.equal(result, 'spoken');
    assert.equal(first.calls.count, 2);
    assert.deepEqual(report, { provider: 'local', fellBackFrom: [{ provider: 'elevenlabs', error: 'elevenlabs failed with HTTP 503' }] });
    assert.deepEqual(breaker.reports, ['failed c:tts:elevenlabs', 'failed c:tts:elevenlabs', 'succeeded c:tts:local']);
  });

  it('passes at once a provider that refused for good or asks to wait longer than the step may', async () => {
    const refused = engine('pexels', new ProviderError('pexels', 'unauthorized', 'Pexels failed with HTTP 401'));
    const slow = engine('openai', new ProviderError('openai', 'rate_limited', 'slow down', { retryAfterMs: 60_000 }));
    const local = engine('local', 'cards');
    assert.equal(await runInOrder('images', [refused.ordered, slow.ordered, local.ordered], policy(), {}, (call) => call()), 'cards');
    assert.deepEqual([refused.calls.count, slow.calls.count], [1, 1]);
  });

  it("fails at once on cancellation, the creator's bad input or an error no provider answered", async () => {
    const controller = new AbortController();
    const cancelled = engine('elevenlabs', serverError('elevenlabs'));
    const next = engine('local', 'spoken');
    controller.abort();
    await assert.rejects(runInOrder('tts', [cancelled.ordered, next.ordered], policy(), { signal: controller.signal }, (call) => call()), /HTTP 503/);
    const badInput = engine('elevenlabs', new PermanentProviderError('invalid ElevenLabs voice id'));
    await assert.rejects(runInOrder('tts', [badInput.ordered, next.ordered], policy(), {}, (call) => call()), PermanentProviderError);
    const bug = engine('elevenlabs', new TypeError('x is undefined'));
    await assert.rejects(runInOrder('tts', [bug.ordered, next.ordered], policy(), {}, (call) => call()), TypeError);
    assert.equal(next.calls.count, 0);
  });

  it('passes over a provider whose circuit is open, but always tries the last one', async () => {
    const first = engine('gemini', 'written');
    const last = engine('local', new ProviderError('local', 'server_error', 'down', { retryAfterMs: 10 }));
    const breaker = memoryBreaker(['c:script:gemini', 'c:script:local']);
    const failure = await runInOrder('script', [first.ordered, last.ordered], policy(breaker), {}, (call) => call()).then(
      () => assert.fail('every provider failed'),
      (error: unknown) => error,
    );
    assert.equal(first.calls.count, 0);
    assert.equal(last.calls.count, 2);
    assert.ok(failure instanceof ProviderError && failure.retryable, 'retryable when a provider failed in a way a retry may fix');
    assert.match(failure.message, /every script provider failed \(gemini: circuit open: skipped after repeated failures; local: down\)/);
  });

  it('fails for good when every provider refused for good', async () => {
    const a = engine('openai', new ProviderError('openai', 'forbidden', 'refused for its content'));
    const b = engine('pexels', new ProviderError('pexels', 'bad_request', 'bad query'));
    const failure = await runInOrder('images', [a.ordered, b.ordered], policy(), {}, (call) => call()).catch((error: unknown) => error);
    assert.ok(failure instanceof ProviderError && !failure.retryable);
  });

  it("speaks the project's voice with the first provider only", async () => {
    const voices: (string | undefined)[] = [];
    const speaker = (name: string, fail: boolean): SpeechSynthesizer => ({
      name,
      async synthesize(request: SpeechRequest): Promise<SpeechResult> {
        voices.push(request.voice);
        if (fail) throw new ProviderError(name, 'unauthorized', 'no');
        return { audioPath: 'a.m4a', durationSec: 1, segments: [], cues: [], words: [], usage: { service: name, operation: 'tts', inputUnits: 0, outputUnits: 0, durationMs: 0, estimatedCostUsd: 0 } };
      },
    });
    const speech = speechInOrder([{ name: 'elevenlabs', engine: speaker('elevenlabs', true) }, { name: 'local', engine: speaker('espeak-ng', false) }], policy());
    assert.equal(speech.name, 'elevenlabs>local');
    await speech.synthesize({ language: 'ko', segments: ['안녕'], voice: 'voice-id', outDir: '/tmp' });
    assert.deepEqual(voices, ['voice-id', undefined]);
  });
});
