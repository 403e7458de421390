import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * The one place that starts ffmpeg and ffprobe. Builders produce argument lists; this module runs
 * them as separate tokens (never through a shell), reports progress, and makes sure a cancelled
 * or timed-out run leaves no ffmpeg process behind.
 */

const execFileAsync = promisify(execFile);
const STDERR_TAIL_LINES = 20;

export interface FfmpegRunOptions {
  signal?: AbortSignal;
  /** 0–100, from ffmpeg's `-progress` output; needs `totalDurationSec`. */
  onProgress?: (percent: number) => void;
  /** Length of the output, so that `out_time` becomes a percentage. */
  totalDurationSec?: number;
  /** Stops the run (SIGINT, then SIGKILL) and fails it when it takes longer. */
  timeoutMs?: number;
  /** How long ffmpeg gets to finish after SIGINT before SIGKILL. */
  killGraceMs?: number;
  ffmpegPath?: string;
  /** ffmpeg's `-loglevel` (default `warning`); `info` lets a filter's report (loudnorm's) through. */
  logLevel?: 'warning' | 'info';
  /** Lines of stderr kept for the error message and the resolved value (default 20). */
  stderrLines?: number;
}

export class FfmpegError extends Error {
  override readonly name = 'FfmpegError';
  constructor(
    message: string,
    readonly commandLine: string,
    readonly stderrTail: string,
    readonly exitCode: number | null,
    options?: { cause?: unknown },
  ) {
    super(`${message}\ncommand: ${commandLine}\nstderr:\n${stderrTail}`, options);
  }
}

