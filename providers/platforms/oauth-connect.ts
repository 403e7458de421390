import type { Platform } from '../../db/models';
import type { AppConfig } from '../../lib/config';
import { withQuery } from '../oauth';
import { ProviderError } from '../errors';
import { codeForStatus, httpFailure } from '../http';
import { callLabel, optionalString, parseAnswer, platformExchange, platformUsage, record, toCount, type PlatformCallState, type PlatformService } from './exchange';
import { INSTAGRAM_DEFAULT_API_VERSION, INSTAGRAM_DEFAULT_GRAPH_URL } from './instagram';
import { TIKTOK_DEFAULT_BASE_URL } from './tiktok';
import type { PlatformCallOptions } from './types';
import { YOUTUBE_DEFAULT_ENDPOINTS } from './youtube';

/**
 * The authorization side of the platforms: the consent page a user is sent to, and the callback's
 * work once the platform sends the browser back with a code: the code exchanged for tokens (with
 * the PKCE verifier where the platform takes one), the granted scopes checked, and the account the
 * tokens belong to read from the platform (its id, name and URL).
 *
 * - YouTube (Google OAuth 2.0 for web servers): PKCE S256, `access_type=offline` and
 *   `prompt=consent` so a refresh token comes every time; the channel from `channels?mine=true`.
 * - TikTok (Login Kit for Web, v2): TikTok documents PKCE for its desktop and mobile kits only, so
 *   the web flow relies on `state`; the account from `user/info` and its handle from the creator info.
 * - Instagram API with Instagram Login: no PKCE; the short-lived token (one hour) is exchanged at
 *   once for a long-lived one (60 days) that the Reels client refreshes; the account from `/me`.
 */

export const YOUTUBE_DEFAULT_AUTHORIZE_URL = 'https://accounts.google.com/o/oauth2/v2/auth';
export const TIKTOK_DEFAULT_AUTHORIZE_URL = 'https://www.tiktok.com/v2/auth/authorize/';
export const INSTAGRAM_DEFAULT_AUTHORIZE_URL = 'https://www.instagram.com/oauth/authorize';
export const INSTAGRAM_DEFAULT_OAUTH_URL = 'https://api.instagram.com';

/** What each platform is asked for; the granted scopes must cover `required`. */
export const CONNECT_SCOPES: Readonly<Record<Platform, { requested: readonly string[]; required: readonly string[]; separator: string }>> = {
  youtube: {
    requested: ['https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube.readonly'],
    required: ['https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube.readonly'],
    separator: ' ',
  },
  // video.publish: direct posts and the creator info; video.list: the counters of the posts.
  tiktok: { requested: ['user.info.basic', 'video.publish', 'video.list'], required: ['user.info.basic', 'video.publish'], separator: ',' },
  instagram: {
    requested: ['instagram_business_basic', 'instagram_business_content_publish'],
    required: ['instagram_business_basic', 'instagram_business_content_publish'],
    separator: ',',
  },
};

/** Google answers one hour, TikTok one day, Instagram's long-lived tokens 60 days, when an answer names no lifetime. */
const DEFAULT_LIFETIME_SEC: Readonly<Record<Platform, number>> = { youtube: 3600, tiktok: 86_400, instagram: 60 * 86_400 };

export type ConnectOperation = 'oauth_code' | 'oauth_exchange' | 'account';

export type ConnectCallOptions = Pick<PlatformCallOptions, 'signal' | 'onUsage' | 'onFailedCall'>;

export interface ConsentRequest {
  state: string;
  redirectUri: string;
  /** The PKCE S256 challenge, for platforms that take one. */
  codeChallenge?: string;
}

export interface AuthorizationGrant {
  code: string;
  /** The redirect URI of the consent request, sent again as the platforms require. */
  redirectUri: string;
  codeVerifier?: string;
}

/** The account the user authorized and its tokens, as the channel row stores them. */
export interface ConnectedAccount {
  channelId: string;
  channelName: string | null;
  channelUrl: string | null;
  accessToken: string;
  refreshToken?: string;
  expiresAt: Date;
}

/** What the platform granted cannot be used: scopes left unticked, or no channel behind the account. */
export class ConsentRefused extends Error {
  constructor(
    readonly reason: 'insufficient_scope' | 'no_channel',
    message: string,
  ) {
    super(message);
    this.name = 'ConsentRefused';
  }
}

export interface PlatformConsent {
  /** Whether the consent request carries a PKCE S256 challenge (and the code exchange its verifier). */
  readonly pkce: boolean;
  consentUrl(request: ConsentRequest): string;
  /** Exchanges the code and reads the account; `ProviderError` when the platform fails it, `ConsentRefused` when what it granted is unusable. */
  connect(grant: AuthorizationGrant, options?: ConnectCallOptions): Promise<ConnectedAccount>;
}

