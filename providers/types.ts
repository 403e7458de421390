/**
 * The provider interfaces. Each has a local implementation that works offline (the embedded
 * default) and remote ones chosen by configuration; activities depend only on these interfaces.
 * Media travel between steps as files (local paths here, S3 keys between activities), never
 * through Temporal payloads.
 */

import type { Language } from '../db/models/enums';
import type { CaptionCue, CaptionStyle, SpokenWord } from './captions';
import type { TitleAnimation, TitleStyle } from './render/titles';

export { LANGUAGES, isLanguage, type Language } from '../db/models/enums';
export type Vertical = 'senior_health' | 'finance' | 'tech' | 'history' | 'commerce';
export type Tone = 'professional' | 'casual' | 'urgent' | 'mysterious';
export type ContentFormat = 'short' | 'mid' | 'long';

/** One provider call, as recorded in `api_usages`. Local engines report cost 0. */
export interface ProviderUsage {
  service: string;
  operation: string;
  inputUnits: number;
  outputUnits: number;
  durationMs: number;
  estimatedCostUsd: number;
  statusCode?: number;
  model?: string;
}

/** What an AI engine was asked and answered, kept whole in `ai_outputs`. */
export interface AiExchange {
  model: string;
  prompt: string;
  parameters: Record<string, unknown>;
  rawOutput: string;
}

/** A provider of a step's ordered list that did not do the work: its failure, or its open circuit. */
export interface PassedProvider {
  provider: string;
  error: string;
}

/** Which provider of a step's ordered list did the work, and the ones before it that did not. */
export interface EngineReport {
  provider: string;
  fellBackFrom: PassedProvider[];
}

export interface CallOptions {
  signal?: AbortSignal;
  /** 0–100; activities turn it into heartbeats and `content_jobs.progress`. */
  onProgress?: (percent: number) => void;
  /**
   * Called for each exchange with a remote provider that failed (HTTP error, timeout, unreadable
   * answer), so the attempt is recorded in `api_usages`; successful calls are in the result's usage.
   */
  onFailedCall?: (usage: ProviderUsage, error: string) => Promise<void> | void;
  /**
   * Called as soon as a remote provider accepted a long job (a cloud render), with its id, so the
   * activity keeps it (`content_jobs.external_job_id`, heartbeat details) and a retry can resume it.
   */
  onExternalJob?: (externalJobId: string) => void;
  /** Called by a step with an ordered list of providers (providers/fallback.ts) when one of them did the work. */
  onEngine?: (report: EngineReport) => void;
}

// ---- script writing ----------------------------------------------------------------------

export interface ScriptRequest {
  language: Language;
  vertical: Vertical;
  tone: Tone;
  format: ContentFormat;
  /** A free topic, when the content was created by hand. */
  topic?: string;
  /** The item a data source produced (an RSS entry, a finance summary, …). */
  sourceData?: Record<string, unknown>;
  /** A title the user already chose. */
  title?: string;
  /** The frame the video renders in (the template's resolution), for writers that describe it. */
  frame?: { width: number; height: number };
  /** The template's target length in seconds, within the format's range. */
  targetSec?: number;
}

/** The JSON of seed §3.4.1 (`contents.script`). */
export interface Script {
  hook: string;
  body: string[];
  cta: string;
  full_text: string;
  /** A stock-footage search per scene (hook, each body section, cta), when the writer gave them. */
  search_terms?: string[];
}

export interface ScriptResult {
  script: Script;
  title: string;
  description: string;
  tags: string[];
  usage: ProviderUsage;
  exchange: AiExchange;
}

export interface ScriptWriter {
  readonly name: string;
  write(request: ScriptRequest, options?: CallOptions): Promise<ScriptResult>;
}

// ---- safety --------------------------------------------------------------------------------

export interface SafetyFlag {
  code: string;
  severity: 'low' | 'medium' | 'high';
  message: string;
  excerpt?: string;
}

export interface SafetyRequest {
  language: Language;
  vertical: Vertical;
  title: string;
  script: Script;
}

export interface SafetyResult {
  /** 0.00 (unsafe) – 1.00 (safe), `contents.safety_score`. */
  score: number;
  flags: SafetyFlag[];
  usage: ProviderUsage;
  exchange: AiExchange;
}

