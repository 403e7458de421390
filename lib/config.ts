import { accessSync, constants as fsConstants } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Joi from 'joi';

/** The x264 presets the local renderer may be given (slower ones than medium take too long for a worker). */
const X264_PRESETS = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium'] as const;

/** The engines each provider step may name, `local` being the offline one. */
export const STEP_PROVIDERS = {
  script: ['local', 'gemini', 'openai'],
  safety: ['local', 'gemini', 'openai'],
  tts: ['local', 'elevenlabs'],
  images: ['local', 'pexels', 'openai', 'stock'],
  render: ['local', 'creatomate'],
} as const;
export type ProviderStep = keyof typeof STEP_PROVIDERS;
export type ProviderName<S extends ProviderStep> = (typeof STEP_PROVIDERS)[S][number];
/** An ordered list of a step's engines: the first is the primary, each next one runs when the one before fails. */
export type ProviderOrder<S extends ProviderStep> = readonly ProviderName<S>[];

/** Every step's order of engines. */
export type ProviderOrders = { [S in ProviderStep]: ProviderOrder<S> };

/** The variable that orders each step's engines. */
const STEP_VARIABLES: Readonly<Record<ProviderStep, string>> = {
  script: 'SCRIPT_PROVIDER',
  safety: 'SAFETY_PROVIDER',
  tts: 'TTS_PROVIDER',
  images: 'IMAGE_PROVIDER',
  render: 'RENDER_PROVIDER',
};

/**
 * The one place that reads the environment. Everything else receives a typed `AppConfig`.
 * `loadConfig` validates every variable at start-up and fails with one message that names each
 * missing or malformed variable.
 */
