import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { loadConfig } from '../../../lib/config';
import type { ProviderError } from '../../../providers/errors';
import { combineSafety, safetyText, severityForRisk } from '../../../providers/safety/combine';
import { GeminiSafetyChecker } from '../../../providers/safety/gemini-checker';
import { LocalSafetyChecker, passesSafety } from '../../../providers/safety/local-checker';
import { OpenAiModerationChecker } from '../../../providers/safety/openai-moderation';
import type { SafetyChecker, SafetyRequest } from '../../../providers/types';
import { startFakeGemini, type FakeGeminiState } from '../../fakes/gemini-server';
import { startFakeOpenAi, type FakeOpenAiState } from '../../fakes/openai-server';
import { minimalEnv } from '../../support/env';
import { failureLog, type FailedCall, type FailureLog } from '../../support/provider-errors';

const THRESHOLD = loadConfig(minimalEnv()).pipeline.safetyThreshold;
const PRICES = { inputPerMTokUsd: 0.3, outputPerMTokUsd: 2.5 };

const BENIGN: SafetyRequest = {
  language: 'en',
  vertical: 'senior_health',
  title: 'Five habits that protect your knees',
  script: {
    hook: 'Your knees carry you every day.',
    body: ['Walk for twenty minutes every morning.', 'Strengthen your thighs with slow chair squats.'],
    cta: 'Follow for more simple health tips.',
    full_text: 'Your knees carry you every day.\nWalk for twenty minutes every morning.\nStrengthen your thighs with slow chair squats.\nFollow for more simple health tips.',
  },
};

/** Caught by the local rules (finance_guaranteed_return, high): 0.5 locally. */
const RISKY: SafetyRequest = {
  language: 'en',
  vertical: 'finance',
  title: 'The fund everyone talks about',
  script: { hook: 'Guaranteed returns every month.', body: ['Markets moved today.'], cta: 'Follow.', full_text: '' },
};

/** Runs the suite's checker on benign text expecting a failure whose exchange is reported once; both are kept in `log`. */
function failedCheck(log: FailureLog, checker: () => SafetyChecker): () => Promise<{ error: ProviderError; call: FailedCall }> {
  return async () => {
    const one = failureLog();
    const error = await log.failed(checker().check(BENIGN, one.callOptions));
    log.failedCalls.push(...one.failedCalls);
    assert.equal(one.failedCalls.length, 1, 'the failed exchange is reported once');
    return { error, call: one.failedCalls[0]! };
  };
}

describe('combineSafety', () => {
  it('subtracts the penalties of the remote flags from the local score, keeping both flag lists', () => {
    const local = { score: 0.8, flags: [{ code: 'clickbait_excess', severity: 'medium' as const, message: 'm' }] };
    assert.deepEqual(combineSafety(local, { flags: [], rejected: false }), local);
    const combined = combineSafety(local, { flags: [{ code: 'moderation_hate', severity: 'high', message: 'h' }, { code: 'x', severity: 'low', message: 'l' }], rejected: false });
    assert.equal(combined.score, 0.25);
    assert.deepEqual(combined.flags.map((f) => f.code), ['clickbait_excess', 'moderation_hate', 'x']);
    assert.equal(combineSafety({ score: 0.3, flags: [] }, { flags: [{ code: 'h', severity: 'high', message: 'h' }], rejected: false }).score, 0);
    assert.equal(combineSafety({ score: 1, flags: [] }, { flags: [], rejected: true }).score, 0);
  });

  it('grades risks and builds the remote text from the title and the spoken script', () => {
    const thresholds = { low: 0.3, medium: 0.5, high: 0.8 };
    assert.deepEqual([0.1, 0.3, 0.6, 0.8, 1].map((risk) => severityForRisk(risk, thresholds)), [undefined, 'low', 'medium', 'high', 'high']);
    assert.equal(safetyText(BENIGN), `${BENIGN.title}\n\n${BENIGN.script.full_text}`);
    assert.equal(safetyText(RISKY), `${RISKY.title}\n\nGuaranteed returns every month.\nMarkets moved today.\nFollow.`);
  });
});

