import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runLimited, withSlot, type ConcurrencySlot } from '../concurrency';
import { PermanentProviderError, ProviderError } from '../errors';
import { commandArgs } from '../ffmpeg/command';
import { FfmpegError, probe, runFfmpeg } from '../ffmpeg/runner';
import { httpFailure, parseRetryAfterMs, readBody, readLimited, recordFailedCall, sendRequest, type ProviderLabel } from '../http';
import { splitSentences } from '../text-layout';
import { LANGUAGES, type CallOptions, type Language, type ProviderUsage, type SpeechRequest, type SpeechResult, type SpeechSynthesizer } from '../types';
import { alignmentCues, alignmentWords, type CharacterAlignment } from './alignment';
import { buildVoiceJoinCommand } from './voice-command';
import { round3, voiceTimeline } from './voice-timeline';
import { readWavInfo } from './wav';

/**
 * Speech with ElevenLabs `POST /v1/text-to-speech/{voice_id}/with-timestamps`: every scene is
 * spoken by its own requests (a long scene is cut between sentences), each told the text before
 * and after it (`previous_text`, `next_text`) so the pieces join smoothly. The MP3 answers are
 * decoded, joined with a pause after each scene into one AAC file, and the subtitle cues come
 * from the character timings of each answer. Failures are `ProviderError`s of provider
 * 'elevenlabs': 429 `rate_limited` (Retry-After when given), 5xx `server_error`, `quota_exceeded`
 * and other 4xx non-retryable with ElevenLabs' message, an answer without usable audio or
 * timings `invalid_response`.
 */

export const DEFAULT_ELEVENLABS_BASE_URL = 'https://api.elevenlabs.io';
export const DEFAULT_ELEVENLABS_MODEL = 'eleven_multilingual_v2';
/** "George", a premade voice that speaks every language of the multilingual models. */
export const DEFAULT_ELEVENLABS_VOICE_ID = 'JBFqnCBsd6RMkjVDRZzb';
export const ELEVENLABS_OUTPUT_FORMAT = 'mp3_44100_128';
export const DEFAULT_ELEVENLABS_TIMEOUT_MS = 120_000;
export const DEFAULT_ELEVENLABS_MAX_CHARS = 1000;
export const DEFAULT_ELEVENLABS_MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** Models that refuse or ignore `language_code` (only the newer models enforce a language). */
const MODELS_WITHOUT_LANGUAGE_CODE = new Set(['eleven_multilingual_v2', 'eleven_multilingual_v1', 'eleven_monolingual_v1']);
const VOICE_ID = /^[A-Za-z0-9]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface ElevenLabsVoiceSettings {
  stability?: number;
  similarity_boost?: number;
  style?: number;
  speed?: number;
  use_speaker_boost?: boolean;
}

export interface ElevenLabsSpeechOptions {
  apiKey: string;
  baseUrl?: string;
  model?: string;
  /** Voice id per language; a request's `voice` overrides it. */
  voices?: Partial<Record<Language, string>>;
  /** Sent as `voice_settings` when set; the voice's stored settings otherwise. */
  voiceSettings?: ElevenLabsVoiceSettings;
  /** Whether to send `language_code`; by default only for models that accept it. */
  sendLanguageCode?: boolean;
  /** Characters of text per request; longer scenes are cut between sentences. */
  maxCharsPerRequest?: number;
  /** Cost estimate per thousand characters sent. */
  pricePerThousandCharsUsd?: number;
  /** Deadline of one request, answer included. */
  timeoutMs?: number;
  maxAnswerBytes?: number;
  /** Requests run at once within one synthesis (the slot bounds them across workers). */
  parallel?: number;
  /** The account's concurrency shared across workers: one slot per request. */
  slot?: ConcurrencySlot;
  /** Pause after each scene. */
  segmentPauseSec?: number;
  /** Length of a scene whose text has nothing to speak. */
  silentSegmentSec?: number;
  sampleRate?: 44100 | 48000;
  channels?: 1 | 2;
  bitrate?: string;
  ffmpegPath?: string;
  ffprobePath?: string;
}

/** One request: a scene's text or a run of its sentences, with its neighbours for continuity. */
export interface SpeechPiece {
  segment: number;
  text: string;
  characters: number;
  previousText?: string;
  nextText?: string;
}

interface SpokenPiece {
  wavPath: string;
  durationSec: number;
  alignment: CharacterAlignment;
}

