import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { captionCues, spokenWords, type CaptionStyle } from '../../../providers/captions';
import type { MediaInfo } from '../../../providers/ffmpeg/runner';
import type { LoudnessMeasurement } from '../../../providers/render/audio-mix';
import { motionExpressions } from '../../../providers/render/render-command';
import { checkRenderRequest, planRender, type RenderInputs, type RenderPlan } from '../../../providers/render/render-plan';
import type { TitleStyle } from '../../../providers/render/titles';
import type { RenderDesign, RenderRequest } from '../../../providers/types';

const TITLE_STYLE: TitleStyle = { font: 'Noto Sans', fontSize: 96, bold: true, position: 'center', color: '#FFFFFF', outlineColor: '#000000' };

const CAPTION_STYLE: CaptionStyle = {
  mode: 'karaoke',
  font: 'Noto Sans',
  fontSize: 64,
  bold: true,
  color: '#FFFFFF',
  highlightColor: '#F59E0B',
  outlineColor: '#000000',
  position: 'bottom',
  maxEm: 16,
  wordsPerGroup: 3,
};

/** The voice's two scenes and its timed lines, 0.8–2.0 s and 2.2–3.9 s of a 7 s voice. */
const SEGMENTS = [
  { startSec: 0, endSec: 4 },
  { startSec: 4, endSec: 7 },
];
const CUES = captionCues(
  spokenWords(
    [
      { startSec: 0.8, endSec: 2, text: 'Water first thing.' },
      { startSec: 2.2, endSec: 3.9, text: 'It wakes you up.' },
    ],
    SEGMENTS,
    'en',
  ),
  CAPTION_STYLE,
  'en',
);

const PLAIN: RenderDesign = { motion: 'ken_burns', transition: 'fade' };

/** Three pictures over the first scene, a clip over the second. */
const REQUEST: RenderRequest = {
  look: { width: 1080, height: 1920, colors: { primary: '#1E3A8A', secondary: '#F59E0B' }, font: 'Noto Sans' },
  fps: 30,
  language: 'en',
  scenes: [
    {
      ...(SEGMENTS[0] as { startSec: number; endSec: number }),
      shots: [
        { path: '/o/a.png', kind: 'image' },
        { path: '/o/b.png', kind: 'image' },
        { path: '/o/c.png', kind: 'image' },
      ],
    },
    { ...(SEGMENTS[1] as { startSec: number; endSec: number }), shots: [{ path: '/o/clip.mp4', kind: 'video' }] },
  ],
  audioPath: '/o/voice.m4a',
  design: PLAIN,
  music: { path: '/m/bed.mp3', volume: 0.15 },
  outDir: '/o',
};

/**
 * With a 2 s intro and a 1 s outro the video is 10 s (300 frames); in 1 s chunks it is cut just
 * after the blends into each shot: [0, 2.5) s, [2.5, 4.5) s, [4.5, 6.5) s and [6.5, 10) s. The
 * captions, 2.8–5.9 s on the video, fall in the second and third chunks only.
 */
const DESIGNED: RenderDesign = {
  motion: 'ken_burns',
  transition: 'fade',
  intro: { text: 'Morning water', durationSec: 2, animation: 'fade', style: TITLE_STYLE },
  outro: { text: 'Follow for more', durationSec: 1, animation: 'slide_up', style: TITLE_STYLE },
  captions: { cues: CUES, style: CAPTION_STYLE },
};

const VOICE: MediaInfo = {
  path: '/o/voice.m4a',
  formatName: 'mov,mp4,m4a,3gp,3g2,mj2',
  durationSec: 7,
  sizeBytes: 112_000,
  streams: [{ index: 0, type: 'audio', codec: 'aac', sampleRate: 44100, channels: 1 }],
};

const INPUTS: RenderInputs = { voice: VOICE, encoders: new Set(['aac', 'libx264', 'libopenh264']) };

function designed(design: Partial<RenderDesign> = {}): RenderPlan {
  return planRender({ ...REQUEST, design: { ...DESIGNED, ...design } }, INPUTS, { chunkSec: 1 });
}

/** The filter chain that feeds part `part` of chunk `chunk`. */
function partFilter(plan: RenderPlan, chunk: number, part: number): string {
  const filter = plan.chunks[chunk]?.video.filterGraph.split(';').find((entry) => entry.endsWith(`[p${part}]`));
  assert.ok(filter, `chunk ${chunk} has a part ${part}`);
  return filter;
}

