import { isLanguage, type ContentStep, type DataSourceType, type Language, type Visibility } from './enums';

/** Any JSON value, for JSONB columns whose shape the seed leaves open. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** users.notification_settings: one switch per notification; a missing key means the default. */
export type NotificationSettings = { [notification: string]: boolean };

/** organizations.brand_colors (white label), CSS hex colours. */
export interface BrandColors {
  primary?: string;
  secondary?: string;
}

/** organization_members.permissions: grants beyond the role. */
export type MemberPermissions = { [permission: string]: boolean };

/** subscription_plans.features (seed §3.2.1). */
export interface PlanFeatures {
  advanced_templates: boolean;
  priority_rendering: boolean;
  api_access: boolean;
  white_label: boolean;
  analytics_pro: boolean;
  custom_voices: boolean;
  team_seats: number;
  /** A cap on the estimated provider cost of one content, below the deployment's (activities/costs.ts). */
  max_cost_per_content_usd?: number;
}

/** contents.script (seed §3.4.1). */
export interface ContentScript {
  /** The first three seconds. */
  hook: string;
  body: string[];
  cta: string;
  full_text: string;
  /**
   * Who wrote the script, beyond the seed's four fields (the seed has no column for it:
   * `source_type` says where the content's material came from, not who wrote its script).
   * `creator`: the creator gave it (`script` or `script_text` through the API); the production
   * keeps it, its writer step writes nothing, and the safety check still runs on it. Absent: the
   * production's writer writes the script (again at every production).
   */
  source?: 'creator';
  /**
   * A stock-footage search per scene (hook, each body section, cta), beyond the seed's four
   * fields: the writers give them, and the scene pictures are searched with them. One string per
   * scene, not a list of lists: the MongoDB-compatible store keeps no nested arrays.
   */
  search_terms?: string[];
}

/** The script a content starts with: the pipeline writes the real one. */
export const EMPTY_SCRIPT: ContentScript = { hook: '', body: [], cta: '', full_text: '' };

/** The columns of a new content that only its production fills in. */
export const NOT_PRODUCED_YET = {
  thumbnail_url: null,
  audio_url: null,
  audio_duration: null,
  video_url: null,
  video_duration: null,
  video_resolution: null,
  safety_score: null,
  published_at: null,
} as const;

export type MediaAssetType = 'image' | 'video' | 'audio';
export type MediaAssetSource = 'generated' | 'stock' | 'user';

/** One element of contents.media_assets (seed §3.4.1). */
export interface MediaAsset {
  type: MediaAssetType;
  url: string;
  source: MediaAssetSource;
  /** Seconds from the start of the video at which the asset appears. */
  timestamp: number;
  /** Seconds on screen; absent means until the next asset. */
  duration?: number;
  /**
   * Beyond the seed's fields, on the creator's own media (source 'user', set through the API's
   * `media` of a content): the upload's S3 key, which the production reads.
   */
  key?: string;
  /** The spoken scene a picture or clip fills (0: the first of the script's scenes); absent on the music track. */
  scene?: number;
  /** The music track's volume under the voice, 0–1. */
  volume?: number;
}

/**
 * contents.source_data of a single step (contents.step, migration 015): its request as the API
 * accepted it, read by the step's activities. What it speaks or shows is the row's script (one body
 * section per segment or scene), and the pictures and clips of its scenes the row's `media_assets`.
 */
export interface StepRequest {
  /** The language spoken, captioned or shown: the one asked for, a speech step's, or the project's. */
  language: Language;
  /** speech: a voice of the speech engine over the project's (plans with custom_voices). */
  voice?: string;
  /** captions: the caption mode over the template's. */
  mode?: NonNullable<TemplateBody['caption']['mode']>;
  /** captions: the words with their times in seconds, when no speech step gives them. */
  words?: { text: string; start: number; end: number }[];
  /** captions and render: the speech step whose voice and word timings they use. */
  speech_id?: string;
  /** render: an audio upload of the project as the voice. */
  audio_key?: string;
  /** render with `audio_key`: the seconds each scene lasts, but the last, which lasts until the voice ends. */
  scene_durations?: number[];
}