describe('OpenAiModerationChecker against the fake moderation endpoint', () => {
  let fake: Awaited<ReturnType<typeof startFakeOpenAi>>;
  let state: FakeOpenAiState;
  let key: string;
  let checker: OpenAiModerationChecker;
  const log = failureLog();
  const failed = failedCheck(log, () => checker);

  before(async () => {
    fake = await startFakeOpenAi();
    state = fake.state;
    key = state.apiKey as string;
    checker = new OpenAiModerationChecker({ apiKey: key, baseUrl: `${fake.baseUrl}/v1`, timeoutMs: 5000 });
  });

  after(async () => {
    await fake.close();
    log.assertNoKey([key]);
  });

  beforeEach(() => state.reset());

  it('keeps the local score of benign text, with usage (free by default) and the exchange', async () => {
    const result = await checker.check(BENIGN);
    assert.equal(result.score, 1);
    assert.deepEqual(result.flags, []);
    assert.equal(result.usage.service, 'openai');
    assert.equal(result.usage.operation, 'moderation');
    assert.equal(result.usage.inputUnits, safetyText(BENIGN).length, 'characters, as the answer reports no tokens');
    assert.equal(result.usage.estimatedCostUsd, 0);
    assert.equal(result.usage.statusCode, 200);
    assert.equal(result.usage.model, 'omni-moderation-latest');
    assert.equal(result.exchange.model, 'omni-moderation-latest');
    assert.equal(result.exchange.prompt, safetyText(BENIGN));
    assert.equal(result.exchange.parameters.inputUnit, 'characters');
    assert.ok(result.exchange.rawOutput.includes('category_scores'));
    assert.ok(!JSON.stringify(result).includes(key));

    const sent = state.requests[0]!;
    assert.equal(sent.path, '/v1/moderations');
    assert.equal(sent.headers.authorization, `Bearer ${key}`);
    assert.deepEqual(sent.body, { model: 'omni-moderation-latest', input: safetyText(BENIGN) });

    const local = await new LocalSafetyChecker().check(RISKY);
    const risky = await checker.check(RISKY);
    assert.equal(risky.score, local.score, 'a clean moderation keeps the local score');
    assert.deepEqual(risky.flags, local.flags);
  });

  it('scores a flagged answer below the threshold with a flag per category, severity by score', async () => {
    state.moderationNext.push({ kind: 'scores', scores: { violence: 0.91, hate: 0.32 } });
    const result = await checker.check(BENIGN);
    assert.ok(result.score < THRESHOLD, `score ${result.score}`);
    assert.ok(!passesSafety(result.score, THRESHOLD));
    assert.equal(result.score, 0.45, 'violence flagged by OpenAI (high, 0.5) and hate at 0.32 (low, 0.05)');
    assert.deepEqual(result.flags.map((f) => [f.code, f.severity]), [['moderation_violence', 'high'], ['moderation_hate', 'low']]);
    assert.match(result.flags[0]!.message, /violence scored 0\.91 \(flagged\)/);
    assert.equal(result.exchange.parameters.flagged, true);
  });

  it('grades unflagged scores by the thresholds and the weights, and forces a high flag when the answer is flagged', async () => {
    state.moderationNext.push({ kind: 'scores', scores: { illicit: 0.45, 'illicit/violent': 0.45 }, flagged: false });
    const graded = await checker.check(BENIGN);
    assert.deepEqual(graded.flags.map((f) => [f.code, f.severity]), [['moderation_illicit_violent', 'medium'], ['moderation_illicit', 'low']]);
    assert.equal(graded.score, 0.75);
    assert.ok(passesSafety(graded.score, THRESHOLD));

    state.moderationNext.push({ kind: 'scores', scores: { 'self-harm': 0.2 }, flagged: true });
    const flagged = await checker.check(BENIGN);
    assert.deepEqual(flagged.flags.map((f) => [f.code, f.severity]), [['moderation_flagged', 'high']]);
    assert.equal(flagged.score, 0.5);
    assert.ok(!passesSafety(flagged.score, THRESHOLD));
  });

  it('charges the configured price per million units', async () => {
    const priced = new OpenAiModerationChecker({ apiKey: key, baseUrl: fake.baseUrl, pricePerMUnitsUsd: 2 });
    const result = await priced.check(BENIGN);
    assert.ok(Math.abs(result.usage.estimatedCostUsd - (safetyText(BENIGN).length * 2) / 1e6) < 1e-9);
  });

  it('maps 429 with Retry-After to rate_limited and the activity next retry delay, reporting the failed call', async () => {
    state.moderationNext.push({ kind: 'error', status: 429, message: 'Rate limit reached for omni-moderation-latest.', type: 'requests', code: 'rate_limit_exceeded', retryAfterSec: 9 });
    const { error, call } = await failed();
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryable, true);
    assert.ok((error.retryAfterMs ?? 0) >= 9000);
    const temporal = toActivityFailure(error);
    assert.ok(temporal instanceof ApplicationFailure);
    assert.equal(temporal.nonRetryable, false);
    assert.ok(Number(temporal.nextRetryDelay) >= 9000);
    assert.equal(call.usage.service, 'openai');
    assert.equal(call.usage.operation, 'moderation');
    assert.equal(call.usage.statusCode, 429);
    assert.match(call.error, /Rate limit reached/);
  });

  it('maps 500 to a retryable server_error, and the next call succeeds', async () => {
    state.moderationNext.push({ kind: 'error', status: 500, message: 'The server had an error while processing your request.', type: 'server_error' });
    const { error } = await failed();
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.equal((await checker.check(BENIGN)).score, 1);
  });

  it("maps 400 and 403 to non-retryable errors carrying OpenAI's message, without the key", async () => {
    state.moderationNext.push({ kind: 'error', status: 400, message: "Invalid value for 'input'.", echoKey: true });
    const bad = (await failed()).error;
    assert.equal(bad.code, 'bad_request');
    assert.equal(bad.retryable, false);
    assert.match(bad.message, /Invalid value for 'input'/);
    assert.ok(bad.message.includes('[redacted]'));
    assert.equal((toActivityFailure(bad) as ApplicationFailure).nonRetryable, true);

    state.moderationNext.push({ kind: 'error', status: 403, message: 'Project does not have access to model omni-moderation-latest.', code: 'model_not_found' });
    const forbidden = (await failed()).error;
    assert.equal(forbidden.code, 'forbidden');
    assert.equal(forbidden.retryable, false);
    assert.match(forbidden.message, /does not have access/);
  });

  it('refuses a wrong key without echoing it', async () => {
    const wrongKey = `sk-wrong-${randomBytes(8).toString('hex')}`;
    const wrong = failureLog();
    const error = await log.failed(new OpenAiModerationChecker({ apiKey: wrongKey, baseUrl: fake.baseUrl }).check(BENIGN, wrong.callOptions));
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.retryable, false);
    assert.ok(!error.message.includes(wrongKey));
    assert.ok(!wrong.failedCalls[0]!.error.includes(wrongKey));
  });

  it('rejects an unreadable answer as a retryable invalid_response', async () => {
    state.moderationNext.push({ kind: 'invalidJson' });
    const { error, call } = await failed();
    assert.equal(error.code, 'invalid_response');
    assert.equal(error.retryable, true);
    assert.match(error.message, /no readable results\[0\]/);
    assert.equal(call.usage.statusCode, 200);
  });
});

