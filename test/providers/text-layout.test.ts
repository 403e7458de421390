import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanText, fitCues, splitSentences, subtitleLines, textWidthEm, wrapLines } from '../../providers/text-layout';

describe('text layout', () => {
  it('drops emoji and control characters and keeps line breaks', () => {
    assert.equal(cleanText('  안녕 😀👍🏽  세상\u0007\r\n둘째 줄 ❤️ '), '안녕 세상\n둘째 줄');
  });

  it('splits at Latin and CJK punctuation, Korean endings and newlines', () => {
    assert.deepEqual(splitSentences('물을 마셔요. 정말요? 네! 좋습니다 그럼 시작해요\n끝。 다음'), [
      '물을 마셔요.',
      '정말요?',
      '네!',
      '좋습니다',
      '그럼 시작해요',
      '끝。',
      '다음',
    ]);
    assert.deepEqual(splitSentences('It costs 3.5 dollars. "Really?" she asked.'), ['It costs 3.5 dollars.', '"Really?"', 'she asked.']);
  });

  it('counts Hangul as twice as wide as Latin', () => {
    assert.equal(textWidthEm('가나다'), 3);
    assert.ok(Math.abs(textWidthEm('abc d') - (4 * 0.56 + 0.25)) < 1e-9);
  });

  it('wraps Korean at 16 wide characters, balanced, never breaking a word that fits', () => {
    const lines = wrapLines('오늘부터 미지근한 물 한 잔으로 하루를 시작해 보세요', 16);
    assert.deepEqual(lines, ['오늘부터 미지근한 물 한', '잔으로 하루를 시작해 보세요']);
    for (const line of lines) assert.ok(textWidthEm(line) <= 16);
  });

  it('wraps Latin at about 30 characters and cuts words longer than a line', () => {
    assert.deepEqual(wrapLines('Drink a glass of lukewarm water every morning before breakfast', 16), [
      'Drink a glass of lukewarm water',
      'every morning before breakfast',
    ]);
    assert.deepEqual(wrapLines('가'.repeat(20), 16), ['가'.repeat(16), '가'.repeat(4)]);
  });

  it('marks the last line of each sentence', () => {
    assert.deepEqual(subtitleLines('아침 공복에 물 한 잔, 정말 건강에 좋을까요? 네.'), [
      { text: '아침 공복에 물 한 잔,', endsSentence: false },
      { text: '정말 건강에 좋을까요?', endsSentence: true },
      { text: '네.', endsSentence: true },
    ]);
  });

  it('fits cues from any provider to one line each, sharing the time of a long cue by width', () => {
    assert.deepEqual(
      fitCues([
        { startSec: 0, endSec: 1, text: '짧은 줄 😀' },
        { startSec: 1, endSec: 1.5, text: '🎉' },
        { startSec: 2, endSec: 5, text: '가나다라마바사 아자차카타파하 가나다라마바사 아자차카타파하 가나다라마바사' },
      ]),
      [
        { startSec: 0, endSec: 1, text: '짧은 줄' },
        { startSec: 2, endSec: 3.204, text: '가나다라마바사 아자차카타파하' },
        { startSec: 3.204, endSec: 4.408, text: '가나다라마바사 아자차카타파하' },
        { startSec: 4.408, endSec: 5, text: '가나다라마바사' },
      ],
    );
  });
});
