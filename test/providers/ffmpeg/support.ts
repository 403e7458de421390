import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

/** Pids of the processes named `name` whose parent is this test process. */
export function childProcesses(name: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return comm === name && ppid === process.pid ? [Number(pid)] : [];
      } catch {
        return []; // the process ended while we looked
      }
    });
}

/**
 * One frame as small raw RGB: from an image, or from a video at a time (seeking like a viewer's
 * player), optionally cropped to a region given as fractions of the frame.
 */
export async function rawFrame(
  path: string,
  options: { atSec?: number; crop?: { x: number; y: number; w: number; h: number }; size?: [number, number] } = {},
): Promise<Buffer> {
  const [width, height] = options.size ?? [54, 96];
  const filters = [
    ...(options.crop ? [`crop=iw*${options.crop.w}:ih*${options.crop.h}:iw*${options.crop.x}:ih*${options.crop.y}`] : []),
    `scale=${width}:${height}:flags=area`,
  ];
  const seek = options.atSec === undefined ? [] : ['-ss', String(options.atSec)];
  const { stdout } = await execFileAsync(
    'ffmpeg',
    ['-v', 'error', ...seek, '-i', path, '-frames:v', '1', '-vf', filters.join(','), '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return stdout;
}

/** Mean absolute difference per channel value, 0–255. */
export function meanAbsDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`frames differ in size: ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs((a[i] as number) - (b[i] as number));
  return sum / a.length;
}

/** Intervals where the audio is louder than -35 dB, from ffmpeg's silencedetect. */
export async function loudIntervals(path: string, durationSec: number): Promise<{ startSec: number; endSec: number }[]> {
  const { stderr } = await execFileAsync('ffmpeg', ['-hide_banner', '-nostats', '-i', path, '-af', 'silencedetect=n=-35dB:d=0.05', '-f', 'null', '-']);
  const intervals: { startSec: number; endSec: number }[] = [];
  let soundStart: number | undefined = 0;
  for (const match of stderr.matchAll(/silence_(start|end): (-?[\d.]+)/g)) {
    const time = Number(match[2]);
    if (match[1] === 'end') {
      soundStart = time;
    } else {
      if (soundStart !== undefined && time > soundStart + 0.01) intervals.push({ startSec: soundStart, endSec: time });
      soundStart = undefined;
    }
  }
  if (soundStart !== undefined && durationSec > soundStart + 0.01) intervals.push({ startSec: soundStart, endSec: durationSec });
  return intervals;
}

/** Silences at least `minSec` long (quieter than -35 dB), from ffmpeg's silencedetect. */
export async function silences(path: string, minSec: number): Promise<{ startSec: number; endSec: number }[]> {
  const { stderr } = await execFileAsync('ffmpeg', ['-hide_banner', '-nostats', '-i', path, '-af', `silencedetect=n=-35dB:d=${minSec}`, '-f', 'null', '-']);
  const starts = [...stderr.matchAll(/silence_start: (-?[\d.]+)/g)].map((match) => Number(match[1]));
  const ends = [...stderr.matchAll(/silence_end: (-?[\d.]+)/g)].map((match) => Number(match[1]));
  return starts.map((startSec, index) => ({ startSec, endSec: ends[index] ?? Number.POSITIVE_INFINITY }));
}