export interface AppConfig {
  nodeEnv: 'development' | 'test' | 'production';
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** The api's and workers' connection: a login role of app_readwrite (seed §8.2), not the owner. */
  databaseUrl: string;
  databasePoolMax: number;
  /** Where pg_dump connects for backups: the database itself, not a transaction-pooling proxy; a login role of app_readonly. */
  backupDatabaseUrl: string;
  /** Where migrations and seeds run: the database owner, straight to PostgreSQL. */
  migrationDatabaseUrl: string;
  redisUrl: string;
  mongodbUrl: string;
  s3: {
    endpoint: string | undefined;
    region: string;
    bucket: string;
    accessKeyId: string;
    secretAccessKey: string;
    forcePathStyle: boolean;
    publicUrl: string | undefined;
    /** The store's address as browsers and outside services reach it, when it is not `endpoint`: presigned links are signed for it. */
    presignEndpoint: string | undefined;
    /** A PEM bundle the S3 client trusts besides the system's (a self-signed local MinIO). */
    caFile: string | undefined;
    /** The bucket of the database backups, apart from the media: object-locked, the app's key cannot delete there. */
    backupBucket: string;
  };
  /** Accounts (by email) that may read the platform's own state through the API, e.g. the restore drills. */
  operatorEmails: string[];
  webhooks: {
    /** The wait before a failed delivery's second attempt, doubled after each attempt up to `retryMaxMs`. */
    retryInitialMs: number;
    retryMaxMs: number;
    /** How long a delivery is tried before it is given up and its endpoint disabled. */
    giveUpAfterMs: number;
    /** The longest one attempt (connect, send, answer) may take. */
    timeoutMs: number;
    /** Production: https targets with public addresses only; elsewhere http and loopback too, so a developer receives events. */
    targets: { allowPrivate: boolean; requireHttps: boolean };
    /** The credit balance at which credits.low is sent (by the charge that reaches it). */
    creditsLowAt: number;
  };
  /** The restore drill's pgBackRest and PostgreSQL binaries, where this deployment archives WAL with pgBackRest. */
  recovery:
    | {
        pgBackRestConfig: string;
        stanza: string;
        /** The OS user PostgreSQL runs as, for pgBackRest and the scratch server when this process is root. */
        osUser: string | undefined;
        postgresBinDir: string;
      }
    | undefined;
  temporal: {
    address: string;
    namespace: string;
    taskQueue: string;
    mediaTaskQueue: string;
    uiUrl: string | undefined;
  };
  api: {
    host: string;
    port: number;
    /** Allowed browser origins; empty means no cross-origin access. */
    corsOrigins: string[];
    bodyLimit: string;
    /** Requests per minute per authenticated user and per client IP, counted in Redis. */
    rateLimitPerUser: number;
    rateLimitPerIp: number;
    /** Sign-ups and logins per minute per client IP (password guessing). */
    authRateLimitPerIp: number;
    /** PEM files of the API's own HTTPS (TLS 1.3 only); absent, it serves plain HTTP (behind a TLS proxy). */
    tls: { certFile: string; keyFile: string } | undefined;
    /** The API's address as browsers and outside services reach it (OAuth redirect URIs are built on it), without a trailing slash. */
    publicUrl: string;
  };
  /** What Prometheus scrapes: the API's and each worker process's `/metrics`, and the Temporal SDK's own exporter. */
  metrics: {
    /** A bearer token every `/metrics` scrape must send; absent, `/metrics` answers whoever reaches it. */
    token: string | undefined;
    /** The worker process's `/metrics` server (port 0: none). */
    workerHost: string;
    workerPort: number;
    /** host:port of the Temporal SDK's Prometheus exporter in worker processes (task slots, polls, latencies); absent, off. */
    temporalAddress: string | undefined;
  };
  /** OpenTelemetry traces sent over OTLP/HTTP (JSON); absent when no endpoint is configured, and then nothing is traced. */
  tracing: { tracesUrl: string; serviceName: string } | undefined;
  auth: {
    /** HMAC key of the access tokens (≥ 32 bytes). */
    tokenSecret: Buffer;
    accessTokenTtlSec: number;
    refreshTokenTtlSec: number;
  };
  /** Email over SMTP (providers/email): account mails sent by the API, notifications by the workers. */
  email: {
    /** smtp:// or smtps://, credentials in the URL; absent, nothing is sent (the mails the API sends inline answer 503). */
    smtpUrl: string | undefined;
    /** The sender, `Name <address>` or an address. */
    from: string;
    /** The web app's base URL: every link in a mail points there. */
    appUrl: string;
    /** Connecting, the greeting and each SMTP reply may each take this long. */
    timeoutMs: number;
    /** How long an email-verification link works. */
    verifyTokenTtlSec: number;
    /** How long a password-reset link works. */
    resetTokenTtlSec: number;
    /** A queued mail's retries: the wait before the second attempt, doubled up to `retryMaxMs`, until `giveUpAfterMs`. */
    retryInitialMs: number;
    retryMaxMs: number;
    giveUpAfterMs: number;
  };
  media: {
    /** Where media activities keep their temporary files. */
    workDir: string;
    /** Media activities one worker runs at once (each ffmpeg uses the cores it gets). */
    concurrency: number;
  };
  pipeline: {
    /** Contents scoring below it in the safety check stop as failed. */
    safetyThreshold: number;
  };
  script: {
    /** The script writers in order: the offline templates, Gemini or an OpenAI-compatible server. */
    providers: ProviderOrder<'script'>;
    /** Deadline of one request to the model. */
    timeoutMs: number;
    gemini: RemoteModelConfig;
    openai: RemoteModelConfig;
  };
  /** The safety checkers in order: the local rules alone, or with Gemini's review or OpenAI's moderation folded in. */
  safety: { providers: ProviderOrder<'safety'>; moderationModel: string };
  tts: {
    providers: ProviderOrder<'tts'>;
    elevenlabs: { apiKey: string | undefined; baseUrl: string; model: string; voices: { ko: string; en: string }; pricePerThousandCharsUsd: number; concurrency: number };
  };
  images: {
    /** `stock`: Pexels and Pixabay clips and photos, from whichever of the two has a key. */
    providers: ProviderOrder<'images'>;
    pexels: { apiKey: string | undefined; baseUrl: string };
    pixabay: { apiKey: string | undefined; baseUrl: string };
    /** Image generation on the OPENAI_BASE_URL server. */
    openai: { model: string; pricePerImageUsd: number };
    concurrency: number;
  };
  render: {
    providers: ProviderOrder<'render'>;
    /** The local renderer's x264 preset: faster presets trade file size for speed. */
    x264Preset: (typeof X264_PRESETS)[number];
    creatomate: { apiKey: string | undefined; baseUrl: string; templateId: string | undefined; pricePerCreditUsd: number; concurrency: number; pollIntervalMs: number };
  };
  /** How a step with more than one engine moves on to the next (providers/fallback.ts). */
  fallback: {
    /** Tries a provider gets for a failure a retry may fix (5xx, network, 429) before the next one runs. */
    tries: number;
    /** The longest wait before a provider's next try; a provider asking for longer (Retry-After) is passed at once. */
    maxRetryWaitMs: number;
    /** Each provider's circuit, shared by every worker through Redis. */
    breaker: { failures: number; windowMs: number; cooldownMs: number };
  };
  /** A cap on the estimated provider cost of one content (USD); a plan's `max_cost_per_content_usd` feature may lower it. */
  costs: { maxPerContentUsd: number | undefined };
  youtube: {
    clientId: string | undefined;
    clientSecret: string | undefined;
    /** Google's consent page (OAuth authorization endpoint). */
    authorizeUrl: string | undefined;
    oauthUrl: string | undefined;
    uploadUrl: string | undefined;
    apiUrl: string | undefined;
  };
  /** The outside services data sources read (base URLs for tests and proxies, optional keys). */
  sources: {
    googleNewsUrl: string;
    pubmedUrl: string;
    pubmedApiKey: string | undefined;
    yahooFinanceUrl: string;
    /** The YouTube Data API key youtube_channel sources read with. */
    youtubeApiKey: string | undefined;
    youtubeApiUrl: string;
    timeoutMs: number;
  };
  tiktok: { clientKey: string | undefined; clientSecret: string | undefined; apiUrl: string | undefined; authorizeUrl: string | undefined };
  /** Instagram API with Instagram Login: the app's id and secret, the consent page, the code exchange host (api.instagram.com) and the Graph host. */
  instagram: {
    appId: string | undefined;
    appSecret: string | undefined;
    authorizeUrl: string | undefined;
    oauthUrl: string | undefined;
    graphUrl: string | undefined;
    apiVersion: string | undefined;
  };
  /** Connecting a channel through the platform's consent page. */
  channelConnect: {
    /** The page the callback sends the browser to, with `?channel=…&platform=…&status=connected` or `status=error&reason=…`. */
    returnUrl: string;
    /** How long a consent link (its OAuth state) stays usable. */
    stateTtlSec: number;
  };
  /** Sign-in with Google and Kakao (OpenID Connect code flow with PKCE); a provider without a client id is off. */
  oidc: { google: OidcProviderConfig | undefined; kakao: (OidcProviderConfig & { userInfoUrl: string }) | undefined };
  /** Paid plans through Stripe; without a secret key, plans with a price answer "payments are not configured". */
  stripe: StripeConfig;
  secrets: {
    /** key id → 32-byte key */
    keys: Map<string, Buffer>;
    activeKeyId: string;
  };
}

/** A remote AI model and its price in USD per million tokens (for `api_usages.estimated_cost`). */
export interface RemoteModelConfig {
  apiKey: string | undefined;
  baseUrl: string;
  model: string;
  prices: { inputPerMTokUsd: number; outputPerMTokUsd: number };
}

/** One OpenID provider the API signs users in with. */
export interface OidcProviderConfig {
  clientId: string;
  /** Kakao apps may leave the client secret off; Google always has one. */
  clientSecret: string | undefined;
  /** Where `/.well-known/openid-configuration` is read and what every ID token's `iss` must be. */
  issuer: string;
  /** The page the provider sends the browser back to with `?code&state` (registered at the provider). */
  redirectUrl: string;
}

export interface StripeConfig {
  secretKey: string | undefined;
  webhookSecret: string | undefined;
  /** stripe-mock or a proxy instead of api.stripe.com: host, port and protocol of this URL. */
  apiUrl: string | undefined;
  /** Plan code → billing cycle → Stripe price id (STRIPE_PRICES JSON and STRIPE_PRICE_<CODE>_<CYCLE>). */
  prices: Record<string, { monthly?: string; yearly?: string }>;
  successUrl: string;
  cancelUrl: string;
  portalReturnUrl: string;
}

