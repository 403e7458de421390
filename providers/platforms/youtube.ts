import { randomBytes } from 'node:crypto';
import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ProviderError, type ProviderErrorCode } from '../errors';
import { discardBody, parseRetryAfterMs, readBody, redactSecrets, sendRequest, sleep } from '../http';
import type { ProviderUsage } from '../types';
import { toCount } from './exchange';
import type { PlatformAccessToken, PlatformClient, PlatformVideoStatistics } from './types';
import { buildVideoResource, type YouTubeVideoMetadata, type YouTubeVideoResource } from './youtube-resource';

/**
 * YouTube Data API v3 client: OAuth refresh, resumable upload, caption tracks, statistics. Every base URL is
 * configurable so tests run it against a loopback fake (test/fakes/youtube-server.ts).
 */

export type { YouTubeVideoMetadata, YouTubePrivacyStatus } from './youtube-resource';
export { YOUTUBE_DESCRIPTION_MAX_BYTES } from './youtube-resource';

export type YouTubeOperation = 'oauth_refresh' | 'upload' | 'captions_list' | 'captions_insert' | 'metrics';

export interface YouTubeEndpoints {
  oauthUrl: string;
  uploadUrl: string;
  apiUrl: string;
}

export const YOUTUBE_DEFAULT_ENDPOINTS: Readonly<YouTubeEndpoints> = {
  oauthUrl: 'https://oauth2.googleapis.com',
  uploadUrl: 'https://www.googleapis.com',
  apiUrl: 'https://www.googleapis.com',
};

/** Quota units charged per call (videos.insert 1600, captions.insert 400, captions.list 50, videos.list 1; token refresh is free). */
export const YOUTUBE_QUOTA_UNITS: Readonly<Record<YouTubeOperation, number>> = {
  oauth_refresh: 0,
  upload: 1600,
  captions_list: 50,
  captions_insert: 400,
  metrics: 1,
};

/** Upload chunks must be multiples of this size, except the last one. */
export const YOUTUBE_CHUNK_GRANULARITY = 256 * 1024;

export interface YouTubeClientOptions {
  endpoints?: Partial<YouTubeEndpoints>;
  /** Bytes per PUT; a multiple of 256 KiB. Default 8 MiB. */
  chunkSizeBytes?: number;
  /** Deadline of every request except chunk uploads. Default 30 s. */
  requestTimeoutMs?: number;
  /** Deadline of one chunk PUT. Default 300 s. */
  chunkTimeoutMs?: number;
  /** Consecutive failed chunk attempts (5xx, network) resumed in-process before giving up. Default 5. */
  maxResumeAttempts?: number;
  /** First wait before resuming; doubled per failure, capped at 30 s. Default 1 s. */
  resumeBackoffMs?: number;
  quotaUnits?: Partial<Record<YouTubeOperation, number>>;
  usdPerQuotaUnit?: number;
}

export interface YouTubeCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  accessToken?: string;
  expiresAt?: Date;
}

export interface YouTubeCallOptions {
  signal?: AbortSignal;
  /** Receives one record per call made, successful or not (for `api_usages`). */
  onUsage?: (usage: ProviderUsage) => void;
}

export interface YouTubeUploadRequest {
  credentials: YouTubeCredentials;
  filePath: string;
  /** Default `video/mp4`. */
  contentType?: string;
  metadata: YouTubeVideoMetadata;
  /** `shorts` gives a youtube.com/shorts/ID link. Default `watch`. */
  urlStyle?: 'watch' | 'shorts';
  /** A session started by an earlier attempt (see `onSession`): the upload continues where it stopped. */
  sessionUri?: string;
}

export interface YouTubeUploadOptions extends YouTubeCallOptions {
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  /** Awaited when a session starts, before its first byte goes, so the caller can store it and resume after a crash. */
  onSession?: (sessionUri: string) => Promise<void> | void;
}

export interface YouTubeUploadResult {
  videoId: string;
  url: string;
  raw: unknown;
  /** Set when the client refreshed the access token, so the caller can store it. */
  refreshedToken?: PlatformAccessToken;
}

