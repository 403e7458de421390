import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FfmpegError, probe, runFfmpeg, type MediaInfo } from '../../../providers/ffmpeg/runner';
import { SceneCardImageProvider } from '../../../providers/images/scene-cards';
import { captionCues, spokenWords, type CaptionCue, type CaptionStyle, type SpokenWord } from '../../../providers/captions';
import { parseLoudnessReport } from '../../../providers/render/audio-mix';
import { FfmpegRenderer } from '../../../providers/render/ffmpeg-renderer';
import type { TitleStyle } from '../../../providers/render/titles';
import { EspeakSpeechSynthesizer } from '../../../providers/speech/espeak-tts';
import type { RenderRequest, RenderResult, RenderScene, SceneImage, SpeechResult, TemplateLook } from '../../../providers/types';
import { childProcesses, loudIntervals, meanAbsDiff, rawFrame } from '../ffmpeg/support';

const LOOK: TemplateLook = {
  width: 1080,
  height: 1920,
  colors: { primary: '#1E3A8A', secondary: '#F59E0B' },
  font: 'Noto Sans CJK KR',
};
const SEGMENTS = ['아침 물 한 잔, 좋을까요?', '밤새 부족해진 몸의 수분을 채워 줍니다.', '오늘부터 시작해 보세요!'];
const INTRO_SEC = 1.5;
const OUTRO_SEC = 1.5;
const CAPTION_STYLE: CaptionStyle = {
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
const TITLE_STYLE: TitleStyle = { font: 'Noto Sans CJK KR', fontSize: 96, bold: true, position: 'center', color: '#FFFFFF', background: '#1E3A8ACC', outlineColor: '#000000' };
// Bottom captions sit above the lowest fifth of a portrait frame; the cards' own text stays above 60 %.
const CAPTION_REGION = { x: 0.25, y: 0.755, w: 0.5, h: 0.045 };
const CARD_REGION = { x: 0, y: 0, w: 1, h: 0.6 };
const TITLE_REGION = { x: 0.1, y: 0.45, w: 0.8, h: 0.1 };

/** Korean text → espeak-ng speech → scene cards → one ffmpeg render with its design, checked like a viewer would. */
describe('offline media pipeline (Korean, 1080x1920)', () => {
  let dir: string;
  let speech: SpeechResult;
  let images: SceneImage[];
  let cues: CaptionCue[];
  let request: RenderRequest;
  let result: RenderResult;
  let video: MediaInfo;

  const scenesOf = (pictures: readonly SceneImage[]): RenderScene[] =>
    pictures.map((image, index) => ({ shots: [{ path: image.path, kind: 'image' as const }], ...(speech.segments[index] as { startSec: number; endSec: number }) }));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autoclip-pipeline-'));
    speech = await new EspeakSpeechSynthesizer().synthesize({ language: 'ko', segments: SEGMENTS, outDir: dir });
    ({ images } = await new SceneCardImageProvider().createSceneImages({
      language: 'ko',
      look: LOOK,
      outDir: dir,
      scenes: SEGMENTS.map((text, index) => ({ index, text, keywords: [] })),
    }));
    cues = captionCues(spokenWords(speech.cues, speech.segments, 'ko'), CAPTION_STYLE, 'ko');
    request = {
      look: LOOK,
      fps: 30,
      language: 'ko',
      outDir: dir,
      audioPath: speech.audioPath,
      scenes: scenesOf(images),
      design: {
        motion: 'ken_burns',
        transition: 'fade',
        intro: { text: '아침 물 한 잔', durationSec: INTRO_SEC, animation: 'fade', style: TITLE_STYLE },
        outro: { text: '구독하고 알림 받기', durationSec: OUTRO_SEC, animation: 'slide_up', style: TITLE_STYLE },
        captions: { cues, style: CAPTION_STYLE },
      },
    };
    const progress: number[] = [];
    result = await new FfmpegRenderer().render(request, { onProgress: (percent) => progress.push(percent) });
    assert.equal(progress.at(-1), 100);
    video = await probe(result.videoPath);
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('speaks every segment into one AAC track whose segments tile it', async () => {
    const audio = await probe(speech.audioPath);
    assert.deepEqual(
      audio.streams.map((stream) => [stream.codec, stream.sampleRate, stream.channels]),
      [['aac', 44100, 1]],
    );
    assert.ok(speech.durationSec > 4 && speech.durationSec < 12, `speech lasts ${speech.durationSec} s`);
    assert.equal(speech.segments.length, 3);
    assert.equal(speech.segments[0]?.startSec, 0);
    assert.equal(speech.segments.at(-1)?.endSec, speech.durationSec);
    speech.segments.slice(1).forEach((segment, index) => assert.equal(segment.startSec, speech.segments[index]?.endSec));
    assert.deepEqual(speech.usage, { ...speech.usage, service: 'espeak-ng', operation: 'tts', estimatedCostUsd: 0, inputUnits: SEGMENTS.join('').length });
  });

  it('times a cue to each subtitle line, and every stretch of speech falls inside a cue', async () => {
    assert.deepEqual(
      speech.cues.map((cue) => cue.text),
      ['아침 물 한 잔, 좋을까요?', '밤새 부족해진 몸의', '수분을 채워 줍니다.', '오늘부터 시작해 보세요!'],
    );
    speech.cues.forEach((cue, index) => {
      assert.ok(cue.endSec > cue.startSec, `cue ${index} has a length`);
      if (index > 0) assert.ok(cue.startSec >= (speech.cues[index - 1]?.endSec ?? 0), `cue ${index} starts after the previous one`);
    });
    const sound = await loudIntervals(speech.audioPath, speech.durationSec);
    assert.ok(sound.length >= speech.cues.length - 1, JSON.stringify(sound));
    for (const interval of sound) {
      const covered = speech.cues.some((cue) => interval.startSec >= cue.startSec - 0.08 && interval.endSec <= cue.endSec + 0.08);
      assert.ok(covered, `speech ${interval.startSec}–${interval.endSec} s is outside every cue ${JSON.stringify(speech.cues)}`);
    }
    for (const cue of speech.cues) {
      assert.ok(sound.some((interval) => interval.startSec < cue.endSec && interval.endSec > cue.startSec), `cue "${cue.text}" has speech`);
    }
  });

  it('renders H.264 1080x1920 with AAC: the intro, the voice and the outro, with a thumbnail and WebVTT captions', async () => {
    const [videoStream, audioStream] = video.streams;
    assert.deepEqual([videoStream?.codec, videoStream?.width, videoStream?.height, videoStream?.pixelFormat], ['h264', 1080, 1920, 'yuv420p']);
    assert.equal(videoStream?.frameRate, 30);
    assert.equal(audioStream?.codec, 'aac');
    const expected = INTRO_SEC + speech.durationSec + OUTRO_SEC;
    assert.ok(Math.abs(result.durationSec - expected) < 0.1, `video ${result.durationSec} s, expected ${expected} s`);
    assert.ok(Math.abs((videoStream?.durationSec ?? 0) - expected) < 0.1);
    assert.equal(result.voiceStartSec, INTRO_SEC);
    assert.equal(result.sizeBytes, video.sizeBytes);
    assert.deepEqual([result.width, result.height], [1080, 1920]);
    const thumbnail = await probe(result.thumbnailPath);
    assert.deepEqual([thumbnail.streams[0]?.codec, thumbnail.streams[0]?.width, thumbnail.streams[0]?.height], ['mjpeg', 540, 960]);
    assert.equal(result.usage.service, 'ffmpeg');
    assert.equal(result.usage.operation, 'render');
    assert.equal(result.usage.inputUnits, Math.round(speech.durationSec * 1000) / 1000);
    const vtt = await readFile(result.captionsPath as string, 'utf8');
    const times = [...vtt.matchAll(/^(\d\d):(\d\d):(\d\d\.\d{3}) -->/gm)].map((match) => Number(match[1]) * 3600 + Number(match[2]) * 60 + Number(match[3]));
    assert.equal(times.length, cues.length);
    assert.ok(Math.abs((times[0] as number) - (INTRO_SEC + (cues[0] as CaptionCue).startSec)) < 0.002, 'captions are on the video\'s timeline, after the intro');
    assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith('.')), [], 'temporary folders are removed');
  });

  it('shows each scene at its own time, after the intro', async () => {
    const cards = await Promise.all(images.map((image) => rawFrame(image.path, { crop: CARD_REGION })));
    const frames = await Promise.all(
      speech.segments.map((segment) => rawFrame(result.videoPath, { atSec: INTRO_SEC + (segment.startSec + segment.endSec) / 2, crop: CARD_REGION })),
    );
    frames.forEach((frame, index) => {
      const distances = cards.map((card) => meanAbsDiff(frame, card));
      const closest = distances.indexOf(Math.min(...distances));
      assert.equal(closest, index, `mid-scene frame ${index} looks most like card ${closest}: ${distances.map((d) => d.toFixed(1)).join(', ')}`);
    });
    for (let index = 1; index < frames.length; index++) {
      assert.ok(meanAbsDiff(frames[index - 1] as Buffer, frames[index] as Buffer) > 8, `scenes ${index - 1} and ${index} differ`);
    }
  });

  it('moves the picture (Ken Burns) within a scene', async () => {
    const scene = speech.segments[1] as { startSec: number; endSec: number };
    const early = await rawFrame(result.videoPath, { atSec: INTRO_SEC + scene.startSec + 0.6, crop: CARD_REGION });
    const late = await rawFrame(result.videoPath, { atSec: INTRO_SEC + scene.endSec - 0.6, crop: CARD_REGION });
    assert.ok(meanAbsDiff(early, late) > 2, `frames 0.6 s from either end of a scene differ by ${meanAbsDiff(early, late).toFixed(2)}`);
  });

  it('draws the title over the intro and the call to action over the outro, and no caption in either', async () => {
    const firstCard = await rawFrame(images[0]?.path as string, { crop: TITLE_REGION });
    const lastCard = await rawFrame(images.at(-1)?.path as string, { crop: TITLE_REGION });
    const intro = await rawFrame(result.videoPath, { atSec: INTRO_SEC / 2, crop: TITLE_REGION });
    const outro = await rawFrame(result.videoPath, { atSec: result.durationSec - OUTRO_SEC / 3, crop: TITLE_REGION });
    assert.ok(meanAbsDiff(intro, firstCard) > 20, `title over the intro: difference ${meanAbsDiff(intro, firstCard).toFixed(1)}`);
    assert.ok(meanAbsDiff(outro, lastCard) > 20, `call to action over the outro: difference ${meanAbsDiff(outro, lastCard).toFixed(1)}`);
    const introCaption = await rawFrame(result.videoPath, { atSec: INTRO_SEC / 2, crop: CAPTION_REGION, size: [108, 24] });
    const cardCaption = await rawFrame(images[0]?.path as string, { crop: CAPTION_REGION, size: [108, 24] });
    assert.ok(meanAbsDiff(introCaption, cardCaption) < 12, `no caption during the intro: difference ${meanAbsDiff(introCaption, cardCaption).toFixed(1)}`);
  });

  it('shows a caption while the voice speaks, its highlight moving from word to word', async () => {
    for (const cue of cues) {
      const at = INTRO_SEC + (cue.startSec + cue.endSec) / 2;
      const scene = speech.segments.findIndex((segment) => at - INTRO_SEC >= segment.startSec && at - INTRO_SEC < segment.endSec);
      const card = await rawFrame(images[scene]?.path as string, { crop: CAPTION_REGION, size: [108, 24] });
      const frame = await rawFrame(result.videoPath, { atSec: at, crop: CAPTION_REGION, size: [108, 24] });
      assert.ok(meanAbsDiff(frame, card) > 25, `caption "${cue.text}" at ${at.toFixed(2)} s: difference ${meanAbsDiff(frame, card).toFixed(1)}`);
    }
    const cue = cues.find((candidate) => candidate.words.length >= 3) as CaptionCue;
    const middle = (word: SpokenWord) => INTRO_SEC + (word.startSec + word.endSec) / 2;
    const first = await rawFrame(result.videoPath, { atSec: middle(cue.words[0] as SpokenWord), crop: CAPTION_REGION, size: [216, 48] });
    const last = await rawFrame(result.videoPath, { atSec: middle(cue.words.at(-1) as SpokenWord), crop: CAPTION_REGION, size: [216, 48] });
    assert.ok(meanAbsDiff(first, last) > 1, `"${cue.text}": the first and the last word are lit in turn (difference ${meanAbsDiff(first, last).toFixed(2)})`);
  });

  it('levels the sound to -14 LUFS with its true peak under -1 dBTP', async () => {
    const report = parseLoudnessReport(
      await runFfmpeg(['-i', result.videoPath, '-vn', '-af', 'loudnorm=I=-14:TP=-1:print_format=json', '-f', 'null', '-'], { logLevel: 'info', stderrLines: 40 }),
    );
    assert.ok(Math.abs(Number(report.input_i) + 14) <= 1, `integrated loudness ${report.input_i} LUFS`);
    assert.ok(Number(report.input_tp) <= -0.5, `true peak ${report.input_tp} dBTP`);
  });

  it('mixes looping background music under the voice, the intro and the outro, and plays a clip as a scene', async () => {
    const small: TemplateLook = { ...LOOK, width: 180, height: 320 };
    const smallDir = join(dir, 'music');
    const { images: smallCards } = await new SceneCardImageProvider().createSceneImages({
      language: 'ko',
      look: small,
      outDir: smallDir,
      scenes: SEGMENTS.map((text, index) => ({ index, text, keywords: [] })),
    });
    const musicPath = join(smallDir, 'music.wav');
    await runFfmpeg(['-f', 'lavfi', '-i', 'sine=f=330:sample_rate=48000:d=2', '-ac', '2', musicPath]);
    const clipPath = join(smallDir, 'clip.mp4');
    await runFfmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=25:duration=1', '-pix_fmt', 'yuv420p', clipPath]);
    const scenes = scenesOf(smallCards);
    scenes[1] = { ...(scenes[1] as RenderScene), shots: [{ path: clipPath, kind: 'video' }] };
    const mixed = await new FfmpegRenderer({ preset: 'ultrafast' }).render({
      ...request,
      look: small,
      outDir: join(smallDir, 'out'),
      scenes,
      design: { ...request.design, motion: 'static', transition: 'cut', captions: undefined },
      music: { path: musicPath, volume: 0.5 },
    });
    const expected = INTRO_SEC + speech.durationSec + OUTRO_SEC;
    assert.ok(Math.abs(mixed.durationSec - expected) < 0.1, `mixed ${mixed.durationSec} s, expected ${expected} s`);
    const audible = (await loudIntervals(mixed.videoPath, mixed.durationSec)).reduce((sum, interval) => sum + interval.endSec - interval.startSec, 0);
    assert.ok(audible > mixed.durationSec * 0.95, `the looped music plays under the whole video: ${audible.toFixed(2)} of ${mixed.durationSec} s audible`);
    const clipScene = speech.segments[1] as { startSec: number; endSec: number };
    const a = await rawFrame(mixed.videoPath, { atSec: INTRO_SEC + clipScene.startSec + 0.2 });
    const b = await rawFrame(mixed.videoPath, { atSec: INTRO_SEC + clipScene.startSec + 0.7 });
    assert.ok(meanAbsDiff(a, b) > 3, `the clip plays: frames 0.5 s apart differ by ${meanAbsDiff(a, b).toFixed(2)}`);
    const still = await rawFrame(mixed.videoPath, { atSec: INTRO_SEC + (speech.segments[0]?.startSec ?? 0) + 0.2 });
    const stillLater = await rawFrame(mixed.videoPath, { atSec: INTRO_SEC + (speech.segments[0]?.startSec ?? 0) + 0.7 });
    assert.ok(meanAbsDiff(still, stillLater) < 1, 'a static picture does not move');
  });

  it("fails with the sound's error when the music is not audio, stopping the chunks rendered beside it", async () => {
    const brokenDir = join(dir, 'broken-music');
    await mkdir(brokenDir, { recursive: true });
    const music = join(brokenDir, 'music.m4a');
    await writeFile(music, 'not audio at all');
    const render = new FfmpegRenderer({ killGraceMs: 2000 }).render({ ...request, outDir: brokenDir, music: { path: music, volume: 0.3 } });
    await assert.rejects(render, (err: unknown) => err instanceof FfmpegError && err.stderrTail.includes('music.m4a'));
    assert.deepEqual(childProcesses('ffmpeg'), []);
    assert.deepEqual((await readdir(brokenDir)).sort(), ['music.m4a'], 'no video and no temporary folder left');
  });

  it('cancels a render: ffmpeg is gone and the promise rejects with an AbortError', async () => {
    const controller = new AbortController();
    const cancelDir = join(dir, 'cancelled');
    const render = new FfmpegRenderer({ killGraceMs: 2000 }).render(
      { ...request, outDir: cancelDir },
      {
        signal: controller.signal,
        onProgress: (percent) => {
          if (percent >= 5) controller.abort();
        },
      },
    );
    await assert.rejects(render, { name: 'AbortError' });
    assert.deepEqual(childProcesses('ffmpeg'), []);
    assert.deepEqual((await readdir(cancelDir)).filter((name) => name.startsWith('.')), [], 'temporary folders are removed');
  });
});
