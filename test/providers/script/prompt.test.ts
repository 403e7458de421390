import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalScriptWriter } from '../../../providers/script/local-writer';
import { buildScriptPrompt, orientationOf, SCRIPT_JSON_SCHEMA, spokenRange } from '../../../providers/script/prompt';
import { validateScript } from '../../../providers/script/validate';
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

describe('search terms per scene', () => {
  const parts = { hook: 'Water first.', body: ['Then coffee.', 'Then work.'], cta: 'Try it!' };

  it('asks the AI writers for them, one search per scene', () => {
    assert.ok((SCRIPT_JSON_SCHEMA.required as readonly string[]).includes('search_terms'));
    assert.deepEqual(SCRIPT_JSON_SCHEMA.properties.search_terms.items, { type: 'string' }, 'no nested arrays: the MongoDB-compatible store keeps none');
    assert.match(buildScriptPrompt(REQUEST).system, /search_terms: one search per scene \(the hook, each body section, the cta\)/);
  });

  it('keeps well-formed searches and names the problem otherwise', () => {
    const searches = ['glass of water', 'coffee cup kitchen', 'office desk', 'sunrise'];
    assert.deepEqual(validateScript({ ...parts, search_terms: searches }).search_terms, searches);
    assert.equal(validateScript(parts).search_terms, undefined);
    assert.throws(() => validateScript({ ...parts, search_terms: searches.slice(1) }), /search_terms must be one search per scene \(4: hook, each body section, cta\)/);
    assert.throws(() => validateScript({ ...parts, search_terms: [...searches.slice(0, 3), ''] }), /search_terms\[3\] must not be empty/);
    assert.throws(() => validateScript({ ...parts, search_terms: [...searches.slice(0, 3), 'x'.repeat(61)] }), /search_terms\[3\] has 61 characters/);
  });

  it('has the local writer search each scene by its own words', async () => {
    const { script } = await new LocalScriptWriter().write({ ...REQUEST, topic: 'Electric cars and batteries' });
    const scenes = [script.hook, ...script.body, script.cta];
    assert.equal(script.search_terms?.length, scenes.length);
    const own = script.search_terms?.filter((search, index) => search.split(' ').some((word) => (scenes[index] as string).toLowerCase().includes(word))).length ?? 0;
    assert.ok(own >= scenes.length - 1, `most scenes are searched by their own words: ${JSON.stringify(script.search_terms)}`);
  });
});
