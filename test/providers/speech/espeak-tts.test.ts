import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EspeakSpeechSynthesizer, timeLineWords, timeWords } from '../../../providers/speech/espeak-tts';
import { silences } from '../ffmpeg/support';

describe('espeak-ng with awkward text', () => {
  it('speaks quotes, dashes, SQL and newlines as text and leaves emoji out of the cues', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'autoclip-espeak-'));
    try {
      const speech = await new EspeakSpeechSynthesizer({ wordsPerMinute: 220 }).synthesize({
        language: 'en',
        segments: ['--help "quoted" it\'s 😀', "x'; DROP TABLE users; --\nnext line", '🎉'],
        outDir: dir,
      });
      assert.deepEqual(
        speech.cues.map((cue) => cue.text),
        ['--help "quoted" it\'s', "x'; DROP TABLE users; --", 'next line'],
      );
      assert.equal(speech.segments.length, 3);
      const silent = speech.segments[2] as { startSec: number; endSec: number };
      assert.ok(silent.endSec - silent.startSec >= 0.9, 'a segment with nothing to speak still gets its scene time');
      assert.equal(speech.usage.model, 'en');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a voice name that is not a plain espeak-ng voice', async () => {
    await assert.rejects(
      new EspeakSpeechSynthesizer().synthesize({ language: 'ko', voice: 'ko --stdout', segments: ['안녕'], outDir: tmpdir() }),
      /invalid espeak-ng voice/,
    );
  });
});

describe('espeak-ng word timings', () => {
  it('shares a line among its words by how long each takes alone, less the silence a word alone carries', () => {
    // Alone: 0.5 + 0.3 + 0.4 = 1.2 s; the line takes 0.9 s, so each word gave 0.1 s of its own silence.
    assert.deepEqual(timeWords(['a', 'b', 'c'], [0.5, 0.3, 0.4], 0.9), [
      { text: 'a', startSec: 0, endSec: 0.4 },
      { text: 'b', startSec: 0.4, endSec: 0.6 },
      { text: 'c', startSec: 0.6, endSec: 0.9 },
    ]);
    // A line said slower than its words alone stretches them alike.
    assert.deepEqual(timeWords(['a', 'b'], [0.2, 0.6], 1.6), [
      { text: 'a', startSec: 0, endSec: 0.4 },
      { text: 'b', startSec: 0.4, endSec: 1.6 },
    ]);
  });

  it('times each clause between the pauses measured after it, or the whole line when they do not match', () => {
    const words = ['one,', 'two', 'three.'];
    assert.deepEqual(timeLineWords(words, [0.3, 0.3, 0.3], 1, [{ startSec: 0.3, endSec: 0.5 }]), [
      { text: 'one,', startSec: 0, endSec: 0.3 },
      { text: 'two', startSec: 0.5, endSec: 0.75 },
      { text: 'three.', startSec: 0.75, endSec: 1 },
    ]);
    assert.deepEqual(timeLineWords(words, [0.3, 0.3, 0.3], 0.9, []), timeWords(words, [0.3, 0.3, 0.3], 0.9));
    assert.deepEqual(timeLineWords(['a', 'b'], [0.3, 0.3], 0.9, [{ startSec: 0.3, endSec: 0.4 }]), timeWords(['a', 'b'], [0.3, 0.3], 0.9));
  });

  it("places the words' boundaries in the pauses the voice makes inside its lines", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'espeak-words-'));
    try {
      for (const [language, text] of [
        ['en', 'Drink a glass of water, every single morning, before breakfast.'],
        ['ko', '물 한 잔, 아침마다, 꼭 드세요.'],
      ] as const) {
        const speech = await new EspeakSpeechSynthesizer().synthesize({ language, segments: [text], outDir: join(dir, language) });
        assert.deepEqual(speech.words.map((word) => word.text).join(' '), text);
        const pauses = await silences(speech.audioPath, 0.08);
        const inner = pauses.filter((pause) => pause.startSec > 0.05 && pause.endSec < speech.durationSec - 0.05);
        assert.ok(inner.length >= 2, `${language}: the commas make pauses ${JSON.stringify(pauses)}`);
        const boundaries = speech.words.slice(1).map((word) => word.startSec);
        for (const pause of inner) {
          const nearest = Math.min(...boundaries.map((at) => Math.max(0, pause.startSec - at, at - pause.endSec)));
          assert.ok(nearest <= 0.06, `${language}: pause ${pause.startSec}–${pause.endSec} s is ${nearest.toFixed(3)} s from a word boundary: ${JSON.stringify(speech.words)}`);
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