const SERVICES: Readonly<Record<Platform, PlatformService>> = {
  youtube: { platform: 'youtube', name: 'YouTube' },
  tiktok: { platform: 'tiktok', name: 'TikTok' },
  instagram: { platform: 'instagram', name: 'Instagram' },
};

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' };

/** The error of an answer in any of the platforms' shapes: OAuth `{error, error_description}`, Google and Graph `{error: {message, …}}`, TikTok `{error: {code, message}}`, api.instagram.com `{error_type, error_message}`. */
function answerError(body: Record<string, unknown>): { reason?: string; message?: string } {
  if (typeof body.error === 'string') return { reason: body.error, message: optionalString(body.error_description) ?? body.error };
  const error = record(body.error);
  if (Object.keys(error).length > 0) {
    const first = record(Array.isArray(error.errors) ? error.errors[0] : undefined);
    const code = typeof error.code === 'number' ? String(error.code) : optionalString(error.code);
    return { reason: optionalString(first.reason) ?? optionalString(error.status) ?? code, message: optionalString(error.message) };
  }
  return { reason: optionalString(body.error_type), message: optionalString(body.error_message) };
}

function grantedScopes(value: unknown): string[] | undefined {
  if (typeof value === 'string') return value.split(/[\s,]+/).filter(Boolean);
  return Array.isArray(value) ? value.filter((scope): scope is string => typeof scope === 'string') : undefined;
}

/** One platform's calls: each request recorded as a usage or a failed call, every secret kept out of messages. */
class ConsentCalls {
  private readonly secrets: string[];

  constructor(
    private readonly platform: Platform,
    private readonly timeoutMs: number,
    secrets: readonly (string | undefined)[],
    private readonly options: ConnectCallOptions,
  ) {
    this.secrets = secrets.filter((secret): secret is string => Boolean(secret));
  }

  /** A token or code learnt during the call, kept out of every later message. */
  hide(secret: string | undefined): void {
    if (secret) this.secrets.push(secret);
  }

  /** One request; its JSON answer, or a `ProviderError` with the platform's message (also recorded as a failed call). */
  async send(operation: ConnectOperation, url: string, init: RequestInit, quotaUnits = 0): Promise<Record<string, unknown>> {
    const service = SERVICES[this.platform];
    const state: PlatformCallState<ConnectOperation> = { operation, refreshedAfterReject: false, calls: 0, secrets: this.secrets, options: this.options };
    const startedAt = performance.now();
    const body = await platformExchange(service, state, url, init, this.timeoutMs, (response, text) => {
      const parsed = parseAnswer(text, {});
      const fields = record(parsed);
      const { reason, message } = answerError(fields);
      if (!response.ok || (reason !== undefined && reason !== 'ok')) {
        throw httpFailure(callLabel(service, state), response.status, message ?? (text.slice(0, 300) || response.statusText), {
          code: response.ok ? 'bad_request' : codeForStatus(response.status),
          ...(reason ? { providerReason: reason } : {}),
          secrets: this.secrets,
        });
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ProviderError(this.platform, 'invalid_response', `${service.name} ${operation}: the answer is not a JSON object`, { statusCode: response.status });
      }
      return fields;
    });
    platformUsage(service, state, { startedAt, inputUnits: quotaUnits, outputUnits: 1, usdPerCall: 0 });
    return body;
  }

  /** The access token of a token answer, its lifetime and refresh token, after checking the granted scopes. */
  tokens(operation: ConnectOperation, body: Record<string, unknown>, scopes: string[] | undefined): Pick<ConnectedAccount, 'accessToken' | 'refreshToken' | 'expiresAt'> {
    const accessToken = optionalString(body.access_token);
    if (!accessToken) throw new ProviderError(this.platform, 'invalid_response', `${SERVICES[this.platform].name} ${operation}: the answer has no access_token`);
    const refreshToken = optionalString(body.refresh_token);
    this.hide(accessToken);
    this.hide(refreshToken);
    const missing = scopes ? CONNECT_SCOPES[this.platform].required.filter((scope) => !scopes.includes(scope)) : [];
    if (missing.length > 0) throw new ConsentRefused('insufficient_scope', `${SERVICES[this.platform].name} did not grant ${missing.join(', ')}`);
    const lifetimeSec = toCount(body.expires_in) || DEFAULT_LIFETIME_SEC[this.platform];
    return { accessToken, ...(refreshToken ? { refreshToken } : {}), expiresAt: new Date(Date.now() + lifetimeSec * 1000) };
  }
}

const trimmed = (url: string): string => url.replace(/\/+$/, '');

/** Google OAuth 2.0 for YouTube, with PKCE. */
class YouTubeConsent implements PlatformConsent {
  readonly pkce = true;