function fileNames(plan: RenderPlan): string[][] {
  return plan.chunks.map((chunk) => chunk.files.map((file) => file.path));
}

function dialogues(text: string | undefined): string[] {
  return (text ?? '').split('\n').filter((line) => line.startsWith('Dialogue:'));
}

describe('render plan', () => {
  it('accepts a well-formed request', () => {
    assert.doesNotThrow(() => checkRenderRequest(REQUEST));
    assert.doesNotThrow(() => checkRenderRequest({ ...REQUEST, design: DESIGNED }));
  });

  it('plans the voice alone as the video, in one chunk, with its paths and encoder', () => {
    const plan = planRender(REQUEST, INPUTS);
    assert.deepEqual(
      { durationSec: plan.durationSec, totalFrames: plan.totalFrames, videoPath: plan.videoPath, thumbnailPath: plan.thumbnailPath, encoding: plan.encoding },
      { durationSec: 7, totalFrames: 210, videoPath: '/o/video.mp4', thumbnailPath: '/o/thumbnail.jpg', encoding: 'libx264/veryfast' },
    );
    assert.equal(plan.chunks.length, 1);
    const [chunk] = plan.chunks;
    assert.deepEqual({ frames: chunk?.frames, outputPath: chunk?.outputPath, files: chunk?.files }, { frames: 210, outputPath: '/o/.render/chunk-0000.mp4', files: [] });
    assert.deepEqual(chunk?.video.outputArgs, ['-map', '[video]', '-an', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-r', '30', '-frames:v', '210', '/o/.render/chunk-0000.mp4']);
    assert.equal(plan.captions, undefined, 'no captions, no WebVTT');
    assert.deepEqual(plan.chunkList, { path: '/o/.render/chunks.txt', text: "file '/o/.render/chunk-0000.mp4'\n" });
    assert.deepEqual(plan.join.args, [
      '-f', 'concat', '-safe', '0', '-i', '/o/.render/chunks.txt',
      '-i', '/o/.render/audio.m4a',
      '-map', '0:v:0', '-map', '1:a:0', '-c', 'copy', '-t', '7', '-movflags', '+faststart', '/o/video.mp4',
    ]);
    assert.deepEqual(plan.thumbnail.args, [
      '-ss', '0.5', '-i', '/o/video.mp4',
      '-filter_complex', '[0:v]scale=540:-2[thumb]',
      '-map', '[thumb]', '-frames:v', '1', '-q:v', '3', '-update', '1', '/o/thumbnail.jpg',
    ]);
  });

  it('lengthens the video by the intro and the outro, the voice starting after the intro', () => {
    const plan = designed();
    assert.equal(plan.durationSec, 10);
    assert.equal(plan.totalFrames, 300);
    assert.equal(plan.timeline.introFrames, 60);
    assert.equal(plan.timeline.outroFrames, 30);
    assert.deepEqual(
      plan.chunks.map((chunk) => chunk.frames),
      [75, 60, 60, 105],
    );
    plan.chunks.forEach((chunk, index) => {
      assert.equal(chunk.outputPath, `/o/.render/chunk-000${index}.mp4`);
      assert.deepEqual(chunk.video.args.slice(-3), ['-frames:v', String(chunk.frames), chunk.outputPath]);
    });
    assert.equal(plan.chunkList.text, [0, 1, 2, 3].map((index) => `file '/o/.render/chunk-000${index}.mp4'\n`).join(''));
    assert.match(plan.measureAudio.filterGraph, /^\[0:a\]aresample=48000,aformat=channel_layouts=stereo,adelay=2000:all=1,apad,atrim=0:10,/);
    assert.deepEqual(plan.join.args.slice(-5), ['-t', '10', '-movflags', '+faststart', '/o/video.mp4']);
    assert.deepEqual(plan.thumbnail.args.slice(0, 2), ['-ss', '1.2'], 'the thumbnail shows the intro title');
    assert.equal(planRender({ ...REQUEST, design: { ...PLAIN, outro: DESIGNED.outro } }, INPUTS).totalFrames, 240);
  });

  it('draws the titles only in the chunks the intro and the outro overlap, timed from the chunk start', () => {
    const plan = designed({ captions: undefined });
    assert.deepEqual(fileNames(plan), [['/o/.render/titles-0.ass'], [], [], ['/o/.render/titles-3.ass']]);
    const [intro] = dialogues(plan.chunks[0]?.files[0]?.text);
    const [outro] = dialogues(plan.chunks[3]?.files[0]?.text);
    assert.match(intro ?? '', /^Dialogue: 0,0:00:00\.00,0:00:02\.00,.*Morning water$/);
    assert.match(outro ?? '', /^Dialogue: 0,0:00:02\.50,0:00:03\.50,.*Follow for more$/, 'the outro from 9 s, in the chunk starting at 6.5 s');
    assert.ok(plan.chunks[0]?.video.filterGraph.endsWith('[x0]ass=filename=/o/.render/titles-0.ass,format=yuv420p[video]'));
    assert.ok(!plan.chunks[1]?.video.filterGraph.includes('ass='));
  });

  it('burns the captions only in the chunks with cues, before the titles, and publishes them as WebVTT on the video’s timeline', () => {
    const plan = designed();
    assert.deepEqual(fileNames(plan), [
      ['/o/.render/titles-0.ass'],
      ['/o/.render/captions-1.ass'],
      ['/o/.render/captions-2.ass'],
      ['/o/.render/titles-3.ass'],
    ]);
    const first = dialogues(plan.chunks[1]?.files[0]?.text);
    const second = dialogues(plan.chunks[2]?.files[0]?.text);
    assert.match(first[0] ?? '', /^Dialogue: 0,0:00:00\.30,/, 'the first line from 0.8 s of the voice, 2.8 s of the video, 0.3 s into the chunk');
    assert.ok(first.some((line) => line.includes('Water')) && first.some((line) => line.includes('wakes')));
    assert.ok(second.length > 0 && second.every((line) => !line.includes('Water')), 'the first line ended before the third chunk');
    assert.ok(second.some((line) => line.includes('wakes')));

    assert.equal(plan.captions?.path, '/o/video.vtt');
    const vtt = plan.captions?.text ?? '';
    assert.ok(vtt.startsWith('WEBVTT\n'));
    assert.match(vtt, /^00:00:02\.800 --> \S+\nWater first thing\.$/m);
    assert.match(vtt, /^\S+ --> 00:00:05\.900\nIt wakes you up\.$/m);

    const both = designed({ intro: { ...(DESIGNED.intro as NonNullable<RenderDesign['intro']>), durationSec: 3.5 } });
    assert.deepEqual(fileNames(both)[1], ['/o/.render/captions-1.ass', '/o/.render/titles-1.ass']);
    assert.match(both.chunks[1]?.video.filterGraph ?? '', /ass=filename=\/o\/\.render\/captions-1\.ass,ass=filename=\/o\/\.render\/titles-1\.ass,format=yuv420p\[video\]$/);
  });

  it('writes captions and titles right to left for Arabic, in Noto Sans Arabic from the fonts folder', () => {
    const plan = planRender({ ...REQUEST, language: 'ar', design: DESIGNED }, INPUTS, { chunkSec: 1, fontsDir: '/cache/fonts' });
    for (const file of plan.chunks.flatMap((chunk) => chunk.files)) {
      const styles = file.text.split('\n').filter((line) => line.startsWith('Style:'));
      assert.ok(styles.length > 0 && styles.every((line) => line.endsWith(',-1')), `${file.path}: ${styles.join(' | ')}`);
      assert.ok(styles.every((line) => line.split(',')[1] === 'Noto Sans Arabic'), `${file.path}: ${styles.join(' | ')}`);
    }
    const title = plan.chunks[0]?.files[0]?.text.split('\n').find((line) => line.startsWith('Style: T0,'));
    assert.equal(title?.split(',')[2], '140', 'the title size scaled to Noto Sans Arabic\'s taller metrics');
    assert.ok(plan.chunks[0]?.video.filterGraph.endsWith('[x0]ass=filename=/o/.render/titles-0.ass:fontsdir=/cache/fonts,format=yuv420p[video]'));
    assert.ok(designed().chunks[0]?.files[0]?.text.split('\n').find((line) => line.startsWith('Style:'))?.endsWith(',1'));
  });

  it('moves the pictures in turn with ken_burns, holds them with static, and never zooms a clip', () => {
    const moving = designed();
    assert.equal(moving.timeline.shots[0]?.streamFrames, 75);
    assert.equal(moving.timeline.shots[1]?.streamFrames, 75);
    assert.ok(partFilter(moving, 0, 0).includes(`zoompan=${motionExpressions('zoom_in', 1.1, 75)}:d=75:`));
    assert.ok(partFilter(moving, 0, 1).includes(`zoompan=${motionExpressions('pan_right', 1.1, 75)}:d=75:`));
    assert.ok(partFilter(moving, 2, 0).includes(`zoompan=${motionExpressions('zoom_out', 1.1, 75)}:d=75:`));
    assert.match(partFilter(moving, 2, 1), /^\[1:v\]fps=30,scale=/, 'the clip is resampled, not zoomed');
    assert.ok(!partFilter(moving, 3, 0).includes('zoompan'));

    const zoomed = planRender({ ...REQUEST, design: DESIGNED }, INPUTS, { chunkSec: 1, zoom: 1.25 });
    assert.ok(partFilter(zoomed, 0, 0).includes(`zoompan=${motionExpressions('zoom_in', 1.25, 75)}:`));

    const still = designed({ motion: 'static' });
    const graphs = still.chunks.map((chunk) => chunk.video.filterGraph).join(';');
    assert.ok(!graphs.includes('zoompan'));
    assert.match(partFilter(still, 0, 0), /,loop=loop=74:size=1:start=0,setpts=N\/\(30\*TB\),fps=30,trim=start_frame=0:end_frame=75,/);
    assert.deepEqual(still.chunks[0]?.video.inputs, [['-i', '/o/a.png'], ['-i', '/o/b.png']]);
    assert.deepEqual(still.chunks[3]?.video.inputs, [['-stream_loop', '-1', '-t', '5', '-i', '/o/clip.mp4']]);
  });

  it('blends shots with the design’s transition, and plans a cut without any blend', () => {
    const fade = designed();
    assert.equal(fade.timeline.transitionFrames, 15);
    assert.match(fade.chunks[0]?.video.filterGraph ?? '', /\[p0\]\[p1\]xfade=transition=fade:duration=0\.5:offset=2\[x0\]/);
    assert.match(designed({ transition: 'slide' }).chunks[0]?.video.filterGraph ?? '', /xfade=transition=slideleft:duration=0\.5:offset=2\[x0\]/);
    assert.match(planRender({ ...REQUEST, design: DESIGNED }, INPUTS, { chunkSec: 1, transitionSec: 0.3 }).chunks[0]?.video.filterGraph ?? '', /xfade=transition=fade:duration=0\.3:offset=2\[x0\]/);

    const cut = planRender({ ...REQUEST, design: { ...DESIGNED, transition: 'cut' } }, INPUTS, { chunkSec: 3 });
    assert.equal(cut.timeline.transitionFrames, 0);
    const graphs = cut.chunks.map((chunk) => chunk.video.filterGraph);
    assert.ok(graphs.every((graph) => !graph.includes('xfade')), graphs.join('\n'));
    assert.deepEqual(
      cut.chunks.map((chunk) => chunk.frames),
      [120, 180],
    );
    assert.match(graphs[0] ?? '', /\[p0\]\[p1\]concat=n=2:v=1:a=0\[joined\]/);
    assert.match(graphs[1] ?? '', /\[p0\]\[p1\]concat=n=2:v=1:a=0\[joined\]/);
  });

  it('measures the mix, measures it again leveled from the first measurement, then mixes it with both', () => {
    const plan = designed();
    const raw: LoudnessMeasurement = { input_i: '-21.30', input_tp: '-3.10', input_lra: '5.20', input_thresh: '-31.60', target_offset: '0.40' };
    const leveled: LoudnessMeasurement = { input_i: '-14.60', input_tp: '-2.90', input_lra: '4.80', input_thresh: '-24.90', target_offset: '0.20' };
    const music = ['-stream_loop', '-1', '-i', '/m/bed.mp3'];

    assert.deepEqual(plan.measureAudio.inputs, [['-i', '/o/voice.m4a'], music]);
    assert.match(plan.measureAudio.filterGraph, /amix=inputs=2:duration=first:dropout_transition=0:normalize=0,loudnorm=I=-14:TP=-1\.5:LRA=11:print_format=json\[audio\]$/);
    assert.ok(!plan.measureAudio.filterGraph.includes('alimiter'), 'the first pass measures the mix as it is');
    assert.deepEqual(plan.measureAudio.args.slice(-5), ['-map', '[audio]', '-f', 'null', '-']);

    const second = plan.measureLeveled(raw);
    assert.match(second.filterGraph, /normalize=0,volume=7\.3dB,alimiter=limit=0\.708:attack=5:release=50:level=false,loudnorm=I=-14:TP=-1\.5:LRA=11:print_format=json\[audio\]$/);
    assert.deepEqual(second.args.slice(-5), ['-map', '[audio]', '-f', 'null', '-']);

    const mix = plan.mixAudio(raw, leveled);
    assert.match(
      mix.filterGraph,
      /normalize=0,volume=7\.3dB,alimiter=[^,]+,loudnorm=I=-14:TP=-1\.5:LRA=11:measured_I=-14\.60:measured_TP=-2\.90:measured_LRA=4\.80:measured_thresh=-24\.90:offset=0\.20:linear=true,aresample=48000,aformat=sample_rates=48000:channel_layouts=stereo\[audio\]$/,
    );
    assert.deepEqual(mix.args.slice(-9), ['-map', '[audio]', '-c:a', 'aac', '-b:a', '160k', '-t', '10', '/o/.render/audio.m4a']);
    assert.equal(plan.join.inputs[1]?.at(-1), '/o/.render/audio.m4a', 'the join takes the mixed audio');

    const voiceOnly = planRender({ ...REQUEST, music: undefined }, INPUTS, { audioBitrate: '96k' });
    assert.deepEqual(voiceOnly.measureAudio.inputs, [['-i', '/o/voice.m4a']]);
    assert.ok(!voiceOnly.measureAudio.filterGraph.includes('amix'));
    assert.match(voiceOnly.mixAudio(raw, leveled).filterGraph, /^\[0:a\]aresample=48000,aformat=channel_layouts=stereo,adelay=0:all=1,apad,atrim=0:7,volume=7\.3dB,alimiter=/);
    assert.deepEqual(voiceOnly.mixAudio(raw, leveled).args.slice(-7, -3), ['-c:a', 'aac', '-b:a', '96k']);
  });

  it('falls back to the encoder the ffmpeg build has and takes the settings', () => {
    const plan = planRender(REQUEST, { voice: VOICE, encoders: new Set(['aac', 'libopenh264']) }, { preset: 'ultrafast', thumbnailWidth: 360 });
    assert.equal(plan.encoding, 'libopenh264/ultrafast');
    assert.deepEqual(plan.chunks[0]?.video.outputArgs, ['-map', '[video]', '-an', '-c:v', 'libopenh264', '-b:v', '4M', '-pix_fmt', 'yuv420p', '-r', '30', '-frames:v', '210', '/o/.render/chunk-0000.mp4']);
    assert.ok(plan.thumbnail.filterGraph.includes('scale=360:-2'));
    const x264 = planRender(REQUEST, INPUTS, { preset: 'faster', crf: 20 });
    assert.ok(x264.chunks[0]?.video.args.join(' ').includes('-c:v libx264 -preset faster -crf 20 -pix_fmt yuv420p -r 30'));
  });

  it('refuses a voice without sound or length, and a build without an H.264 encoder', () => {
    assert.throws(() => planRender(REQUEST, { ...INPUTS, voice: { ...VOICE, streams: [] } }), /has no audio stream/);
    assert.throws(() => planRender(REQUEST, { ...INPUTS, voice: { ...VOICE, durationSec: 0 } }), /has no duration/);
    assert.throws(() => planRender(REQUEST, { ...INPUTS, encoders: new Set(['mpeg4']) }), /none of the encoders/);
  });

  it('refuses requests no render can satisfy', () => {
    const refused = (request: RenderRequest, message: RegExp) => assert.throws(() => checkRenderRequest(request), { name: 'PermanentProviderError', message });
    const [first, second] = REQUEST.scenes as [RenderRequest['scenes'][number], RenderRequest['scenes'][number]];
    refused({ ...REQUEST, scenes: [] }, /^render request has no scenes$/);
    refused({ ...REQUEST, scenes: [first, { ...second, shots: [] }] }, /every scene needs at least one picture or clip/);
    refused({ ...REQUEST, look: { ...REQUEST.look, width: 1081 } }, /frame size 1081x1920 must be positive even numbers/);
    refused({ ...REQUEST, look: { ...REQUEST.look, height: 0 } }, /must be positive even numbers/);
    refused({ ...REQUEST, look: { ...REQUEST.look, height: 1920.5 } }, /must be positive even numbers/);
    refused({ ...REQUEST, fps: 0 }, /invalid frame rate 0/);
    refused({ ...REQUEST, fps: 240 }, /invalid frame rate 240/);
    refused({ ...REQUEST, fps: Number.NaN }, /invalid frame rate NaN/);
    refused({ ...REQUEST, scenes: [second, first] }, /each scene must start after the scene before it/);
  });
});