interface ElevenLabsErrorBody {
  detail?: { status?: string; message?: string } | string | { loc?: (string | number)[]; msg?: string }[];
}

function characterCount(text: string): number {
  return [...text].length;
}

/**
 * A scene's text (cleaned) in pieces of at most `maxChars` characters, cut between sentences; a
 * sentence longer than that is cut between words, and a word longer than that inside it.
 */
export function splitForRequests(text: string, maxChars: number): string[] {
  const units = splitSentences(text).flatMap((sentence) => {
    if (characterCount(sentence) <= maxChars) return [sentence];
    return sentence.split(' ').flatMap((word) => {
      const chars = [...word];
      return Array.from({ length: Math.ceil(chars.length / maxChars) }, (_, i) => chars.slice(i * maxChars, (i + 1) * maxChars).join(''));
    });
  });
  const pieces: string[] = [];
  let piece = '';
  for (const unit of units) {
    const candidate = piece ? `${piece} ${unit}` : unit;
    if (piece && characterCount(candidate) > maxChars) {
      pieces.push(piece);
      piece = unit;
    } else {
      piece = candidate;
    }
  }
  if (piece) pieces.push(piece);
  return pieces;
}

/** The requests of a script, in speaking order, each knowing the text spoken before and after it. */
export function planRequests(segments: readonly string[], maxChars: number): SpeechPiece[] {
  const texts = segments.flatMap((segment, index) => splitForRequests(segment, maxChars).map((text) => ({ segment: index, text })));
  return texts.map((piece, index) => {
    const previousText = texts[index - 1]?.text;
    const nextText = texts[index + 1]?.text;
    return {
      ...piece,
      characters: characterCount(piece.text),
      ...(previousText !== undefined ? { previousText } : {}),
      ...(nextText !== undefined ? { nextText } : {}),
    };
  });
}

/** The provider's message and status out of ElevenLabs' `detail` (an object, a string, or FastAPI's list of field errors). */
function describeDetail(body: unknown, fallback: string): { message: string; reason?: string } {
  const detail = (body as ElevenLabsErrorBody | undefined)?.detail;
  if (typeof detail === 'string') return { message: detail };
  if (Array.isArray(detail)) return { message: detail.map((item) => `${(item.loc ?? []).join('.')}: ${item.msg ?? '?'}`).join('; ') };
  if (detail && typeof detail === 'object') return { message: detail.message ?? fallback, ...(detail.status ? { reason: detail.status } : {}) };
  return { message: typeof body === 'string' ? body.slice(0, 500) : fallback };
}

function numbers(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'number' && Number.isFinite(item) && item >= 0);
}

export class ElevenLabsSpeechSynthesizer implements SpeechSynthesizer {
  readonly name = 'elevenlabs';
  readonly model: string;
  private readonly apiKey: string;
  private readonly baseUrl: string;
  private readonly voices: Record<Language, string>;
  private readonly sendLanguageCode: boolean;
  private readonly maxChars: number;
  private readonly pricePerThousandCharsUsd: number;
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;
  private readonly parallel: number;
  private readonly segmentPauseSec: number;
  private readonly silentSegmentSec: number;
  private readonly sampleRate: 44100 | 48000;
  private readonly channels: 1 | 2;
  private readonly label: ProviderLabel = { provider: 'elevenlabs', operation: 'ElevenLabs text-to-speech' };

  constructor(private readonly options: ElevenLabsSpeechOptions) {
    if (!options.apiKey) throw new Error('ElevenLabsSpeechSynthesizer needs an API key (ELEVENLABS_API_KEY)');
    this.apiKey = options.apiKey;
    this.baseUrl = (options.baseUrl ?? DEFAULT_ELEVENLABS_BASE_URL).replace(/\/+$/, '');
    this.model = options.model ?? DEFAULT_ELEVENLABS_MODEL;
    this.voices = { ...Object.fromEntries(LANGUAGES.map((language) => [language, DEFAULT_ELEVENLABS_VOICE_ID])), ...options.voices } as Record<Language, string>;
    this.sendLanguageCode = options.sendLanguageCode ?? !MODELS_WITHOUT_LANGUAGE_CODE.has(this.model);
    this.maxChars = options.maxCharsPerRequest ?? DEFAULT_ELEVENLABS_MAX_CHARS;
    if (!Number.isInteger(this.maxChars) || this.maxChars < 1) throw new Error(`maxCharsPerRequest must be a positive integer, got ${this.maxChars}`);
    this.pricePerThousandCharsUsd = options.pricePerThousandCharsUsd ?? 0;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ELEVENLABS_TIMEOUT_MS;
    this.maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_ELEVENLABS_MAX_ANSWER_BYTES;
    this.parallel = Math.max(1, options.parallel ?? 2);
    this.segmentPauseSec = options.segmentPauseSec ?? 0.3;
    this.silentSegmentSec = options.silentSegmentSec ?? 1;
    this.sampleRate = options.sampleRate ?? 44100;
    this.channels = options.channels ?? 1;
  }