  constructor(
    private readonly config: AppConfig['youtube'] & { clientId: string; clientSecret: string },
    private readonly timeoutMs: number,
  ) {}

  consentUrl({ state, redirectUri, codeChallenge }: ConsentRequest): string {
    return withQuery(this.config.authorizeUrl ?? YOUTUBE_DEFAULT_AUTHORIZE_URL, {
      client_id: this.config.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: CONNECT_SCOPES.youtube.requested.join(CONNECT_SCOPES.youtube.separator),
      access_type: 'offline',
      prompt: 'consent',
      state,
      code_challenge: codeChallenge,
      code_challenge_method: codeChallenge ? 'S256' : undefined,
    });
  }

  async connect(grant: AuthorizationGrant, options: ConnectCallOptions = {}): Promise<ConnectedAccount> {
    const calls = new ConsentCalls('youtube', this.timeoutMs, [this.config.clientSecret, grant.code, grant.codeVerifier], options);
    const form = new URLSearchParams({
      code: grant.code,
      client_id: this.config.clientId,
      client_secret: this.config.clientSecret,
      redirect_uri: grant.redirectUri,
      grant_type: 'authorization_code',
      ...(grant.codeVerifier ? { code_verifier: grant.codeVerifier } : {}),
    });
    const oauthUrl = trimmed(this.config.oauthUrl ?? YOUTUBE_DEFAULT_ENDPOINTS.oauthUrl);
    const answer = await calls.send('oauth_code', `${oauthUrl}/token`, { method: 'POST', headers: FORM, body: form.toString() });
    const tokens = calls.tokens('oauth_code', answer, grantedScopes(answer.scope));
    const apiUrl = trimmed(this.config.apiUrl ?? YOUTUBE_DEFAULT_ENDPOINTS.apiUrl);
    // channels.list costs one quota unit.
    const listed = await calls.send('account', `${apiUrl}/youtube/v3/channels?part=snippet&mine=true`, { headers: { Authorization: `Bearer ${tokens.accessToken}`, Accept: 'application/json' } }, 1);
    const channel = record(Array.isArray(listed.items) ? listed.items[0] : undefined);
    const id = optionalString(channel.id);
    if (!id) throw new ConsentRefused('no_channel', 'the Google account has no YouTube channel');
    return { channelId: id, channelName: optionalString(record(channel.snippet).title) ?? null, channelUrl: `https://www.youtube.com/channel/${encodeURIComponent(id)}`, ...tokens };
  }
}

/** TikTok Login Kit for Web (v2). */
class TikTokConsent implements PlatformConsent {
  readonly pkce = false;

  constructor(
    private readonly config: AppConfig['tiktok'] & { clientKey: string; clientSecret: string },
    private readonly timeoutMs: number,
  ) {}

  consentUrl({ state, redirectUri }: ConsentRequest): string {
    return withQuery(this.config.authorizeUrl ?? TIKTOK_DEFAULT_AUTHORIZE_URL, {
      client_key: this.config.clientKey,
      response_type: 'code',
      scope: CONNECT_SCOPES.tiktok.requested.join(CONNECT_SCOPES.tiktok.separator),
      redirect_uri: redirectUri,
      state,
    });
  }

  async connect(grant: AuthorizationGrant, options: ConnectCallOptions = {}): Promise<ConnectedAccount> {
    const calls = new ConsentCalls('tiktok', this.timeoutMs, [this.config.clientSecret, grant.code], options);
    const base = trimmed(this.config.apiUrl ?? TIKTOK_DEFAULT_BASE_URL);
    const form = new URLSearchParams({
      client_key: this.config.clientKey,
      client_secret: this.config.clientSecret,
      code: grant.code,
      grant_type: 'authorization_code',
      redirect_uri: grant.redirectUri,
    });
    const answer = await calls.send('oauth_code', `${base}/v2/oauth/token/`, { method: 'POST', headers: FORM, body: form.toString() });
    const tokens = calls.tokens('oauth_code', answer, grantedScopes(answer.scope));
    const bearer = { Authorization: `Bearer ${tokens.accessToken}`, Accept: 'application/json' };
    const info = await calls.send('account', `${base}/v2/user/info/?fields=open_id,display_name`, { headers: bearer });
    const user = record(record(info.data).user);
    const openId = optionalString(user.open_id) ?? optionalString(answer.open_id);
    if (!openId) throw new ProviderError('tiktok', 'invalid_response', 'TikTok account: the answer has no open_id');
    // The handle (for the profile link) needs user.info.profile in user/info; the creator info gives it under video.publish.
    const creator = await calls.send('account', `${base}/v2/post/publish/creator_info/query/`, {
      method: 'POST',
      headers: { ...bearer, 'Content-Type': 'application/json; charset=UTF-8' },
    });
    const username = optionalString(record(creator.data).creator_username);
    return {
      channelId: openId,
      channelName: optionalString(user.display_name) ?? username ?? null,
      channelUrl: username ? `https://www.tiktok.com/@${encodeURIComponent(username)}` : null,
      ...tokens,
    };
  }
}