export interface SafetyChecker {
  readonly name: string;
  check(request: SafetyRequest, options?: CallOptions): Promise<SafetyResult>;
}

// ---- speech --------------------------------------------------------------------------------

export interface SubtitleCue {
  startSec: number;
  endSec: number;
  text: string;
}

export interface SpeechRequest {
  language: Language;
  /** One segment per scene (hook, each body section, cta), spoken in order. */
  segments: string[];
  voice?: string;
  /** Folder the audio file is written to. */
  outDir: string;
}

export interface SpeechResult {
  /** AAC in an .m4a container. */
  audioPath: string;
  durationSec: number;
  /** Where each segment starts and ends in the audio: the scene timings. */
  segments: { startSec: number; endSec: number }[];
  /** Subtitle lines timed to the speech. */
  cues: SubtitleCue[];
  /** Each word, timed to the speech, in its segment. */
  words: SpokenWord[];
  usage: ProviderUsage;
}

export interface SpeechSynthesizer {
  readonly name: string;
  synthesize(request: SpeechRequest, options?: CallOptions): Promise<SpeechResult>;
}

// ---- images --------------------------------------------------------------------------------

export interface TemplateLook {
  width: number;
  height: number;
  colors: { primary: string; secondary: string; background?: string; text?: string };
  /** A font family with Hangul glyphs, e.g. "Noto Sans CJK KR". */
  font: string;
}

export interface SceneImageRequest {
  language: Language;
  look: TemplateLook;
  /** `durationSec`: how long the scene is spoken, when known; providers that choose clips by length estimate it from the text otherwise. */
  scenes: { index: number; text: string; keywords: string[]; durationSec?: number }[];
  outDir: string;
}

export interface SceneImage {
  index: number;
  /** A PNG of the frame's size, or for a clip an MP4 the renderer loops or cuts, scales and crops to the scene. */
  path: string;
  /** A clip or a picture; absent means a picture. */
  kind?: 'image' | 'video';
  source: 'generated' | 'stock' | 'ai';
  credit?: string;
}

export interface ImageProvider {
  readonly name: string;
  createSceneImages(request: SceneImageRequest, options?: CallOptions): Promise<{ images: SceneImage[]; usage: ProviderUsage }>;
}

// ---- render --------------------------------------------------------------------------------

/** A picture or clip filling part of a scene. */
export interface RenderShot {
  path: string;
  kind: 'image' | 'video';
}

/** A scene on the voice's timeline and the shots that fill it, one after another. */
export interface RenderScene {
  startSec: number;
  endSec: number;
  shots: RenderShot[];
}

/** The intro's title or the outro's call to action: shown for `durationSec` before or after the voice. */
export interface RenderTitle {
  text: string;
  durationSec: number;
  animation: TitleAnimation;
  style: TitleStyle;
}

/** What the template decides about the video beyond its frame. */
export interface RenderDesign {
  motion: 'static' | 'ken_burns';
  transition: 'cut' | 'fade' | 'slide';
  intro?: RenderTitle;
  outro?: RenderTitle;
  /** Captions on the voice's timeline, in the template's style. */
  captions?: { cues: CaptionCue[]; style: CaptionStyle };
}

export interface RenderRequest {
  look: TemplateLook;
  fps: number;
  language: Language;
  scenes: RenderScene[];
  audioPath: string;
  design: RenderDesign;
  music?: { path: string; volume: number };
  /** The organization's logo (white label), drawn in the frame's top right corner over the whole video. */
  logo?: { path: string };
  outDir: string;
  /** A job a remote renderer already accepted (see `CallOptions.onExternalJob`): it is awaited, not started again. */
  resumeExternalJobId?: string;
  /** The content template's own design at a cloud renderer (template_data.creatomate_template_id), over the deployment's. */
  remoteTemplateId?: string;
}

export interface RenderResult {
  videoPath: string;
  thumbnailPath: string;
  /** The captions as WebVTT beside the video (video.vtt), when the video has captions. */
  captionsPath?: string;
  durationSec: number;
  /** Where the voice (and the first scene) starts in the video: after the intro, if the renderer drew one. */
  voiceStartSec: number;
  width: number;
  height: number;
  sizeBytes: number;
  usage: ProviderUsage;
}

export interface Renderer {
  readonly name: string;
  render(request: RenderRequest, options?: CallOptions): Promise<RenderResult>;
}
