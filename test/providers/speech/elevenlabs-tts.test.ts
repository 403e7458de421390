import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { alignmentCues, alignmentWords } from '../../../providers/speech/alignment';
import { ElevenLabsSpeechSynthesizer, planRequests, splitForRequests, type ElevenLabsSpeechOptions } from '../../../providers/speech/elevenlabs-tts';
import { probe, requireStream } from '../../../providers/ffmpeg/runner';
import { cleanText } from '../../../providers/text-layout';
import type { SpeechRequest } from '../../../providers/types';
import { fakeAlignment, startFakeElevenLabs, type FakeElevenLabsState } from '../../fakes/elevenlabs-server';
import { countingLimiter } from '../../support/limiter';
import { assertRateLimited, failureLog } from '../../support/provider-errors';
import { scratchDir } from '../../support/scratch-dir';

const KOREAN_SCENES = [
  '무릎은 매일 당신을 지탱합니다. 오늘은 무릎을 지키는 습관 세 가지를 알려드릴게요.',
  '첫째, 매일 아침 평지에서 이십 분씩 걸으세요. 꾸준함이 가장 중요합니다.',
  '둘째, 의자 스쿼트로 허벅지 근육을 천천히 강화하세요.',
  '더 많은 건강 정보를 원하시면 구독해 주세요! 이 영상은 의학적 조언이 아닙니다.',
];
const PRICE_PER_THOUSAND = 0.3;

function characters(texts: readonly string[]): number {
  return texts.reduce((sum, text) => sum + [...cleanText(text)].length, 0);
}