/** Instagram API with Instagram Login (Business Login for Instagram). */
class InstagramConsent implements PlatformConsent {
  readonly pkce = false;

  constructor(
    private readonly config: AppConfig['instagram'] & { appId: string; appSecret: string },
    private readonly timeoutMs: number,
  ) {}

  consentUrl({ state, redirectUri }: ConsentRequest): string {
    return withQuery(this.config.authorizeUrl ?? INSTAGRAM_DEFAULT_AUTHORIZE_URL, {
      client_id: this.config.appId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: CONNECT_SCOPES.instagram.requested.join(CONNECT_SCOPES.instagram.separator),
      state,
    });
  }

  async connect(grant: AuthorizationGrant, options: ConnectCallOptions = {}): Promise<ConnectedAccount> {
    const calls = new ConsentCalls('instagram', this.timeoutMs, [this.config.appSecret, grant.code], options);
    const form = new URLSearchParams({
      client_id: this.config.appId,
      client_secret: this.config.appSecret,
      grant_type: 'authorization_code',
      redirect_uri: grant.redirectUri,
      code: grant.code,
    });
    const oauthUrl = trimmed(this.config.oauthUrl ?? INSTAGRAM_DEFAULT_OAUTH_URL);
    const answer = await calls.send('oauth_code', `${oauthUrl}/oauth/access_token`, { method: 'POST', headers: FORM, body: form.toString() });
    // Documented as `{data: [{access_token, user_id, permissions}]}`; older answers are flat.
    const granted = Array.isArray(answer.data) ? record(answer.data[0]) : answer;
    const shortLived = calls.tokens('oauth_code', granted, grantedScopes(granted.permissions));
    const graphUrl = trimmed(this.config.graphUrl ?? INSTAGRAM_DEFAULT_GRAPH_URL);
    const exchange = new URLSearchParams({ grant_type: 'ig_exchange_token', client_secret: this.config.appSecret, access_token: shortLived.accessToken });
    const longLived = calls.tokens('oauth_exchange', await calls.send('oauth_exchange', `${graphUrl}/access_token?${exchange.toString()}`, { headers: { Accept: 'application/json' } }), undefined);
    const version = this.config.apiVersion ?? INSTAGRAM_DEFAULT_API_VERSION;
    const me = await calls.send('account', `${graphUrl}/${version}/me?fields=user_id,username`, { headers: { Authorization: `Bearer ${longLived.accessToken}`, Accept: 'application/json' } });
    // `user_id` is the professional account's id, the one content publishing addresses.
    const userId = typeof me.user_id === 'number' ? String(me.user_id) : optionalString(me.user_id);
    if (!userId || !/^\d{1,32}$/.test(userId)) throw new ProviderError('instagram', 'invalid_response', 'Instagram account: the answer has no user_id');
    const username = optionalString(me.username);
    return { channelId: userId, channelName: username ?? null, channelUrl: username ? `https://www.instagram.com/${encodeURIComponent(username)}` : null, ...longLived };
  }
}

/** The deadline of each request of a consent's callback. */
const CONSENT_REQUEST_TIMEOUT_MS = 30_000;

/** Each platform's consent flow, or undefined where this deployment has no app credentials for it. */
export function platformConsents(config: Pick<AppConfig, 'youtube' | 'tiktok' | 'instagram'>): Record<Platform, PlatformConsent | undefined> {
  const timeoutMs = CONSENT_REQUEST_TIMEOUT_MS;
  const { youtube, tiktok, instagram } = config;
  return {
    youtube: youtube.clientId && youtube.clientSecret ? new YouTubeConsent({ ...youtube, clientId: youtube.clientId, clientSecret: youtube.clientSecret }, timeoutMs) : undefined,
    tiktok: tiktok.clientKey && tiktok.clientSecret ? new TikTokConsent({ ...tiktok, clientKey: tiktok.clientKey, clientSecret: tiktok.clientSecret }, timeoutMs) : undefined,
    instagram: instagram.appId && instagram.appSecret ? new InstagramConsent({ ...instagram, appId: instagram.appId, appSecret: instagram.appSecret }, timeoutMs) : undefined,
  };
}

/** The variables a platform's consent flow needs, for the message when they are missing. */
export const CONNECT_VARIABLES: Readonly<Record<Platform, string>> = {
  youtube: 'YOUTUBE_CLIENT_ID and YOUTUBE_CLIENT_SECRET',
  tiktok: 'TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET',
  instagram: 'INSTAGRAM_APP_ID and INSTAGRAM_APP_SECRET',
};
