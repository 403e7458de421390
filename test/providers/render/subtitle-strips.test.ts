import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildStripsCommand, layoutStrip } from '../../../providers/render/subtitle-strips';

describe('subtitle strip command', () => {
  it('draws subtitle strips on a transparent background with a box', () => {
    assert.deepEqual(layoutStrip('수분을 채워 줍니다.', 1080, 1920), { fontSize: 67, stripHeight: 160, y: 1380 });
    assert.ok(layoutStrip('W'.repeat(40), 1080, 1920).fontSize < 67);
    const command = buildStripsCommand({
      width: 1080,
      stripHeight: 160,
      fontFile: '/fonts/Noto.ttc',
      strips: [{ outputPath: '/o/cue-000.png', textFile: '/t/cue-0.txt', fontSize: 67, textColor: 'white', boxColor: 'black@0.72' }],
    });
    assert.equal(
      command.filterGraph,
      'color=c=black@0:s=1080x160:r=1:d=1,format=rgba,' +
        'drawtext=fontfile=/fonts/Noto.ttc:textfile=/t/cue-0.txt:expansion=none:fontsize=67:fontcolor=white:box=1:boxcolor=black@0.72:boxborderw=27:x=(w-text_w)/2:y=105-ascent[strip0]',
    );
    assert.deepEqual(command.outputArgs, ['-map', '[strip0]', '-frames:v', '1', '-update', '1', '/o/cue-000.png']);
  });
});
