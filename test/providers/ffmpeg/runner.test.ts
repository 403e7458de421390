import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assFilter } from '../../../providers/ffmpeg/command';
import { titlesAss } from '../../../providers/render/titles';
import { FfmpegError, mapProbeOutput, parseProgressLine, probe, runFfmpeg } from '../../../providers/ffmpeg/runner';
import { childProcesses } from './support';

/** A tiny synthetic encode: `seconds` of 160x90 test pattern with a tone. */
function testEncode(outputPath: string, seconds: number, rate = 25): string[] {
  return [
    '-f', 'lavfi', '-i', `testsrc2=s=160x90:r=${rate}:d=${seconds}`,
    '-f', 'lavfi', '-i', `sine=f=440:sample_rate=44100:d=${seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest', outputPath,
  ];
}

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
});

describe('runFfmpeg and probe', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'autoclip-runner-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports increasing progress up to 100 and probes the result', async () => {
    const output = join(dir, 'tiny.mp4');
    const seen: number[] = [];
    await runFfmpeg(testEncode(output, 2), { totalDurationSec: 2, onProgress: (percent) => seen.push(percent) });
    assert.equal(seen.at(-1), 100);
    assert.deepEqual([...seen].sort((a, b) => a - b), seen, 'progress never goes back');
    const info = await probe(output);
    assert.ok(Math.abs(info.durationSec - 2) < 0.1, String(info.durationSec));
    assert.deepEqual(
      info.streams.map((stream) => [stream.type, stream.codec]),
      [['video', 'h264'], ['audio', 'aac']],
    );
    assert.equal(info.streams[0]?.width, 160);
    assert.equal(info.streams[1]?.sampleRate, 44100);
    assert.ok(info.sizeBytes > 0);
  });

  it('fails with the command line and the tail of stderr', async () => {
    const error = await runFfmpeg(['-i', join(dir, 'missing.png'), join(dir, 'out.png')]).then(
      () => assert.fail('should fail'),
      (caught: unknown) => caught,
    );
    assert.ok(error instanceof FfmpegError);
    assert.match(error.commandLine, /^ffmpeg -hide_banner .* -i \S*missing\.png/);
    assert.match(error.stderrTail, /No such file or directory/);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /exit code 1[^]*command: ffmpeg[^]*stderr:/);
  });

  it('stops ffmpeg on abort: SIGINT, then the promise rejects with an AbortError and no process is left', async () => {
    const controller = new AbortController();
    const run = runFfmpeg(['-re', ...testEncode(join(dir, 'long.mp4'), 60)], {
      signal: controller.signal,
      totalDurationSec: 60,
      onProgress: (percent) => {
        if (percent >= 1) controller.abort();
      },
    });
    await assert.rejects(run, { name: 'AbortError' });
    assert.deepEqual(childProcesses('ffmpeg'), []);
  });

  it('escalates to SIGKILL when the process ignores SIGINT', async () => {
    // Stands in for an ffmpeg stuck in a filter: SIGINT is ignored, and the ignore survives exec.
    const stubborn = join(dir, 'stubborn-ffmpeg');
    await writeFile(stubborn, "#!/bin/sh\ntrap '' INT\nexec sleep 30\n", { mode: 0o755 });
    const controller = new AbortController();
    const run = runFfmpeg(['-i', 'x'], { signal: controller.signal, ffmpegPath: stubborn, killGraceMs: 300 });
    setTimeout(() => controller.abort(), 200);
    const started = Date.now();
    await assert.rejects(run, { name: 'AbortError' });
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 3000, `stopped after ${elapsed} ms`);
    assert.deepEqual(childProcesses('sleep'), []);
  });

  it('kills a run that exceeds its timeout and says so', async () => {
    const run = runFfmpeg(['-re', ...testEncode(join(dir, 'slow.mp4'), 60)], { timeoutMs: 500, killGraceMs: 1000 });
    await assert.rejects(run, (error: unknown) => error instanceof FfmpegError && /timed out after 500 ms/.test(error.message));
    assert.deepEqual(childProcesses('ffmpeg'), []);
  });

  it('stops ffmpeg and rejects with the error when the progress callback throws', async () => {
    const failure = new Error('heartbeat failed');
    const run = runFfmpeg(['-re', ...testEncode(join(dir, 'callback.mp4'), 60)], {
      totalDurationSec: 60,
      onProgress: (percent) => {
        if (percent >= 1) throw failure;
      },
    });
    await assert.rejects(run, (error: unknown) => error === failure);
    assert.deepEqual(childProcesses('ffmpeg'), []);
  });

  it('says so when the ffmpeg binary is missing', async () => {
    await assert.rejects(runFfmpeg(['-version'], { ffmpegPath: join(dir, 'no-such-ffmpeg') }), (error: unknown) => error instanceof FfmpegError && /could not start: .*ENOENT/.test(error.message));
  });

  it('refuses to start when the signal is already aborted', async () => {
    await assert.rejects(runFfmpeg(['-version'], { signal: AbortSignal.abort() }), { name: 'AbortError' });
  });

  it('passes awkward paths through the filter graph escaping', async () => {
    const awkward = join(dir, "it's [a]; b,c:d");
    await mkdir(awkward);
    const assFile = join(awkward, 'line.ass');
    await writeFile(assFile, titlesAss([{ text: "100% 'quoted' text", startSec: 0, endSec: 1, animation: 'none', style: { font: 'Noto Sans CJK KR', fontSize: 20, bold: false, position: 'center', color: '#FFFFFF', outlineColor: '#000000' } }], { width: 320, height: 80 }, { fromSec: 0, toSec: 1 }, false), 'utf8');
    const output = join(awkward, 'out.png');
    await runFfmpeg(['-filter_complex', `color=c=black:s=320x80:r=1:d=1,${assFilter(assFile, awkward)}[out]`, '-map', '[out]', '-frames:v', '1', '-update', '1', output]);
    assert.equal((await probe(output)).streams[0]?.width, 320);
  });
});