describe('ElevenLabsSpeechSynthesizer against the fake ElevenLabs server', () => {
  let fake: Awaited<ReturnType<typeof startFakeElevenLabs>>;
  let state: FakeElevenLabsState;
  const scratch = scratchDir('autoclip-elevenlabs-');
  const { failedCalls, callOptions, failed, assertNoKey } = failureLog('the synthesis');

  before(async () => {
    fake = await startFakeElevenLabs();
    state = fake.state;
  });

  after(async () => {
    await fake.close();
    assertNoKey([state.apiKey]);
  });

  beforeEach(() => {
    state.reset();
    failedCalls.length = 0;
  });

  function synthesizer(options: Partial<ElevenLabsSpeechOptions> = {}): ElevenLabsSpeechSynthesizer {
    return new ElevenLabsSpeechSynthesizer({ apiKey: state.apiKey, baseUrl: fake.baseUrl, pricePerThousandCharsUsd: PRICE_PER_THOUSAND, ...options });
  }

  function request(segments: string[] = KOREAN_SCENES, extra: Partial<SpeechRequest> = {}): SpeechRequest {
    return { language: 'ko', segments, outDir: scratch.next(), ...extra };
  }

  async function assertNoWorkDirs(outDir: string): Promise<void> {
    const left = await readdir(outDir).catch(() => []);
    assert.deepEqual(left.filter((name) => name.startsWith('.tts-')), [], 'the work folder is removed');
  }

  it('speaks Korean scenes into one playable m4a whose scenes and cues match the audio', async () => {
    const limiter = countingLimiter(true);
    const progress: number[] = [];
    const speech = synthesizer({ slot: { limiter, key: 'elevenlabs', limit: 2 }, segmentPauseSec: 0.3 });
    const req = request();
    const result = await speech.synthesize(req, { ...callOptions, onProgress: (percent) => progress.push(percent) });

    const info = await probe(result.audioPath);
    const audio = requireStream(info, 'audio');
    assert.equal(audio.codec, 'aac');
    assert.match(info.formatName, /mp4|m4a|mov/);
    assert.equal(audio.sampleRate, 44100);
    assert.equal(audio.channels, 1);
    assert.ok(Math.abs(info.durationSec - result.durationSec) < 0.001);
    assert.deepEqual(await readdir(req.outDir), ['voice.m4a']);

    // One request per scene, in the real protocol, each told its neighbours.
    assert.equal(state.requests.length, KOREAN_SCENES.length);
    const sent = [...state.requests].sort((a, b) => KOREAN_SCENES.indexOf(String(a.body.text)) - KOREAN_SCENES.indexOf(String(b.body.text)));
    sent.forEach((recorded, index) => {
      assert.equal(recorded.headers['xi-api-key'], state.apiKey);
      assert.equal(recorded.query.output_format, 'mp3_44100_128');
      assert.equal(recorded.voiceId, 'JBFqnCBsd6RMkjVDRZzb');
      assert.equal(recorded.body.text, KOREAN_SCENES[index]);
      assert.equal(recorded.body.model_id, 'eleven_multilingual_v2');
      assert.equal(recorded.body.language_code, undefined, 'multilingual v2 enforces no language');
      assert.equal(recorded.body.previous_text, KOREAN_SCENES[index - 1]);
      assert.equal(recorded.body.next_text, KOREAN_SCENES[index + 1]);
    });
    assert.deepEqual(limiter.acquired, Array(KOREAN_SCENES.length).fill('elevenlabs'), 'every request ran inside the slot');
    assert.ok(limiter.maxHeld <= 2);

    // Scenes: contiguous, each as long as its fake speech plus the pause, the last ending with the audio.
    assert.equal(result.segments.length, KOREAN_SCENES.length);
    assert.equal(result.segments[0]?.startSec, 0);
    result.segments.forEach((segment, index) => {
      if (index > 0) assert.equal(segment.startSec, result.segments[index - 1]?.endSec);
      const expected = state.leadSec + [...(KOREAN_SCENES[index] as string)].length * state.secondsPerCharacter + state.tailSec + 0.3;
      assert.ok(Math.abs(segment.endSec - segment.startSec - expected) < 0.06, `scene ${index} lasts ${segment.endSec - segment.startSec}s, expected about ${expected}s`);
    });
    assert.ok(Math.abs((result.segments.at(-1)?.endSec ?? 0) - result.durationSec) < 0.001);

    // Cues: in order, inside the audio, each inside its scene, starting when its first character is spoken.
    assert.ok(result.cues.length >= KOREAN_SCENES.length);
    result.cues.forEach((cue, index) => {
      assert.ok(cue.startSec >= 0 && cue.endSec > cue.startSec && cue.endSec <= result.durationSec, JSON.stringify(cue));
      if (index > 0) assert.ok(cue.startSec >= (result.cues[index - 1]?.endSec ?? 0), 'cues do not overlap');
    });
    KOREAN_SCENES.forEach((scene, index) => {
      const segment = result.segments[index] as { startSec: number; endSec: number };
      const own = result.cues.filter((cue) => cue.startSec >= segment.startSec && cue.endSec <= segment.endSec);
      assert.equal(own.map((cue) => cue.text).join(' '), scene, `the cues of scene ${index} spell it`);
      assert.ok(Math.abs((own[0]?.startSec ?? -1) - (segment.startSec + state.leadSec)) < 0.002, 'the first cue starts with the first character');
    });

    const total = characters(KOREAN_SCENES);
    assert.deepEqual({ ...result.usage, durationMs: 0 }, {
      service: 'elevenlabs',
      operation: 'text_to_speech',
      inputUnits: total,
      outputUnits: Math.round(result.durationSec),
      durationMs: 0,
      estimatedCostUsd: Math.round(total * PRICE_PER_THOUSAND * 1e5) / 1e8,
      statusCode: 200,
      model: 'eleven_multilingual_v2',
    });
    assert.equal(progress.at(-1), 100);
    assert.deepEqual(failedCalls, []);
  });

  it('splits a long scene at sentences into several requests joined by previous_text and next_text', async () => {
    state.maxCharacters = 60;
    const long = [
      '오늘은 무릎 건강에 대해 이야기합니다.',
      '나이가 들수록 무릎 연골은 조금씩 닳아갑니다.',
      '하지만 작은 습관으로 그 속도를 늦출 수 있어요.',
      '첫 번째 습관은 매일 가볍게 걷는 것입니다.',
      '두 번째 습관은 허벅지 근육을 키우는 것이죠.',
      '세 번째 습관은 체중을 알맞게 유지하는 것입니다.',
    ].join(' ');
    const scenes = [long, '구독과 좋아요 부탁드립니다.'];
    const speech = synthesizer({ model: 'eleven_flash_v2_5', maxCharsPerRequest: 60, parallel: 3 });
    const result = await speech.synthesize(request(scenes, { voice: 'customVoice123' }), callOptions);

    const planned = planRequests(scenes, 60);
    assert.ok(planned.filter((piece) => piece.segment === 0).length >= 3, 'the long scene needs several requests');
    assert.equal(state.requests.length, planned.length);
    const byText = new Map(state.requests.map((recorded) => [String(recorded.body.text), recorded]));
    planned.forEach((piece, index) => {
      const recorded = byText.get(piece.text);
      assert.ok(recorded, `a request spoke ${piece.text}`);
      assert.ok([...piece.text].length <= 60);
      assert.equal(recorded.voiceId, 'customVoice123');
      assert.equal(recorded.body.model_id, 'eleven_flash_v2_5');
      assert.equal(recorded.body.language_code, 'ko');
      assert.equal(recorded.body.previous_text, planned[index - 1]?.text);
      assert.equal(recorded.body.next_text, planned[index + 1]?.text);
    });
    assert.equal(
      planned.filter((piece) => piece.segment === 0).map((piece) => piece.text).join(' '),
      long,
      'the pieces are the scene cut between sentences',
    );

    const info = await probe(result.audioPath);
    assert.ok(Math.abs(info.durationSec - (result.segments.at(-1)?.endSec ?? 0)) < 0.001);
    const first = result.segments[0] as { startSec: number; endSec: number };
    const expectedFirst = planned.filter((piece) => piece.segment === 0).reduce((sum, piece) => sum + state.leadSec + piece.characters * state.secondsPerCharacter + state.tailSec, 0) + 0.3;
    assert.ok(Math.abs(first.endSec - expectedFirst) < 0.15, `the long scene lasts ${first.endSec}s, expected about ${expectedFirst}s`);
    const ownCues = result.cues.filter((cue) => cue.endSec <= first.endSec);
    assert.equal(ownCues.map((cue) => cue.text).join(' '), long);
    result.cues.forEach((cue, index) => {
      if (index > 0) assert.ok(cue.startSec >= (result.cues[index - 1]?.endSec ?? 0));
    });
    assert.equal(result.usage.inputUnits, planned.reduce((sum, piece) => sum + piece.characters, 0), 'the characters sent are billed');
  });

  it('gives a scene without speakable text a silence and sends no request for it', async () => {
    const result = await synthesizer({ silentSegmentSec: 1 }).synthesize(request(['안녕하세요.', '🙂', '감사합니다.']), callOptions);
    assert.equal(state.requests.length, 2);
    const silent = result.segments[1] as { startSec: number; endSec: number };
    assert.ok(Math.abs(silent.endSec - silent.startSec - 1) < 0.001);
    const greeting = state.requests.find((recorded) => recorded.body.text === '안녕하세요.');
    assert.equal(greeting?.body.next_text, '감사합니다.', 'the silent scene is skipped in the context too');
  });

  it('lets the slot bound the requests across the call', async () => {
    const limiter = countingLimiter(true);
    state.delayMs = 150;
    await synthesizer({ parallel: 4, slot: { limiter, key: 'elevenlabs:acct', limit: 1 } }).synthesize(request(), callOptions);
    assert.equal(state.maxInFlight, 1);
    assert.equal(limiter.acquired.length, KOREAN_SCENES.length);
  });

  it('turns 429 too_many_concurrent_requests into rate_limited that waits at least Retry-After', async () => {
    state.next.push({ kind: 'error', status: 429, detailStatus: 'too_many_concurrent_requests', message: 'Too many concurrent requests for your plan.', retryAfterSec: 7 });
    const error = await failed(synthesizer({ parallel: 1 }).synthesize(request(), callOptions));
    assertRateLimited(error, 7000);
    assert.equal(error.providerReason, 'too_many_concurrent_requests');
    assert.match(error.message, /Too many concurrent requests for your plan/);
    assert.equal(failedCalls.length, 1);
    assert.equal(failedCalls[0]?.usage.service, 'elevenlabs');
    assert.equal(failedCalls[0]?.usage.operation, 'text_to_speech');
    assert.equal(failedCalls[0]?.usage.statusCode, 429);
  });

  it('turns 429 system_busy without Retry-After into a plain retryable rate limit', async () => {
    state.next.push({ kind: 'error', status: 429, detailStatus: 'system_busy', message: 'Our services are experiencing high levels of traffic.' });
    const error = await failed(synthesizer({ parallel: 1 }).synthesize(request(), callOptions));
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryAfterMs, undefined);
    assert.equal(error.providerReason, 'system_busy');
  });

  it('fails a 500 as retryable, and the retry succeeds', async () => {
    const speech = synthesizer({ parallel: 1 });
    state.next.push({ kind: 'error', status: 500, detailStatus: 'internal_error', message: 'An internal server error occurred.' });
    const error = await failed(speech.synthesize(request(), callOptions));
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.equal((toActivityFailure(error) as ApplicationFailure).nonRetryable, false);
    assert.equal(failedCalls.at(-1)?.usage.statusCode, 500);

    const result = await speech.synthesize(request(), callOptions);
    assert.equal(result.segments.length, KOREAN_SCENES.length);
  });

  it('records the characters of pieces spoken before a later piece failed', async () => {
    state.next.push({ kind: 'speak' }, { kind: 'error', status: 503, detailStatus: 'service_unavailable', message: 'Try again later.' });
    const spokenFirst = '첫 장면입니다.';
    const error = await failed(synthesizer({ parallel: 1 }).synthesize(request([spokenFirst, '둘째 장면입니다.']), callOptions));
    assert.equal(error.code, 'server_error');
    assert.equal(failedCalls.length, 1);
    assert.equal(failedCalls[0]?.usage.inputUnits, [...spokenFirst].length, 'the first scene was spoken and paid for');
    assert.equal(failedCalls[0]?.usage.estimatedCostUsd, Math.round([...spokenFirst].length * PRICE_PER_THOUSAND * 1e5) / 1e8);
  });

  it('refuses an invalid key without retrying, with ElevenLabs message', async () => {
    const error = await failed(synthesizer({ apiKey: 'sk_wrong_key_123456' }).synthesize(request(), callOptions));
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.retryable, false);
    assert.equal(error.providerReason, 'invalid_api_key');
    assert.match(error.message, /Invalid API key/);
    assert.ok(!error.message.includes('sk_wrong_key_123456'));
    assert.equal((toActivityFailure(error) as ApplicationFailure).nonRetryable, true);
  });

  it('reports quota_exceeded as non-retryable with ElevenLabs message', async () => {
    state.next.push({ kind: 'error', status: 401, detailStatus: 'quota_exceeded', message: 'This request exceeds your quota of 10000. You have 12 credits remaining.' });
    const error = await failed(synthesizer({ parallel: 1 }).synthesize(request(), callOptions));
    assert.equal(error.code, 'quota_exceeded');
    assert.equal(error.retryable, false);
    assert.equal(error.statusCode, 401);
    assert.match(error.message, /exceeds your quota of 10000/);
    const temporal = toActivityFailure(error) as ApplicationFailure;
    assert.equal(temporal.nonRetryable, true);
    assert.equal(temporal.type, 'quota_exceeded');
  });

  it('refuses a 400 without retrying and never shows the key', async () => {
    state.next.push({ kind: 'error', status: 400, detailStatus: 'voice_not_found', message: 'A voice with the voice_id was not found.', echoKey: true });
    const error = await failed(synthesizer({ parallel: 1 }).synthesize(request(), callOptions));
    assert.equal(error.code, 'bad_request');
    assert.equal(error.retryable, false);
    assert.match(error.message, /voice_not_found.*A voice with the voice_id was not found/);
    assert.match(error.message, /\[redacted\]/);
    assert.ok(!failedCalls.some((call) => call.error.includes(state.apiKey)));
  });

  for (const kind of ['notJson', 'missingAudio', 'missingAlignment', 'unevenAlignment', 'undecodableAudio'] as const) {
    it(`rejects a malformed answer (${kind}) as invalid_response and cleans up`, async () => {
      state.next.push({ kind });
      const req = request();
      const error = await failed(synthesizer({ parallel: 1 }).synthesize(req, callOptions));
      assert.equal(error.code, 'invalid_response');
      assert.equal(error.statusCode, 200);
      assert.equal(error.retryable, true);
      await assertNoWorkDirs(req.outDir);
      assert.equal(failedCalls.length, 1);
    });
  }

  it('stops at once when cancelled, leaving nothing behind', async () => {
    state.delayMs = 3000;
    const controller = new AbortController();
    const req = request();
    const started = Date.now();
    setTimeout(() => controller.abort(new Error('cancelled by the test')), 100);
    await assert.rejects(synthesizer().synthesize(req, { ...callOptions, signal: controller.signal }), /cancelled by the test/);
    assert.ok(Date.now() - started < 2000);
    await assertNoWorkDirs(req.outDir);
    assert.deepEqual(failedCalls, []);
  });

  it('refuses a voice id that is not an ElevenLabs id before any request', async () => {
    await assert.rejects(synthesizer().synthesize(request(KOREAN_SCENES, { voice: '../admin' })), { name: 'PermanentProviderError' });
    assert.equal(state.requests.length, 0);
  });
});

