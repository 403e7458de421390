import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fontSizeForLanguage, splitWords, toAss, type CaptionStyle } from '../../../providers/captions';
import { assFilter } from '../../../providers/ffmpeg/command';
import { fontsDirFromEnv } from '../../../providers/ffmpeg/fonts';
import { runFfmpeg } from '../../../providers/ffmpeg/runner';
import { SceneCardImageProvider } from '../../../providers/images/scene-cards';
import { titlesAss } from '../../../providers/render/titles';
import { LANGUAGES, type Language } from '../../../providers/types';
import { meanAbsDiff, rawFrame } from './support';

/** A scene's text in each language the platform speaks. */
const SCENE_TEXT: Record<Language, string> = {
  ko: '아침 공복에 물 한 잔, 정말 건강에 좋을까요?',
  en: 'A glass of water on an empty stomach: is it really good for you?',
  ja: '朝の一杯の水は本当に体に良いのでしょうか？',
  zh: '早上空腹喝一杯水，真的对健康有益吗？',
  es: 'Un vaso de agua en ayunas: ¿es realmente bueno para la salud?',
  fr: 'Un verre d’eau à jeun : est-ce vraiment bon pour la santé ?',
  de: 'Ein Glas Wasser auf nüchternen Magen: Ist das wirklich gesund?',
  pt: 'Um copo de água em jejum: isso é realmente bom para a saúde?',
  hi: 'खाली पेट एक गिलास पानी, क्या यह सच में स्वास्थ्य के लिए अच्छा है?',
  ar: 'كوب من الماء على معدة فارغة، هل هو مفيد حقًا للصحة؟',
};

const FRAME = { width: 360, height: 640 };
const LOOK = { ...FRAME, colors: { primary: '#FF6B35', secondary: '#004E89', background: '#101418', text: '#FFFFFF' }, font: 'Noto Sans CJK KR' };
const CAPTIONS: CaptionStyle = {
  mode: 'classic',
  font: 'Noto Sans CJK KR',
  fontSize: 30,
  bold: true,
  color: '#FFFFFF',
  highlightColor: '#FFFFFF',
  outlineColor: '#000000',
  position: 'bottom',
  maxEm: 16,
  wordsPerGroup: 3,
};

/** Pixels of the white text in rows `fromY`–`toY` (shares of the height) of a full-size RGB frame. */
function whitePixels(frame: Buffer, fromY: number, toY: number): number {
  let count = 0;
  for (let y = Math.floor(FRAME.height * fromY); y < Math.ceil(FRAME.height * toY); y++) {
    for (let x = 0; x < FRAME.width; x++) {
      const i = (y * FRAME.width + x) * 3;
      if ((frame[i] as number) > 225 && (frame[i + 1] as number) > 225 && (frame[i + 2] as number) > 225) count++;
    }
  }
  return count;
}