describe('GeminiSafetyChecker against the fake Gemini server', () => {
  let fake: Awaited<ReturnType<typeof startFakeGemini>>;
  let state: FakeGeminiState;
  let checker: GeminiSafetyChecker;
  const log = failureLog();
  const failed = failedCheck(log, () => checker);

  before(async () => {
    fake = await startFakeGemini();
    state = fake.state;
    checker = new GeminiSafetyChecker({ apiKey: state.apiKey, baseUrl: fake.baseUrl, model: state.model, prices: PRICES, timeoutMs: 5000 });
  });

  after(async () => {
    await fake.close();
    log.assertNoKey([state.apiKey]);
  });

  beforeEach(() => state.reset());

  it('keeps the local score of benign text, with token usage, cost and the exchange; sends the review schema', async () => {
    const result = await checker.check(BENIGN);
    assert.equal(result.score, 1);
    assert.deepEqual(result.flags, []);
    assert.equal(result.usage.service, 'gemini');
    assert.equal(result.usage.operation, 'safety_check');
    assert.equal(result.usage.inputUnits, 1200);
    assert.equal(result.usage.outputUnits, 400);
    assert.ok(Math.abs(result.usage.estimatedCostUsd - (1200 * 0.3 + 400 * 2.5) / 1e6) < 1e-12);
    assert.equal(result.usage.model, state.model);
    assert.equal(result.exchange.model, state.model);
    assert.match(result.exchange.prompt, /\[system\][\s\S]*senior_health[\s\S]*\[user\]\nFive habits that protect your knees/);
    assert.ok(result.exchange.rawOutput.includes('safetyRatings'));
    assert.ok(!JSON.stringify(result).includes(state.apiKey));

    const sent = state.requests[0]!;
    assert.equal(sent.path, `/v1beta/models/${state.model}:generateContent`);
    assert.equal(sent.headers['x-goog-api-key'], state.apiKey);
    assert.equal(sent.userText, safetyText(BENIGN));
    const config = sent.body.generationConfig as { temperature: number; responseMimeType: string; responseSchema: { type: string; properties: { issues: { items: { properties: Record<string, { enum?: string[] }> } } } } };
    assert.equal(config.temperature, 0);
    assert.equal(config.responseMimeType, 'application/json');
    assert.deepEqual(config.responseSchema.properties.issues.items.properties.severity!.enum, ['low', 'medium', 'high']);

    const local = await new LocalSafetyChecker().check(RISKY);
    const risky = await checker.check(RISKY);
    assert.equal(risky.score, local.score);
    assert.deepEqual(risky.flags, local.flags);
  });

  it('turns a HIGH rating into a high-severity flag and a MEDIUM one into a medium flag', async () => {
    state.reviewNext.push({
      kind: 'rated',
      ratings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH' }, { category: 'HARM_CATEGORY_HARASSMENT', probability: 'LOW' }],
      promptRatings: [{ category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'MEDIUM' }, { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'LOW' }],
    });
    const result = await checker.check(BENIGN);
    assert.deepEqual(result.flags.map((f) => [f.code, f.severity]).sort(), [['gemini_dangerous_content', 'high'], ['gemini_hate_speech', 'medium']]);
    assert.match(result.flags.find((f) => f.code === 'gemini_dangerous_content')!.message, /HARM_CATEGORY_DANGEROUS_CONTENT HIGH/);
    assert.equal(result.score, 0.3);
    assert.ok(result.score < THRESHOLD);
  });

  it("folds the review's issues into flags, one per category at its worst severity", async () => {
    state.review = {
      issues: [
        { category: 'medical_claim', severity: 'medium', message: 'Suggests squats replace treatment.', excerpt: 'slow chair squats' },
        { category: 'medical_claim', severity: 'high', message: 'Promises a cure.' },
        { category: 'clickbait', severity: 'low', message: 'A little sensational.' },
        { category: 'astrology', severity: 'low', message: 'Not a known category.' },
      ],
    };
    const result = await checker.check(BENIGN);
    assert.deepEqual(result.flags, [
      { code: 'gemini_review_medical_claim', severity: 'high', message: 'Gemini review: Promises a cure. (2 issues)' },
      { code: 'gemini_review_clickbait', severity: 'low', message: 'Gemini review: A little sensational.' },
      { code: 'gemini_review_other', severity: 'low', message: 'Gemini review: Not a known category.' },
    ]);
    assert.equal(result.score, 0.4);
  });

  it('rejects a blocked prompt or an answer withheld for safety with score 0 and a high flag, not an error', async () => {
    state.reviewNext.push({ kind: 'promptBlocked', reason: 'PROHIBITED_CONTENT' });
    const blocked = await checker.check(BENIGN);
    assert.equal(blocked.score, 0);
    assert.deepEqual(blocked.flags.map((f) => [f.code, f.severity]), [['gemini_blocked', 'high']]);
    assert.match(blocked.flags[0]!.message, /PROHIBITED_CONTENT/);
    assert.equal(blocked.exchange.parameters.rejected, true);
    assert.equal(blocked.usage.inputUnits, 1200);
    assert.equal(blocked.usage.outputUnits, 0);

    state.reviewNext.push({ kind: 'safetyFinish' });
    const withheld = await checker.check(RISKY);
    assert.equal(withheld.score, 0);
    assert.deepEqual(
      withheld.flags.map((f) => f.code),
      ['finance_guaranteed_return', 'gemini_blocked', 'gemini_dangerous_content'],
      'the local flags first, then the block and the rating behind it',
    );
    assert.match(withheld.flags[1]!.message, /finishReason SAFETY/);
  });

  it('maps 429 with Retry-After (or RetryInfo) to rate_limited and the activity next retry delay, reporting the failed call', async () => {
    state.reviewNext.push({ kind: 'error', status: 429, message: 'Resource has been exhausted (e.g. check quota).', retryAfterSec: 7, retryDelay: '12s' });
    const { error, call } = await failed();
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 12_000);
    const temporal = toActivityFailure(error);
    assert.ok(temporal instanceof ApplicationFailure);
    assert.ok(Number(temporal.nextRetryDelay) >= 7000);
    assert.equal(call.usage.service, 'gemini');
    assert.equal(call.usage.operation, 'safety_check');
    assert.equal(call.usage.statusCode, 429);
    assert.equal(call.usage.model, state.model);
  });

  it('maps 500 to a retryable server_error, and the next call succeeds', async () => {
    state.reviewNext.push({ kind: 'error', status: 500, message: 'An internal error has occurred.' });
    const { error } = await failed();
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.equal((await checker.check(BENIGN)).score, 1);
  });

  it("maps 400 and 403 to non-retryable errors carrying Gemini's message, without the key", async () => {
    state.reviewNext.push({ kind: 'error', status: 400, message: 'Invalid value at generation_config.response_schema', echoKey: true });
    const bad = (await failed()).error;
    assert.equal(bad.code, 'bad_request');
    assert.equal(bad.retryable, false);
    assert.match(bad.message, /Invalid value at generation_config\.response_schema/);
    assert.ok(bad.message.includes('[redacted]'));
    assert.equal((toActivityFailure(bad) as ApplicationFailure).nonRetryable, true);

    state.reviewNext.push({ kind: 'error', status: 403, message: 'Generative Language API has not been used in project 123 before or it is disabled.' });
    const forbidden = (await failed()).error;
    assert.equal(forbidden.code, 'forbidden');
    assert.equal(forbidden.retryable, false);
    assert.match(forbidden.message, /has not been used in project 123/);
  });

  it('rejects an unreadable review as a retryable invalid_response, recording the tokens it cost', async () => {
    state.reviewNext.push({ kind: 'invalidJson' });
    const cut = await failed();
    assert.equal(cut.error.code, 'invalid_response');
    assert.equal(cut.error.retryable, true);
    assert.match(cut.error.message, /not valid JSON/);
    assert.equal(cut.call.usage.inputUnits, 1200);
    assert.equal(cut.call.usage.outputUnits, 400);
    assert.ok(cut.call.usage.estimatedCostUsd > 0);

    state.reviewNext.push({ kind: 'invalidScript' });
    const incomplete = await failed();
    assert.match(incomplete.error.message, /no "issues" list/);

    state.review = { issues: [{ category: 'hate', severity: 'catastrophic', message: 'x' }] };
    const wrong = await failed();
    assert.match(wrong.error.message, /issues\[0\] needs a severity/);
  });

  it('serves a script writer and a safety checker side by side', async () => {
    state.next.push({ kind: 'error', status: 500, message: 'for the writer only' });
    assert.equal((await checker.check(BENIGN)).score, 1, 'the writer knob is left for the writer');
    assert.equal(state.next.length, 1);
  });
});
