import { formatNumber, type FfmpegCommand } from '../ffmpeg/command';

/** One piece of the voice track: a synthesized line followed by a pause, or plain silence. */
export type VoicePart = { kind: 'speech'; path: string; pauseAfterSec: number } | { kind: 'silence'; durationSec: number };

export interface VoiceJoinOptions {
  parts: VoicePart[];
  /** Format of the synthesized WAVs, which silence must match for concat. */
  inputSampleRate: number;
  inputChannels: 1 | 2;
  sampleRate: 44100 | 48000;
  channels: 1 | 2;
  bitrate: string;
  outputPath: string;
}

/**
 * Joins the per-line WAVs into one AAC track in a single encode. Pauses are added with `apad`,
 * so every line starts exactly where the timeline computed from the WAV headers says it does.
 */
export function buildVoiceJoinCommand(options: VoiceJoinOptions): FfmpegCommand {
  const { parts } = options;
  if (parts.length === 0) throw new Error('nothing to join: no voice parts');
  const layout = options.inputChannels === 1 ? 'mono' : 'stereo';
  const inputs = parts.map((part) =>
    part.kind === 'speech'
      ? ['-i', part.path]
      : ['-f', 'lavfi', '-t', formatNumber(part.durationSec), '-i', `anullsrc=r=${options.inputSampleRate}:cl=${layout}`],
  );
  const padded: string[] = [];
  const labels = parts.map((part, index) => {
    if (part.kind === 'speech' && part.pauseAfterSec > 0) {
      padded.push(`[${index}:a]apad=pad_dur=${formatNumber(part.pauseAfterSec)}[part${index}]`);
      return `[part${index}]`;
    }
    return `[${index}:a]`;
  });
  const filterGraph = [...padded, `${labels.join('')}concat=n=${parts.length}:v=0:a=1[voice]`].join(';');
  return {
    inputs,
    filterGraph,
    outputArgs: [
      '-map', '[voice]',
      '-c:a', 'aac',
      '-b:a', options.bitrate,
      '-ar', String(options.sampleRate),
      '-ac', String(options.channels),
      '-movflags', '+faststart',
      options.outputPath,
    ],
  };
}
