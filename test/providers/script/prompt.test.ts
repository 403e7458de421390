import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildScriptPrompt, orientationOf, spokenRange } from '../../../providers/script/prompt';
import type { ScriptRequest } from '../../../providers/types';

const REQUEST: ScriptRequest = { language: 'en', vertical: 'tech', tone: 'casual', format: 'short', topic: 'Local AI models' };

describe('the AI writers’ prompt', () => {
  it('names the frame the video renders in, not always a vertical one', () => {
    assert.equal(orientationOf({ width: 1080, height: 1920 }), 'vertical 9:16');
    assert.equal(orientationOf({ width: 1920, height: 1080 }), 'horizontal 16:9');
    assert.equal(orientationOf({ width: 1080, height: 1080 }), 'square 1:1');
    assert.equal(orientationOf({ width: 1080, height: 1350 }), 'vertical 4:5');
    assert.match(buildScriptPrompt({ ...REQUEST, format: 'mid', frame: { width: 1920, height: 1080 } }).system, /mid-form horizontal 16:9 videos/);
    assert.doesNotMatch(buildScriptPrompt({ ...REQUEST, format: 'mid', frame: { width: 1920, height: 1080 } }).system, /vertical/i);
  });

  it('asks for each format’s length: a short under a minute, mid 3–5 minutes, long 10–20 minutes, in as many sections', () => {
    const short = buildScriptPrompt(REQUEST).system;
    assert.match(short, /30–60 seconds spoken \(about 420–840 characters in all\)/);
    assert.match(short, /body: 3 sections/);
    const mid = buildScriptPrompt({ ...REQUEST, format: 'mid', language: 'ko' }).system;
    assert.match(mid, /180–300 seconds spoken \(about 1080–1800 characters in all\)/);
    assert.match(mid, /body: 6 sections/);
    const long = buildScriptPrompt({ ...REQUEST, format: 'long' }).system;
    assert.match(long, /600–1200 seconds spoken/);
    assert.match(long, /body: 12 sections \(between 1 and 12\), each a paragraph of at most 1610 characters/);
  });

  it('narrows the length to the template’s duration when it falls inside the format’s range', () => {
    assert.deepEqual(spokenRange('long', 900), [765, 900]);
    assert.deepEqual(spokenRange('short', 45), [38, 45]);
    assert.deepEqual(spokenRange('mid', 60), [180, 300], 'a target below the range keeps the range');
    assert.deepEqual(spokenRange('short', 600), [30, 60], 'a target above the range keeps the range');
    assert.match(buildScriptPrompt({ ...REQUEST, format: 'long', targetSec: 900 }).system, /765–900 seconds spoken/);
  });
});
