import { formatNumber, type FfmpegCommand } from '../ffmpeg/command';

/**
 * The video's sound: the voice, placed after the intro and padded through the outro, over an
 * optional music bed that a compressor keyed by the voice lowers while someone speaks; the mix is
 * normalized to the platforms' loudness with loudnorm measured first and then applied as a linear
 * gain, which lands on the target where one dynamic pass only approaches it. Synthetic speech peaks
 * high above its loudness, so a linear gain to the target would clip: the mix is first brought
 * near the target and its peaks limited (`leveling`), and loudnorm measures and corrects that.
 */

/** The platforms' integrated loudness target (YouTube, TikTok, Instagram play at about −14 LUFS). */
export const TARGET_LUFS = -14;
const TRUE_PEAK_DB = -1.5;
const LOUDNESS_RANGE = 11;
const SAMPLE_RATE = 48000;
/** The limiter's ceiling before loudnorm: far enough below the true-peak limit for its last gain. */
const LIMIT_LINEAR = 0.708;

export interface AudioMixOptions {
  voicePath: string;
  music?: { path: string; volume: number };
  /** Silence before the voice (the intro). */
  delaySec: number;
  /** The video's length; the mix is padded or cut to it. */
  durationSec: number;
}

/** A gain toward the target with the peaks held under the limiter's ceiling. */
export interface Leveling {
  gainDb: number;
}

/** loudnorm's measurement, as it prints it. */
export interface LoudnessMeasurement {
  input_i: string;
  input_tp: string;
  input_lra: string;
  input_thresh: string;
  target_offset: string;
}

function levelingFilters(leveling: Leveling | undefined): string {
  return leveling ? `,volume=${formatNumber(leveling.gainDb, 2)}dB,alimiter=limit=${LIMIT_LINEAR}:attack=5:release=50:level=false` : '';
}

function mixGraph(options: AudioMixOptions, leveling: Leveling | undefined, loudnorm: string): FfmpegCommand {
  const delayMs = Math.round(options.delaySec * 1000);
  const inputs = [['-i', options.voicePath]];
  const voice = `[0:a]aresample=${SAMPLE_RATE},aformat=channel_layouts=stereo,adelay=${delayMs}:all=1,apad,atrim=0:${formatNumber(options.durationSec)}`;
  const graph: string[] = [];
  if (options.music) {
    inputs.push(['-stream_loop', '-1', '-i', options.music.path]);
    graph.push(
      `${voice},asplit=2[voice][key]`,
      `[1:a]aresample=${SAMPLE_RATE},aformat=channel_layouts=stereo,volume=${formatNumber(options.music.volume, 3)},atrim=0:${formatNumber(options.durationSec)}[bed]`,
      // The voice keys a compressor on the music, which dips while someone speaks.
      '[bed][key]sidechaincompress=threshold=0.02:ratio=8:attack=20:release=400[ducked]',
      `[voice][ducked]amix=inputs=2:duration=first:dropout_transition=0:normalize=0${levelingFilters(leveling)},${loudnorm}[audio]`,
    );
  } else {
    graph.push(`${voice}${levelingFilters(leveling)},${loudnorm}[audio]`);
  }
  return { inputs, filterGraph: graph.join(';'), outputArgs: [] };
}

const TARGET = `I=${TARGET_LUFS}:TP=${TRUE_PEAK_DB}:LRA=${LOUDNESS_RANGE}`;

/** A measuring pass: the mix (leveled, when given) measured by loudnorm, which prints its JSON report on stderr (log level info). */
export function buildLoudnessMeasureCommand(options: AudioMixOptions, leveling?: Leveling): FfmpegCommand {
  const command = mixGraph(options, leveling, `loudnorm=${TARGET}:print_format=json`);
  return { ...command, outputArgs: ['-map', '[audio]', '-f', 'null', '-'] };
}

/** The report loudnorm printed: the last JSON object in the text. */
export function parseLoudnessReport(stderr: string): LoudnessMeasurement {
  const start = stderr.lastIndexOf('{');
  const end = stderr.lastIndexOf('}');
  if (start < 0 || end < start) throw new Error('loudnorm printed no measurement');
  const report = JSON.parse(stderr.slice(start, end + 1)) as Partial<LoudnessMeasurement>;
  const fields = ['input_i', 'input_tp', 'input_lra', 'input_thresh', 'target_offset'] as const;
  for (const field of fields) {
    if (!Number.isFinite(Number(report[field]))) throw new Error(`loudnorm's measurement has no usable ${field}`);
  }
  return report as LoudnessMeasurement;
}

/** The leveling that brings a mix measured at `measured` to the target. */
export function levelingFor(measured: LoudnessMeasurement): Leveling {
  return { gainDb: TARGET_LUFS - Number(measured.input_i) };
}

/** The last pass: the leveled mix with loudnorm applying its measured gain, encoded to AAC. */
export function buildAudioMixCommand(options: AudioMixOptions & { leveling: Leveling; measured: LoudnessMeasurement; bitrate: string; outputPath: string }): FfmpegCommand {
  const { measured } = options;
  const loudnorm =
    `loudnorm=${TARGET}:measured_I=${measured.input_i}:measured_TP=${measured.input_tp}:measured_LRA=${measured.input_lra}` +
    `:measured_thresh=${measured.input_thresh}:offset=${measured.target_offset}:linear=true,aresample=${SAMPLE_RATE}` +
    // The encoder's link is given its layout: left open, a voice whose frames change layout mid-stream fails to reconfigure.
    `,aformat=sample_rates=${SAMPLE_RATE}:channel_layouts=stereo`;
  const command = mixGraph(options, options.leveling, loudnorm);
  return { ...command, outputArgs: ['-map', '[audio]', '-c:a', 'aac', '-b:a', options.bitrate, '-t', formatNumber(options.durationSec), options.outputPath] };
}
