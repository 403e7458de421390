import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { ConfigError, loadConfig } from '../../../lib/config';
import { createScriptWriter } from '../../../providers';
import { GeminiScriptWriter } from '../../../providers/script/gemini-writer';
import { LocalScriptWriter } from '../../../providers/script/local-writer';
import type { ScriptRequest } from '../../../providers/types';
import { startFakeGemini, VALID_SCRIPT_ANSWER, type FakeGeminiState } from '../../fakes/gemini-server';
import { minimalEnv } from '../../support/env';
import { failureLog } from '../../support/provider-errors';

const REQUEST: ScriptRequest = { language: 'en', vertical: 'senior_health', tone: 'casual', format: 'short', topic: 'Knee health after sixty' };
const PRICES = { inputPerMTokUsd: 0.3, outputPerMTokUsd: 2.5 };

describe('GeminiScriptWriter against the fake Gemini server', () => {
  let fake: Awaited<ReturnType<typeof startFakeGemini>>;
  let state: FakeGeminiState;
  let writer: GeminiScriptWriter;
  const { failed, assertNoKey } = failureLog();

  before(async () => {
    fake = await startFakeGemini();
    state = fake.state;
    writer = new GeminiScriptWriter({ apiKey: state.apiKey, baseUrl: fake.baseUrl, model: state.model, prices: PRICES, timeoutMs: 5000 });
  });

  after(async () => {
    await fake.close();
    assertNoKey([state.apiKey]);
  });

  beforeEach(() => state.reset());

  it('writes a valid script with usage, cost and the exchange; sends the schema and the key header', async () => {
    const result = await writer.write(REQUEST);
    assert.equal(result.script.hook, VALID_SCRIPT_ANSWER.hook);
    assert.deepEqual(result.script.body, VALID_SCRIPT_ANSWER.body);
    assert.equal(result.script.full_text, [VALID_SCRIPT_ANSWER.hook, ...VALID_SCRIPT_ANSWER.body, VALID_SCRIPT_ANSWER.cta].join('\n'));
    assert.equal(result.title, VALID_SCRIPT_ANSWER.title);
    assert.deepEqual(result.tags, VALID_SCRIPT_ANSWER.tags);
    assert.equal(result.usage.service, 'gemini');
    assert.equal(result.usage.operation, 'script_generation');
    assert.equal(result.usage.inputUnits, 1200);
    assert.equal(result.usage.outputUnits, 400);
    assert.equal(result.usage.statusCode, 200);
    assert.equal(result.usage.model, state.model);
    assert.ok(Math.abs(result.usage.estimatedCostUsd - (1200 * 0.3 + 400 * 2.5) / 1e6) < 1e-12, `cost ${result.usage.estimatedCostUsd}`);
    assert.equal(result.exchange.model, state.model);
    assert.match(result.exchange.prompt, /Knee health after sixty/);
    assert.equal(result.exchange.parameters.attempts, 1);
    assert.ok(result.exchange.rawOutput.includes('habits'));
    assert.ok(!JSON.stringify(result).includes(state.apiKey), 'the key must not be in the result');

    assert.equal(state.requests.length, 1);
    const sent = state.requests[0]!;
    assert.equal(sent.path, `/v1beta/models/${state.model}:generateContent`);
    assert.equal(sent.headers['x-goog-api-key'], state.apiKey);
    const config = sent.body.generationConfig as { responseMimeType: string; responseSchema: { type: string; properties: Record<string, unknown>; required: string[] } };
    assert.equal(config.responseMimeType, 'application/json');
    assert.equal(config.responseSchema.type, 'OBJECT');
    assert.deepEqual(Object.keys(config.responseSchema.properties).sort(), ['body', 'cta', 'description', 'hook', 'search_terms', 'tags', 'title']);
    assert.ok(config.responseSchema.required.includes('hook'));
    assert.match(JSON.stringify(sent.body.systemInstruction), /English/);
    assert.ok(!String(sent.path).includes(state.apiKey), 'the key goes in the header, not the URL');
  });

  it('retries once with the validation error in the prompt after an invalid answer', async () => {
    state.next.push({ kind: 'invalidScript' });
    const result = await writer.write(REQUEST);
    assert.equal(result.script.hook, VALID_SCRIPT_ANSWER.hook);
    assert.equal(state.requests.length, 2);
    assert.ok(!state.requests[0]!.userText.includes('rejected'));
    assert.match(state.requests[1]!.userText, /previous answer was rejected: hook must be a string/);
    assert.equal(result.exchange.parameters.attempts, 2);
    assert.equal(result.usage.inputUnits, 2400, 'both calls are counted');
    assert.equal(result.usage.outputUnits, 800);
  });

  it('fails non-retryably after two invalid answers', async () => {
    state.next.push({ kind: 'invalidJson' }, { kind: 'invalidJson' });
    const error = await failed(writer.write(REQUEST));
    assert.equal(state.requests.length, 2);
    assert.match(state.requests[1]!.userText, /not valid JSON/);
    assert.equal(error.code, 'bad_request');
    assert.equal(error.retryable, false);
    assert.equal(error.providerReason, 'invalid_script');
    assert.match(error.message, /invalid script twice/);
    const temporal = toActivityFailure(error);
    assert.ok(temporal instanceof ApplicationFailure);
    assert.equal(temporal.nonRetryable, true);
  });

  it('maps 429 with Retry-After to rate_limited with retryAfterMs and the activity next retry delay', async () => {
    state.next.push({ kind: 'error', status: 429, message: 'Resource has been exhausted (e.g. check quota).', retryAfterSec: 7 });
    const error = await failed(writer.write(REQUEST));
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryable, true);
    assert.equal(error.statusCode, 429);
    assert.ok((error.retryAfterMs ?? 0) >= 7000);
    const temporal = toActivityFailure(error);
    assert.ok(temporal instanceof ApplicationFailure);
    assert.equal(temporal.nonRetryable, false);
    assert.ok(Number(temporal.nextRetryDelay) >= 7000);
  });

  it("reads Gemini's RetryInfo retryDelay when there is no Retry-After", async () => {
    state.next.push({ kind: 'error', status: 429, message: 'You exceeded your current quota.', retryDelay: '17s' });
    const error = await failed(writer.write(REQUEST));
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.providerReason, 'RESOURCE_EXHAUSTED');
    assert.equal(error.retryAfterMs, 17_000);
  });

  it('maps 500 to a retryable server_error, and the next call succeeds', async () => {
    state.next.push({ kind: 'error', status: 500, message: 'An internal error has occurred.' });
    const error = await failed(writer.write(REQUEST));
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    const result = await writer.write(REQUEST);
    assert.equal(result.script.hook, VALID_SCRIPT_ANSWER.hook);
  });

  it("maps 400 and 403 to non-retryable errors carrying Gemini's message, without the key", async () => {
    state.next.push({ kind: 'error', status: 400, message: 'Invalid value at generation_config.temperature', echoKey: true });
    const bad = await failed(writer.write(REQUEST));
    assert.equal(bad.code, 'bad_request');
    assert.equal(bad.retryable, false);
    assert.match(bad.message, /Invalid value at generation_config\.temperature/);
    assert.ok(bad.message.includes('[redacted]'));
    assert.ok(!bad.message.includes(state.apiKey));

    state.next.push({ kind: 'error', status: 403, message: 'Generative Language API has not been used in project 123 before or it is disabled.' });
    const forbidden = await failed(writer.write(REQUEST));
    assert.equal(forbidden.code, 'forbidden');
    assert.equal(forbidden.retryable, false);
    assert.match(forbidden.message, /has not been used in project 123/);
    assert.equal(state.requests.length, 2, 'no in-process retry of provider errors');
  });

  it('refuses a wrong key without echoing it', async () => {
    const wrongKey = `AIzaWrong-${randomBytes(8).toString('hex')}`;
    const other = new GeminiScriptWriter({ apiKey: wrongKey, baseUrl: fake.baseUrl, model: state.model, prices: PRICES });
    const error = await failed(other.write(REQUEST));
    assert.equal(error.retryable, false);
    assert.match(error.message, /API key not valid/);
    assert.ok(!error.message.includes(wrongKey));
  });

  it('fails non-retryably with the reason on a safety block of the answer or of the prompt', async () => {
    state.next.push({ kind: 'safetyFinish' });
    const answer = await failed(writer.write(REQUEST));
    assert.equal(answer.code, 'forbidden');
    assert.equal(answer.retryable, false);
    assert.equal(answer.providerReason, 'SAFETY');
    assert.match(answer.message, /SAFETY.*HARM_CATEGORY_DANGEROUS_CONTENT=HIGH/);

    state.next.push({ kind: 'promptBlocked', reason: 'PROHIBITED_CONTENT' });
    const prompt = await failed(writer.write(REQUEST));
    assert.equal(prompt.retryable, false);
    assert.equal(prompt.providerReason, 'PROHIBITED_CONTENT');
    assert.match(prompt.message, /blocked the prompt \(PROHIBITED_CONTENT\)/);
    assert.equal(state.requests.length, 2, 'a blocked answer is not retried in-process');
  });

  it('times out through the request deadline as a retryable network error', async () => {
    // A server that accepts the request and never answers.
    const hanging = createServer(() => undefined);
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    try {
      const baseUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}`;
      const silent = new GeminiScriptWriter({ apiKey: state.apiKey, baseUrl, model: state.model, prices: PRICES, timeoutMs: 200 });
      const startedAt = Date.now();
      const error = await failed(silent.write(REQUEST));
      assert.equal(error.code, 'network_error');
      assert.equal(error.retryable, true);
      assert.match(error.message, /no answer within 200 ms/);
      assert.ok(Date.now() - startedAt >= 190);
    } finally {
      hanging.closeAllConnections();
      await new Promise<void>((resolve) => hanging.close(() => resolve()));
    }
  });
});

describe('script provider configuration', () => {
  const BASE = minimalEnv();

  it('defaults to the local writer with default models and prices', () => {
    const config = loadConfig(BASE);
    assert.deepEqual(config.script.providers, ['local']);
    assert.equal(config.script.gemini.baseUrl, 'https://generativelanguage.googleapis.com');
    assert.equal(config.script.openai.baseUrl, 'https://api.openai.com');
    assert.ok(config.script.gemini.prices.inputPerMTokUsd > 0);
    assert.ok(createScriptWriter(config) instanceof LocalScriptWriter);
  });

  it('refuses SCRIPT_PROVIDER=gemini without GEMINI_API_KEY, and picks Gemini with one', () => {
    assert.throws(() => loadConfig({ ...BASE, SCRIPT_PROVIDER: 'gemini' }), (error: unknown) => error instanceof ConfigError && /GEMINI_API_KEY/.test(error.message));
    const config = loadConfig({ ...BASE, SCRIPT_PROVIDER: 'gemini', GEMINI_API_KEY: 'AIza-test-key', GEMINI_MODEL: 'gemini-x', GEMINI_INPUT_PRICE_PER_MTOK: '1.25' });
    assert.equal(config.script.gemini.prices.inputPerMTokUsd, 1.25);
    const writer = createScriptWriter(config);
    assert.ok(writer instanceof GeminiScriptWriter);
    assert.equal(writer.model, 'gemini-x');
  });
});
