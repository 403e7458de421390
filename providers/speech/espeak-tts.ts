import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { splitWords } from '../captions';
import { PermanentProviderError } from '../errors';
import { commandArgs } from '../ffmpeg/command';
import { abortError, probe, runFfmpeg } from '../ffmpeg/runner';
import { cleanText, subtitleLines } from '../text-layout';
import type { CallOptions, Language, SpeechRequest, SpeechResult, SpeechSynthesizer, SubtitleCue } from '../types';
import { buildVoiceJoinCommand } from './voice-command';
import { round3, voiceTimeline } from './voice-timeline';
import { readWavInfo, wavPauses, type WavInfo } from './wav';

export interface EspeakOptions {
  /** espeak-ng voice per language; a request's `voice` overrides it. */
  voices?: Partial<Record<Language, string>>;
  /** Speaking rate in words per minute (espeak-ng `-s`). */
  wordsPerMinute?: number;
  /** 0–99 (espeak-ng `-p`). */
  pitch?: number;
  /** Pause after a line that ends a sentence, between the lines of one sentence, after a scene. */
  sentencePauseSec?: number;
  linePauseSec?: number;
  segmentPauseSec?: number;
  /** Length of a scene whose text has nothing to speak. */
  silentSegmentSec?: number;
  sampleRate?: 44100 | 48000;
  channels?: 1 | 2;
  bitrate?: string;
  /** espeak-ng processes run at once. */
  concurrency?: number;
  espeakPath?: string;
  ffmpegPath?: string;
  ffprobePath?: string;
}

interface PlannedLine {
  segment: number;
  text: string;
  endsSentence: boolean;
  wavPath: string;
}

const VOICE_NAME = /^[A-Za-z0-9_+-]+$/;
const DEFAULT_VOICES: Record<Language, string> = { ko: 'ko', en: 'en', ja: 'ja', zh: 'cmn', es: 'es', fr: 'fr', de: 'de', pt: 'pt-br', hi: 'hi', ar: 'ar' };

/**
 * Offline speech with espeak-ng. Each subtitle line is synthesized to its own WAV so that cue
 * timings come from the WAV headers rather than from guesses; the WAVs are then joined with
 * pauses into one AAC file by a single ffmpeg encode.
 */
export class EspeakSpeechSynthesizer implements SpeechSynthesizer {
  readonly name = 'espeak-ng';
  private readonly options: Required<Omit<EspeakOptions, 'voices'>> & { voices: Record<Language, string> };

  constructor(options: EspeakOptions = {}) {
    this.options = {
      voices: { ...DEFAULT_VOICES, ...options.voices },
      wordsPerMinute: options.wordsPerMinute ?? 165,
      pitch: options.pitch ?? 50,
      sentencePauseSec: options.sentencePauseSec ?? 0.3,
      linePauseSec: options.linePauseSec ?? 0.1,
      segmentPauseSec: options.segmentPauseSec ?? 0.5,
      silentSegmentSec: options.silentSegmentSec ?? 1,
      sampleRate: options.sampleRate ?? 44100,
      channels: options.channels ?? 1,
      bitrate: options.bitrate ?? '128k',
      concurrency: options.concurrency ?? 2,
      espeakPath: options.espeakPath ?? 'espeak-ng',
      ffmpegPath: options.ffmpegPath ?? 'ffmpeg',
      ffprobePath: options.ffprobePath ?? 'ffprobe',
    };
  }

