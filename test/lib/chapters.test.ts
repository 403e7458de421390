import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chapterTitle, describeWithChapters, formatChapterTime, videoChapters, type ChapterSource } from '../../lib/chapters';

/** Scenes on the timeline: [start, duration] each, pictures as the render records them. */
function scenes(...spans: [number, number][]): ChapterSource['mediaAssets'] {
  return spans.map(([timestamp, duration]) => ({ type: 'image', timestamp, duration }));
}

const SCRIPT = {
  hook: 'Why do cats purr when they are happy and also when they hurt?',
  body: ['Purring starts in the larynx, where muscles twitch', 'Scientists measured purr frequencies', 'Some big cats cannot purr at all'],
  cta: 'Follow for more cat science.',
};

/** The chapters as the description lines they become. */
function lines(source: ChapterSource): string[] {
  return videoChapters(source).map((c) => `${formatChapterTime(c.startSec)} ${c.title}`);
}

describe('formatChapterTime', () => {
  it('writes m:ss under an hour and h:mm:ss from an hour, dropping fractions', () => {
    assert.equal(formatChapterTime(0), '0:00');
    assert.equal(formatChapterTime(9.99), '0:09');
    assert.equal(formatChapterTime(75), '1:15');
    assert.equal(formatChapterTime(599), '9:59');
    assert.equal(formatChapterTime(3599), '59:59');
    assert.equal(formatChapterTime(3600), '1:00:00');
    assert.equal(formatChapterTime(3 * 3600 + 7 * 60 + 5), '3:07:05');
  });
});

describe('chapterTitle', () => {
  it('keeps a short line whole, on one line', () => {
    assert.equal(chapterTitle('  Purring starts\nin the larynx  '), 'Purring starts in the larynx');
  });

  it('cuts a long line after a whole word within 40 characters and marks the cut', () => {
    const title = chapterTitle('Purring starts in the larynx, where tiny muscles twitch many times a second');
    assert.equal(title, 'Purring starts in the larynx, where tiny…');
    assert.ok([...title].length <= 41);
  });

  it('cuts unspaced scripts at words and very long words where the limit falls', () => {
    const japanese = chapterTitle('猫が喉を鳴らす理由は科学者にとっても長い間の謎でしたが最近の研究で少しずつ分かってきました', 'ja', 20);
    assert.ok(japanese.endsWith('…') && [...japanese].length <= 21, japanese);
    assert.ok('猫が喉を鳴らす理由は科学者にとっても長い間の謎でしたが最近の研究で少しずつ分かってきました'.startsWith(japanese.slice(0, -1)));
    assert.equal(chapterTitle('a'.repeat(60), 'en', 10), `${'a'.repeat(10)}…`);
  });

  it('drops angle brackets, which YouTube refuses in a description', () => {
    assert.equal(chapterTitle('<b>Big</b> cats'), 'bBig/b cats');
  });
});