export interface YouTubeCaptionRequest {
  credentials: YouTubeCredentials;
  videoId: string;
  /** BCP-47 language of the track, e.g. `ko`. */
  language: string;
  /** The track's name, shown to viewers among the subtitle choices. */
  name: string;
  /** The caption file (WebVTT, SRT, …), at most 100 MB. */
  track: Buffer;
  /** Default `text/vtt`. */
  contentType?: string;
}

export interface YouTubeCaptionTrack {
  id: string;
  language: string;
  name: string;
  /** `standard`, `asr` (YouTube's automatic speech recognition) or `forced`. */
  trackKind: string;
}

type UploadStep =
  | { kind: 'progress'; offset: number }
  | { kind: 'done'; video: Record<string, unknown> }
  | { kind: 'expired' }
  | { kind: 'transient'; error: ProviderError };

/** What one public call carries through its requests: the token in use and what to redact. */
interface CallState {
  operation: YouTubeOperation;
  credentials: YouTubeCredentials;
  accessToken?: string;
  refreshed?: PlatformAccessToken;
  refreshedAfter401: boolean;
  statusCode?: number;
  options: YouTubeCallOptions;
}

const MAX_SESSION_RESTARTS = 2;
const EXPIRY_MARGIN_MS = 60_000;
const STATISTICS_BATCH = 50;
const QUOTA_REASONS = new Set(['quotaExceeded', 'uploadLimitExceeded', 'dailyLimitExceeded']);
const RATE_REASONS = new Set(['rateLimitExceeded', 'userRateLimitExceeded']);

function classify(status: number, reason: string | undefined): ProviderErrorCode {
  if (reason === 'invalid_grant') return 'auth_revoked';
  if (status === 401) return 'unauthorized';
  if (status === 403 && reason && QUOTA_REASONS.has(reason)) return 'quota_exceeded';
  if (status === 429 || (status === 403 && reason && RATE_REASONS.has(reason))) return 'rate_limited';
  if (status === 403) return 'forbidden';
  if (status === 404 || status === 410) return 'not_found';
  if (status >= 500) return 'server_error';
  return 'bad_request';
}

/** Google answers `{error: {message, errors: [{reason}]}}`; its OAuth server `{error, error_description}`. */
function providerError(body: unknown): { message: string; reason?: string } {
  if (typeof body === 'string') return { message: body.slice(0, 300) };
  const error = (body as { error?: unknown; error_description?: unknown } | undefined)?.error;
  if (typeof error === 'string') {
    const description = (body as { error_description?: unknown }).error_description;
    return { message: typeof description === 'string' ? description : error, reason: error };
  }
  if (error && typeof error === 'object') {
    const { message, errors, status } = error as { message?: unknown; errors?: unknown; status?: unknown };
    const first = Array.isArray(errors) ? (errors[0] as { reason?: unknown } | undefined) : undefined;
    const reason = typeof first?.reason === 'string' ? first.reason : typeof status === 'string' ? status : undefined;
    return { message: typeof message === 'string' ? message : 'no message', reason };
  }
  return { message: 'no details' };
}

/** A caption resource of an answer, or undefined when it has no id. */
function captionTrackOf(value: unknown): YouTubeCaptionTrack | undefined {
  const { id, snippet } = (value ?? {}) as { id?: unknown; snippet?: Record<string, unknown> };
  if (typeof id !== 'string' || id === '') return undefined;
  const text = (field: string): string => {
    const value = snippet?.[field];
    return typeof value === 'string' ? value : '';
  };
  return { id, language: text('language'), name: text('name'), trackKind: text('trackKind') };
}

export class YouTubeClient implements PlatformClient<YouTubeCredentials, YouTubeUploadRequest> {
  private readonly endpoints: YouTubeEndpoints;
  private readonly chunkSize: number;
  private readonly requestTimeoutMs: number;
  private readonly chunkTimeoutMs: number;
  private readonly maxResumeAttempts: number;
  private readonly resumeBackoffMs: number;
  private readonly quotaUnits: Record<YouTubeOperation, number>;
  private readonly usdPerQuotaUnit: number;