/** The request of a single step's row; undefined for a production, whose source data is its source item's. */
export function stepRequestOf(content: { step: ContentStep | null; source_data: JsonValue | null }): StepRequest | undefined {
  const data = content.source_data;
  if (content.step === null || data === null || typeof data !== 'object' || Array.isArray(data) || !isLanguage(data.language)) return undefined;
  return data as unknown as StepRequest;
}

/** channels.upload_settings (seed §3.3.2); stored as '{}' until the user saves settings. */
export interface UploadSettings {
  default_visibility?: Visibility;
  auto_publish?: boolean;
  /** Local time of day, "HH:MM". */
  schedule_time?: string;
  /** IANA zone of schedule_time. */
  timezone?: string;
  /** YouTube demands an explicit answer; uploads fail on some accounts without it. */
  made_for_kids?: boolean;
}

/** content_uploads.metrics (seed §3.4.3); '{}' until the first sync. */
export interface UploadMetrics {
  views?: number;
  likes?: number;
  comments?: number;
  shares?: number;
  /** ISO 8601 time of the last sync. */
  last_updated?: string;
}

/** "WIDTHxHEIGHT" in pixels, e.g. "1080x1920". */
export type Resolution = `${number}x${number}`;

export type TextPosition = 'top' | 'center' | 'bottom';
export type SectionAnimation = 'none' | 'fade' | 'zoom_in' | 'slide_up';

export interface TemplateTextStyle {
  font_size: number;
  font_weight: 'regular' | 'bold';
  position: TextPosition;
  /** CSS hex colours; absent means the template's `colors.text` / no box. */
  color?: string;
  background?: string;
}

export interface TemplateIntro {
  duration: number;
  animation: SectionAnimation;
  title: TemplateTextStyle;
}

export interface TemplateBody {
  /** Default seconds per scene when the narration does not say otherwise. */
  scene_duration: number;
  transition: 'cut' | 'fade' | 'slide';
  motion: 'static' | 'ken_burns';
  /**
   * Captions over the voice: `max_chars_per_line` counts wide (Hangul, kanji) characters, a Latin
   * letter about half; `mode` karaoke (the line, its spoken word in `highlight_color`, the default),
   * popup (a few words at a time) or classic (plain lines).
   */
  caption: TemplateTextStyle & { max_chars_per_line: number; mode?: 'karaoke' | 'popup' | 'classic'; highlight_color?: string };
}

export interface TemplateOutro {
  duration: number;
  animation: SectionAnimation;
  cta: TemplateTextStyle;
}

/** templates.template_data (seed §3.5.1). */
export interface TemplateData {
  /** Only for templates rendered remotely by Creatomate. */
  creatomate_template_id?: string;
  /** Target length in seconds. */
  duration: number;
  resolution: Resolution;
  elements: { intro: TemplateIntro; body: TemplateBody; outro: TemplateOutro };
  /** Font family names, first one preferred; must cover Hangul. */
  fonts: string[];
  colors: { primary: string; secondary: string; background?: string; text?: string };
}

/** data_sources.config by data_sources.source_type (seed §3.6.1). */
export interface YoutubeChannelSourceConfig {
  channel_id: string;
  extract_mode: 'highlights' | 'summary' | 'full';
  /** Seconds. */
  min_duration?: number;
  max_age_days?: number;
}

export interface RssSourceConfig {
  feed_url: string;
  filter_keywords?: string[];
}

export interface ApiSourceConfig {
  api_type: string;
  symbols?: string[];
  data_type: string;
}

export interface KeywordSourceConfig {
  keywords: string[];
  sources: string[];
}

export interface DataSourceConfigs {
  youtube_channel: YoutubeChannelSourceConfig;
  rss: RssSourceConfig;
  api: ApiSourceConfig;
  keyword: KeywordSourceConfig;
}

export type DataSourceConfig = DataSourceConfigs[DataSourceType];

/** A data source's type and config as one discriminated union, for `switch (spec.source_type)`. */
export type DataSourceSpec = { [T in DataSourceType]: { source_type: T; config: DataSourceConfigs[T] } }[DataSourceType];