describe('videoChapters', () => {
  it('starts at 0:00 with the hook, then one chapter per body section at its scene; the call to action stays in the last', () => {
    const source: ChapterSource = { script: SCRIPT, mediaAssets: scenes([2.5, 8], [10.5, 40.2], [50.7, 35], [85.7, 30], [115.7, 4]), videoDurationSec: 123.4, fallbackTitle: 'Cats' };
    assert.deepEqual(lines(source), [
      '0:00 Why do cats purr when they are happy and…',
      '0:10 Purring starts in the larynx, where…',
      '0:50 Scientists measured purr frequencies',
      '1:25 Some big cats cannot purr at all',
    ]);
  });

  it('merges a section shorter than 10 seconds into the chapter before it', () => {
    const source: ChapterSource = { script: SCRIPT, mediaAssets: scenes([2, 10], [12, 30], [42, 6], [48, 30], [78, 4]), videoDurationSec: 85, fallbackTitle: 'Cats' };
    assert.deepEqual(
      videoChapters(source).map((c) => c.startSec),
      [0, 12, 48],
      'the 6-second second section belongs to the first section’s chapter',
    );
  });

  it('merges the first section into the opening chapter when the intro and hook last under 10 seconds', () => {
    const script = { ...SCRIPT, body: [...SCRIPT.body, 'Purring may even help bones heal'] };
    const source: ChapterSource = { script, mediaAssets: scenes([1, 4], [5, 30], [35, 30], [65, 30], [95, 30], [125, 3]), videoDurationSec: 130, fallbackTitle: 'Cats' };
    assert.deepEqual(
      videoChapters(source).map((c) => [c.startSec, c.title]),
      [[0, chapterTitle(SCRIPT.hook)], [35, SCRIPT.body[1]], [65, SCRIPT.body[2]], [95, 'Purring may even help bones heal']],
    );
  });

  it('gives a last section that ends within 10 seconds of the video’s end to the chapter before', () => {
    const source: ChapterSource = { script: SCRIPT, mediaAssets: scenes([2, 10], [12, 30], [42, 30], [72, 5], [77, 2]), videoDurationSec: 80, fallbackTitle: 'Cats' };
    assert.deepEqual(videoChapters(source).map((c) => c.startSec), [0, 12, 42]);
  });

  it('makes no chapters when fewer than three remain, or when the scenes do not match the script', () => {
    const short: ChapterSource = { script: SCRIPT, mediaAssets: scenes([2, 3], [5, 5], [10, 5], [15, 5], [20, 3]), videoDurationSec: 24, fallbackTitle: 'Cats' };
    assert.deepEqual(videoChapters(short), []);
    const twoSections: ChapterSource = { script: { ...SCRIPT, body: SCRIPT.body.slice(0, 1) }, mediaAssets: scenes([2, 10], [12, 60], [72, 3]), videoDurationSec: 80, fallbackTitle: 'Cats' };
    assert.deepEqual(videoChapters(twoSections), [], 'an opening and one section are two chapters');
    const mismatched: ChapterSource = { script: SCRIPT, mediaAssets: scenes([2, 10], [12, 30], [42, 30], [72, 30]), videoDurationSec: 110, fallbackTitle: 'Cats' };
    assert.deepEqual(videoChapters(mismatched), []);
    assert.deepEqual(videoChapters({ ...mismatched, mediaAssets: [] }), []);
  });

  it('names the opening chapter after the video when the script has no hook, and skips empty sections and audio assets', () => {
    const script = { hook: ' ', body: ['First part of the story', '', 'Second part of the story', 'Third part'], cta: '' };
    const assets = [{ type: 'audio', timestamp: 0 }, ...scenes([3, 20], [23, 20], [43, 20])];
    assert.deepEqual(
      videoChapters({ script, mediaAssets: assets, fallbackTitle: 'A story in three parts' }).map((c) => [c.startSec, c.title]),
      [[0, 'A story in three parts'], [23, 'Second part of the story'], [43, 'Third part']],
      'the first section starts at 3 s, inside the opening; the end is the last scene’s',
    );
  });
});

describe('describeWithChapters', () => {
  const chapters = [
    { startSec: 0, title: 'Opening' },
    { startSec: 30, title: 'Middle' },
    { startSec: 3700, title: 'End' },
  ];

  it('puts the chapters after the description, one line each', () => {
    assert.equal(describeWithChapters('About cats.', chapters, 5000), 'About cats.\n\n0:00 Opening\n0:30 Middle\n1:01:40 End');
    assert.equal(describeWithChapters('  ', chapters, 5000), '0:00 Opening\n0:30 Middle\n1:01:40 End');
    assert.equal(describeWithChapters('About cats.', [], 5000), 'About cats.');
  });

  it('shortens the description, never the chapters, to stay within the byte limit', () => {
    const block = '0:00 Opening\n0:30 Middle\n1:01:40 End';
    const text = describeWithChapters('고양이 '.repeat(2000), chapters, 5000);
    assert.ok(Buffer.byteLength(text) <= 5000, String(Buffer.byteLength(text)));
    assert.ok(text.endsWith(`\n\n${block}`));
    assert.ok(text.startsWith('고양이 고양이'));
  });
});