/** STRIPE_PRICES (JSON) merged with STRIPE_PRICE_<PLAN_CODE>_<MONTHLY|YEARLY> variables, the latter winning. */
function stripePrices(env: NodeJS.ProcessEnv, json: string | undefined, problems: string[]): StripeConfig['prices'] {
  const prices: StripeConfig['prices'] = {};
  if (json) {
    try {
      for (const [code, cycles] of Object.entries(JSON.parse(json) as Record<string, Record<string, unknown>>)) {
        for (const [cycle, price] of Object.entries(cycles ?? {})) {
          if ((cycle !== 'monthly' && cycle !== 'yearly') || typeof price !== 'string') throw new Error(`${code}.${cycle}`);
          (prices[code] ??= {})[cycle] = price;
        }
      }
    } catch {
      problems.push('"STRIPE_PRICES" must be JSON like {"pro":{"monthly":"price_…","yearly":"price_…"}}');
    }
  }
  for (const [name, value] of Object.entries(env)) {
    const match = /^STRIPE_PRICE_([A-Z0-9_]+)_(MONTHLY|YEARLY)$/.exec(name);
    if (match && value) (prices[match[1]!.toLowerCase()] ??= {})[match[2]!.toLowerCase() as 'monthly' | 'yearly'] = value;
  }
  return prices;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * A step's variable: one engine, or a comma-separated ordered list of them (`elevenlabs,local`).
 * Names are checked here; a name given twice is a problem `providerOrders` reports.
 */
function providerList(step: ProviderStep): Joi.StringSchema {
  const names = STEP_PROVIDERS[step].join('|');
  return Joi.string()
    .pattern(new RegExp(`^\\s*(${names})\\s*(,\\s*(${names})\\s*)*$`))
    .default('local')
    .messages({ 'string.pattern.base': `"${STEP_VARIABLES[step]}" must be one of ${STEP_PROVIDERS[step].join(', ')}, or several of them in order separated by commas` });
}

function parseOrder<S extends ProviderStep>(step: S, list: string, problems: string[]): ProviderOrder<S> {
  const order = list.split(',').map((name) => name.trim()) as ProviderName<S>[];
  const twice = order.filter((name, i) => order.indexOf(name) !== i);
  if (twice.length > 0) problems.push(`"${STEP_VARIABLES[step]}" names ${[...new Set(twice)].join(', ')} more than once`);
  return order;
}

const keyListPattern = /^[A-Za-z0-9_-]+:[A-Za-z0-9+/=]+(,[A-Za-z0-9_-]+:[A-Za-z0-9+/=]+)*$/;

const schema = Joi.object({
  NODE_ENV: Joi.string().valid('development', 'test', 'production').default('development'),
  LOG_LEVEL: Joi.string().valid('fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent').default('info'),
  DATABASE_URL: Joi.string().uri({ scheme: ['postgres', 'postgresql'] }).required(),
  DATABASE_POOL_MAX: Joi.number().integer().min(1).max(200).default(10),
  BACKUP_DATABASE_URL: Joi.string().uri({ scheme: ['postgres', 'postgresql'] }),
  MIGRATION_DATABASE_URL: Joi.string().uri({ scheme: ['postgres', 'postgresql'] }),
  REDIS_URL: Joi.string().uri({ scheme: ['redis', 'rediss'] }).required(),
  MONGODB_URL: Joi.string().uri({ scheme: ['mongodb', 'mongodb+srv'] }).required(),
  S3_ENDPOINT: Joi.string().uri({ scheme: ['http', 'https'] }),
  S3_REGION: Joi.string().default('us-east-1'),
  S3_BUCKET: Joi.string().pattern(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/).required(),
  S3_ACCESS_KEY_ID: Joi.string().required(),
  S3_SECRET_ACCESS_KEY: Joi.string().required(),
  S3_FORCE_PATH_STYLE: Joi.boolean().truthy('1').falsy('0').default(false),
  S3_PUBLIC_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  S3_PRESIGN_ENDPOINT: Joi.string().uri({ scheme: ['http', 'https'] }),
  S3_CA_FILE: Joi.string(),
  S3_BACKUP_BUCKET: Joi.string().pattern(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/).default('autoclip-backups'),
  OPERATOR_EMAILS: Joi.string().allow('').default(''),
  WEBHOOK_RETRY_INITIAL_MS: Joi.number().integer().min(10).default(30_000),
  WEBHOOK_RETRY_MAX_MS: Joi.number().integer().min(10).default(6 * 3600_000),
  WEBHOOK_GIVE_UP_AFTER_MS: Joi.number().integer().min(100).default(3 * 24 * 3600_000),
  WEBHOOK_TIMEOUT_MS: Joi.number().integer().min(100).max(60_000).default(10_000),
  CREDITS_LOW_AT: Joi.number().integer().min(0).default(5),
  PGBACKREST_CONFIG: Joi.string(),
  PGBACKREST_STANZA: Joi.string().pattern(/^[\w-]+$/).default('autoclip'),
  POSTGRES_OS_USER: Joi.string().pattern(/^[a-z_][\w-]*$/),
  POSTGRES_BIN_DIR: Joi.string(),
  TEMPORAL_ADDRESS: Joi.string().pattern(/^[^:\s]+:\d{1,5}$/).required(),
  TEMPORAL_NAMESPACE: Joi.string().default('default'),
  TEMPORAL_TASK_QUEUE: Joi.string().default('autoclip'),
  TEMPORAL_MEDIA_TASK_QUEUE: Joi.string().default('autoclip-media'),
  TEMPORAL_UI_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  TEMPORAL_METRICS_ADDRESS: Joi.string().allow('').pattern(/^[^:\s]+:\d{1,5}$/).messages({ 'string.pattern.base': '"TEMPORAL_METRICS_ADDRESS" must be host:port, e.g. 0.0.0.0:9465' }),
  METRICS_TOKEN: Joi.string().allow('').pattern(/^[\x21-\x7e]{16,}$/).messages({ 'string.pattern.base': '"METRICS_TOKEN" must be at least 16 printable characters without spaces' }),
  WORKER_METRICS_HOST: Joi.string().default('0.0.0.0'),
  WORKER_METRICS_PORT: Joi.number().port().default(9464),
  OTEL_SDK_DISABLED: Joi.boolean().default(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: Joi.string().allow('').uri({ scheme: ['http', 'https'] }),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: Joi.string().allow('').uri({ scheme: ['http', 'https'] }),
  OTEL_SERVICE_NAME: Joi.string().default('autoclip'),
  MEDIA_WORK_DIR: Joi.string().default(join(tmpdir(), 'autoclip-media')),
  MEDIA_CONCURRENCY: Joi.number().integer().min(1).max(16).default(2),
  SAFETY_THRESHOLD: Joi.number().min(0).max(1).default(0.7),
  SCRIPT_PROVIDER: providerList('script'),
  SCRIPT_REQUEST_TIMEOUT_MS: Joi.number().integer().min(1000).max(600_000).default(60_000),
  GEMINI_API_KEY: Joi.string(),
  GEMINI_BASE_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://generativelanguage.googleapis.com'),
  GEMINI_MODEL: Joi.string().default('gemini-2.5-flash'),
  GEMINI_INPUT_PRICE_PER_MTOK: Joi.number().min(0).default(0.3),
  GEMINI_OUTPUT_PRICE_PER_MTOK: Joi.number().min(0).default(2.5),
  OPENAI_API_KEY: Joi.string(),
  OPENAI_BASE_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://api.openai.com'),
  OPENAI_MODEL: Joi.string().default('gpt-4o-mini'),
  OPENAI_INPUT_PRICE_PER_MTOK: Joi.number().min(0).default(0.15),
  OPENAI_OUTPUT_PRICE_PER_MTOK: Joi.number().min(0).default(0.6),
  SAFETY_PROVIDER: providerList('safety'),
  OPENAI_MODERATION_MODEL: Joi.string().default('omni-moderation-latest'),
  TTS_PROVIDER: providerList('tts'),
  ELEVENLABS_API_KEY: Joi.string(),
  ELEVENLABS_BASE_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://api.elevenlabs.io'),
  ELEVENLABS_MODEL: Joi.string().default('eleven_multilingual_v2'),
  ELEVENLABS_VOICE_KO: Joi.string().default('21m00Tcm4TlvDq8ikWAM'),
  ELEVENLABS_VOICE_EN: Joi.string().default('21m00Tcm4TlvDq8ikWAM'),
  ELEVENLABS_PRICE_PER_1K_CHARS: Joi.number().min(0).default(0.18),
  ELEVENLABS_CONCURRENCY: Joi.number().integer().min(1).max(100).default(2),
  IMAGE_PROVIDER: providerList('images'),
  PEXELS_API_KEY: Joi.string(),
  PEXELS_BASE_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://api.pexels.com'),
  PIXABAY_API_KEY: Joi.string(),
  PIXABAY_BASE_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://pixabay.com'),
  OPENAI_IMAGE_MODEL: Joi.string().default('gpt-image-1'),
  OPENAI_IMAGE_PRICE_PER_IMAGE: Joi.number().min(0).default(0.063),
  IMAGE_CONCURRENCY: Joi.number().integer().min(1).max(100).default(4),
  RENDER_PROVIDER: providerList('render'),
  RENDER_X264_PRESET: Joi.string().valid(...X264_PRESETS).default('veryfast'),
  CREATOMATE_API_KEY: Joi.string(),
  CREATOMATE_BASE_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://api.creatomate.com'),
  CREATOMATE_TEMPLATE_ID: Joi.string(),
  CREATOMATE_PRICE_PER_CREDIT: Joi.number().min(0).default(0.01),
  CREATOMATE_CONCURRENCY: Joi.number().integer().min(1).max(100).default(3),
  CREATOMATE_POLL_INTERVAL_MS: Joi.number().integer().min(10).max(60_000).default(3000),
  PROVIDER_TRIES: Joi.number().integer().min(1).max(10).default(2),
  PROVIDER_RETRY_MAX_WAIT_MS: Joi.number().integer().min(0).max(600_000).default(5000),
  PROVIDER_BREAKER_FAILURES: Joi.number().integer().min(1).max(1000).default(5),
  PROVIDER_BREAKER_WINDOW_MS: Joi.number().integer().min(100).default(60_000),
  PROVIDER_BREAKER_COOLDOWN_MS: Joi.number().integer().min(100).default(60_000),
  MAX_COST_PER_CONTENT_USD: Joi.number().min(0),
  YOUTUBE_CLIENT_ID: Joi.string(),
  YOUTUBE_CLIENT_SECRET: Joi.string(),
  YOUTUBE_AUTHORIZE_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  YOUTUBE_OAUTH_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  YOUTUBE_UPLOAD_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  YOUTUBE_API_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  TIKTOK_CLIENT_KEY: Joi.string(),
  TIKTOK_CLIENT_SECRET: Joi.string(),
  TIKTOK_API_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  TIKTOK_AUTHORIZE_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  INSTAGRAM_APP_ID: Joi.string(),
  INSTAGRAM_APP_SECRET: Joi.string(),
  INSTAGRAM_AUTHORIZE_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  INSTAGRAM_OAUTH_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  INSTAGRAM_GRAPH_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  INSTAGRAM_API_VERSION: Joi.string().pattern(/^v\d+\.\d+$/),
  CHANNEL_CONNECT_RETURN_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('http://localhost:3000/channels/connected'),
  CHANNEL_CONNECT_STATE_TTL_SEC: Joi.number().integer().min(1).max(600).default(600),
  GOOGLE_OIDC_CLIENT_ID: Joi.string(),
  GOOGLE_OIDC_CLIENT_SECRET: Joi.string(),
  GOOGLE_OIDC_ISSUER: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://accounts.google.com'),
  KAKAO_OIDC_CLIENT_ID: Joi.string(),
  KAKAO_OIDC_CLIENT_SECRET: Joi.string(),
  KAKAO_OIDC_ISSUER: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://kauth.kakao.com'),
  KAKAO_OIDC_USERINFO_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://kapi.kakao.com/v2/user/me'),
  OIDC_REDIRECT_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  SOURCES_GOOGLE_NEWS_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://news.google.com'),
  SOURCES_PUBMED_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://eutils.ncbi.nlm.nih.gov/entrez/eutils'),
  SOURCES_PUBMED_API_KEY: Joi.string(),
  SOURCES_YAHOO_FINANCE_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('https://query1.finance.yahoo.com'),
  SOURCES_YOUTUBE_API_KEY: Joi.string(),
  SOURCES_REQUEST_TIMEOUT_MS: Joi.number().integer().min(1000).max(300_000).default(15_000),
  API_HOST: Joi.string().default('0.0.0.0'),
  API_PORT: Joi.number().port().default(3000),
  API_CORS_ORIGINS: Joi.string().allow('').default(''),
  API_BODY_LIMIT: Joi.string().pattern(/^\d+(b|kb|mb)$/).default('256kb'),
  API_RATE_LIMIT_PER_USER: Joi.number().integer().min(1).default(600),
  API_RATE_LIMIT_PER_IP: Joi.number().integer().min(1).default(1200),
  API_AUTH_RATE_LIMIT_PER_IP: Joi.number().integer().min(1).default(20),
  API_TLS_CERT_FILE: Joi.string(),
  API_TLS_KEY_FILE: Joi.string(),
  API_PUBLIC_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  AUTH_TOKEN_SECRET: Joi.string().min(32).required(),
  AUTH_ACCESS_TOKEN_TTL_SEC: Joi.number().integer().min(30).max(86_400).default(900),
  AUTH_REFRESH_TOKEN_TTL_SEC: Joi.number().integer().min(300).default(30 * 86_400),
  AUTH_EMAIL_VERIFY_TTL_SEC: Joi.number().integer().min(1).max(30 * 86_400).default(86_400),
  AUTH_PASSWORD_RESET_TTL_SEC: Joi.number().integer().min(1).max(86_400).default(1800),
  SMTP_URL: Joi.string().uri({ scheme: ['smtp', 'smtps'] }),
  SMTP_TIMEOUT_MS: Joi.number().integer().min(100).max(120_000).default(10_000),
  MAIL_FROM: Joi.string()
    .pattern(/^(?:[^<>\r\n]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/)
    .default('AutoClip <no-reply@autoclip.local>')
    .messages({ 'string.pattern.base': '"MAIL_FROM" must be an address or `Name <address>`' }),
  APP_PUBLIC_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('http://localhost:3000'),
  EMAIL_RETRY_INITIAL_MS: Joi.number().integer().min(10).default(30_000),
  EMAIL_RETRY_MAX_MS: Joi.number().integer().min(10).default(30 * 60_000),
  EMAIL_GIVE_UP_AFTER_MS: Joi.number().integer().min(100).default(24 * 3600_000),
  SECRETS_ENCRYPTION_KEYS: Joi.string()
    .pattern(keyListPattern)
    .required()
    .messages({ 'string.pattern.base': '"SECRETS_ENCRYPTION_KEYS" must be a comma-separated list of keyId:base64Key' }),
  SECRETS_ACTIVE_KEY_ID: Joi.string().required(),
  STRIPE_SECRET_KEY: Joi.string().pattern(/^(sk|rk)_(test|live)_\w+$/).messages({ 'string.pattern.base': '"STRIPE_SECRET_KEY" must be a Stripe secret key (sk_test_…, sk_live_…)' }),
  STRIPE_WEBHOOK_SECRET: Joi.string().pattern(/^whsec_\w+$/).messages({ 'string.pattern.base': '"STRIPE_WEBHOOK_SECRET" must be a webhook signing secret (whsec_…)' }),
  STRIPE_API_URL: Joi.string().uri({ scheme: ['http', 'https'] }),
  STRIPE_PRICES: Joi.string(),
  BILLING_SUCCESS_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('http://localhost:3000/billing/success?session_id={CHECKOUT_SESSION_ID}'),
  BILLING_CANCEL_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('http://localhost:3000/billing/cancelled'),
  BILLING_PORTAL_RETURN_URL: Joi.string().uri({ scheme: ['http', 'https'] }).default('http://localhost:3000/billing'),
}).unknown(true);

function parseKeys(list: string, problems: string[]): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  for (const entry of list.split(',')) {
    const [id, encoded] = entry.split(':') as [string, string];
    const key = Buffer.from(encoded, 'base64');
    if (key.length !== 32) problems.push(`"SECRETS_ENCRYPTION_KEYS" key "${id}" must decode to 32 bytes (got ${key.length})`);
    if (keys.has(id)) problems.push(`"SECRETS_ENCRYPTION_KEYS" names key "${id}" twice`);
    keys.set(id, key);
  }
  return keys;
}

function unreadableFiles(files: Record<string, string | undefined>): string[] {
  return Object.entries(files).flatMap(([name, file]) => {
    if (file === undefined) return [];
    try {
      accessSync(file, fsConstants.R_OK);
      return [];
    } catch {
      return [`"${name}" names ${file}, which cannot be read`];
    }
  });
}

/** The API's HTTPS needs both PEM files or neither, and each must be readable. */
function tlsProblems(certFile: string | undefined, keyFile: string | undefined): string[] {
  if (!certFile && !keyFile) return [];
  if (!certFile || !keyFile) {
    return ['"API_TLS_CERT_FILE" and "API_TLS_KEY_FILE" go together: set both (the API serves HTTPS) or neither (plain HTTP)'];
  }
  return unreadableFiles({ API_TLS_CERT_FILE: certFile, API_TLS_KEY_FILE: keyFile });
}

/**
 * Tracing is on when an OTLP endpoint is named (an empty variable names none), as the OpenTelemetry
 * variables say: the traces endpoint as given, else `/v1/traces` under the base endpoint;
 * OTEL_SDK_DISABLED turns it off.
 */
function tracingSettings(value: Record<string, string | boolean | undefined>): AppConfig['tracing'] {
  const { OTEL_SDK_DISABLED: disabled, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: traces, OTEL_EXPORTER_OTLP_ENDPOINT: base, OTEL_SERVICE_NAME: serviceName } = value;
  if (disabled === true || (!traces && !base)) return undefined;
  const tracesUrl = traces ? String(traces) : `${String(base).replace(/\/+$/, '')}/v1/traces`;
  return { tracesUrl, serviceName: String(serviceName) };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const { value, error } = schema.validate(env, { abortEarly: false, convert: true });
  const problems = error ? error.details.map((d) => d.message) : [];
  if (error) throw new ConfigError(problems);
  const keys = parseKeys(value.SECRETS_ENCRYPTION_KEYS, problems);
  if (!keys.has(value.SECRETS_ACTIVE_KEY_ID)) {
    problems.push(`"SECRETS_ACTIVE_KEY_ID" names key "${value.SECRETS_ACTIVE_KEY_ID}", which "SECRETS_ENCRYPTION_KEYS" does not hold`);
  }
  const openaiHosted = new URL(value.OPENAI_BASE_URL).hostname === 'api.openai.com';
  const orders = {
    script: parseOrder('script', value.SCRIPT_PROVIDER, problems),
    safety: parseOrder('safety', value.SAFETY_PROVIDER, problems),
    tts: parseOrder('tts', value.TTS_PROVIDER, problems),
    images: parseOrder('images', value.IMAGE_PROVIDER, problems),
    render: parseOrder('render', value.RENDER_PROVIDER, problems),
  };
  const needs: [boolean, string, string][] = [
    [orders.script.includes('gemini'), 'GEMINI_API_KEY', '"SCRIPT_PROVIDER" names gemini'],
    [orders.script.includes('openai') && openaiHosted, 'OPENAI_API_KEY', '"SCRIPT_PROVIDER" names openai and "OPENAI_BASE_URL" is api.openai.com'],
    [orders.safety.includes('gemini'), 'GEMINI_API_KEY', '"SAFETY_PROVIDER" names gemini'],
    [orders.safety.includes('openai') && openaiHosted, 'OPENAI_API_KEY', '"SAFETY_PROVIDER" names openai'],
    [orders.tts.includes('elevenlabs'), 'ELEVENLABS_API_KEY', '"TTS_PROVIDER" names elevenlabs'],
    [orders.images.includes('pexels'), 'PEXELS_API_KEY', '"IMAGE_PROVIDER" names pexels'],
    [orders.images.includes('stock') && !value.PIXABAY_API_KEY, 'PEXELS_API_KEY', '"IMAGE_PROVIDER" names stock and "PIXABAY_API_KEY" is not set'],
    [orders.images.includes('openai') && openaiHosted, 'OPENAI_API_KEY', '"IMAGE_PROVIDER" names openai'],
    [orders.render.includes('creatomate'), 'CREATOMATE_API_KEY', '"RENDER_PROVIDER" names creatomate'],
    [orders.render.includes('creatomate'), 'CREATOMATE_TEMPLATE_ID', '"RENDER_PROVIDER" names creatomate'],
    [Boolean(value.STRIPE_SECRET_KEY), 'STRIPE_WEBHOOK_SECRET', '"STRIPE_SECRET_KEY" is set (paid plans are activated by signed webhooks)'],
    [Boolean(value.GOOGLE_OIDC_CLIENT_ID), 'GOOGLE_OIDC_CLIENT_SECRET', '"GOOGLE_OIDC_CLIENT_ID" is set'],
    [Boolean(value.GOOGLE_OIDC_CLIENT_ID || value.KAKAO_OIDC_CLIENT_ID), 'OIDC_REDIRECT_URL', 'sign-in with Google or Kakao is configured'],
  ];
  for (const [needed, name, because] of needs) if (needed && !value[name]) problems.push(`"${name}" is required when ${because}`);
  // Their defaults suit a developer's machine only: production mails need the real web app and sender.
  if (value.NODE_ENV === 'production' && value.SMTP_URL) {
    for (const name of ['APP_PUBLIC_URL', 'MAIL_FROM']) if (!env[name]) problems.push(`"${name}" is required when "SMTP_URL" is set in production`);
  }
  problems.push(...tlsProblems(value.API_TLS_CERT_FILE, value.API_TLS_KEY_FILE), ...unreadableFiles({ S3_CA_FILE: value.S3_CA_FILE }));
  if (value.PGBACKREST_CONFIG && !value.POSTGRES_BIN_DIR) problems.push('"POSTGRES_BIN_DIR" is required when "PGBACKREST_CONFIG" is set (the restore drill starts a scratch server)');
  if (value.S3_BACKUP_BUCKET === value.S3_BUCKET) problems.push('"S3_BACKUP_BUCKET" must be a bucket of its own, not "S3_BUCKET" (backups are kept apart from the media)');
  const prices = stripePrices(env, value.STRIPE_PRICES, problems);
  if (problems.length > 0) throw new ConfigError(problems);
  return {
    nodeEnv: value.NODE_ENV,
    logLevel: value.LOG_LEVEL,
    databaseUrl: value.DATABASE_URL,
    databasePoolMax: value.DATABASE_POOL_MAX,
    backupDatabaseUrl: value.BACKUP_DATABASE_URL ?? value.DATABASE_URL,
    migrationDatabaseUrl: value.MIGRATION_DATABASE_URL ?? value.DATABASE_URL,
    redisUrl: value.REDIS_URL,
    mongodbUrl: value.MONGODB_URL,
    s3: {
      endpoint: value.S3_ENDPOINT,
      region: value.S3_REGION,
      bucket: value.S3_BUCKET,
      accessKeyId: value.S3_ACCESS_KEY_ID,
      secretAccessKey: value.S3_SECRET_ACCESS_KEY,
      forcePathStyle: value.S3_FORCE_PATH_STYLE,
      publicUrl: value.S3_PUBLIC_URL,
      presignEndpoint: value.S3_PRESIGN_ENDPOINT,
      caFile: value.S3_CA_FILE,
      backupBucket: value.S3_BACKUP_BUCKET,
    },
    operatorEmails: value.OPERATOR_EMAILS.split(',').map((e: string) => e.trim().toLowerCase()).filter(Boolean),
    webhooks: {
      retryInitialMs: value.WEBHOOK_RETRY_INITIAL_MS,
      retryMaxMs: Math.max(value.WEBHOOK_RETRY_MAX_MS, value.WEBHOOK_RETRY_INITIAL_MS),
      giveUpAfterMs: value.WEBHOOK_GIVE_UP_AFTER_MS,
      timeoutMs: value.WEBHOOK_TIMEOUT_MS,
      targets: { allowPrivate: value.NODE_ENV !== 'production', requireHttps: value.NODE_ENV === 'production' },
      creditsLowAt: value.CREDITS_LOW_AT,
    },
    recovery: value.PGBACKREST_CONFIG
      ? { pgBackRestConfig: value.PGBACKREST_CONFIG, stanza: value.PGBACKREST_STANZA, osUser: value.POSTGRES_OS_USER, postgresBinDir: value.POSTGRES_BIN_DIR }
      : undefined,
    temporal: {
      address: value.TEMPORAL_ADDRESS,
      namespace: value.TEMPORAL_NAMESPACE,
      taskQueue: value.TEMPORAL_TASK_QUEUE,
      mediaTaskQueue: value.TEMPORAL_MEDIA_TASK_QUEUE,
      uiUrl: value.TEMPORAL_UI_URL,
    },
    api: {
      host: value.API_HOST,
      port: value.API_PORT,
      corsOrigins: value.API_CORS_ORIGINS.split(',').map((o: string) => o.trim()).filter(Boolean),
      bodyLimit: value.API_BODY_LIMIT,
      rateLimitPerUser: value.API_RATE_LIMIT_PER_USER,
      rateLimitPerIp: value.API_RATE_LIMIT_PER_IP,
      authRateLimitPerIp: value.API_AUTH_RATE_LIMIT_PER_IP,
      tls: value.API_TLS_CERT_FILE ? { certFile: value.API_TLS_CERT_FILE, keyFile: value.API_TLS_KEY_FILE } : undefined,
      publicUrl: (value.API_PUBLIC_URL ?? `http://localhost:${value.API_PORT}`).replace(/\/+$/, ''),
    },
    metrics: {
      token: value.METRICS_TOKEN || undefined,
      workerHost: value.WORKER_METRICS_HOST,
      workerPort: value.WORKER_METRICS_PORT,
      temporalAddress: value.TEMPORAL_METRICS_ADDRESS || undefined,
    },
    tracing: tracingSettings(value),
    auth: {
      tokenSecret: Buffer.from(value.AUTH_TOKEN_SECRET, 'utf8'),
      accessTokenTtlSec: value.AUTH_ACCESS_TOKEN_TTL_SEC,
      refreshTokenTtlSec: value.AUTH_REFRESH_TOKEN_TTL_SEC,
    },
    email: {
      smtpUrl: value.SMTP_URL,
      from: value.MAIL_FROM,
      appUrl: value.APP_PUBLIC_URL.replace(/\/+$/, ''),
      timeoutMs: value.SMTP_TIMEOUT_MS,
      verifyTokenTtlSec: value.AUTH_EMAIL_VERIFY_TTL_SEC,
      resetTokenTtlSec: value.AUTH_PASSWORD_RESET_TTL_SEC,
      retryInitialMs: value.EMAIL_RETRY_INITIAL_MS,
      retryMaxMs: Math.max(value.EMAIL_RETRY_MAX_MS, value.EMAIL_RETRY_INITIAL_MS),
      giveUpAfterMs: value.EMAIL_GIVE_UP_AFTER_MS,
    },
    media: { workDir: value.MEDIA_WORK_DIR, concurrency: value.MEDIA_CONCURRENCY },
    pipeline: { safetyThreshold: value.SAFETY_THRESHOLD },
    script: {
      providers: orders.script,
      timeoutMs: value.SCRIPT_REQUEST_TIMEOUT_MS,
      gemini: {
        apiKey: value.GEMINI_API_KEY,
        baseUrl: value.GEMINI_BASE_URL,
        model: value.GEMINI_MODEL,
        prices: { inputPerMTokUsd: value.GEMINI_INPUT_PRICE_PER_MTOK, outputPerMTokUsd: value.GEMINI_OUTPUT_PRICE_PER_MTOK },
      },
      openai: {
        apiKey: value.OPENAI_API_KEY,
        baseUrl: value.OPENAI_BASE_URL,
        model: value.OPENAI_MODEL,
        prices: { inputPerMTokUsd: value.OPENAI_INPUT_PRICE_PER_MTOK, outputPerMTokUsd: value.OPENAI_OUTPUT_PRICE_PER_MTOK },
      },
    },
    safety: { providers: orders.safety, moderationModel: value.OPENAI_MODERATION_MODEL },
    tts: {
      providers: orders.tts,
      elevenlabs: {
        apiKey: value.ELEVENLABS_API_KEY,
        baseUrl: value.ELEVENLABS_BASE_URL,
        model: value.ELEVENLABS_MODEL,
        voices: { ko: value.ELEVENLABS_VOICE_KO, en: value.ELEVENLABS_VOICE_EN },
        pricePerThousandCharsUsd: value.ELEVENLABS_PRICE_PER_1K_CHARS,
        concurrency: value.ELEVENLABS_CONCURRENCY,
      },
    },
    images: {
      providers: orders.images,
      pexels: { apiKey: value.PEXELS_API_KEY, baseUrl: value.PEXELS_BASE_URL },
      pixabay: { apiKey: value.PIXABAY_API_KEY, baseUrl: value.PIXABAY_BASE_URL },
      openai: { model: value.OPENAI_IMAGE_MODEL, pricePerImageUsd: value.OPENAI_IMAGE_PRICE_PER_IMAGE },
      concurrency: value.IMAGE_CONCURRENCY,
    },
    render: {
      providers: orders.render,
      x264Preset: value.RENDER_X264_PRESET,
      creatomate: {
        apiKey: value.CREATOMATE_API_KEY,
        baseUrl: value.CREATOMATE_BASE_URL,
        templateId: value.CREATOMATE_TEMPLATE_ID,
        pricePerCreditUsd: value.CREATOMATE_PRICE_PER_CREDIT,
        concurrency: value.CREATOMATE_CONCURRENCY,
        pollIntervalMs: value.CREATOMATE_POLL_INTERVAL_MS,
      },
    },
    fallback: {
      tries: value.PROVIDER_TRIES,
      maxRetryWaitMs: value.PROVIDER_RETRY_MAX_WAIT_MS,
      breaker: { failures: value.PROVIDER_BREAKER_FAILURES, windowMs: value.PROVIDER_BREAKER_WINDOW_MS, cooldownMs: value.PROVIDER_BREAKER_COOLDOWN_MS },
    },
    costs: { maxPerContentUsd: value.MAX_COST_PER_CONTENT_USD },
    youtube: {
      clientId: value.YOUTUBE_CLIENT_ID,
      clientSecret: value.YOUTUBE_CLIENT_SECRET,
      authorizeUrl: value.YOUTUBE_AUTHORIZE_URL,
      oauthUrl: value.YOUTUBE_OAUTH_URL,
      uploadUrl: value.YOUTUBE_UPLOAD_URL,
      apiUrl: value.YOUTUBE_API_URL,
    },
    tiktok: { clientKey: value.TIKTOK_CLIENT_KEY, clientSecret: value.TIKTOK_CLIENT_SECRET, apiUrl: value.TIKTOK_API_URL, authorizeUrl: value.TIKTOK_AUTHORIZE_URL },
    instagram: {
      appId: value.INSTAGRAM_APP_ID,
      appSecret: value.INSTAGRAM_APP_SECRET,
      authorizeUrl: value.INSTAGRAM_AUTHORIZE_URL,
      oauthUrl: value.INSTAGRAM_OAUTH_URL,
      graphUrl: value.INSTAGRAM_GRAPH_URL,
      apiVersion: value.INSTAGRAM_API_VERSION,
    },
    channelConnect: { returnUrl: value.CHANNEL_CONNECT_RETURN_URL, stateTtlSec: value.CHANNEL_CONNECT_STATE_TTL_SEC },
    oidc: {
      google: value.GOOGLE_OIDC_CLIENT_ID
        ? { clientId: value.GOOGLE_OIDC_CLIENT_ID, clientSecret: value.GOOGLE_OIDC_CLIENT_SECRET, issuer: value.GOOGLE_OIDC_ISSUER, redirectUrl: value.OIDC_REDIRECT_URL }
        : undefined,
      kakao: value.KAKAO_OIDC_CLIENT_ID
        ? {
            clientId: value.KAKAO_OIDC_CLIENT_ID,
            clientSecret: value.KAKAO_OIDC_CLIENT_SECRET,
            issuer: value.KAKAO_OIDC_ISSUER,
            redirectUrl: value.OIDC_REDIRECT_URL,
            userInfoUrl: value.KAKAO_OIDC_USERINFO_URL,
          }
        : undefined,
    },
    stripe: {
      secretKey: value.STRIPE_SECRET_KEY,
      webhookSecret: value.STRIPE_WEBHOOK_SECRET,
      apiUrl: value.STRIPE_API_URL,
      prices,
      successUrl: value.BILLING_SUCCESS_URL,
      cancelUrl: value.BILLING_CANCEL_URL,
      portalReturnUrl: value.BILLING_PORTAL_RETURN_URL,
    },
    sources: {
      googleNewsUrl: value.SOURCES_GOOGLE_NEWS_URL,
      pubmedUrl: value.SOURCES_PUBMED_URL,
      pubmedApiKey: value.SOURCES_PUBMED_API_KEY,
      yahooFinanceUrl: value.SOURCES_YAHOO_FINANCE_URL,
      youtubeApiKey: value.SOURCES_YOUTUBE_API_KEY,
      youtubeApiUrl: value.YOUTUBE_API_URL ?? 'https://www.googleapis.com',
      timeoutMs: value.SOURCES_REQUEST_TIMEOUT_MS,
    },
    secrets: { keys, activeKeyId: value.SECRETS_ACTIVE_KEY_ID },
  };
}

/** The deployment's order of engines for every step. */
export function providerOrders(config: AppConfig): ProviderOrders {
  return { script: config.script.providers, safety: config.safety.providers, tts: config.tts.providers, images: config.images.providers, render: config.render.providers };
}

/**
 * The engines of each step this deployment can run: the local ones, and the remote ones whose keys
 * it holds (whether or not its own orders name them). A project's own order (style_preset.providers)
 * may name only these.
 */
export function availableProviders(config: AppConfig): { [S in ProviderStep]: ProviderName<S>[] } {
  const { gemini, openai } = config.script;
  const openaiUsable = Boolean(openai.apiKey) || new URL(openai.baseUrl).hostname !== 'api.openai.com';
  const { pexels, pixabay } = config.images;
  const { creatomate } = config.render;
  const llms = [...(gemini.apiKey ? (['gemini'] as const) : []), ...(openaiUsable ? (['openai'] as const) : [])];
  return {
    script: ['local', ...llms],
    safety: ['local', ...llms],
    tts: ['local', ...(config.tts.elevenlabs.apiKey ? (['elevenlabs'] as const) : [])],
    images: [
      'local',
      ...(pexels.apiKey ? (['pexels'] as const) : []),
      ...(pexels.apiKey || pixabay.apiKey ? (['stock'] as const) : []),
      ...(openaiUsable ? (['openai'] as const) : []),
    ],
    render: ['local', ...(creatomate.apiKey && creatomate.templateId ? (['creatomate'] as const) : [])],
  };
}

/** The variables `loadConfig` cannot do without: the docker-compose test checks each is set. */
export const REQUIRED_ENV_VARS: readonly string[] = Object.entries(schema.describe().keys as Record<string, { flags?: { presence?: string } }>)
  .filter(([, d]) => d.flags?.presence === 'required')
  .map(([name]) => name);