  constructor(options: YouTubeClientOptions = {}) {
    this.endpoints = { ...YOUTUBE_DEFAULT_ENDPOINTS, ...options.endpoints };
    this.chunkSize = options.chunkSizeBytes ?? 32 * YOUTUBE_CHUNK_GRANULARITY;
    if (this.chunkSize <= 0 || this.chunkSize % YOUTUBE_CHUNK_GRANULARITY !== 0) {
      throw new RangeError(`chunkSizeBytes must be a positive multiple of ${YOUTUBE_CHUNK_GRANULARITY}`);
    }
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.chunkTimeoutMs = options.chunkTimeoutMs ?? 300_000;
    this.maxResumeAttempts = options.maxResumeAttempts ?? 5;
    this.resumeBackoffMs = options.resumeBackoffMs ?? 1000;
    this.quotaUnits = { ...YOUTUBE_QUOTA_UNITS, ...options.quotaUnits };
    this.usdPerQuotaUnit = options.usdPerQuotaUnit ?? 0;
  }

  async refreshAccessToken(
    credentials: Pick<YouTubeCredentials, 'clientId' | 'clientSecret' | 'refreshToken'>,
    options: YouTubeCallOptions = {},
  ): Promise<PlatformAccessToken> {
    const state = this.state('oauth_refresh', { ...credentials }, options);
    const startedAt = performance.now();
    try {
      const form = new URLSearchParams({
        client_id: credentials.clientId,
        client_secret: credentials.clientSecret,
        refresh_token: credentials.refreshToken,
        grant_type: 'refresh_token',
      });
      const response = await this.send(state, `${this.endpoints.oauthUrl}/token`, this.requestTimeoutMs, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: form.toString(),
      });
      if (!response.ok) throw await this.failure(state, response);
      const body = (await readBody(response)) as { access_token?: unknown; expires_in?: unknown } | undefined;
      if (typeof body?.access_token !== 'string' || body.access_token === '') {
        throw new ProviderError('youtube', 'invalid_response', 'YouTube oauth_refresh: the answer has no access_token', {
          statusCode: response.status,
        });
      }
      const lifetimeSec = toCount(body.expires_in) || 3600;
      return { accessToken: body.access_token, expiresAt: new Date(Date.now() + lifetimeSec * 1000) };
    } finally {
      this.record(state, startedAt, 0);
    }
  }

  async upload(request: YouTubeUploadRequest, options: YouTubeUploadOptions = {}): Promise<YouTubeUploadResult> {
    const resource = buildVideoResource(request.metadata);
    const total = (await stat(request.filePath)).size;
    if (total === 0) throw new ProviderError('youtube', 'bad_request', 'YouTube upload: the video file is empty');
    const state = this.state('upload', request.credentials, options);
    const startedAt = performance.now();
    let video: Record<string, unknown> | undefined;
    try {
      video = await this.runUpload(state, request, resource, total, options);
    } finally {
      this.record(state, startedAt, video ? 1 : 0);
    }
    const videoId = video.id;
    if (typeof videoId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(videoId)) {
      throw new ProviderError('youtube', 'invalid_response', 'YouTube upload: the answer has no valid video id');
    }
    const url = request.urlStyle === 'shorts' ? `https://www.youtube.com/shorts/${videoId}` : `https://www.youtube.com/watch?v=${videoId}`;
    return { videoId, url, raw: video, ...(state.refreshed ? { refreshedToken: state.refreshed } : {}) };
  }

  /** Views, likes and comments of the given videos; videos YouTube does not return are left out. */
  async fetchStatistics(
    credentials: YouTubeCredentials,
    videoIds: readonly string[],
    options: YouTubeCallOptions = {},
  ): Promise<{ items: PlatformVideoStatistics[]; refreshedToken?: PlatformAccessToken }> {
    const ids = [...new Set(videoIds)];
    const state = this.state('metrics', credentials, options);
    const items: PlatformVideoStatistics[] = [];
    for (let start = 0; start < ids.length; start += STATISTICS_BATCH) {
      const query = new URLSearchParams({ part: 'statistics', id: ids.slice(start, start + STATISTICS_BATCH).join(',') });
      const startedAt = performance.now();
      let received = 0;
      try {
        const response = await this.authorized(state, (token) =>
          this.send(state, `${this.endpoints.apiUrl}/youtube/v3/videos?${query.toString()}`, this.requestTimeoutMs, {
            headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
          }),
        );
        if (!response.ok) throw await this.failure(state, response);
        const body = (await readBody(response)) as { items?: unknown } | undefined;
        for (const item of Array.isArray(body?.items) ? body.items : []) {
          const { id, statistics } = item as { id?: unknown; statistics?: Record<string, unknown> };
          if (typeof id !== 'string') continue;
          items.push({ videoId: id, views: toCount(statistics?.viewCount), likes: toCount(statistics?.likeCount), comments: toCount(statistics?.commentCount) });
          received += 1;
        }
      } finally {
        this.record(state, startedAt, received);
      }
    }
    return { items, ...(state.refreshed ? { refreshedToken: state.refreshed } : {}) };
  }

  /**
   * captions.insert as one multipart request (the caption resource, then the file). Not sent again
   * on any failure: a track whose answer was lost may exist, and a second one would be a duplicate;
   * `listCaptions` tells.
   */
  async insertCaption(request: YouTubeCaptionRequest, options: YouTubeCallOptions = {}): Promise<{ track: YouTubeCaptionTrack; refreshedToken?: PlatformAccessToken }> {
    const state = this.state('captions_insert', request.credentials, options);
    const startedAt = performance.now();
    let track: YouTubeCaptionTrack | undefined;
    try {
      const boundary = `autoclip-${randomBytes(16).toString('hex')}`;
      const resource = { snippet: { videoId: request.videoId, language: request.language, name: request.name, isDraft: false } };
      const body = Buffer.concat([
        Buffer.from(`--${boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(resource)}\r\n`),
        Buffer.from(`--${boundary}\r\nContent-Type: ${request.contentType ?? 'text/vtt'}\r\n\r\n`),
        request.track,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      const url = `${this.endpoints.uploadUrl}/upload/youtube/v3/captions?uploadType=multipart&part=snippet`;
      const response = await this.authorized(state, (token) =>
        this.send(state, url, this.requestTimeoutMs, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/related; boundary=${boundary}`, Accept: 'application/json' },
          body,
        }),
      );
      if (!response.ok) throw await this.failure(state, response);
      track = captionTrackOf(await readBody(response));
      if (!track) throw new ProviderError('youtube', 'invalid_response', 'YouTube captions_insert: the answer is not a caption resource', { statusCode: response.status });
      return { track, ...(state.refreshed ? { refreshedToken: state.refreshed } : {}) };
    } finally {
      this.record(state, startedAt, track ? 1 : 0);
    }
  }

  /** captions.list: the video's caption tracks (YouTube's automatic ones included, as `asr`). */
  async listCaptions(
    credentials: YouTubeCredentials,
    videoId: string,
    options: YouTubeCallOptions = {},
  ): Promise<{ tracks: YouTubeCaptionTrack[]; refreshedToken?: PlatformAccessToken }> {
    const state = this.state('captions_list', credentials, options);
    const startedAt = performance.now();
    const tracks: YouTubeCaptionTrack[] = [];
    try {
      const query = new URLSearchParams({ part: 'snippet', videoId });
      const response = await this.authorized(state, (token) =>
        this.send(state, `${this.endpoints.apiUrl}/youtube/v3/captions?${query.toString()}`, this.requestTimeoutMs, {
          headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
        }),
      );
      if (!response.ok) throw await this.failure(state, response);
      const body = (await readBody(response)) as { items?: unknown } | undefined;
      for (const item of Array.isArray(body?.items) ? body.items : []) {
        const track = captionTrackOf(item);
        if (track) tracks.push(track);
      }
      return { tracks, ...(state.refreshed ? { refreshedToken: state.refreshed } : {}) };
    } finally {
      this.record(state, startedAt, tracks.length);
    }
  }

  private async runUpload(
    state: CallState,
    request: YouTubeUploadRequest,
    resource: YouTubeVideoResource,
    total: number,
    options: YouTubeUploadOptions,
  ): Promise<Record<string, unknown>> {
    let session = request.sessionUri;
    let step: UploadStep = session ? await this.queryStatus(state, session, total) : { kind: 'expired' };
    let restarts = 0;
    let failures = 0;
    let confirmed = -1;
    for (;;) {
      options.signal?.throwIfAborted();
      switch (step.kind) {
        case 'done':
          options.onProgress?.(total, total);
          return step.video;
        case 'expired':
          if (session !== undefined && ++restarts > MAX_SESSION_RESTARTS) {
            throw new ProviderError('youtube', 'session_expired', 'YouTube upload: the upload session keeps expiring', { statusCode: state.statusCode });
          }
          session = await this.startSession(state, request, resource, total);
          await options.onSession?.(session);
          confirmed = -1;
          step = { kind: 'progress', offset: 0 };
          break;
        case 'progress':
          // Only bytes the server confirmed reset the failure budget, not a status answer alone.
          if (step.offset > confirmed) failures = 0;
          confirmed = step.offset;
          options.onProgress?.(step.offset, total);
          step = await this.putChunk(state, session as string, request, step.offset, total);
          break;
        case 'transient':
          if (++failures > this.maxResumeAttempts) throw step.error;
          await sleep(Math.min(this.resumeBackoffMs * 2 ** (failures - 1), 30_000), options.signal);
          step = await this.queryStatus(state, session as string, total);
          break;
      }
    }
  }

  private async startSession(state: CallState, request: YouTubeUploadRequest, resource: YouTubeVideoResource, total: number): Promise<string> {
    const url = `${this.endpoints.uploadUrl}/upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`;
    const body = JSON.stringify(resource);
    const response = await this.authorized(state, (token) =>
      this.send(state, url, this.requestTimeoutMs, {
        method: 'POST',
        headers: {
          Authorization: `Bearer ${token}`,
          'Content-Type': 'application/json; charset=UTF-8',
          'X-Upload-Content-Type': request.contentType ?? 'video/mp4',
          'X-Upload-Content-Length': String(total),
        },
        body,
      }),
    );
    if (!response.ok) throw await this.failure(state, response);
    const location = response.headers.get('location');
    await discardBody(response);
    if (!location) {
      throw new ProviderError('youtube', 'invalid_response', 'YouTube upload: the session answer has no Location header', { statusCode: response.status });
    }
    return new URL(location, url).toString();
  }

  private async putChunk(state: CallState, session: string, request: YouTubeUploadRequest, offset: number, total: number): Promise<UploadStep> {
    const end = Math.min(offset + this.chunkSize, total) - 1;
    const streams: ReadStream[] = [];
    try {
      return await this.uploadStep(state, total, this.chunkTimeoutMs, (token) => {
        // A fresh stream per attempt: a request sent again after a 401 cannot reuse a consumed body.
        const body = createReadStream(request.filePath, { start: offset, end });
        streams.push(body);
        return {
          method: 'PUT',
          headers: {
            Authorization: `Bearer ${token}`,
            'Content-Type': request.contentType ?? 'video/mp4',
            'Content-Length': String(end - offset + 1),
            'Content-Range': `bytes ${offset}-${end}/${total}`,
          },
          body,
          duplex: 'half',
        };
      }, session);
    } finally {
      // A failed request can leave its stream half read: close the file either way.
      for (const stream of streams) stream.destroy();
    }
  }

  private async queryStatus(state: CallState, session: string, total: number): Promise<UploadStep> {
    return this.uploadStep(state, total, this.requestTimeoutMs, (token) => ({
      method: 'PUT',
      headers: { Authorization: `Bearer ${token}`, 'Content-Length': '0', 'Content-Range': `bytes */${total}` },
    }), session);
  }

  /** One PUT on the session, read as the resumable protocol defines it. */
  private async uploadStep(
    state: CallState,
    total: number,
    timeoutMs: number,
    init: (token: string) => RequestInit,
    session: string,
  ): Promise<UploadStep> {
    let response: Response;
    try {
      response = await this.authorized(state, (token) => this.send(state, session, timeoutMs, init(token)));
    } catch (error) {
      if (error instanceof ProviderError && error.code === 'network_error') return { kind: 'transient', error };
      throw error;
    }
    const status = response.status;
    if (status === 200 || status === 201) {
      const video = await readBody(response);
      if (!video || typeof video !== 'object') {
        throw new ProviderError('youtube', 'invalid_response', 'YouTube upload: the final answer is not a video resource', { statusCode: status });
      }
      return { kind: 'done', video: video as Record<string, unknown> };
    }
    if (status === 308) {
      // No Range header means the server holds no byte yet.
      const range = /bytes=(\d+)-(\d+)/.exec(response.headers.get('range') ?? '');
      await discardBody(response);
      const offset = range ? Number(range[2]) + 1 : 0;
      if (offset > total) throw new ProviderError('youtube', 'invalid_response', 'YouTube upload: the server claims more bytes than the file has');
      return { kind: 'progress', offset };
    }
    if (status === 404 || status === 410) {
      await discardBody(response);
      return { kind: 'expired' };
    }
    const error = await this.failure(state, response);
    if (error.code === 'server_error') return { kind: 'transient', error };
    throw error;
  }

  /** Sends with the current token; on a 401 refreshes once for the whole call and sends again. */
  private async authorized(state: CallState, send: (token: string) => Promise<Response>): Promise<Response> {
    const expiresAt = state.credentials.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    if (!state.accessToken || (!state.refreshed && expiresAt - Date.now() < EXPIRY_MARGIN_MS)) await this.refreshInto(state);
    const response = await send(state.accessToken as string);
    if (response.status !== 401 || state.refreshedAfter401) return response;
    await discardBody(response);
    state.refreshedAfter401 = true;
    await this.refreshInto(state);
    return send(state.accessToken as string);
  }

  private async refreshInto(state: CallState): Promise<void> {
    const token = await this.refreshAccessToken(state.credentials, state.options);
    state.accessToken = token.accessToken;
    state.refreshed = token;
  }

  private state(operation: YouTubeOperation, credentials: YouTubeCredentials, options: YouTubeCallOptions): CallState {
    return { operation, credentials, accessToken: credentials.accessToken, refreshedAfter401: false, options };
  }

  /** What no message, log or span of the call may show. */
  private secrets(state: CallState): (string | undefined)[] {
    const { credentials } = state;
    return [state.accessToken, state.refreshed?.accessToken, credentials.accessToken, credentials.refreshToken, credentials.clientSecret];
  }

  private redact(state: CallState, text: string): string {
    return redactSecrets(text, this.secrets(state));
  }

  private async send(state: CallState, url: string, timeoutMs: number, init: RequestInit): Promise<Response> {
    // Manual redirects: the resumable protocol's 308 is an answer, not a redirect.
    const label = { provider: 'youtube', operation: `YouTube ${state.operation}` };
    const response = await sendRequest(label, url, { ...init, redirect: 'manual' }, timeoutMs, this.secrets(state), state.options.signal);
    state.statusCode = response.status;
    return response;
  }

  private async failure(state: CallState, response: Response): Promise<ProviderError> {
    const { message, reason } = providerError(await readBody(response));
    const code = classify(response.status, reason);
    const text = `YouTube ${state.operation} failed with HTTP ${response.status}${reason ? ` (${reason})` : ''}: ${message}`;
    return new ProviderError('youtube', code, this.redact(state, text).slice(0, 1000), {
      statusCode: response.status,
      retryAfterMs: parseRetryAfterMs(response.headers.get('retry-after')),
      providerReason: reason,
    });
  }

  private record(state: CallState, startedAt: number, outputUnits: number): void {
    const quota = this.quotaUnits[state.operation];
    state.options.onUsage?.({
      service: 'youtube',
      operation: state.operation,
      inputUnits: quota,
      outputUnits,
      durationMs: Math.round(performance.now() - startedAt),
      estimatedCostUsd: quota * this.usdPerQuotaUnit,
      statusCode: state.statusCode,
    });
  }
}
