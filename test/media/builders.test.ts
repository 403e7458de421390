import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildCardsCommand, buildStripsCommand, layoutCard, layoutStrip, sceneGradient } from '../../providers/media/card-commands';
import { commandArgs, ffmpegColor, filterValue, formatNumber } from '../../providers/media/ffmpeg-command';
import { formatCommandLine, mapProbeOutput, parseProgressLine } from '../../providers/media/ffmpeg-runner';
import {
  buildRenderCommand,
  buildThumbnailCommand,
  chooseEncoder,
  enableExpression,
  H264_ENCODERS,
  sceneFrameCounts,
  stripWindows,
  type RenderPlan,
} from '../../providers/media/render-command';
import { cleanText, fitCues, splitSentences, subtitleLines, textWidthEm, wrapLines } from '../../providers/media/text-layout';
import { buildVoiceJoinCommand } from '../../providers/media/voice-command';
import { parseWavHeader } from '../../providers/media/wav';

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

describe('filter graph syntax', () => {
  it('escapes option values at both levels of filter graph parsing', () => {
    assert.equal(filterValue('/tmp/a b/c.txt'), '/tmp/a b/c.txt');
    assert.equal(filterValue(String.raw`C:\it's [x];y,z`), String.raw`C\\:\\\\it\\\'s \[x\]\;y\,z`);
  });

  it('accepts template colours and refuses anything that could alter the graph', () => {
    assert.equal(ffmpegColor('#1e88e5'), '0x1E88E5');
    assert.equal(ffmpegColor('#fa0', 0.3), '0xFFAA00@0.3');
    assert.equal(ffmpegColor('White'), 'white');
    assert.throws(() => ffmpegColor('red:x=1'), /unsupported colour/);
  });

  it('formats numbers without trailing zeros', () => {
    assert.equal(formatNumber(1.5), '1.5');
    assert.equal(formatNumber(2), '2');
    assert.equal(formatNumber(0.12345, 4), '0.1235');
  });

  it('renders a command line for logs with quoting', () => {
    assert.equal(formatCommandLine('ffmpeg', ['-i', 'a b.png', "it's"]), `ffmpeg -i 'a b.png' 'it'\\''s'`);
  });
});

describe('ffmpeg output parsing', () => {
  it('reads out_time_us and out_time_ms (both microseconds) and the end marker', () => {
    assert.deepEqual(parseProgressLine('out_time_us=2500000'), { outTimeSec: 2.5 });
    assert.deepEqual(parseProgressLine('out_time_ms=1000000'), { outTimeSec: 1 });
    assert.deepEqual(parseProgressLine('out_time_us=N/A'), {});
    assert.deepEqual(parseProgressLine('progress=end'), { ended: true });
    assert.deepEqual(parseProgressLine('frame=12'), {});
  });

  it('maps ffprobe JSON into MediaInfo', () => {
    const info = mapProbeOutput('/x.mp4', {
      format: { format_name: 'mov,mp4', duration: '8.010000', size: '12345', bit_rate: '900000' },
      streams: [
        { index: 0, codec_type: 'video', codec_name: 'h264', width: 1080, height: 1920, pix_fmt: 'yuv420p', avg_frame_rate: '30/1', nb_frames: '240' },
        { index: 1, codec_type: 'audio', codec_name: 'aac', sample_rate: '44100', channels: 1, duration: '8.01' },
      ],
    });
    assert.deepEqual(info, {
      path: '/x.mp4',
      formatName: 'mov,mp4',
      durationSec: 8.01,
      sizeBytes: 12345,
      bitRate: 900000,
      streams: [
        { index: 0, type: 'video', codec: 'h264', width: 1080, height: 1920, pixelFormat: 'yuv420p', frameRate: 30, frames: 240 },
        { index: 1, type: 'audio', codec: 'aac', durationSec: 8.01, sampleRate: 44100, channels: 1 },
      ],
    });
  });

  it('reads a WAV duration from its header, also when the writer left a placeholder size', () => {
    const header = Buffer.alloc(44);
    header.write('RIFF', 0, 'ascii');
    header.write('WAVE', 8, 'ascii');
    header.write('fmt ', 12, 'ascii');
    header.writeUInt32LE(16, 16);
    header.writeUInt16LE(1, 20);
    header.writeUInt16LE(1, 22);
    header.writeUInt32LE(22050, 24);
    header.writeUInt32LE(44100, 28);
    header.writeUInt16LE(2, 32);
    header.writeUInt16LE(16, 34);
    header.write('data', 36, 'ascii');
    header.writeUInt32LE(44100, 40);
    assert.deepEqual(parseWavHeader(header, 44 + 44100), { channels: 1, sampleRate: 22050, bitsPerSample: 16, durationSec: 1 });
    header.writeUInt32LE(0xffffffff, 40);
    assert.equal(parseWavHeader(header, 44 + 22050).durationSec, 0.5);
    assert.throws(() => parseWavHeader(Buffer.from('not a wav file at all........'), 30), /RIFF/);
  });
});

