import { ProviderError, type ProviderErrorCode } from '../errors';
import { codeForStatus, httpFailure, parseRetryAfterMs, redactSecrets, sleep } from '../http';
import type { ProviderUsage } from '../types';
import { adoptToken, callLabel, optionalString, parseAnswer, platformExchange, platformUsage, record, refreshedTokenOf, toCount, type PlatformCallState, type PlatformService, type StatisticsResult } from './exchange';
import type {
  PlatformAccessToken,
  PlatformCallOptions,
  PlatformClient,
  PlatformUploadOptions,
  PlatformUploadResult,
  PlatformVideoStatistics,
} from './types';

/**
 * Instagram API with Instagram Login (Business Login for Instagram, host graph.instagram.com):
 * Reels publishing, long-lived token refresh and media insights. Instagram fetches the video
 * itself from a public URL (the caller passes an S3 presigned GET): the client creates a REELS
 * container, polls its `status_code` until FINISHED, publishes it with `media_publish` and reads
 * the permalink. The container, then the published media, are handed to `onSession` (and
 * awaited) before the next step; an attempt given one back as `session` continues from there: a
 * container is published only if it is not yet, a container an earlier attempt published leads to
 * its reel among the account's latest media, and a dead container is replaced once.
 *
 * Tokens: long-lived Instagram User tokens (60 days) are refreshed with
 * `GET /refresh_access_token?grant_type=ig_refresh_token`, which only accepts a token that has not
 * expired yet, so the client refreshes ahead of `expiresAt` (`refreshWithinMs`) and once when a
 * call answers code 190. Tokens of Facebook Login for Business (graph.facebook.com) cannot be
 * refreshed this way and are not supported. Failures are `ProviderError`s of provider
 * 'instagram': code 190 `auth_revoked` once the refresh did not help, codes 4, 17, 32, 613 and 80002
 * `rate_limited` (Retry-After or the Business Use Case header's estimated time to regain access,
 * else one minute), the 24-hour publishing cap (code 9, subcode 2207042) `quota_exceeded`, a
 * container that ends in ERROR non-retryable with its status, unless Instagram calls it transient.
 */

export const INSTAGRAM_DEFAULT_GRAPH_URL = 'https://graph.instagram.com';
export const INSTAGRAM_DEFAULT_API_VERSION = 'v23.0';

const RATE_LIMIT_CODES = new Set([4, 17, 32, 613, 80002]);
/** Subcodes Instagram documents as "try again" (server error, download timeout, failed container creation, unknown upload error). */
const TRANSIENT_SUBCODES = new Set([2207001, 2207003, 2207032, 2207053]);
const PUBLISH_LIMIT_SUBCODE = 2207042;
const SPAM_SUBCODE = 2207051;
const MISSING_OBJECT_SUBCODE = 33;
/** Meta counts calls over a rolling hour and names no wait when its Business Use Case header is absent. */
const DEFAULT_RATE_WAIT_MS = 60_000;
const CAPTION_MAX_CHARS = 2200;
const CAPTION_MAX_HASHTAGS = 30;
const UPLOAD_STEPS = 3;
/** How many of the account's latest media are searched for the reel of a container published earlier. */
const RECENT_MEDIA_LIMIT = 25;
const INSIGHT_METRICS = ['views', 'likes', 'comments', 'shares'] as const;

export type InstagramOperation = 'oauth_refresh' | 'upload' | 'metrics';

export interface InstagramClientOptions {
  /** Default https://graph.instagram.com. */
  graphUrl?: string;
  /** Default v23.0. */
  apiVersion?: string;
  /** Deadline of every request. Default 30 s. */
  requestTimeoutMs?: number;
  /** Wait between two container status polls. Default 10 s. */
  pollIntervalMs?: number;
  /** Longest wait for a container to finish before a retryable failure (the retry polls the same container). Default 10 min. */
  maxWaitMs?: number;
  /** Refresh the token before a call when it expires within this time. Default 7 days. */
  refreshWithinMs?: number;
  /** USD per API call, for `estimatedCostUsd`; the Graph API is free. Default 0. */
  usdPerCall?: number;
}