  async synthesize(request: SpeechRequest, callOptions: CallOptions = {}): Promise<SpeechResult> {
    const { signal, onProgress } = callOptions;
    const started = Date.now();
    const voice = request.voice ?? this.options.voices[request.language];
    if (!VOICE_NAME.test(voice)) throw new PermanentProviderError(`invalid espeak-ng voice name ${JSON.stringify(voice)}`);
    if (request.segments.length === 0) throw new PermanentProviderError('speech request has no segments');

    await mkdir(request.outDir, { recursive: true });
    const workDir = await mkdtemp(join(request.outDir, '.tts-'));
    try {
      const lines: PlannedLine[] = request.segments.flatMap((segment, index) =>
        subtitleLines(segment).map((line, lineIndex) => ({
          segment: index,
          ...line,
          wavPath: join(workDir, `s${index}-l${lineIndex}.wav`),
        })),
      );
      if (lines.length === 0) throw new PermanentProviderError('speech request has no speakable text');

      const lineWords = lines.map((line) => splitWords(line.text, request.language));
      const distinct = [...new Set(lineWords.flat())];
      let done = 0;
      const report = () => onProgress?.(Math.floor((++done / (lines.length + distinct.length)) * 70));
      const wavs = await mapConcurrently(lines, this.options.concurrency, async (line) => {
        await this.speakToWav(voice, line.text, line.wavPath, signal);
        report();
        return readWavInfo(line.wavPath);
      });
      const pauses = await Promise.all(lines.map((line) => wavPauses(line.wavPath, CLAUSE_PAUSE_SEC)));
      const alone = new Map<string, number>();
      await mapConcurrently([...distinct.entries()], this.options.concurrency, async ([index, word]) => {
        const wavPath = join(workDir, `w${index}.wav`);
        await this.speakToWav(voice, word, wavPath, signal);
        alone.set(word, (await readWavInfo(wavPath)).durationSec);
        report();
      });

      const { linePauseSec, sentencePauseSec, segmentPauseSec, silentSegmentSec } = this.options;
      const pieces = lines.map((line, index) => {
        const spoken = (wavs[index] as WavInfo).durationSec;
        const pauseAfterSec = line.endsSentence ? sentencePauseSec : linePauseSec;
        const words = lineWords[index] as string[];
        return {
          segment: line.segment,
          wavPath: line.wavPath,
          durationSec: spoken,
          cues: [{ startSec: 0, endSec: spoken, text: line.text }],
          words: timeLineWords(words, words.map((word) => alone.get(word) as number), spoken, pauses[index] as Pause[]),
          pauseAfterSec,
        };
      });
      const timeline = voiceTimeline(request.segments.length, pieces, { segmentPauseSec, silentSegmentSec });
      const first = wavs[0] as WavInfo;
      const audioPath = join(request.outDir, 'voice.m4a');
      const command = buildVoiceJoinCommand({
        parts: timeline.parts,
        inputSampleRate: first.sampleRate,
        inputChannels: first.channels === 1 ? 1 : 2,
        sampleRate: this.options.sampleRate,
        channels: this.options.channels,
        bitrate: this.options.bitrate,
        outputPath: audioPath,
      });
      await runFfmpeg(commandArgs(command), {
        signal,
        ffmpegPath: this.options.ffmpegPath,
        totalDurationSec: timeline.durationSec,
        onProgress: (percent) => onProgress?.(70 + Math.floor(percent * 0.3)),
      });

      const { durationSec } = await probe(audioPath, { signal, ffprobePath: this.options.ffprobePath });
      const segments = timeline.segments.map((segment, index, all) => (index === all.length - 1 ? { ...segment, endSec: durationSec } : segment));
      const characters = request.segments.reduce((sum, segment) => sum + [...cleanText(segment)].length, 0);
      return {
        audioPath,
        durationSec,
        segments,
        cues: timeline.cues,
        words: timeline.words,
        usage: {
          service: 'espeak-ng',
          operation: 'tts',
          inputUnits: characters,
          outputUnits: round3(durationSec),
          durationMs: Date.now() - started,
          estimatedCostUsd: 0,
          model: voice,
        },
      };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  /** espeak-ng reads the text from stdin, so quotes, dashes or markup in it are never options. */
  private speakToWav(voice: string, text: string, wavPath: string, signal?: AbortSignal): Promise<void> {
    const args = ['-v', voice, '-s', String(this.options.wordsPerMinute), '-p', String(this.options.pitch), '-z', '-w', wavPath, '--stdin'];
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(abortError(signal));
      const child = spawn(this.options.espeakPath, args, { stdio: ['pipe', 'ignore', 'pipe'], signal });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
        stderr = (stderr + chunk).slice(-2000);
      });
      child.once('error', (error) => reject(signal?.aborted ? abortError(signal) : new Error(`espeak-ng could not run: ${error.message}`, { cause: error })));
      child.once('close', (code) => {
        if (signal?.aborted) reject(abortError(signal));
        else if (code === 0) resolve();
        else reject(new Error(`espeak-ng exited with ${code} for voice ${voice}: ${stderr.trim()}`));
      });
      child.stdin.on('error', () => undefined); // an early exit is reported by 'close'
      child.stdin.end(text, 'utf8');
    });
  }
}

/**
 * The words of a line spoken in `lineSec`, timed by how long espeak-ng takes to say each one alone
 * (`aloneSec`). A word said alone carries a little more silence than inside a line; that surplus,
 * measured as the difference between the sum and the line, is shared out before the line's time is.
 */
export function timeWords(words: readonly string[], aloneSec: readonly number[], lineSec: number): SubtitleCue[] {
  const surplus = Math.max(0, (aloneSec.reduce((sum, sec) => sum + sec, 0) - lineSec) / Math.max(1, words.length));
  const weights = aloneSec.map((sec) => Math.max(sec - surplus, sec * 0.3));
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  let startSec = 0;
  return words.map((text, index) => {
    const endSec = total > 0 ? startSec + (lineSec * (weights[index] as number)) / total : lineSec;
    const word = { text, startSec: round3(startSec), endSec: round3(index === words.length - 1 ? lineSec : endSec) };
    startSec = endSec;
    return word;
  });
}

type Pause = { startSec: number; endSec: number };

/** The shortest silence inside a line taken for the pause espeak-ng makes after a clause. */
const CLAUSE_PAUSE_SEC = 0.07;
const CLAUSE_END = /[,;:、，；：—–]["'”’)\]]*$/u;

/**
 * The words of a line, timed from its audio: when the pauses measured in it match the clauses its
 * punctuation ends (one pause after each), every clause is timed between its pauses and its words
 * within it by `timeWords`; otherwise the whole line is shared by `timeWords`.
 */
export function timeLineWords(words: readonly string[], aloneSec: readonly number[], lineSec: number, pauses: readonly Pause[]): SubtitleCue[] {
  const breaks = words.flatMap((word, index) => (index < words.length - 1 && CLAUSE_END.test(word) ? [index + 1] : []));
  if (breaks.length === 0 || breaks.length !== pauses.length) return timeWords(words, aloneSec, lineSec);
  const bounds = [0, ...breaks, words.length];
  return bounds.slice(1).flatMap((end, clause) => {
    const start = bounds[clause] as number;
    const fromSec = clause === 0 ? 0 : (pauses[clause - 1] as Pause).endSec;
    const toSec = clause === breaks.length ? lineSec : (pauses[clause] as Pause).startSec;
    return timeWords(words.slice(start, end), aloneSec.slice(start, end), toSec - fromSec).map((word) => ({
      ...word,
      startSec: round3(fromSec + word.startSec),
      endSec: round3(fromSec + word.endSec),
    }));
  });
}

/** Like Promise.all over `items.map(work)`, with at most `limit` calls running at once. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const index = next++;
      try {
        results[index] = await work(items[index] as T);
      } catch (error) {
        failed = true; // the other workers start nothing new once the result is doomed
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