describe('voice join command', () => {
  it('pads each line with its pause and concatenates in one AAC encode', () => {
    const command = buildVoiceJoinCommand({
      parts: [
        { kind: 'speech', path: '/w/a.wav', pauseAfterSec: 0.1 },
        { kind: 'silence', durationSec: 1 },
        { kind: 'speech', path: '/w/b.wav', pauseAfterSec: 0 },
      ],
      inputSampleRate: 22050,
      inputChannels: 1,
      sampleRate: 44100,
      channels: 1,
      bitrate: '128k',
      outputPath: '/w/voice.m4a',
    });
    assert.deepEqual(command.inputs, [['-i', '/w/a.wav'], ['-f', 'lavfi', '-t', '1', '-i', 'anullsrc=r=22050:cl=mono'], ['-i', '/w/b.wav']]);
    assert.equal(command.filterGraph, '[0:a]apad=pad_dur=0.1[part0];[part0][1:a][2:a]concat=n=3:v=0:a=1[voice]');
    assert.deepEqual(command.outputArgs, ['-map', '[voice]', '-c:a', 'aac', '-b:a', '128k', '-ar', '44100', '-ac', '1', '-movflags', '+faststart', '/w/voice.m4a']);
  });
});

describe('card and strip commands', () => {
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

describe('render command', () => {
  it('quantises scene lengths on the whole timeline', () => {
    assert.deepEqual(sceneFrameCounts([0, 4.498, 11.177], 16.059, 30), [135, 200, 147]);
    assert.equal(sceneFrameCounts([0, 4.498, 11.177], 16.059, 30).reduce((a, b) => a + b), Math.round(16.059 * 30));
    assert.deepEqual(sceneFrameCounts([0.2], 2, 30), [60]);
  });

  it('holds a subtitle through a short pause and gives half-open frame windows', () => {
    const windows = stripWindows(
      [
        { startSec: 0, endSec: 2.041 },
        { startSec: 2.141, endSec: 3.998 },
        { startSec: 5, endSec: 6 },
      ],
      30,
      200,
    );
    assert.deepEqual(windows, [
      { startFrame: 0, endFrame: 64 },
      { startFrame: 64, endFrame: 120 },
      { startFrame: 150, endFrame: 180 },
    ]);
    const acrossCut = stripWindows(
      [
        { startSec: 2.1, endSec: 3.9 },
        { startSec: 4.1, endSec: 5 },
      ],
      30,
      200,
      [0, 120],
    );
    assert.deepEqual(acrossCut[0], { startFrame: 63, endFrame: 120 }, 'held until the cut, not over the next scene');
    assert.equal(enableExpression({ startFrame: 0, endFrame: 64 }, 30), 'between(t,0,2.1167)');
    assert.equal(enableExpression({ startFrame: 64, endFrame: 120 }, 30), 'between(t,2.1167,3.9833)');
  });

  const plan: RenderPlan = {
    width: 1080,
    height: 1920,
    fps: 30,
    scenes: [
      { imagePath: '/o/scene-00.png', frames: 120 },
      { imagePath: '/o/scene-01.png', frames: 90 },
    ],
    zoomEnd: 1.08,
    strips: [{ imagePath: '/w/cue-000.png', y: 1380, window: { startFrame: 0, endFrame: 60 } }],
    voicePath: '/o/voice.m4a',
    copyVoice: true,
    durationSec: 7,
    videoArgs: ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'],
    audioBitrate: '128k',
    outputPath: '/o/video.mp4',
  };

  it('builds one graph: single-frame inputs through zoompan, concat, timed overlays', () => {
    const command = buildRenderCommand(plan);
    assert.deepEqual(command.inputs, [['-i', '/o/scene-00.png'], ['-i', '/o/scene-01.png'], ['-i', '/w/cue-000.png'], ['-i', '/o/voice.m4a']]);
    assert.equal(
      command.filterGraph,
      [
        "[0:v]scale=1080:1920:force_original_aspect_ratio=increase,crop=1080:1920,setsar=1,format=yuv420p,zoompan=z='iw/(iw-4*round(iw*(1-1/(1+0.08*on/120))/4)+0.001)':x='round((iw-iw/zoom)/2)':y='round((ih-ih/zoom)/2)':d=120:s=1080x1920:fps=30[scene0]",
        "[1:v]scale=1080:1920:force_original_aspect_ratio=increase,crop=1080:1920,setsar=1,format=yuv420p,zoompan=z='iw/(iw-4*round(iw*(1-1/(1+0.08*on/90))/4)+0.001)':x='round((iw-iw/zoom)/2)':y='round((ih-ih/zoom)/2)':d=90:s=1080x1920:fps=30[scene1]",
        '[scene0][scene1]concat=n=2:v=1:a=0[slides]',
        "[slides][2:v]overlay=x=0:y=1380:enable='between(t,0,1.9833)'[video]",
      ].join(';'),
    );
    assert.deepEqual(command.outputArgs, [
      '-map', '[video]', '-map', '3:a',
      '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p',
      '-c:a', 'copy',
      '-t', '7',
      '-movflags', '+faststart',
      '/o/video.mp4',
    ]);
    assert.ok(!commandArgs(command).includes('-loop'), 'still images must not be looped');
  });

  it('mixes looped music under the voice, ducked, and encodes the mix', () => {
    const command = buildRenderCommand({ ...plan, strips: [], music: { path: '/m/bed.mp3', volume: 0.2, duck: true } });
    assert.deepEqual(command.inputs.at(-1), ['-stream_loop', '-1', '-i', '/m/bed.mp3']);
    assert.ok(command.filterGraph.includes('[scene0][scene1]concat=n=2:v=1:a=0[video]'));
    assert.ok(
      command.filterGraph.endsWith(
        ';[2:a]asplit=2[voice][key];[3:a]volume=0.2[bed];[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[ducked];' +
          '[voice][ducked]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[audio]',
      ),
    );
    assert.deepEqual(command.outputArgs.slice(0, 4), ['-map', '[video]', '-map', '[audio]']);
    assert.deepEqual(command.outputArgs.slice(12, 16), ['-c:a', 'aac', '-b:a', '128k']);
  });

  it('makes the thumbnail from the first card without touching the video', () => {
    assert.deepEqual(commandArgs(buildThumbnailCommand({ imagePath: '/o/scene-00.png', width: 540, outputPath: '/o/thumbnail.jpg' })), [
      '-i', '/o/scene-00.png',
      '-filter_complex', '[0:v]scale=540:-2[thumb]',
      '-map', '[thumb]', '-frames:v', '1', '-q:v', '3', '-update', '1', '/o/thumbnail.jpg',
    ]);
  });

  it('picks the first available encoder of the fallback chain', () => {
    assert.equal(chooseEncoder(H264_ENCODERS, new Set(['aac', 'libx264', 'libopenh264'])).encoder, 'libx264');
    assert.equal(chooseEncoder(H264_ENCODERS, new Set(['libopenh264'])).encoder, 'libopenh264');
    assert.throws(() => chooseEncoder(H264_ENCODERS, new Set(['mpeg4'])), /none of the encoders libx264, libopenh264/);
  });
});