export interface InstagramCredentials {
  /** The professional account's Instagram user id. */
  userId: string;
  /** A long-lived Instagram User access token. */
  accessToken: string;
  expiresAt?: Date;
}

export interface InstagramUploadRequest {
  credentials: InstagramCredentials;
  /** A URL Instagram can fetch the video from, valid until processing ends (an S3 presigned GET of an hour or more). */
  videoUrl: string;
  /** Cut to Instagram's 2200 characters and 30 hashtags. */
  caption?: string;
  /** Also show the reel in the feed. Default true. */
  shareToFeed?: boolean;
  /** Instagram's AI info label (`is_ai_generated` on the container), declared on every reel. */
  aiGenerated: boolean;
  /** A public URL of a cover image. */
  coverUrl?: string;
  /** The frame used as cover when there is no `coverUrl`. */
  thumbOffsetMs?: number;
  /** The session of an earlier attempt (see `onSession`). */
  session?: string;
}

export interface InstagramUploadResult extends PlatformUploadResult {
  status: 'published';
  /** The container, when this attempt created or polled it. */
  containerId?: string;
  usage: ProviderUsage;
}

export interface InstagramVideoStatistics extends PlatformVideoStatistics {
  shares: number;
}

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

interface Container {
  statusCode: string;
  status?: string;
}

type Session = { kind: 'container' | 'media'; id: string };

interface CallState extends PlatformCallState<InstagramOperation> {
  credentials: InstagramCredentials;
  accessToken: string;
}

const INSTAGRAM: PlatformService = { platform: 'instagram', name: 'Instagram' };

function optionalInteger(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}

/** Graph ids are numeric strings; anything else in a session or an answer is refused. */
function isGraphId(value: string | undefined): value is string {
  return value !== undefined && /^\d{1,32}$/.test(value);
}

