import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCardsCommand, cardAss, cardHeadline, cardText, headlineFontSize, sceneGradient } from '../../../providers/images/card-commands';

const PORTRAIT = { width: 1080, height: 1920 };
const STYLE = { font: 'Noto Sans CJK KR', textColor: '#FFFFFF', boxColor: '#101418' };

function styleFields(ass: string, name: string): string[] {
  return (ass.split('\n').find((line) => line.startsWith(`Style: ${name},`)) as string).split(',');
}

describe('card commands', () => {
  it('heads a card with the scene’s first words, not its whole text, which the captions show', () => {
    assert.equal(headlineFontSize(PORTRAIT), 97);
    assert.equal(headlineFontSize({ width: 1920, height: 1080 }), 81);
    const korean = cardText(0, '아침 공복에 물 한 잔, 정말 건강에 좋을까요?', 'ko', PORTRAIT);
    assert.deepEqual(korean, { number: '01', headline: ['아침 공복에', '물 한 잔…'] });
    assert.deepEqual(cardHeadline('Water first, then coffee.', 'en', 8.7), ['Water first,', 'then coffee.'], 'a short scene is shown whole');
    assert.deepEqual(cardHeadline('Why do we drink water right after we wake up?', 'en', 8.7), ['Why do we', 'drink water…']);
    assert.deepEqual(cardHeadline('朝の一杯の水は本当に体に良いのでしょうか？', 'ja', 8.7), ['朝の一杯の水…']);
    assert.deepEqual(cardHeadline('كوب من الماء على معدة فارغة، هل هو مفيد حقًا؟', 'ar', 8.7), ['كوب من الماء', 'على معدة…']);
    assert.deepEqual(cardHeadline('', 'en', 8.7), []);
    assert.equal(cardText(11, 'x', 'en', PORTRAIT).number, '12');
  });

  it('writes the card as ASS: the number faint in the template font, the headline boxed in the language’s font', () => {
    const ass = cardAss({ number: '03', headline: ['كوب من الماء', 'على {معدة}…'] }, STYLE, PORTRAIT, 'ar');
    assert.deepEqual(styleFields(ass, 'Number').slice(1, 4), ['Noto Sans CJK KR', '324', '&HA6FFFFFF']);
    const headline = styleFields(ass, 'Headline');
    assert.deepEqual(headline.slice(1, 7), ['Noto Sans Arabic', '142', '&H00FFFFFF', '&H00FFFFFF', '&H73000000', '&HB2181410']);
    assert.equal(headline[15], '4', 'one box behind the headline');
    assert.equal(headline[22], '-1', 'Arabic takes its direction from the text');
    const events = ass.split('\n').filter((line) => line.startsWith('Dialogue:'));
    assert.deepEqual(events, [
      'Dialogue: 0,0:00:00.00,0:00:01.00,Number,,0,0,0,,{\\an5\\pos(540,230)}03',
      'Dialogue: 0,0:00:00.00,0:00:01.00,Headline,,0,0,0,,{\\an5\\pos(540,614)}كوب من الماء\\Nعلى ｛معدة｝…',
    ]);
    assert.match(ass, /^WrapStyle: 2$/m, 'the lines are wrapped here, not by libass');
    const korean = cardAss({ number: '01', headline: [] }, STYLE, PORTRAIT, 'ko');
    assert.equal(styleFields(korean, 'Headline')[22], '1');
    assert.equal(korean.split('\n').filter((line) => line.startsWith('Dialogue:')).length, 1, 'no empty headline box');
  });

  it('cycles gradient directions inside the frame', () => {
    assert.deepEqual(sceneGradient(0, 1080, 1920, '#112233', '#445566'), { from: '0x112233', to: '0x445566', x0: 540, y0: 0, x1: 540, y1: 1919 });
    assert.deepEqual(sceneGradient(1, 1080, 1920, '#112233', '#445566'), { from: '0x112233', to: '0x445566', x0: 0, y0: 0, x1: 1079, y1: 1919 });
    assert.equal(sceneGradient(2, 1080, 1920, '#112233', '#445566').from, '0x445566');
  });

  it('draws every card of a video in one run, its ASS burnt in with the fonts folder', () => {
    const card = { outputPath: '/o/scene-00.png', gradient: { from: '0x112233', to: '0x445566', x0: 540, y0: 0, x1: 540, y1: 1919 }, assFile: '/t/scene-0.ass' };
    const command = buildCardsCommand({ width: 1080, height: 1920, fontsDir: '/cache/fonts', cards: [card, { ...card, outputPath: '/o/scene-01.png', assFile: '/t/scene-1.ass' }] });
    assert.deepEqual(command.inputs, []);
    assert.equal(
      command.filterGraph,
      'gradients=s=1080x1920:c0=0x112233:c1=0x445566:x0=540:y0=0:x1=540:y1=1919:n=2:seed=0:r=1:d=1,format=rgb24,ass=filename=/t/scene-0.ass:fontsdir=/cache/fonts[card0];' +
        'gradients=s=1080x1920:c0=0x112233:c1=0x445566:x0=540:y0=0:x1=540:y1=1919:n=2:seed=0:r=1:d=1,format=rgb24,ass=filename=/t/scene-1.ass:fontsdir=/cache/fonts[card1]',
    );
    assert.deepEqual(command.outputArgs, ['-map', '[card0]', '-frames:v', '1', '-update', '1', '/o/scene-00.png', '-map', '[card1]', '-frames:v', '1', '-update', '1', '/o/scene-01.png']);
    assert.ok(buildCardsCommand({ width: 1080, height: 1920, cards: [card] }).filterGraph.endsWith(',ass=filename=/t/scene-0.ass[card0]'), 'without a fonts folder, the system fonts');
  });
});
