import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { captionCues, type CaptionCue, type CaptionStyle, type SpokenWord } from '../../../providers/captions';
import { runFfmpeg } from '../../../providers/ffmpeg/runner';
import { FfmpegRenderer } from '../../../providers/render/ffmpeg-renderer';
import type { RenderResult } from '../../../providers/types';
import { scratchDir } from '../../support/scratch-dir';

const execFileAsync = promisify(execFile);

const FRAME = { width: 360, height: 640 };
const CAPTION_STYLE: CaptionStyle = {
  mode: 'classic',
  font: 'Noto Sans CJK KR',
  fontSize: 44,
  bold: true,
  color: '#FFFFFF',
  highlightColor: '#FFFFFF',
  outlineColor: '#000000',
  position: 'bottom',
  maxEm: 16,
  wordsPerGroup: 3,
};
/** Two scenes, one caption line each, on the voice's timeline. */
const WORDS: SpokenWord[] = [
  { text: '안녕하세요', startSec: 0.3, endSec: 0.9, segment: 0 },
  { text: '여러분', startSec: 0.9, endSec: 1.4, segment: 0 },
  { text: '오늘의', startSec: 1.6, endSec: 2.2, segment: 1 },
  { text: '뉴스', startSec: 2.2, endSec: 2.7, segment: 1 },
];
const VOICE_SEC = 3;
// Bottom captions of a portrait frame end a fifth of the height above its bottom edge.
const CAPTION_REGION = { x: 0.02, y: 0.66, w: 0.96, h: 0.16 };

/** The Hangul syllables and letters of a text, without spaces or anything else. */
function hangul(text: string): string {
  return [...text.matchAll(/\p{Script=Hangul}/gu)].map((match) => match[0]).join('');
}

/** Levenshtein distance between two strings, counted in code points. */
function editDistance(a: string, b: string): number {
  const right = [...b];
  let previous = Array.from({ length: right.length + 1 }, (_, j) => j);
  for (const [i, char] of [...a].entries()) {
    const current = [i + 1];
    right.forEach((other, j) => current.push(Math.min(previous[j + 1]! + 1, current[j]! + 1, previous[j]! + (char === other ? 0 : 1))));
    previous = current;
  }
  return previous[right.length]!;
}

/** Burnt-in Korean captions read back from the rendered frames by OCR (Tesseract's Korean model). */
describe('Korean captions in the video, read back by OCR', () => {
  const work = scratchDir('autoclip-captions-ocr-');
  let cues: CaptionCue[];
  let result: RenderResult;

  /**
   * The caption area of the frame at `atSec` as a PNG for OCR: scaled up three times, the white
   * letters turned black on white and everything else (outline, picture) white.
   */
  const captionPng = async (atSec: number): Promise<string> => {
    const png = join(work.path, `caption-${atSec.toFixed(2)}.png`);
    const { x, y, w, h } = CAPTION_REGION;
    const filters = [`crop=iw*${w}:ih*${h}:iw*${x}:ih*${y}`, 'scale=iw*3:ih*3:flags=bicubic', 'format=gray', "lut=y='if(gt(val,170),0,255)'"];
    await runFfmpeg(['-ss', String(atSec), '-i', result.videoPath, '-frames:v', '1', '-vf', filters.join(','), '-update', '1', png]);
    return png;
  };

  /** What Tesseract reads in a PNG as one line of Korean. */
  const ocr = async (png: string): Promise<string> => {
    const { stdout } = await execFileAsync('tesseract', [png, 'stdout', '-l', 'kor', '--psm', '7'], { encoding: 'utf8' });
    return stdout.trim();
  };

  before(async () => {
    const { stdout } = await execFileAsync('tesseract', ['--list-langs'], { encoding: 'utf8' });
    assert.match(stdout, /^kor$/m, 'Tesseract has its Korean model (tesseract-ocr-kor)');
    const voice = join(work.path, 'voice.m4a');
    await runFfmpeg(['-f', 'lavfi', '-i', `sine=f=220:sample_rate=44100:d=${VOICE_SEC}`, '-c:a', 'aac', voice]);
    const pictures = await Promise.all(
      ['0x1E3A8A', '0x7A2E1E'].map(async (color, index) => {
        const path = join(work.path, `scene-${index}.png`);
        await runFfmpeg(['-f', 'lavfi', '-i', `color=c=${color}:s=${FRAME.width}x${FRAME.height}`, '-frames:v', '1', '-update', '1', path]);
        return path;
      }),
    );
    cues = captionCues(WORDS, CAPTION_STYLE, 'ko');
    result = await new FfmpegRenderer({ preset: 'ultrafast' }).render({
      look: { ...FRAME, colors: { primary: '#1E3A8A', secondary: '#F59E0B' }, font: 'Noto Sans CJK KR' },
      fps: 10,
      language: 'ko',
      audioPath: voice,
      outDir: join(work.path, 'out'),
      scenes: pictures.map((path, index) => ({ startSec: index * 1.5, endSec: (index + 1) * 1.5, shots: [{ path, kind: 'image' as const }] })),
      design: { motion: 'static', transition: 'cut', captions: { cues, style: CAPTION_STYLE } },
    });
  });

  it('reads each caption line while its words are spoken', async () => {
    assert.deepEqual(
      cues.map((cue) => cue.text),
      ['안녕하세요 여러분', '오늘의 뉴스'],
    );
    for (const cue of cues) {
      const atSec = result.voiceStartSec + (cue.startSec + cue.endSec) / 2;
      const read = await ocr(await captionPng(atSec));
      const expected = hangul(cue.text);
      const distance = editDistance(hangul(read), expected);
      assert.ok(distance <= 1, `at ${atSec.toFixed(2)} s the captions read "${read}", expected "${cue.text}" (edit distance ${distance})`);
    }
  });
});
