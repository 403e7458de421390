import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EspeakSpeechSynthesizer } from '../../../providers/speech/espeak-tts';

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