describe('splitting text for ElevenLabs requests', () => {
  it('packs whole sentences under the limit', () => {
    assert.deepEqual(splitForRequests('One two. Three four. Five six seven.', 20), ['One two. Three four.', 'Five six seven.']);
  });

  it('cuts a sentence longer than the limit between words, and a long word inside it', () => {
    assert.deepEqual(splitForRequests('aaaa bbbb cccc', 9), ['aaaa bbbb', 'cccc']);
    assert.deepEqual(splitForRequests('abcdefghij', 4), ['abcd', 'efgh', 'ij']);
  });

  it('never lets a request span two scenes', () => {
    const pieces = planRequests(['짧다.', '', '역시 짧다.'], 100);
    assert.deepEqual(
      pieces.map((piece) => [piece.segment, piece.text, piece.previousText, piece.nextText]),
      [
        [0, '짧다.', undefined, '역시 짧다.'],
        [2, '역시 짧다.', '짧다.', undefined],
      ],
    );
  });
});

describe('cues from character alignment', () => {
  const timing = { secondsPerCharacter: 0.1, leadSec: 0.5 };

  function alignment(text: string): { characters: string[]; startSec: number[]; endSec: number[] } {
    const raw = fakeAlignment(text, timing);
    return { characters: raw.characters as string[], startSec: raw.character_start_times_seconds as number[], endSec: raw.character_end_times_seconds as number[] };
  }

  it('times each subtitle line from its first to its last character', () => {
    const text = '첫 문장입니다. 두 번째 문장이에요.';
    const cues = alignmentCues(text, alignment(text), 10);
    assert.deepEqual(
      cues.map((cue) => cue.text),
      ['첫 문장입니다.', '두 번째 문장이에요.'],
    );
    assert.deepEqual(cues[0], { startSec: 0.5, endSec: 1.3, text: '첫 문장입니다.' });
    assert.deepEqual(cues[1], { startSec: 1.4, endSec: 2.5, text: '두 번째 문장이에요.' });
  });

  it('times each word from its first to its last character, Japanese words found by the dictionary', () => {
    const text = '첫 문장입니다. 두 번째';
    assert.deepEqual(alignmentWords(text, 'ko', alignment(text), 10), [
      { startSec: 0.5, endSec: 0.6, text: '첫' },
      { startSec: 0.7, endSec: 1.3, text: '문장입니다.' },
      { startSec: 1.4, endSec: 1.5, text: '두' },
      { startSec: 1.6, endSec: 1.8, text: '번째' },
    ]);
    const japanese = '今日は晴れ。';
    assert.deepEqual(
      alignmentWords(japanese, 'ja', alignment(japanese), 10).map((word) => [word.text, word.startSec, word.endSec]),
      [['今日', 0.5, 0.7], ['は', 0.7, 0.8], ['晴れ。', 0.8, 1.1]],
    );
  });

  it('maps positions proportionally when the provider counted characters differently', () => {
    const text = 'Two words. Then three more.';
    const spoken = alignment('Two werds ok. Then three more words.');
    const cues = alignmentCues(text, spoken, 100);
    assert.equal(cues.length, 2);
    assert.ok((cues[0]?.endSec ?? 0) <= (cues[1]?.startSec ?? 0));
    assert.equal(cues[0]?.startSec, 0.5);
    assert.equal(cues[1]?.endSec, spoken.endSec.at(-1));
  });

  it('keeps cues inside the audio and in order when the timings overlap or overrun', () => {
    const text = 'Hello there. General Kenobi.';
    const spoken = alignment(text);
    spoken.startSec[13] = 0.2;
    const cues = alignmentCues(text, spoken, 2);
    assert.ok((cues[1]?.startSec ?? 0) >= (cues[0]?.endSec ?? 0));
    assert.equal(cues[1]?.endSec, 2);
  });
});
