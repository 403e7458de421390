import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { probe, runFfmpeg, type MediaInfo } from '../../../providers/ffmpeg/runner';
import { SceneCardImageProvider } from '../../../providers/images/scene-cards';
import { FfmpegRenderer } from '../../../providers/render/ffmpeg-renderer';
import { EspeakSpeechSynthesizer } from '../../../providers/speech/espeak-tts';
import type { RenderRequest, RenderResult, SceneImage, SpeechResult, TemplateLook } from '../../../providers/types';
import { childProcesses, loudIntervals, meanAbsDiff, rawFrame } from '../ffmpeg/support';

const LOOK: TemplateLook = {
  width: 1080,
  height: 1920,
  colors: { primary: '#1E3A8A', secondary: '#F59E0B' },
  font: 'Noto Sans CJK KR',
};
const SEGMENTS = ['아침 물 한 잔, 좋을까요?', '밤새 부족해진 몸의 수분을 채워 줍니다.', '오늘부터 시작해 보세요!'];
// The strip sits at y 1380–1540 of 1920 (layoutStrip); the card text stays above 60 % of the height.
const STRIP_REGION = { x: 0.15, y: 1380 / 1920, w: 0.7, h: 160 / 1920 };
const CARD_REGION = { x: 0, y: 0, w: 1, h: 0.6 };

/** Korean text → espeak-ng speech → scene cards → one ffmpeg render, checked like a viewer would. */
describe('offline media pipeline (Korean, 1080x1920)', () => {
  let dir: string;
  let speech: SpeechResult;
  let images: SceneImage[];
  let request: RenderRequest;
  let result: RenderResult;
  let video: MediaInfo;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autoclip-pipeline-'));
    speech = await new EspeakSpeechSynthesizer().synthesize({ language: 'ko', segments: SEGMENTS, outDir: dir });
    ({ images } = await new SceneCardImageProvider().createSceneImages({
      language: 'ko',
      look: LOOK,
      outDir: dir,
      scenes: SEGMENTS.map((text, index) => ({ index, text, keywords: [] })),
    }));
    request = {
      look: LOOK,
      fps: 30,
      outDir: dir,
      audioPath: speech.audioPath,
      cues: speech.cues,
      scenes: images.map((image, index) => ({ imagePath: image.path, ...(speech.segments[index] as { startSec: number; endSec: number }) })),
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

  it('renders H.264 1080x1920 with AAC, as long as the voice, with a thumbnail', async () => {
    const [videoStream, audioStream] = video.streams;
    assert.deepEqual([videoStream?.codec, videoStream?.width, videoStream?.height, videoStream?.pixelFormat], ['h264', 1080, 1920, 'yuv420p']);
    assert.equal(videoStream?.frameRate, 30);
    assert.equal(audioStream?.codec, 'aac');
    assert.ok(Math.abs(result.durationSec - speech.durationSec) < 0.5, `video ${result.durationSec} s, voice ${speech.durationSec} s`);
    assert.ok(Math.abs((videoStream?.durationSec ?? 0) - speech.durationSec) < 0.5);
    assert.equal(result.sizeBytes, video.sizeBytes);
    assert.deepEqual([result.width, result.height], [1080, 1920]);
    const thumbnail = await probe(result.thumbnailPath);
    assert.deepEqual([thumbnail.streams[0]?.codec, thumbnail.streams[0]?.width, thumbnail.streams[0]?.height], ['mjpeg', 540, 960]);
    assert.equal(result.usage.service, 'ffmpeg');
    assert.equal(result.usage.operation, 'render');
    assert.equal(result.usage.inputUnits, Math.round(speech.durationSec * 1000) / 1000);
    assert.deepEqual((await readdir(dir)).filter((name) => name.startsWith('.')), [], 'temporary folders are removed');
  });

  it('shows each scene at its own time', async () => {
    const cards = await Promise.all(images.map((image) => rawFrame(image.path, { crop: CARD_REGION })));
    const frames = await Promise.all(
      speech.segments.map((segment) => rawFrame(result.videoPath, { atSec: (segment.startSec + segment.endSec) / 2, crop: CARD_REGION })),
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

  it('overlays the subtitle strip in the lower third while a cue is spoken, and not after the last one', async () => {
    for (const cue of speech.cues) {
      const at = (cue.startSec + cue.endSec) / 2;
      const scene = speech.segments.findIndex((segment) => at >= segment.startSec && at < segment.endSec);
      const card = await rawFrame(images[scene]?.path as string, { crop: STRIP_REGION, size: [108, 16] });
      const frame = await rawFrame(result.videoPath, { atSec: at, crop: STRIP_REGION, size: [108, 16] });
      assert.ok(meanAbsDiff(frame, card) > 25, `strip for "${cue.text}" at ${at.toFixed(2)} s: difference ${meanAbsDiff(frame, card).toFixed(1)}`);
    }
    const tail = speech.durationSec - 0.15;
    const lastCard = await rawFrame(images.at(-1)?.path as string, { crop: STRIP_REGION, size: [108, 16] });
    const tailFrame = await rawFrame(result.videoPath, { atSec: tail, crop: STRIP_REGION, size: [108, 16] });
    assert.ok(meanAbsDiff(tailFrame, lastCard) < 10, `no strip after the last cue: difference ${meanAbsDiff(tailFrame, lastCard).toFixed(1)}`);
  });

  it('mixes looping background music under the voice', async () => {
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
    const audibleSec = async (path: string, durationSec: number): Promise<number> =>
      (await loudIntervals(path, durationSec)).reduce((sum, interval) => sum + interval.endSec - interval.startSec, 0);
    const renderWithMusic = async (duckMusic: boolean): Promise<RenderResult> =>
      new FfmpegRenderer({ preset: 'ultrafast', duckMusic }).render({
        ...request,
        look: small,
        outDir: join(smallDir, duckMusic ? 'ducked' : 'plain'),
        scenes: smallCards.map((image, index) => ({ imagePath: image.path, ...(speech.segments[index] as { startSec: number; endSec: number }) })),
        music: { path: musicPath, volume: 0.5 },
      });
    const voiceOnly = await audibleSec(speech.audioPath, speech.durationSec);
    const plain = await renderWithMusic(false);
    assert.ok(Math.abs(plain.durationSec - speech.durationSec) < 0.5, `mixed ${plain.durationSec} s, voice ${speech.durationSec} s`);
    assert.ok((await audibleSec(plain.videoPath, plain.durationSec)) > plain.durationSec * 0.95, 'the looped music plays under the whole video');
    const ducked = await renderWithMusic(true);
    const duckedAudible = await audibleSec(ducked.videoPath, ducked.durationSec);
    assert.ok(duckedAudible > voiceOnly + 0.3 && duckedAudible < plain.durationSec * 0.95, `ducked music: ${duckedAudible} s audible, voice alone ${voiceOnly} s`);
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
