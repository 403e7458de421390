import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { textWidthEm } from '../../providers/text-layout';
import { captionCues, fontForLanguage, fontSizeForLanguage, spokenWords, splitWords, toAss, toSrt, toWebVtt, type CaptionStyle, type SpokenWord } from '../../providers/captions';

const STYLE: CaptionStyle = {
  mode: 'karaoke',
  font: 'Noto Sans CJK KR',
  fontSize: 64,
  bold: true,
  color: '#FFFFFF',
  highlightColor: '#FF6B35',
  outlineColor: '#000000',
  background: '#000000B3',
  position: 'bottom',
  maxEm: 16,
  wordsPerGroup: 3,
};
const PORTRAIT = { width: 1080, height: 1920 };

const LINES = [
  { startSec: 0, endSec: 3, text: '오늘은 금리 이야기를 해볼게요.' },
  { startSec: 3.2, endSec: 6, text: '중앙은행이 기준금리를 동결했습니다.' },
];
const SCENES = [
  { startSec: 0, endSec: 3.1 },
  { startSec: 3.1, endSec: 6.5 },
];

function dialogues(ass: string): string[] {
  return ass.split('\n').filter((line) => line.startsWith('Dialogue:'));
}

describe('captions', () => {
  it('times each word by its share of its line, in the scene the line starts in', () => {
    const words = spokenWords(LINES, SCENES, 'ko');
    assert.deepEqual(
      words.map((word) => [word.text, word.segment]),
      [['오늘은', 0], ['금리', 0], ['이야기를', 0], ['해볼게요.', 0], ['중앙은행이', 1], ['기준금리를', 1], ['동결했습니다.', 1]],
    );
    assert.equal(words[0]?.startSec, 0);
    assert.equal(words[3]?.endSec, 3);
    assert.equal(words[4]?.startSec, 3.2);
    // '금리' (2 em) is spoken in half the time of '이야기를' (4 em).
    const span = (word: SpokenWord | undefined) => (word ? word.endSec - word.startSec : NaN);
    assert.ok(Math.abs(span(words[2]) - 2 * span(words[1])) < 0.002);
    for (const [index, word] of words.entries()) {
      assert.ok(word.endSec > word.startSec, word.text);
      if (index > 0) assert.ok(word.startSec >= (words[index - 1] as SpokenWord).endSec - 1e-9, word.text);
    }
  });

  it('cuts Japanese and Chinese into dictionary words, punctuation kept with the word before it', () => {
    assert.deepEqual(splitWords('今日は良い天気ですね。', 'ja'), ['今日', 'は', '良い', '天気', 'です', 'ね。']);
    assert.deepEqual(splitWords('今天天气很好，我们去公园吧。', 'zh'), ['今天', '天气', '很好，', '我们', '去', '公园', '吧。']);
    assert.deepEqual(splitWords(' Hello,  world! ', 'en'), ['Hello,', 'world!']);
    const cues = captionCues(spokenWords([{ startSec: 0, endSec: 2, text: '今日は良い天気ですね。' }], [{ startSec: 0, endSec: 2 }], 'ja'), STYLE, 'ja');
    assert.deepEqual(cues.map((cue) => cue.text), ['今日は良い天気ですね。']);
  });

  it('keeps lines within the width, ends them at sentences and scenes, and bridges short pauses', () => {
    const cues = captionCues(spokenWords(LINES, SCENES, 'ko'), STYLE, 'ko');
    assert.deepEqual(cues.map((cue) => cue.text), ['오늘은 금리 이야기를 해볼게요.', '중앙은행이 기준금리를', '동결했습니다.']);
    // The 0.2 s pause between the lines is bridged; the last caption ends with its word.
    assert.equal(cues[0]?.endSec, 3.2);
    assert.equal(cues[2]?.endSec, 6);
    const long = captionCues(spokenWords([{ startSec: 0, endSec: 4, text: 'One. Two three four five six seven eight nine ten eleven twelve' }], [{ startSec: 0, endSec: 4 }], 'en'), STYLE, 'en');
    assert.equal(long[0]?.text, 'One.');
    assert.ok(long.length >= 3);
    for (const cue of long.slice(1)) assert.ok(textWidthEm(cue.text) <= 16, cue.text);
  });

  it('leaves a long pause without a caption', () => {
    const cues = captionCues(spokenWords([{ startSec: 0, endSec: 1, text: 'First.' }, { startSec: 3, endSec: 4, text: 'Second.' }], [{ startSec: 0, endSec: 5 }], 'en'), STYLE, 'en');
    assert.deepEqual(cues.map((cue) => [cue.startSec, cue.endSec]), [[0, 1], [3, 4]]);
  });

  it('groups popup captions a few words at a time', () => {
    const cues = captionCues(spokenWords(LINES, SCENES, 'ko'), { ...STYLE, mode: 'popup', wordsPerGroup: 2 }, 'ko');
    assert.deepEqual(cues.map((cue) => cue.text), ['오늘은 금리', '이야기를 해볼게요.', '중앙은행이 기준금리를', '동결했습니다.']);
  });

  it('writes karaoke as one event per word with that word highlighted', () => {
    const cues = captionCues(spokenWords(LINES, SCENES, 'ko'), STYLE, 'ko');
    const events = dialogues(toAss(cues, STYLE, PORTRAIT, 'ko'));
    assert.equal(events.length, 7);
    assert.match(events[1] as string, /^Dialogue: 0,0:00:00\.66,0:00:01\.11,Caption,,0,0,0,,오늘은 \{\\1c&H00356BFF\}금리\{\\1c&H00FFFFFF\} 이야기를 해볼게요\.$/);
    // The last word of a caption stays lit until the caption ends (bridged to the next line).
    assert.match(events[3] as string, /,0:00:01\.99,0:00:03\.20,/);
  });

  it('writes classic captions as plain lines and popups with a scale-in', () => {
    const cues = captionCues(spokenWords(LINES, SCENES, 'ko'), STYLE, 'ko');
    const classic = dialogues(toAss(cues, { ...STYLE, mode: 'classic' }, PORTRAIT, 'ko'));
    assert.deepEqual(classic.map((line) => line.split(',,').pop()), ['오늘은 금리 이야기를 해볼게요.', '중앙은행이 기준금리를', '동결했습니다.']);
    const popup = dialogues(toAss(captionCues(spokenWords(LINES, SCENES, 'ko'), { ...STYLE, mode: 'popup' }, 'ko'), { ...STYLE, mode: 'popup' }, PORTRAIT, 'ko'));
    assert.match(popup[0] as string, /\{\\fscx80\\fscy80\\t\(0,120,\\fscx100\\fscy100\)\}/);
    assert.doesNotMatch(popup[1] as string, /fscx80/);
  });

  it('styles the captions from the template: box or outline, safe-area margin, the language font and size, right-to-left', () => {
    const cues = captionCues(spokenWords(LINES, SCENES, 'ko'), STYLE, 'ko');
    const style = (ass: string) => (ass.split('\n').find((line) => line.startsWith('Style: Caption,')) as string).split(',');
    const boxed = style(toAss(cues, STYLE, PORTRAIT, 'ko'));
    assert.equal(boxed[15], '4');
    assert.equal(boxed[6], '&H4C000000');
    // Bottom captions clear the platforms' buttons: a fifth of a portrait frame, less of a landscape one.
    assert.equal(boxed[21], '384');
    assert.equal(style(toAss(cues, STYLE, { width: 1920, height: 1080 }, 'ko'))[21], '86');
    const outlined = style(toAss(cues, { ...STYLE, background: undefined, position: 'top' } as CaptionStyle, PORTRAIT, 'ja'));
    assert.equal(outlined[15], '1');
    assert.equal(outlined[1], 'Noto Sans CJK JP');
    assert.equal(outlined[18], '8');
    const arabic = style(toAss(cues, STYLE, PORTRAIT, 'ar'));
    assert.deepEqual([arabic[1], arabic[2], arabic[22]], ['Noto Sans Arabic', '93', '-1']);
    const hindi = style(toAss(cues, STYLE, PORTRAIT, 'hi'));
    assert.deepEqual([hindi[1], hindi[2], hindi[22]], ['Noto Sans Devanagari', '58', '1']);
    assert.equal(fontForLanguage('hi', 'Pretendard'), 'Noto Sans Devanagari');
    assert.equal(fontSizeForLanguage('ko', 64), 64);
    assert.equal(fontForLanguage('zh', 'Noto Serif CJK KR'), 'Noto Serif CJK SC');
    assert.equal(fontForLanguage('en', 'Noto Sans CJK KR'), 'Noto Sans CJK KR');
    assert.equal(fontForLanguage('ja', 'Pretendard'), 'Pretendard');
  });

  it('keeps text with ASS markup literal', () => {
    const cues = captionCues(spokenWords([{ startSec: 0, endSec: 1, text: 'a {\\b1} b' }], [{ startSec: 0, endSec: 1 }], 'en'), { ...STYLE, mode: 'classic' }, 'en');
    const [event] = dialogues(toAss(cues, { ...STYLE, mode: 'classic' }, PORTRAIT, 'en'));
    assert.doesNotMatch(event as string, /\{\\b1\}/);
  });

  it('writes WebVTT and SRT with their own clocks, one line per caption', () => {
    const cues = captionCues(spokenWords([{ startSec: 61.5, endSec: 3725.25, text: 'A <b> & B --> C' }], [{ startSec: 0, endSec: 4000 }], 'en'), { ...STYLE, maxEm: 80 }, 'en');
    assert.equal(toWebVtt(cues), 'WEBVTT\n\n00:01:01.500 --> 01:02:05.250\nA &lt;b> &amp; B → C\n');
    assert.equal(toSrt(cues), '1\n00:01:01,500 --> 01:02:05,250\nA <b> & B → C\n');
  });
});
