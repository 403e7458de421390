/**
 * The closed value sets of the VARCHAR status/kind columns (seed §3). Each is a const list, so
 * API validation (Joi `.valid(...LIST)`) and tests can enumerate it, and a union type derived
 * from it. Keep them equal to the CHECK constraints of db/migrations.
 */

export const USER_STATUSES = ['active', 'suspended', 'deleted'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export const OAUTH_PROVIDERS = ['google', 'kakao'] as const;
export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];

/** The seed gives organizations.status no list; this mirrors users.status. */
export const ORGANIZATION_STATUSES = ['active', 'suspended', 'deleted'] as const;
export type OrganizationStatus = (typeof ORGANIZATION_STATUSES)[number];

export const PLAN_TYPES = ['starter', 'pro', 'business', 'enterprise'] as const;
export type PlanType = (typeof PLAN_TYPES)[number];

export const ROLES = ['owner', 'admin', 'editor', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** 'incomplete': a paid plan whose Stripe checkout is not paid yet (migration 009); it grants nothing. */
export const SUBSCRIPTION_STATUSES = ['active', 'paused', 'cancelled', 'expired', 'incomplete'] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

export const BILLING_CYCLES = ['monthly', 'yearly'] as const;
export type BillingCycle = (typeof BILLING_CYCLES)[number];

export const VERTICALS = ['senior_health', 'finance', 'tech', 'history', 'commerce'] as const;
export type Vertical = (typeof VERTICALS)[number];

/** The languages videos are written, spoken and captioned in (ISO 639-1; projects.language). */
export const LANGUAGES = ['ko', 'en', 'ja', 'zh', 'es', 'fr', 'de', 'pt', 'hi', 'ar'] as const;
export type Language = (typeof LANGUAGES)[number];

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** A project's language the platform does not speak: refused by name, never replaced by another. */
export class UnsupportedLanguageError extends Error {
  constructor(readonly language: string) {
    super(`language "${language}" is not supported; supported: ${LANGUAGES.join(', ')}`);
    this.name = 'UnsupportedLanguageError';
  }
}

export const CONTENT_FORMATS = ['short', 'mid', 'long'] as const;
export type ContentFormat = (typeof CONTENT_FORMATS)[number];

export const TONES = ['professional', 'casual', 'urgent', 'mysterious'] as const;
export type Tone = (typeof TONES)[number];

export const PROJECT_STATUSES = ['active', 'paused', 'archived'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

/** Where a project publishes (projects.target_platforms), finer than the channel's platform. */
export const TARGET_PLATFORMS = ['youtube', 'youtube_shorts', 'tiktok', 'instagram_reels'] as const;
export type TargetPlatform = (typeof TARGET_PLATFORMS)[number];

export const PLATFORMS = ['youtube', 'tiktok', 'instagram'] as const;
export type Platform = (typeof PLATFORMS)[number];

export const CHANNEL_STATUSES = ['connected', 'disconnected', 'error'] as const;
export type ChannelStatus = (typeof CHANNEL_STATUSES)[number];

export const CONTENT_STATUSES = ['draft', 'processing', 'ready', 'published', 'failed'] as const;
export type ContentStatus = (typeof CONTENT_STATUSES)[number];

export const CONTENT_SOURCE_TYPES = ['api', 'rss', 'manual', 'url'] as const;
export type ContentSourceType = (typeof CONTENT_SOURCE_TYPES)[number];

/**
 * contents.step (migration 015): the single step a content row runs, asked for alone through the
 * API (speech, captions from word timings, a render of a scene list); NULL for a production.
 */
export const CONTENT_STEPS = ['speech', 'captions', 'render'] as const;
export type ContentStep = (typeof CONTENT_STEPS)[number];

export { JOB_TYPES, type JobType } from '../../workflows/steps';

export const JOB_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export const UPLOAD_STATUSES = ['pending', 'uploading', 'published', 'failed', 'scheduled'] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export const TEMPLATE_TYPES = ['system', 'custom', 'premium'] as const;
export type TemplateType = (typeof TEMPLATE_TYPES)[number];

export const DATA_SOURCE_TYPES = ['youtube_channel', 'rss', 'api', 'keyword'] as const;
export type DataSourceType = (typeof DATA_SOURCE_TYPES)[number];

export const TRANSACTION_TYPES = ['usage', 'refund', 'bonus', 'reset'] as const;
export type TransactionType = (typeof TRANSACTION_TYPES)[number];

export const VISIBILITIES = ['private', 'unlisted', 'public'] as const;
export type Visibility = (typeof VISIBILITIES)[number];

/** organization_provider_keys.provider (migration 011): the services an organization may bring its own key for. */
export const KEY_PROVIDERS = ['elevenlabs', 'gemini', 'openai', 'pexels', 'creatomate'] as const;
export type KeyProvider = (typeof KEY_PROVIDERS)[number];

/** api_usages.billed_to (migration 011): whose key paid for the call. */
export const BILLED_TO = ['platform', 'organization'] as const;
export type BilledTo = (typeof BILLED_TO)[number];