  async synthesize(request: SpeechRequest, options: CallOptions = {}): Promise<SpeechResult> {
    const startedAt = performance.now();
    const voiceId = request.voice ?? this.voices[request.language];
    if (!VOICE_ID.test(voiceId)) throw new PermanentProviderError(`invalid ElevenLabs voice id ${JSON.stringify(voiceId)}`);
    if (request.segments.length === 0) throw new PermanentProviderError('speech request has no segments');
    const pieces = planRequests(request.segments, this.maxChars);
    if (pieces.length === 0) throw new PermanentProviderError('speech request has no speakable text');

    await mkdir(request.outDir, { recursive: true });
    const workDir = await mkdtemp(join(request.outDir, '.tts-'));
    try {
      let done = 0;
      let billedCharacters = 0;
      const spoken = await runLimited(pieces, this.parallel, options.signal, async (piece, index, signal) => {
        const callStartedAt = performance.now();
        try {
          const answer = await withSlot(this.options.slot, signal, () => this.speak(piece, voiceId, request.language, signal));
          billedCharacters += piece.characters;
          const wavPath = join(workDir, `piece-${index}.wav`);
          const durationSec = await this.decode(answer.audio, join(workDir, `piece-${index}.mp3`), wavPath, answer.statusCode, signal);
          done += 1;
          options.onProgress?.(Math.floor((done / pieces.length) * 80));
          return { wavPath, durationSec, alignment: answer.alignment };
        } catch (error) {
          if (signal.aborted) throw error;
          // Pieces spoken earlier in this call are paid for but no result will carry them.
          throw await recordFailedCall(options, { ...this.usageOf(billedCharacters, 0), startedAt: callStartedAt }, error);
        }
      });

      const timed = pieces.map((piece, index) => {
        const { wavPath, durationSec, alignment } = spoken[index] as SpokenPiece;
        // Only the last piece of a scene is followed by a pause.
        return {
          segment: piece.segment,
          wavPath,
          durationSec,
          cues: alignmentCues(piece.text, alignment, durationSec),
          words: alignmentWords(piece.text, request.language, alignment, durationSec),
          pauseAfterSec: 0,
        };
      });
      const timeline = voiceTimeline(request.segments.length, timed, { segmentPauseSec: this.segmentPauseSec, silentSegmentSec: this.silentSegmentSec });
      const audioPath = join(request.outDir, 'voice.m4a');
      const command = buildVoiceJoinCommand({
        parts: timeline.parts,
        inputSampleRate: this.sampleRate,
        inputChannels: this.channels,
        sampleRate: this.sampleRate,
        channels: this.channels,
        bitrate: this.options.bitrate ?? '128k',
        outputPath: audioPath,
      });
      await runFfmpeg(commandArgs(command), {
        signal: options.signal,
        ffmpegPath: this.options.ffmpegPath,
        totalDurationSec: timeline.durationSec,
        onProgress: (percent) => options.onProgress?.(80 + Math.floor(percent * 0.2)),
      });

      const { durationSec } = await probe(audioPath, { signal: options.signal, ffprobePath: this.options.ffprobePath });
      const segments = timeline.segments.map((segment, index, all) => (index === all.length - 1 ? { ...segment, endSec: round3(durationSec) } : segment));
      const characters = pieces.reduce((sum, piece) => sum + piece.characters, 0);
      return {
        audioPath,
        durationSec,
        segments,
        cues: timeline.cues,
        words: timeline.words,
        usage: { ...this.usageOf(characters, durationSec), durationMs: Math.round(performance.now() - startedAt), statusCode: 200 },
      };
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  private usageOf(characters: number, audioSec: number): Omit<ProviderUsage, 'durationMs'> {
    return {
      service: 'elevenlabs',
      operation: 'text_to_speech',
      inputUnits: characters,
      outputUnits: Math.round(audioSec),
      estimatedCostUsd: Math.round(((characters * this.pricePerThousandCharsUsd) / 1000) * 1e8) / 1e8,
      model: this.model,
    };
  }

  /** One with-timestamps request: the MP3 bytes and the character timings. */
  private async speak(piece: SpeechPiece, voiceId: string, language: Language, signal: AbortSignal): Promise<{ audio: Buffer; alignment: CharacterAlignment; statusCode: number }> {
    const url = `${this.baseUrl}/v1/text-to-speech/${encodeURIComponent(voiceId)}/with-timestamps?output_format=${ELEVENLABS_OUTPUT_FORMAT}`;
    const body = {
      text: piece.text,
      model_id: this.model,
      ...(this.sendLanguageCode ? { language_code: language } : {}),
      ...(this.options.voiceSettings ? { voice_settings: this.options.voiceSettings } : {}),
      ...(piece.previousText !== undefined ? { previous_text: piece.previousText } : {}),
      ...(piece.nextText !== undefined ? { next_text: piece.nextText } : {}),
    };
    const response = await sendRequest(
      this.label,
      url,
      { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', 'xi-api-key': this.apiKey }, body: JSON.stringify(body) },
      this.timeoutMs,
      [this.apiKey],
      signal,
    );
    if (!response.ok) throw this.failure(response, await readBody(response));
    const raw = await readLimited(this.label, response, { maxBytes: this.maxAnswerBytes, timeoutMs: this.timeoutMs, signal });
    return { ...this.readAnswer(raw, response.status), statusCode: response.status };
  }

  private invalid(message: string, statusCode: number): ProviderError {
    return new ProviderError('elevenlabs', 'invalid_response', `${this.label.operation}: ${message}`, { statusCode });
  }

  /** The audio and timings of an answer, or `invalid_response` naming what is missing. */
  private readAnswer(raw: Buffer, statusCode: number): { audio: Buffer; alignment: CharacterAlignment } {
    let answer: unknown;
    try {
      answer = JSON.parse(raw.toString('utf8'));
    } catch {
      throw this.invalid('the answer is not JSON', statusCode);
    }
    const { audio_base64: audioBase64, alignment } = (answer ?? {}) as { audio_base64?: unknown; alignment?: unknown };
    if (typeof audioBase64 !== 'string' || !BASE64.test(audioBase64)) throw this.invalid('the answer has no base64 audio_base64', statusCode);
    const { characters, character_start_times_seconds: starts, character_end_times_seconds: ends } = (alignment ?? {}) as Record<string, unknown>;
    if (!Array.isArray(characters) || characters.length === 0 || !characters.every((char) => typeof char === 'string') || !numbers(starts) || !numbers(ends)) {
      throw this.invalid('the answer has no alignment with characters and their start and end times', statusCode);
    }
    if (starts.length !== characters.length || ends.length !== characters.length) {
      throw this.invalid(`the alignment arrays differ in length (${characters.length} characters, ${starts.length} starts, ${ends.length} ends)`, statusCode);
    }
    return { audio: Buffer.from(audioBase64, 'base64'), alignment: { characters: characters as string[], startSec: starts, endSec: ends } };
  }

  /** Decodes an answer's MP3 to PCM in the output format; its exact length, or `invalid_response`. */
  private async decode(audio: Buffer, mp3Path: string, wavPath: string, statusCode: number, signal: AbortSignal): Promise<number> {
    await writeFile(mp3Path, audio);
    try {
      await runFfmpeg(['-i', mp3Path, '-vn', '-ac', String(this.channels), '-ar', String(this.sampleRate), '-c:a', 'pcm_s16le', wavPath], {
        signal,
        ffmpegPath: this.options.ffmpegPath,
      });
    } catch (error) {
      if (!(error instanceof FfmpegError)) throw error;
      throw this.invalid(`the audio could not be decoded (${audio.byteLength} bytes): ${error.stderrTail.split('\n').pop() ?? ''}`, statusCode);
    }
    const { durationSec } = await readWavInfo(wavPath);
    if (durationSec <= 0) throw this.invalid('the audio holds no sound', statusCode);
    return durationSec;
  }

  private failure(response: Response, body: unknown): ProviderError {
    const { message, reason } = describeDetail(body, response.statusText);
    const error = httpFailure(this.label, response.status, message, {
      retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after')),
      providerReason: reason,
      secrets: [this.apiKey],
    });
    if (reason !== 'quota_exceeded') return error;
    return new ProviderError('elevenlabs', 'quota_exceeded', error.message, { statusCode: response.status, providerReason: reason });
  }
}
