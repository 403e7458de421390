import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { ConfigError, loadConfig } from '../../../lib/config';
import { createScriptWriter } from '../../../providers';
import { OpenAiScriptWriter } from '../../../providers/script/openai-writer';
import type { ScriptRequest } from '../../../providers/types';
import { VALID_SCRIPT_ANSWER } from '../../fakes/gemini-server';
import { startFakeOpenAi, type FakeOpenAiState } from '../../fakes/openai-server';
import { minimalEnv } from '../../support/env';
import { failureLog } from '../../support/provider-errors';

const REQUEST: ScriptRequest = {
  language: 'ko',
  vertical: 'finance',
  tone: 'professional',
  format: 'short',
  sourceData: { kind: 'rss', title: '기준금리 동결', summary: '한국은행이 기준금리를 동결했다.' },
};
const PRICES = { inputPerMTokUsd: 0.15, outputPerMTokUsd: 0.6 };

describe('OpenAiScriptWriter against the fake Chat Completions server', () => {
  let fake: Awaited<ReturnType<typeof startFakeOpenAi>>;
  let state: FakeOpenAiState;
  let key: string;
  let writer: OpenAiScriptWriter;
  const { failed, assertNoKey } = failureLog();

  before(async () => {
    fake = await startFakeOpenAi();
    state = fake.state;
    key = state.apiKey as string;
    writer = new OpenAiScriptWriter({ apiKey: key, baseUrl: fake.baseUrl, model: state.model, prices: PRICES, timeoutMs: 5000 });
  });

  after(async () => {
    await fake.close();
    assertNoKey([key]);
  });

  beforeEach(() => {
    state.reset();
    state.apiKey = key;
  });

  it('writes a valid script with usage and cost; sends the strict json_schema and the Bearer key', async () => {
    const result = await writer.write(REQUEST);
    assert.equal(result.script.cta, VALID_SCRIPT_ANSWER.cta);
    assert.equal(result.script.body.length, 3);
    assert.equal(result.description, VALID_SCRIPT_ANSWER.description);
    assert.equal(result.usage.service, 'openai');
    assert.equal(result.usage.inputUnits, 900);
    assert.equal(result.usage.outputUnits, 300);
    assert.ok(Math.abs(result.usage.estimatedCostUsd - (900 * 0.15 + 300 * 0.6) / 1e6) < 1e-12, `cost ${result.usage.estimatedCostUsd}`);
    assert.equal(result.exchange.model, state.model);
    assert.match(result.exchange.prompt, /기준금리/);
    assert.match(result.exchange.prompt, /Korean/);
    assert.ok(result.exchange.rawOutput.includes('chat.completion'));
    assert.ok(!JSON.stringify(result).includes(key));

    const sent = state.requests[0]!;
    assert.equal(sent.path, '/v1/chat/completions');
    assert.equal(sent.headers.authorization, `Bearer ${key}`);
    assert.equal(sent.body.model, state.model);
    const format = sent.body.response_format as { type: string; json_schema: { name: string; strict: boolean; schema: { additionalProperties: boolean; required: string[]; properties: Record<string, unknown> } } };
    assert.equal(format.type, 'json_schema');
    assert.equal(format.json_schema.strict, true);
    assert.equal(format.json_schema.schema.additionalProperties, false);
    assert.deepEqual([...format.json_schema.schema.required].sort(), Object.keys(format.json_schema.schema.properties).sort());
    const roles = (sent.body.messages as { role: string }[]).map((m) => m.role);
    assert.deepEqual(roles, ['system', 'user']);
  });

  it('works without a key against a local server, sending no Authorization header', async () => {
    state.apiKey = undefined;
    const local = new OpenAiScriptWriter({ baseUrl: `${fake.baseUrl}/v1`, model: state.model, prices: { inputPerMTokUsd: 0, outputPerMTokUsd: 0 } });
    const result = await local.write(REQUEST);
    assert.equal(result.usage.estimatedCostUsd, 0);
    assert.equal(state.requests[0]!.headers.authorization, undefined);
  });

  it('retries once with the validation error in the prompt after an invalid answer', async () => {
    state.next.push({ kind: 'invalidScript' });
    const result = await writer.write(REQUEST);
    assert.equal(result.script.hook, VALID_SCRIPT_ANSWER.hook);
    assert.equal(state.requests.length, 2);
    assert.match(state.requests[1]!.userText, /previous answer was rejected: body must have 1–12 sections, got 0/);
    assert.equal(result.exchange.parameters.attempts, 2);
    assert.equal(result.usage.inputUnits, 1800);
  });

  it('fails non-retryably after two invalid answers', async () => {
    state.next.push({ kind: 'invalidJson' }, { kind: 'invalidScript' });
    const error = await failed(writer.write(REQUEST));
    assert.equal(state.requests.length, 2);
    assert.match(state.requests[1]!.userText, /not valid JSON/);
    assert.equal(error.code, 'bad_request');
    assert.equal(error.retryable, false);
    assert.match(error.message, /body must have/);
    const temporal = toActivityFailure(error);
    assert.ok(temporal instanceof ApplicationFailure && temporal.nonRetryable);
  });

  it('maps 429 with retry-after to rate_limited with retryAfterMs', async () => {
    state.next.push({ kind: 'error', status: 429, message: 'Rate limit reached for requests', type: 'requests', code: 'rate_limit_exceeded', retryAfterSec: 12 });
    const error = await failed(writer.write(REQUEST));
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryable, true);
    assert.ok((error.retryAfterMs ?? 0) >= 12_000);
    const temporal = toActivityFailure(error);
    assert.ok(temporal instanceof ApplicationFailure);
    assert.ok(Number(temporal.nextRetryDelay) >= 12_000);
  });

  it('falls back to x-ratelimit-reset-requests when there is no retry-after', async () => {
    state.next.push({ kind: 'error', status: 429, message: 'Rate limit reached', code: 'rate_limit_exceeded', resetHeader: '1m30s' });
    const error = await failed(writer.write(REQUEST));
    assert.equal(error.retryAfterMs, 90_000);
  });

  it('maps 500 to a retryable server_error, and the next call succeeds', async () => {
    state.next.push({ kind: 'error', status: 500, message: 'The server had an error while processing your request.', type: 'server_error' });
    const error = await failed(writer.write(REQUEST));
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.ok((await writer.write(REQUEST)).script.hook);
  });

  it("maps 400 to a non-retryable error carrying the server's message, without the key", async () => {
    state.next.push({ kind: 'error', status: 400, message: "Invalid schema for response_format 'autoclip_script'", echoKey: true });
    const error = await failed(writer.write(REQUEST));
    assert.equal(error.code, 'bad_request');
    assert.equal(error.retryable, false);
    assert.match(error.message, /Invalid schema for response_format/);
    assert.ok(!error.message.includes(key));
    assert.equal(state.requests.length, 1);
  });

  it('refuses a wrong key (401) non-retryably without echoing it', async () => {
    const wrongKey = `sk-wrong-${randomBytes(8).toString('hex')}`;
    const other = new OpenAiScriptWriter({ apiKey: wrongKey, baseUrl: fake.baseUrl, model: state.model, prices: PRICES });
    const error = await failed(other.write(REQUEST));
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.retryable, false);
    assert.match(error.message, /Incorrect API key provided/);
    assert.ok(!error.message.includes(wrongKey));
  });

  it('fails non-retryably on a refusal or a content filter', async () => {
    state.next.push({ kind: 'refusal', text: "I'm sorry, I can't help with that." });
    const refusal = await failed(writer.write(REQUEST));
    assert.equal(refusal.code, 'forbidden');
    assert.equal(refusal.retryable, false);
    assert.match(refusal.message, /can't help with that/);

    state.next.push({ kind: 'contentFilter' });
    const filtered = await failed(writer.write(REQUEST));
    assert.equal(filtered.retryable, false);
    assert.equal(filtered.providerReason, 'content_filter');
  });
});

describe('OpenAI script provider configuration', () => {
  const BASE = minimalEnv();

  it('needs a key for api.openai.com but not for a local compatible server', () => {
    assert.throws(() => loadConfig({ ...BASE, SCRIPT_PROVIDER: 'openai' }), (error: unknown) => error instanceof ConfigError && /OPENAI_API_KEY/.test(error.message));
    const config = loadConfig({ ...BASE, SCRIPT_PROVIDER: 'openai', OPENAI_BASE_URL: 'http://127.0.0.1:11434', OPENAI_MODEL: 'llama3.1' });
    const writer = createScriptWriter(config);
    assert.ok(writer instanceof OpenAiScriptWriter);
    assert.equal(writer.model, 'llama3.1');
  });
});
