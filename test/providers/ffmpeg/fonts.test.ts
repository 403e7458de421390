import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { filterValue } from '../../../providers/ffmpeg/command';
import { hangulFontFile, resolveHangulFont } from '../../../providers/ffmpeg/fonts';
import { runFfmpeg } from '../../../providers/ffmpeg/runner';
import { meanAbsDiff, rawFrame } from './support';

describe('Hangul font', () => {
  it('resolves a font file that covers Korean', async () => {
    const file = await resolveHangulFont('Noto Sans CJK KR', 'Bold');
    assert.match(file, /NotoSansCJK-Bold\.tt[cf]$|\.otf$/);
  });

  it('falls back to a Korean font when the family asked for has no Hangul', async () => {
    const file = await resolveHangulFont('DejaVu Sans', 'Bold');
    assert.doesNotMatch(file, /DejaVu/);
  });

  it('draws real Hangul glyphs, not the same missing-glyph box for every syllable', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'autoclip-glyphs-'));
    try {
      const fontFile = await hangulFontFile('Noto Sans CJK KR');
      const draw = async (text: string, name: string): Promise<Buffer> => {
        await writeFile(join(dir, `${name}.txt`), text, 'utf8');
        await runFfmpeg([
          '-filter_complex',
          `color=c=black:s=400x100:r=1:d=1,drawtext=fontfile=${filterValue(fontFile)}:textfile=${filterValue(join(dir, `${name}.txt`))}:expansion=none:fontsize=64:fontcolor=white:x=10:y=10[out]`,
          '-map', '[out]', '-frames:v', '1', '-update', '1', join(dir, `${name}.png`),
        ]);
        return rawFrame(join(dir, `${name}.png`), { size: [200, 50] });
      };
      const first = await draw('가나다라', 'first');
      const second = await draw('마바사아', 'second');
      assert.ok(meanAbsDiff(first, second) > 5, 'different syllables must look different');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