/** A copy-pasteable rendering of an argument list, for error messages and logs only. */
export function formatCommandLine(command: string, args: readonly string[]): string {
  const quote = (token: string): string => (/^[\w@%+=:,./-]+$/.test(token) ? token : `'${token.replace(/'/g, `'\\''`)}'`);
  return [command, ...args].map(quote).join(' ');
}

/** The reason an aborted signal carries, or a standard AbortError. */
export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted', 'AbortError');
}

/** Keeps the last lines of a stream of text chunks. */
class LineTail {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max: number) {}

  push(chunk: string): string[] {
    const parts = (this.partial + chunk).split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    const complete = parts.filter((line) => line.length > 0);
    this.lines.push(...complete);
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
    return complete;
  }

  text(): string {
    return [...this.lines, this.partial].filter((line) => line.length > 0).slice(-this.max).join('\n');
  }
}

/** Reads `-progress` key=value lines; returns the output time in seconds, if the line has it. */
export function parseProgressLine(line: string): { outTimeSec?: number; ended?: boolean } {
  const separator = line.indexOf('=');
  if (separator < 0) return {};
  const key = line.slice(0, separator).trim();
  const value = line.slice(separator + 1).trim();
  // ffmpeg 5 writes microseconds under both keys (out_time_ms is misnamed).
  if (key === 'out_time_us' || key === 'out_time_ms') {
    const micros = Number(value);
    return Number.isFinite(micros) ? { outTimeSec: Math.max(0, micros) / 1e6 } : {};
  }
  if (key === 'progress') return { ended: value === 'end' };
  return {};
}

/** Runs ffmpeg with `args` after the flags every run needs; resolves with the last lines of its stderr when it exits with 0. */
export function runFfmpeg(args: readonly string[], options: FfmpegRunOptions = {}): Promise<string> {
  const command = options.ffmpegPath ?? 'ffmpeg';
  const fullArgs = ['-hide_banner', '-nostdin', '-nostats', '-loglevel', options.logLevel ?? 'warning', '-progress', 'pipe:1', '-y', ...args];
  const commandLine = formatCommandLine(command, fullArgs);
  const { signal, onProgress, totalDurationSec, timeoutMs, killGraceMs = 3000 } = options;
  if (signal?.aborted) return Promise.reject(abortError(signal));

  return new Promise<string>((resolve, reject) => {
    const child = spawn(command, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
    const stderr = new LineTail(options.stderrLines ?? STDERR_TAIL_LINES);
    const progress = new LineTail(1);
    let lastPercent = -1;
    let stopped: { why: 'aborted' } | { why: 'timed out' } | { why: 'progress callback failed'; error: unknown } | undefined;
    let killTimer: NodeJS.Timeout | undefined;

    // SIGINT lets ffmpeg close its outputs; SIGKILL follows if it does not exit in time.
    const stop = (reason: NonNullable<typeof stopped>): void => {
      if (stopped) return;
      stopped = reason;
      child.kill('SIGINT');
      killTimer = setTimeout(() => child.kill('SIGKILL'), killGraceMs);
    };
    const report = (percent: number): void => {
      const rounded = Math.min(100, Math.max(0, Math.floor(percent)));
      if (rounded <= lastPercent || stopped) return;
      lastPercent = rounded;
      try {
        onProgress?.(rounded);
      } catch (error) {
        stop({ why: 'progress callback failed', error }); // thrown from a stream event, it would crash the process
      }
    };
    const onAbort = (): void => stop({ why: 'aborted' });
    const timeoutTimer = timeoutMs === undefined ? undefined : setTimeout(() => stop({ why: 'timed out' }), timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      for (const line of progress.push(chunk)) {
        const { outTimeSec, ended } = parseProgressLine(line);
        if (ended) report(100);
        else if (outTimeSec !== undefined && totalDurationSec) report((outTimeSec / totalDurationSec) * 100);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => stderr.push(chunk));

    let spawnError: Error | undefined;
    child.once('error', (error) => {
      spawnError = error;
    });
    child.once('close', (code, killedBy) => {
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      signal?.removeEventListener('abort', onAbort);
      if (stopped?.why === 'aborted') {
        reject(abortError(signal as AbortSignal));
      } else if (stopped?.why === 'timed out') {
        reject(new FfmpegError(`ffmpeg timed out after ${timeoutMs} ms`, commandLine, stderr.text(), code));
      } else if (stopped) {
        reject(stopped.error);
      } else if (spawnError) {
        reject(new FfmpegError(`ffmpeg could not start: ${spawnError.message}`, commandLine, '', null, { cause: spawnError }));
      } else if (code !== 0) {
        reject(new FfmpegError(`ffmpeg failed with ${code === null ? `signal ${killedBy}` : `exit code ${code}`}`, commandLine, stderr.text(), code));
      } else {
        try {
          if (lastPercent < 100) onProgress?.(100);
          resolve(stderr.text());
        } catch (error) {
          reject(error);
        }
      }
    });
  });
}

export type StreamType = 'video' | 'audio' | 'subtitle' | 'data' | 'attachment' | 'unknown';

export interface MediaStreamInfo {
  index: number;
  type: StreamType;
  codec: string;
  durationSec?: number;
  width?: number;
  height?: number;
  pixelFormat?: string;
  frameRate?: number;
  frames?: number;
  sampleRate?: number;
  channels?: number;
}

export interface MediaInfo {
  path: string;
  formatName: string;
  durationSec: number;
  sizeBytes: number;
  bitRate?: number;
  streams: MediaStreamInfo[];
}

interface FfprobeOutput {
  format?: { format_name?: string; duration?: string; size?: string; bit_rate?: string };
  streams?: {
    index: number;
    codec_type?: string;
    codec_name?: string;
    duration?: string;
    width?: number;
    height?: number;
    pix_fmt?: string;
    avg_frame_rate?: string;
    nb_frames?: string;
    sample_rate?: string;
    channels?: number;
  }[];
}

function optionalNumber(value: string | number | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

function frameRate(value: string | undefined): number | undefined {
  const [num, den] = (value ?? '').split('/').map(Number);
  return num && den ? num / den : undefined;
}

/** Drops keys whose value is undefined, so optional fields are absent rather than undefined. */
function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}

const STREAM_TYPES = new Set<StreamType>(['video', 'audio', 'subtitle', 'data', 'attachment']);

/** Maps ffprobe's JSON into the project's own type; absent fields stay absent. */
export function mapProbeOutput(path: string, output: FfprobeOutput): MediaInfo {
  const streams = (output.streams ?? []).map((stream): MediaStreamInfo => {
    const type = STREAM_TYPES.has(stream.codec_type as StreamType) ? (stream.codec_type as StreamType) : 'unknown';
    return withoutUndefined({
      index: stream.index,
      type,
      codec: stream.codec_name ?? 'unknown',
      durationSec: optionalNumber(stream.duration),
      width: stream.width,
      height: stream.height,
      pixelFormat: stream.pix_fmt,
      frameRate: type === 'video' ? frameRate(stream.avg_frame_rate) : undefined,
      frames: optionalNumber(stream.nb_frames),
      sampleRate: optionalNumber(stream.sample_rate),
      channels: stream.channels,
    });
  });
  const streamDurations = streams.map((stream) => stream.durationSec ?? 0);
  return withoutUndefined({
    path,
    formatName: output.format?.format_name ?? 'unknown',
    durationSec: optionalNumber(output.format?.duration) ?? Math.max(0, ...streamDurations),
    sizeBytes: optionalNumber(output.format?.size) ?? 0,
    bitRate: optionalNumber(output.format?.bit_rate),
    streams,
  });
}

/** Probes a media file once; callers pass the result along instead of probing again. */
export async function probe(path: string, options: { signal?: AbortSignal; ffprobePath?: string } = {}): Promise<MediaInfo> {
  const command = options.ffprobePath ?? 'ffprobe';
  const args = ['-v', 'error', '-print_format', 'json', '-show_format', '-show_streams', path];
  try {
    const { stdout } = await execFileAsync(command, args, { signal: options.signal, maxBuffer: 16 * 1024 * 1024 });
    return mapProbeOutput(path, JSON.parse(stdout) as FfprobeOutput);
  } catch (error) {
    if (options.signal?.aborted) throw abortError(options.signal);
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new FfmpegError(`ffprobe failed on ${path}`, formatCommandLine(command, args), stderr, null, { cause: error });
  }
}

/** The first stream of a type, or an error naming the file. */
export function requireStream(info: MediaInfo, type: 'video' | 'audio'): MediaStreamInfo {
  const stream = info.streams.find((candidate) => candidate.type === type);
  if (!stream) throw new Error(`${info.path} has no ${type} stream`);
  return stream;
}

const encoderLists = new Map<string, Promise<Set<string>>>();

/** The encoders this ffmpeg build has, read once per process. */
export function availableEncoders(ffmpegPath = 'ffmpeg'): Promise<Set<string>> {
  let list = encoderLists.get(ffmpegPath);
  if (!list) {
    list = execFileAsync(ffmpegPath, ['-hide_banner', '-encoders']).then(({ stdout }) => {
      const names = stdout.split('\n').map((line) => /^\s[VAS][F.][S.][X.][B.][D.]\s+(\S+)/.exec(line)?.[1]);
      return new Set(names.filter((name): name is string => name !== undefined && name !== '='));
    });
    void list.catch(() => encoderLists.delete(ffmpegPath));
    encoderLists.set(ffmpegPath, list);
  }
  return list;
}
