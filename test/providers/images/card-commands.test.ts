import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCardsCommand, layoutCard, sceneGradient } from '../../../providers/images/card-commands';

describe('card commands', () => {
  it('lays out card text large and centred above the subtitle area', () => {
    const layout = layoutCard('아침 공복에 물 한 잔, 정말 건강에 좋을까요?', 1080, 1920);
    assert.equal(layout.fontSize, 97);
    assert.deepEqual(layout.lines.map((line) => line.text), ['아침 공복에 물 한', '잔, 정말 건강에', '좋을까요?']);
    assert.ok(layout.band.y > 0 && layout.band.y + layout.band.height < 1920 * 0.7);
    const long = layoutCard('가나다라 '.repeat(60), 1080, 1920);
    assert.ok(long.fontSize < 97 && long.lines.length <= 7);
  });

  it('cycles gradient directions inside the frame', () => {
    assert.deepEqual(sceneGradient(0, 1080, 1920, '#112233', '#445566'), { from: '0x112233', to: '0x445566', x0: 540, y0: 0, x1: 540, y1: 1919 });
    assert.deepEqual(sceneGradient(1, 1080, 1920, '#112233', '#445566'), { from: '0x112233', to: '0x445566', x0: 0, y0: 0, x1: 1079, y1: 1919 });
    assert.equal(sceneGradient(2, 1080, 1920, '#112233', '#445566').from, '0x445566');
  });

  it('draws every card of a video in one run, text by textfile in a font by path', () => {
    const command = buildCardsCommand({
      width: 1080,
      height: 1920,
      fontFile: '/fonts/Noto.ttc',
      cards: [
        {
          outputPath: '/o/scene-00.png',
          gradient: { from: '0x112233', to: '0x445566', x0: 540, y0: 0, x1: 540, y1: 1919 },
          band: { y: 600, height: 300, color: 'black@0.3' },
          lines: [{ textFile: '/t/0-0.txt', baselineY: 700 }],
          fontSize: 97,
          textColor: 'white',
        },
      ],
    });
    assert.deepEqual(command.inputs, []);
    assert.equal(
      command.filterGraph,
      'gradients=s=1080x1920:c0=0x112233:c1=0x445566:x0=540:y0=0:x1=540:y1=1919:n=2:seed=0:r=1:d=1,format=rgb24,' +
        'drawbox=x=0:y=600:w=iw:h=300:color=black@0.3:t=fill,' +
        'drawtext=fontfile=/fonts/Noto.ttc:textfile=/t/0-0.txt:expansion=none:fontsize=97:fontcolor=white:borderw=4:bordercolor=black@0.45:x=(w-text_w)/2:y=700-ascent[card0]',
    );
    assert.deepEqual(command.outputArgs, ['-map', '[card0]', '-frames:v', '1', '-update', '1', '/o/scene-00.png']);
  });
});