/** The caption within Instagram's limits: hashtags past the 30th are dropped, then the text is cut to 2200 characters. */
export function fitCaption(caption: string): string {
  let hashtags = 0;
  const kept = caption.replace(/(\s*)(#[\p{L}\p{N}_]+)/gu, (whole: string) => (++hashtags > CAPTION_MAX_HASHTAGS ? '' : whole)).trim();
  const points = Array.from(kept);
  return points.length <= CAPTION_MAX_CHARS ? kept : points.slice(0, CAPTION_MAX_CHARS).join('').trim();
}

function parseSession(session: string): Session {
  const match = /^(container|media):(.+)$/.exec(session);
  if (!match || !isGraphId(match[2])) throw new ProviderError('instagram', 'bad_request', 'Instagram upload: the session to continue from is not one this client handed out');
  return { kind: match[1] as Session['kind'], id: match[2] };
}

function classify(httpStatus: number, code: number | undefined, subcode: number | undefined, transient: boolean): ProviderErrorCode {
  if (code === 190) return 'auth_revoked';
  if (code === 9 && subcode === PUBLISH_LIMIT_SUBCODE) return 'quota_exceeded';
  // Code 4 also flags a publication as spam, which waiting does not lift.
  if (code === 4 && subcode === SPAM_SUBCODE) return 'forbidden';
  if (code !== undefined && RATE_LIMIT_CODES.has(code)) return 'rate_limited';
  if (transient || code === 2 || (code === 1 && subcode === undefined) || (subcode !== undefined && TRANSIENT_SUBCODES.has(subcode))) return 'server_error';
  if (code === 10 || (code !== undefined && code >= 200 && code <= 299)) return 'forbidden';
  if (code === 100 && subcode === MISSING_OBJECT_SUBCODE) return 'not_found';
  return codeForStatus(httpStatus);
}

/** Minutes Meta says it takes to regain access, from `X-Business-Use-Case-Usage` (`{id: [{estimated_time_to_regain_access}]}`). */
function regainAccessMs(header: string | null): number | undefined {
  if (!header) return undefined;
  let usage: unknown;
  try {
    usage = JSON.parse(header);
  } catch {
    return undefined;
  }
  const minutes = Object.values(record(usage))
    .flatMap((entries) => (Array.isArray(entries) ? entries : []))
    .map((entry) => toCount(record(entry).estimated_time_to_regain_access));
  const longest = Math.max(0, ...minutes);
  return longest > 0 ? longest * 60_000 : undefined;
}

export class InstagramClient implements PlatformClient<InstagramCredentials, InstagramUploadRequest> {
  private readonly graphUrl: string;
  private readonly apiUrl: string;
  private readonly requestTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly maxWaitMs: number;
  private readonly refreshWithinMs: number;
  private readonly usdPerCall: number;

  constructor(options: InstagramClientOptions = {}) {
    this.graphUrl = (options.graphUrl ?? INSTAGRAM_DEFAULT_GRAPH_URL).replace(/\/+$/, '');
    this.apiUrl = `${this.graphUrl}/${options.apiVersion ?? INSTAGRAM_DEFAULT_API_VERSION}`;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 10_000;
    this.maxWaitMs = options.maxWaitMs ?? 10 * 60_000;
    this.refreshWithinMs = options.refreshWithinMs ?? 7 * 24 * 3_600_000;
    this.usdPerCall = options.usdPerCall ?? 0;
  }

  /** A new long-lived token, valid 60 days; the current one must be at least a day old and not expired. */
  async refreshAccessToken(credentials: InstagramCredentials, options: PlatformCallOptions = {}): Promise<PlatformAccessToken & { usage: ProviderUsage }> {
    const state = this.state('oauth_refresh', credentials, options);
    const startedAt = performance.now();
    const query = new URLSearchParams({ grant_type: 'ig_refresh_token', access_token: credentials.accessToken });
    const token = await this.exchange(state, 'GET', `${this.graphUrl}/refresh_access_token?${query.toString()}`, undefined, ({ body, status }) => {
      const accessToken = optionalString(body.access_token);
      if (!accessToken) throw new ProviderError('instagram', 'invalid_response', 'Instagram oauth_refresh: the answer has no access_token', { statusCode: status });
      return { accessToken, expiresAt: new Date(Date.now() + (toCount(body.expires_in) || 60 * 86_400) * 1000) };
    });
    return { ...token, usage: this.succeeded(state, startedAt, 1) };
  }

  async upload(request: InstagramUploadRequest, options: PlatformUploadOptions = {}): Promise<InstagramUploadResult> {
    if (!/^https?:\/\//i.test(request.videoUrl)) throw new ProviderError('instagram', 'bad_request', 'Instagram upload: the video URL must be an http(s) URL Instagram can fetch');
    if (!isGraphId(request.credentials.userId)) throw new ProviderError('instagram', 'bad_request', 'Instagram upload: the account has no valid Instagram user id');
    const session = request.session ? parseSession(request.session) : undefined;
    const state = this.state('upload', request.credentials, options);
    state.secrets.push(request.videoUrl);
    const startedAt = performance.now();
    let mediaId = session?.kind === 'media' ? session.id : undefined;
    let containerId = session?.kind === 'container' ? session.id : undefined;
    if (!mediaId) {
      let inherited = containerId !== undefined;
      options.onProgress?.(0, UPLOAD_STEPS);
      for (;;) {
        if (!containerId) {
          containerId = await this.createContainer(state, request);
          await options.onSession?.(`container:${containerId}`);
        }
        const container = await this.awaitContainer(state, containerId, options);
        if (container.statusCode === 'FINISHED') break;
        if (inherited && container.statusCode === 'PUBLISHED') {
          // The earlier attempt published it but did not live to keep the media id.
          mediaId = await this.findPublished(state, request, containerId);
          break;
        }
        if (inherited) {
          // An earlier attempt's container died: this attempt starts a new one, once.
          inherited = false;
          containerId = undefined;
          continue;
        }
        throw this.containerFailure(state, containerId, container);
      }
      if (!mediaId) {
        options.onProgress?.(2, UPLOAD_STEPS);
        mediaId = await this.publish(state, containerId);
      }
      await options.onSession?.(`media:${mediaId}`);
    }
    const url = await this.permalink(state, mediaId);
    options.onProgress?.(UPLOAD_STEPS, UPLOAD_STEPS);
    return {
      videoId: mediaId,
      url,
      status: 'published',
      ...(containerId ? { containerId } : {}),
      usage: this.succeeded(state, startedAt, 1),
      ...refreshedTokenOf(state),
    };
  }

  /** Views, likes, comments and shares of each reel (one insights call per media); media Instagram no longer has are left out. */
  async fetchStatistics(
    credentials: InstagramCredentials,
    videoIds: readonly string[],
    options: PlatformCallOptions = {},
  ): Promise<StatisticsResult<InstagramVideoStatistics>> {
    const state = this.state('metrics', credentials, options);
    const startedAt = performance.now();
    const items: InstagramVideoStatistics[] = [];
    for (const id of new Set(videoIds)) {
      if (!isGraphId(id)) continue;
      const query = new URLSearchParams({ metric: INSIGHT_METRICS.join(',') });
      const counts = await this.authorized(state, () =>
        this.exchange(state, 'GET', `${this.apiUrl}/${id}/insights?${query.toString()}`, undefined, ({ body, status }) => {
          if (!Array.isArray(body.data)) throw new ProviderError('instagram', 'invalid_response', 'Instagram metrics: the insights answer has no data list', { statusCode: status });
          const values: Record<string, number> = {};
          for (const entry of body.data.map(record)) {
            const name = optionalString(entry.name);
            const first = Array.isArray(entry.values) ? record(entry.values[0]).value : undefined;
            if (name) values[name] = toCount(first ?? record(entry.total_value).value);
          }
          return values;
        }),
      ).catch((error: unknown) => {
        if (error instanceof ProviderError && error.code === 'not_found') return undefined;
        throw error;
      });
      if (counts) items.push({ videoId: id, views: counts.views ?? 0, likes: counts.likes ?? 0, comments: counts.comments ?? 0, shares: counts.shares ?? 0 });
    }
    return { items, usage: this.succeeded(state, startedAt, items.length), ...refreshedTokenOf(state) };
  }

  private async createContainer(state: CallState, request: InstagramUploadRequest): Promise<string> {
    const body = {
      media_type: 'REELS',
      video_url: request.videoUrl,
      caption: fitCaption(request.caption ?? ''),
      share_to_feed: request.shareToFeed ?? true,
      is_ai_generated: request.aiGenerated,
      ...(request.coverUrl ? { cover_url: request.coverUrl } : {}),
      ...(request.thumbOffsetMs !== undefined ? { thumb_offset: Math.max(0, Math.round(request.thumbOffsetMs)) } : {}),
    };
    return this.authorized(state, () =>
      this.exchange(state, 'POST', `${this.apiUrl}/${request.credentials.userId}/media`, body, ({ body: answer, status }) => {
        const id = optionalString(answer.id);
        if (!isGraphId(id)) throw new ProviderError('instagram', 'invalid_response', 'Instagram upload: the container answer has no id', { statusCode: status });
        return id;
      }),
    );
  }

  /** Polls until the container leaves IN_PROGRESS, heartbeating on every poll. */
  private async awaitContainer(state: CallState, containerId: string, options: PlatformUploadOptions): Promise<Container> {
    const deadline = Date.now() + this.maxWaitMs;
    const query = new URLSearchParams({ fields: 'status_code,status' });
    for (;;) {
      const container = await this.authorized(state, () =>
        this.exchange(state, 'GET', `${this.apiUrl}/${containerId}?${query.toString()}`, undefined, ({ body, status }): Container => {
          const statusCode = optionalString(body.status_code);
          if (!statusCode) throw new ProviderError('instagram', 'invalid_response', 'Instagram upload: the container answer has no status_code', { statusCode: status });
          const text = optionalString(body.status);
          return { statusCode, ...(text ? { status: text } : {}) };
        }),
      );
      options.onProgress?.(1, UPLOAD_STEPS);
      if (container.statusCode !== 'IN_PROGRESS') return container;
      if (Date.now() + this.pollIntervalMs > deadline) {
        throw new ProviderError('instagram', 'server_error', `Instagram upload: container ${containerId} is still IN_PROGRESS after ${Math.round(this.maxWaitMs / 1000)} s`, {
          providerReason: 'processing_timeout',
        });
      }
      await sleep(this.pollIntervalMs, options.signal);
    }
  }

  /** ERROR is final unless Instagram's subcode says to try again with a new container; EXPIRED needs a new one too. */
  private containerFailure(state: CallState, containerId: string, container: Container): ProviderError {
    const detail = container.status ?? 'no status';
    if (container.statusCode === 'EXPIRED') {
      return new ProviderError('instagram', 'session_expired', `Instagram upload: container ${containerId} expired before it was published`, { providerReason: 'EXPIRED' });
    }
    const subcode = Number(/\b(2207\d{3})\b/.exec(detail)?.[1]);
    const code: ProviderErrorCode = TRANSIENT_SUBCODES.has(subcode) ? 'server_error' : container.statusCode === 'ERROR' ? 'bad_request' : 'invalid_response';
    const text = `Instagram upload: container ${containerId} ended ${container.statusCode}: ${detail}`;
    return new ProviderError('instagram', code, redactSecrets(text, state.secrets).slice(0, 1000), {
      providerReason: Number.isNaN(subcode) ? container.statusCode : String(subcode),
    });
  }

  /**
   * The reel of a container an earlier attempt published: a container does not name its media, so
   * it is the newest of the account's latest media with this upload's caption. None found is an
   * error, never a second publication.
   */
  private async findPublished(state: CallState, request: InstagramUploadRequest, containerId: string): Promise<string> {
    const caption = fitCaption(request.caption ?? '');
    const query = new URLSearchParams({ fields: 'id,caption,media_product_type,timestamp', limit: String(RECENT_MEDIA_LIMIT) });
    const { userId } = state.credentials;
    const media = await this.authorized(state, () =>
      this.exchange(state, 'GET', `${this.apiUrl}/${userId}/media?${query.toString()}`, undefined, ({ body, status }) => {
        if (!Array.isArray(body.data)) throw new ProviderError('instagram', 'invalid_response', 'Instagram upload: the media list has no data list', { statusCode: status });
        return body.data.map(record);
      }),
    );
    const reel = media.find((item) => (optionalString(item.caption) ?? '') === caption && isGraphId(optionalString(item.id)));
    const id = optionalString(reel?.id);
    if (!isGraphId(id)) {
      throw new ProviderError('instagram', 'not_found', `Instagram upload: container ${containerId} was published by an earlier attempt, but its reel is not among the account's ${RECENT_MEDIA_LIMIT} latest media`, {
        providerReason: 'PUBLISHED',
      });
    }
    return id;
  }

  private async publish(state: CallState, containerId: string): Promise<string> {
    const { userId } = state.credentials;
    return this.authorized(state, () =>
      this.exchange(state, 'POST', `${this.apiUrl}/${userId}/media_publish`, { creation_id: containerId }, ({ body, status }) => {
        const id = optionalString(body.id);
        if (!isGraphId(id)) throw new ProviderError('instagram', 'invalid_response', 'Instagram upload: the publish answer has no media id', { statusCode: status });
        return id;
      }),
    );
  }

  private async permalink(state: CallState, mediaId: string): Promise<string> {
    const query = new URLSearchParams({ fields: 'permalink' });
    return this.authorized(state, () =>
      this.exchange(state, 'GET', `${this.apiUrl}/${mediaId}?${query.toString()}`, undefined, ({ body, status }) => {
        const permalink = optionalString(body.permalink);
        if (!permalink || !/^https:\/\//i.test(permalink)) {
          throw new ProviderError('instagram', 'invalid_response', 'Instagram upload: the media has no permalink', { statusCode: status });
        }
        return permalink;
      }),
    );
  }

  /**
   * Refreshes ahead of expiry, then sends; when Instagram answers code 190, refreshes once for the
   * whole call and sends again.
   */
  private async authorized<T>(state: CallState, send: () => Promise<T>): Promise<T> {
    const expiresAt = state.credentials.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    if (!state.refreshed && expiresAt - Date.now() < this.refreshWithinMs) await this.refreshInto(state);
    try {
      return await send();
    } catch (error) {
      if (!(error instanceof ProviderError) || !error.providerReason?.startsWith('190') || state.refreshedAfterReject) throw error;
      state.refreshedAfterReject = true;
      await this.refreshInto(state);
      return send();
    }
  }

  private async refreshInto(state: CallState): Promise<void> {
    const token = await this.refreshAccessToken({ ...state.credentials, accessToken: state.accessToken }, state.options);
    await adoptToken(state, token);
  }

  private state(operation: InstagramOperation, credentials: InstagramCredentials, options: PlatformCallOptions): CallState {
    return { operation, credentials, accessToken: credentials.accessToken, refreshedAfterReject: false, calls: 0, secrets: [credentials.accessToken], options };
  }

  /**
   * One request with the current token (as a Bearer header; the refresh endpoint takes it in the
   * query) and its answer, read by `read`; any failure is recorded as a failed call and thrown as
   * a `ProviderError`.
   */
  private async exchange<T>(
    state: CallState,
    method: 'GET' | 'POST',
    url: string,
    body: Record<string, unknown> | undefined,
    read: (answer: Answer) => T,
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (state.operation !== 'oauth_refresh') headers.Authorization = `Bearer ${state.accessToken}`;
    if (body) headers['Content-Type'] = 'application/json';
    const init: RequestInit = { method, headers, ...(body ? { body: JSON.stringify(body) } : {}) };
    return platformExchange(INSTAGRAM, state, url, init, this.requestTimeoutMs, (response, text) => {
      const parsed = parseAnswer(text, undefined);
      if (!response.ok || record(parsed).error !== undefined) throw this.failure(state, response, parsed, text);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new ProviderError('instagram', 'invalid_response', `Instagram ${state.operation}: the answer is not a JSON object`, { statusCode: response.status });
      }
      return read({ status: response.status, body: parsed as Record<string, unknown> });
    });
  }

  /** Graph errors are `{error: {message, type, code, error_subcode, is_transient, error_user_msg, fbtrace_id}}`; gateways answer text. */
  private failure(state: CallState, response: Response, body: unknown, text: string): ProviderError {
    const error = record(record(body).error);
    const code = optionalInteger(error.code);
    const subcode = optionalInteger(error.error_subcode);
    const platformCode = classify(response.status, code, subcode, error.is_transient === true);
    const message =
      [optionalString(error.message), optionalString(error.error_user_msg)].filter(Boolean).join(' — ') ||
      (body === undefined ? optionalString(text.slice(0, 300)) : undefined) ||
      response.statusText ||
      'no message';
    const reason = code === undefined ? undefined : subcode === undefined ? String(code) : `${code}/${subcode}`;
    const retryAfterMs =
      parseRetryAfterMs(response.headers.get('retry-after')) ??
      regainAccessMs(response.headers.get('x-business-use-case-usage')) ??
      (platformCode === 'rate_limited' ? DEFAULT_RATE_WAIT_MS : undefined);
    return httpFailure(callLabel(INSTAGRAM, state), response.status, message, {
      code: platformCode,
      retryAfterMs,
      providerReason: reason,
      shownReason: reason ? `code ${reason}` : undefined,
      secrets: state.secrets,
    });
  }

  /** The usage of a successful operation (input: API calls made), also handed to `onUsage`. */
  private succeeded(state: CallState, startedAt: number, outputUnits: number): ProviderUsage {
    return platformUsage(INSTAGRAM, state, { startedAt, inputUnits: state.calls, outputUnits, usdPerCall: this.usdPerCall });
  }
}