describe('every language drawn in its script', () => {
  const fontsDir = fontsDirFromEnv();
  let dir: string;
  let serial = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autoclip-scripts-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** An ASS document burnt into a dark frame, as full-size RGB (or a region scaled down). */
  const burn = async (ass: string, options: { fonts?: string; crop?: { x: number; y: number; w: number; h: number }; size?: [number, number] } = {}): Promise<Buffer> => {
    serial += 1;
    const file = join(dir, `text-${serial}.ass`);
    const png = join(dir, `text-${serial}.png`);
    await writeFile(file, ass, 'utf8');
    await runFfmpeg(['-filter_complex', `color=c=0x203040:s=${FRAME.width}x${FRAME.height}:r=1:d=1,format=rgb24,${assFilter(file, options.fonts)}[out]`, '-map', '[out]', '-frames:v', '1', '-update', '1', png]);
    return rawFrame(png, { size: options.size ?? [FRAME.width, FRAME.height], ...(options.crop ? { crop: options.crop } : {}) });
  };

  /** A caption of the words showing for the whole first second. */
  const captionAss = (text: string, language: Language) => {
    const words = splitWords(text, language).map((word) => ({ text: word, startSec: 0, endSec: 1, segment: 0 }));
    return toAss([{ startSec: 0, endSec: 1, text, words }], CAPTIONS, FRAME, language);
  };

  /** A centred title line: large, white, nothing else in the frame. */
  const lineAss = (text: string, font: string, language: Language) =>
    titlesAss(
      [{ text, startSec: 0, endSec: 1, animation: 'none', style: { font, fontSize: fontSizeForLanguage(language, 48), bold: true, position: 'center', color: '#FFFFFF', outlineColor: '#203040' } }],
      FRAME,
      { fromSec: 0, toSec: 1 },
      language === 'ar',
    );
  const LINE = { x: 0, y: 0.45, w: 1, h: 0.1 };

  it('takes the fonts folder from AUTOCLIP_FONTS_DIR, the system fonts without it', () => {
    assert.equal(fontsDirFromEnv({ AUTOCLIP_FONTS_DIR: '/cache/fonts' }), '/cache/fonts');
    assert.equal(fontsDirFromEnv({ AUTOCLIP_FONTS_DIR: ' ' }), undefined);
    assert.equal(fontsDirFromEnv({}), undefined);
  });

  for (const language of LANGUAGES) {
    it(`${language}: the card shows its headline in the middle, the caption its words at the bottom`, async () => {
      const { images } = await new SceneCardImageProvider().createSceneImages({
        language,
        look: LOOK,
        scenes: [{ index: 0, text: SCENE_TEXT[language], keywords: [] }],
        outDir: join(dir, `card-${language}`),
      });
      const card = await rawFrame((images[0] as { path: string }).path, { size: [FRAME.width, FRAME.height] });
      const headline = whitePixels(card, 0.24, 0.4);
      assert.ok(headline > 300, `${language}: ${headline} text pixels in the headline's band`);
      assert.equal(whitePixels(card, 0.44, 1), 0, `${language}: nothing drawn where captions and titles go`);

      const caption = await burn(captionAss(SCENE_TEXT[language], language), { ...(fontsDir ? { fonts: fontsDir } : {}) });
      const bottom = whitePixels(caption, 0.6, 0.82);
      assert.ok(bottom > 300, `${language}: ${bottom} text pixels in the caption's place`);
      assert.equal(whitePixels(caption, 0, 0.5), 0, `${language}: the caption stays at the bottom`);
    });
  }

  for (const [language, family, words] of [
    ['hi', 'Noto Sans Devanagari', ['स्वास्थ्य', 'विज्ञान']],
    ['ar', 'Noto Sans Arabic', ['مستشفى', 'كتابها']],
  ] as const) {
    it(`${language}: real ${family} glyphs, not missing-glyph boxes`, async () => {
      const fonts = fontsDir ? { fonts: fontsDir } : {};
      const [first, second] = await Promise.all(words.map((word) => burn(lineAss(word, family, language), { ...fonts, crop: LINE, size: [180, 32] })));
      assert.ok(whitePixels(await burn(lineAss(words[0], family, language), fonts), 0.45, 0.55) > 200, 'ink where the line is');
      // A font without the script draws each letter as the same box: two words of different letters look alike.
      assert.ok(meanAbsDiff(first as Buffer, second as Buffer) > 6, `different words look different: ${meanAbsDiff(first as Buffer, second as Buffer).toFixed(2)}`);
      // Zero-width non-joiners between the letters stop the shaping (joining, conjuncts): the shaped word must look otherwise.
      const unshaped = await burn(lineAss([...words[0]].join('\u200C'), family, language), { ...fonts, crop: LINE, size: [180, 32] });
      assert.ok(meanAbsDiff(first as Buffer, unshaped) > 4, `shaped differs from unshaped: ${meanAbsDiff(first as Buffer, unshaped).toFixed(2)}`);
    });
  }

  it('ar: a line reads right to left, its first word on the right', async () => {
    // Alefs are tall strokes, tatweels a flat line: the upper half of the line's ink is the alefs'.
    const frame = await burn(lineAss('ااااا ــــــــ', 'Noto Sans Arabic', 'ar'), fontsDir ? { fonts: fontsDir } : {});
    const inked = (i: number) => (frame[i] as number) > 225;
    const rows = [...Array(FRAME.height).keys()].filter((y) => [...Array(FRAME.width).keys()].some((x) => inked((y * FRAME.width + x) * 3)));
    const [top, bottom] = [Math.min(...rows), Math.max(...rows)];
    let left = 0;
    let right = 0;
    for (let y = top; y < top + (bottom - top) / 2; y++) {
      for (let x = 0; x < FRAME.width; x++) {
        if (inked((y * FRAME.width + x) * 3)) {
          if (x < FRAME.width / 2) left++;
          else right++;
        }
      }
    }
    assert.ok(right > 50 && left === 0, `the alefs' upper halves: ${left} pixels on the left, ${right} on the right`);
  });
});
