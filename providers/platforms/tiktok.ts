import { createReadStream, type ReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { ProviderError, type ProviderErrorCode } from '../errors';
import { codeForStatus, httpFailure, parseRetryAfterMs, sleep } from '../http';
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
 * TikTok Content Posting API client (direct post) with the v2 OAuth refresh and the Display API's
 * video query. An upload reads the creator's posting options, initialises a FILE_UPLOAD post with
 * TikTok's chunk rules, PUTs the chunks in order, then polls the post's status until TikTok
 * finishes or fails it. The post (its publish id, upload URL and chunk plan) is handed to
 * `onSession` before the first chunk; an attempt given it back as `session` asks TikTok how far the
 * post got and sends only the chunks it lacks, or only polls (a post TikTok dropped before all its
 * bytes arrived is replaced by a new one). Failures are `ProviderError`s of provider
 * 'tiktok': `access_token_invalid` refreshes the token once per call and sends again (then
 * `unauthorized`), `rate_limit_exceeded` is `rate_limited` (Retry-After, else TikTok's one-minute
 * window), daily posting caps `quota_exceeded`, a refresh answered `invalid_grant` `auth_revoked`,
 * a post that ends FAILED non-retryable with TikTok's `fail_reason`.
 */

export const TIKTOK_DEFAULT_BASE_URL = 'https://open.tiktokapis.com';

const MIB = 1024 * 1024;
/** TikTok's chunk rules: 5–64 MiB per chunk, a final chunk up to 128 MiB, at most 1000 chunks. */
export const TIKTOK_MIN_CHUNK_BYTES = 5 * MIB;
export const TIKTOK_MAX_CHUNK_BYTES = 64 * MIB;
const MAX_CHUNKS = 1000;

/** TikTok's limits are counted per minute: a 429 without Retry-After waits one window. */
const RATE_WINDOW_MS = 60_000;
const EXPIRY_MARGIN_MS = 60_000;
const QUERY_BATCH = 20;
/** TikTok counts a title in UTF-16 code units. */
const TITLE_MAX_UNITS = 2200;

export type TikTokOperation = 'oauth_refresh' | 'upload' | 'metrics';

export type TikTokPrivacyLevel = 'PUBLIC_TO_EVERYONE' | 'MUTUAL_FOLLOW_FRIENDS' | 'FOLLOWER_OF_CREATOR' | 'SELF_ONLY';

export interface TikTokClientOptions {
  /** Default https://open.tiktokapis.com. */
  baseUrl?: string;
  /** Preferred bytes per chunk, within TikTok's 5–64 MiB. Default 16 MiB. */
  chunkSizeBytes?: number;
  /** Deadline of every request except chunk uploads. Default 30 s. */
  requestTimeoutMs?: number;
  /** Deadline of one chunk PUT. Default 300 s. */
  chunkTimeoutMs?: number;
  /** Wait between two status polls. Default 5 s (TikTok allows 30 status calls per minute). */
  pollIntervalMs?: number;
  /** Longest wait for TikTok to finish a post before a retryable failure (the retry polls the same post). Default 30 min. */
  maxWaitMs?: number;
  /** USD per API call, for `estimatedCostUsd`; TikTok's APIs are free. Default 0. */
  usdPerCall?: number;
}

export interface TikTokCredentials {
  clientKey: string;
  clientSecret: string;
  refreshToken: string;
  accessToken?: string;
  expiresAt?: Date;
}

export interface TikTokPostInfo {
  /** The caption, hashtags included; cut to TikTok's 2200 UTF-16 units. */
  title: string;
  /** Must be one of the creator's `privacy_level_options` (unaudited apps may only post SELF_ONLY). */
  privacyLevel: TikTokPrivacyLevel;
  /** TikTok's AI-generated content label (`post_info.is_aigc`), declared on every post. */
  aiGenerated: boolean;
  disableComment?: boolean;
  disableDuet?: boolean;
  disableStitch?: boolean;
  /** The frame shown as cover. */
  coverTimestampMs?: number;
}

export interface TikTokUploadRequest {
  credentials: TikTokCredentials;
  filePath: string;
  /** Default `video/mp4`. */
  contentType?: string;
  post: TikTokPostInfo;
  /** Checked against the creator's longest allowed post when given. */
  durationSec?: number;
  /** The post of an earlier attempt (see `onSession`): it is continued, not posted again. */
  session?: string;
}

export interface TikTokUploadResult extends PlatformUploadResult {
  /** `published`: TikTok finished the post; `inbox`: it waits in the creator's TikTok inbox. */
  status: 'published' | 'inbox';
  publishId: string;
  /** The public post id; TikTok gives none for private posts, and then `videoId` is the publish id and `url` the profile. */
  postId?: string;
  usage: ProviderUsage;
}

export interface TikTokVideoStatistics extends PlatformVideoStatistics {
  shares: number;
}

export interface TikTokChunkPlan {
  chunkSize: number;
  chunkCount: number;
}

/**
 * TikTok's chunking of a file: a file under 5 MiB, or not larger than one chunk, goes whole;
 * otherwise `floor(size / chunkSize)` chunks, the last one taking the trailing bytes.
 */
export function planChunks(videoSize: number, preferredChunkSize: number): TikTokChunkPlan {
  if (videoSize < TIKTOK_MIN_CHUNK_BYTES || videoSize <= preferredChunkSize) return { chunkSize: videoSize, chunkCount: 1 };
  const chunkSize = Math.max(preferredChunkSize, Math.ceil(videoSize / MAX_CHUNKS));
  return { chunkSize, chunkCount: Math.floor(videoSize / chunkSize) };
}

interface CreatorInfo {
  username: string;
  privacyLevels: string[];
  commentDisabled: boolean;
  duetDisabled: boolean;
  stitchDisabled: boolean;
  maxDurationSec?: number;
}

interface PostStatus {
  status: string;
  /** Bytes TikTok holds of a FILE_UPLOAD post. */
  uploadedBytes: number;
  failReason?: string;
  postId?: string;
}

/** A post being sent: what `onSession` hands out and a later attempt continues. */
interface PostSession extends TikTokChunkPlan {
  publishId: string;
  /** Carries TikTok's upload token: a secret. */
  uploadUrl: string;
}

/** One answer of TikTok: the parsed body and the raw text (post ids are 64-bit integers a JSON number cannot hold). */
interface Answer {
  status: number;
  text: string;
  body: Record<string, unknown>;
}

/** Its secrets include upload URLs, which carry TikTok's upload token. */
interface CallState extends PlatformCallState<TikTokOperation> {
  credentials: TikTokCredentials;
}

const TIKTOK: PlatformService = { platform: 'tiktok', name: 'TikTok' };

/** TikTok's error codes that are not read from the HTTP status alone. */
const CODE_OF_REASON: Readonly<Record<string, ProviderErrorCode>> = {
  access_token_invalid: 'unauthorized',
  rate_limit_exceeded: 'rate_limited',
  spam_risk_too_many_posts: 'quota_exceeded',
  spam_risk_too_many_pending_share: 'quota_exceeded',
  reached_active_user_cap: 'quota_exceeded',
  spam_risk_user_banned_from_posting: 'forbidden',
  unaudited_client_can_only_post_to_private_accounts: 'forbidden',
  scope_not_authorized: 'forbidden',
  scope_permission_missed: 'forbidden',
  privacy_level_option_mismatch: 'bad_request',
  invalid_params: 'bad_request',
  invalid_grant: 'auth_revoked',
};

/** `fail_reason`s of a FAILED post that mean more than a bad video. */
const CODE_OF_FAIL_REASON: Readonly<Record<string, ProviderErrorCode>> = {
  auth_removed: 'auth_revoked',
  spam_risk_too_many_posts: 'quota_exceeded',
  spam_risk_user_banned_from_posting: 'forbidden',
};

function formatSession(post: PostSession): string {
  return JSON.stringify({ publishId: post.publishId, uploadUrl: post.uploadUrl, chunkSize: post.chunkSize, chunkCount: post.chunkCount });
}

function parseSession(session: string): PostSession {
  const fields = record(parseAnswer(session, undefined));
  const publishId = optionalString(fields.publishId);
  const uploadUrl = optionalString(fields.uploadUrl);
  const { chunkSize, chunkCount } = fields;
  if (!publishId || !uploadUrl || !/^https?:\/\//i.test(uploadUrl) || !Number.isInteger(chunkSize) || !Number.isInteger(chunkCount)) {
    throw new ProviderError('tiktok', 'bad_request', 'TikTok upload: the session to continue from is not one this client handed out');
  }
  return { publishId, uploadUrl, chunkSize: chunkSize as number, chunkCount: chunkCount as number };
}

/** The post ids as written in the answer, digits intact. */
function postIds(text: string): string[] {
  const list = /"publicaly_available_post_id"\s*:\s*\[([^\]]*)\]/.exec(text)?.[1] ?? '';
  return list.split(',').map((id) => id.trim().replace(/^"(.*)"$/, '$1')).filter((id) => /^\d+$/.test(id));
}

function cutTitle(title: string): string {
  let units = 0;
  let result = '';
  for (const point of title.trim()) {
    units += point.length;
    if (units > TITLE_MAX_UNITS) break;
    result += point;
  }
  return result;
}

export class TikTokClient implements PlatformClient<TikTokCredentials, TikTokUploadRequest> {
  private readonly baseUrl: string;
  private readonly chunkSize: number;
  private readonly requestTimeoutMs: number;
  private readonly chunkTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly maxWaitMs: number;
  private readonly usdPerCall: number;

  constructor(options: TikTokClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? TIKTOK_DEFAULT_BASE_URL).replace(/\/+$/, '');
    this.chunkSize = options.chunkSizeBytes ?? 16 * MIB;
    if (!(this.chunkSize >= TIKTOK_MIN_CHUNK_BYTES && this.chunkSize <= TIKTOK_MAX_CHUNK_BYTES)) {
      throw new RangeError(`chunkSizeBytes must be between ${TIKTOK_MIN_CHUNK_BYTES} and ${TIKTOK_MAX_CHUNK_BYTES}`);
    }
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.chunkTimeoutMs = options.chunkTimeoutMs ?? 300_000;
    this.pollIntervalMs = options.pollIntervalMs ?? 5000;
    this.maxWaitMs = options.maxWaitMs ?? 30 * 60_000;
    this.usdPerCall = options.usdPerCall ?? 0;
  }

  /** A new access token; TikTok also rotates the refresh token, which the caller must store. */
  async refreshAccessToken(credentials: TikTokCredentials, options: PlatformCallOptions = {}): Promise<PlatformAccessToken & { usage: ProviderUsage }> {
    const state = this.state('oauth_refresh', credentials, options);
    const startedAt = performance.now();
    const form = new URLSearchParams({
      client_key: credentials.clientKey,
      client_secret: credentials.clientSecret,
      grant_type: 'refresh_token',
      refresh_token: credentials.refreshToken,
    });
    const token = await this.exchange(
      state,
      `${this.baseUrl}/v2/oauth/token/`,
      { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' }, body: form.toString() },
      this.requestTimeoutMs,
      ({ body, status }) => {
        const accessToken = optionalString(body.access_token);
        if (!accessToken) throw new ProviderError('tiktok', 'invalid_response', 'TikTok oauth_refresh: the answer has no access_token', { statusCode: status });
        const refreshToken = optionalString(body.refresh_token);
        const refreshLifetimeSec = toCount(body.refresh_expires_in);
        return {
          accessToken,
          expiresAt: new Date(Date.now() + (toCount(body.expires_in) || 86_400) * 1000),
          ...(refreshToken ? { refreshToken } : {}),
          ...(refreshToken && refreshLifetimeSec ? { refreshExpiresAt: new Date(Date.now() + refreshLifetimeSec * 1000) } : {}),
        };
      },
    );
    return { ...token, usage: this.succeeded(state, startedAt, state.calls, 1) };
  }

  async upload(request: TikTokUploadRequest, options: PlatformUploadOptions = {}): Promise<TikTokUploadResult> {
    const title = cutTitle(request.post.title);
    const size = (await stat(request.filePath)).size;
    if (size === 0) throw new ProviderError('tiktok', 'bad_request', 'TikTok upload: the video file is empty');
    const state = this.state('upload', request.credentials, options);
    const startedAt = performance.now();
    const creator = await this.creatorInfo(state);
    const { privacyLevel } = request.post;
    if (!creator.privacyLevels.includes(privacyLevel)) {
      throw new ProviderError('tiktok', 'bad_request', `TikTok upload: privacy level ${privacyLevel} is not offered to this creator (${creator.privacyLevels.join(', ') || 'none'})`, {
        providerReason: 'privacy_level_option_mismatch',
      });
    }
    if (request.durationSec !== undefined && creator.maxDurationSec !== undefined && request.durationSec > creator.maxDurationSec) {
      throw new ProviderError('tiktok', 'bad_request', `TikTok upload: the video lasts ${request.durationSec} s, this creator may post at most ${creator.maxDurationSec} s`);
    }
    let post = request.session ? parseSession(request.session) : undefined;
    let sentBytes = 0;
    if (post) {
      state.secrets.push(post.uploadUrl);
      const earlier = await this.fetchStatus(state, post.publishId);
      if (earlier.status === 'PROCESSING_UPLOAD') {
        sentBytes = await this.sendChunks(state, request, post, size, earlier.uploadedBytes, options);
      } else if (earlier.status === 'FAILED' && earlier.uploadedBytes < size) {
        // TikTok dropped the post before its bytes all arrived (its upload URL lasts an hour): nothing went out, so a new one does.
        post = undefined;
      }
    }
    if (!post) {
      const plan = planChunks(size, this.chunkSize);
      const created = await this.initPost(state, { ...request.post, title }, creator, size, plan);
      state.secrets.push(created.uploadUrl);
      post = { ...created, ...plan };
      await options.onSession?.(formatSession(post));
      sentBytes = await this.sendChunks(state, request, post, size, 0, options);
    }
    const { publishId } = post;
    const outcome = await this.awaitPost(state, publishId, size, options);
    const postId = outcome.postId;
    const profile = `https://www.tiktok.com/@${encodeURIComponent(creator.username)}`;
    return {
      videoId: postId ?? publishId,
      url: postId ? `${profile}/video/${postId}` : profile,
      status: outcome.status === 'SEND_TO_USER_INBOX' ? 'inbox' : 'published',
      publishId,
      ...(postId ? { postId } : {}),
      usage: this.succeeded(state, startedAt, sentBytes, 1),
      ...refreshedTokenOf(state),
    };
  }

  /** Views, likes, comments and shares of the creator's videos; videos TikTok does not return are left out. */
  async fetchStatistics(
    credentials: TikTokCredentials,
    videoIds: readonly string[],
    options: PlatformCallOptions = {},
  ): Promise<StatisticsResult<TikTokVideoStatistics>> {
    const ids = [...new Set(videoIds)];
    const state = this.state('metrics', credentials, options);
    const startedAt = performance.now();
    const items: TikTokVideoStatistics[] = [];
    const url = `${this.baseUrl}/v2/video/query/?fields=id,view_count,like_count,comment_count,share_count`;
    for (let start = 0; start < ids.length; start += QUERY_BATCH) {
      const body = JSON.stringify({ filters: { video_ids: ids.slice(start, start + QUERY_BATCH) } });
      const videos = await this.authorized(state, (token) =>
        this.exchange(state, url, { method: 'POST', headers: this.jsonHeaders(token), body }, this.requestTimeoutMs, (answer) => {
          const list = record(answer.body.data).videos;
          if (!Array.isArray(list)) throw new ProviderError('tiktok', 'invalid_response', 'TikTok metrics: the answer has no data.videos list', { statusCode: answer.status });
          return list.map(record);
        }),
      );
      for (const video of videos) {
        const id = optionalString(video.id);
        if (!id) continue;
        items.push({ videoId: id, views: toCount(video.view_count), likes: toCount(video.like_count), comments: toCount(video.comment_count), shares: toCount(video.share_count) });
      }
    }
    return { items, usage: this.succeeded(state, startedAt, state.calls, items.length), ...refreshedTokenOf(state) };
  }

  private async creatorInfo(state: CallState): Promise<CreatorInfo> {
    const url = `${this.baseUrl}/v2/post/publish/creator_info/query/`;
    return this.authorized(state, (token) =>
      this.exchange(state, url, { method: 'POST', headers: this.jsonHeaders(token) }, this.requestTimeoutMs, (answer) => {
        const data = record(answer.body.data);
        const username = optionalString(data.creator_username);
        const levels = data.privacy_level_options;
        if (!username || !Array.isArray(levels)) {
          throw new ProviderError('tiktok', 'invalid_response', 'TikTok upload: the creator info has no username or privacy options', { statusCode: answer.status });
        }
        const maxDuration = toCount(data.max_video_post_duration_sec);
        return {
          username,
          privacyLevels: levels.filter((level): level is string => typeof level === 'string'),
          commentDisabled: data.comment_disabled === true,
          duetDisabled: data.duet_disabled === true,
          stitchDisabled: data.stitch_disabled === true,
          ...(maxDuration ? { maxDurationSec: maxDuration } : {}),
        };
      }),
    );
  }

  private async initPost(
    state: CallState,
    post: TikTokPostInfo,
    creator: CreatorInfo,
    size: number,
    plan: TikTokChunkPlan,
  ): Promise<{ publishId: string; uploadUrl: string }> {
    const body = JSON.stringify({
      post_info: {
        title: post.title,
        privacy_level: post.privacyLevel,
        // What the creator turned off in TikTok stays off.
        disable_comment: Boolean(post.disableComment) || creator.commentDisabled,
        disable_duet: Boolean(post.disableDuet) || creator.duetDisabled,
        disable_stitch: Boolean(post.disableStitch) || creator.stitchDisabled,
        ...(post.coverTimestampMs !== undefined ? { video_cover_timestamp_ms: Math.max(0, Math.round(post.coverTimestampMs)) } : {}),
        is_aigc: post.aiGenerated,
      },
      source_info: { source: 'FILE_UPLOAD', video_size: size, chunk_size: plan.chunkSize, total_chunk_count: plan.chunkCount },
    });
    const url = `${this.baseUrl}/v2/post/publish/video/init/`;
    return this.authorized(state, (token) =>
      this.exchange(state, url, { method: 'POST', headers: this.jsonHeaders(token), body }, this.requestTimeoutMs, (answer) => {
        const data = record(answer.body.data);
        const publishId = optionalString(data.publish_id);
        const uploadUrl = optionalString(data.upload_url);
        if (!publishId || !uploadUrl || !/^https?:\/\//i.test(uploadUrl)) {
          throw new ProviderError('tiktok', 'invalid_response', 'TikTok upload: the init answer has no publish_id or upload_url', { statusCode: answer.status });
        }
        return { publishId, uploadUrl };
      }),
    );
  }

  /**
   * The chunks in order from the one holding byte `from` (what TikTok already has of the post);
   * the last one carries the trailing bytes. Returns the bytes sent.
   */
  private async sendChunks(
    state: CallState,
    request: TikTokUploadRequest,
    post: PostSession,
    size: number,
    from: number,
    options: PlatformUploadOptions,
  ): Promise<number> {
    const { uploadUrl, chunkSize, chunkCount } = post;
    const firstIndex = Math.min(Math.floor(from / chunkSize), chunkCount - 1);
    options.onProgress?.(firstIndex * chunkSize, size);
    for (let index = firstIndex; index < chunkCount; index += 1) {
      const first = index * chunkSize;
      const last = index === chunkCount - 1 ? size - 1 : first + chunkSize - 1;
      const body: ReadStream = createReadStream(request.filePath, { start: first, end: last });
      try {
        await this.exchange(
          state,
          uploadUrl,
          {
            method: 'PUT',
            headers: {
              'Content-Type': request.contentType ?? 'video/mp4',
              'Content-Length': String(last - first + 1),
              'Content-Range': `bytes ${first}-${last}/${size}`,
            },
            body,
            duplex: 'half',
          },
          this.chunkTimeoutMs,
          () => undefined,
          false,
        );
      } finally {
        // A failed request can leave its stream half read: close the file either way.
        body.destroy();
      }
      options.onProgress?.(last + 1, size);
    }
    return size - firstIndex * chunkSize;
  }

  /** One status of the post. */
  private async fetchStatus(state: CallState, publishId: string): Promise<PostStatus> {
    const url = `${this.baseUrl}/v2/post/publish/status/fetch/`;
    const body = JSON.stringify({ publish_id: publishId });
    return this.authorized(state, (token) =>
      this.exchange(state, url, { method: 'POST', headers: this.jsonHeaders(token), body }, this.requestTimeoutMs, (answer): PostStatus => {
        const data = record(answer.body.data);
        const status = optionalString(data.status);
        if (!status) throw new ProviderError('tiktok', 'invalid_response', 'TikTok upload: the status answer has no data.status', { statusCode: answer.status });
        const failReason = optionalString(data.fail_reason);
        const postId = postIds(answer.text)[0];
        return { status, uploadedBytes: toCount(data.uploaded_bytes), ...(failReason ? { failReason } : {}), ...(postId ? { postId } : {}) };
      }),
    );
  }

  /** Polls the post until TikTok finishes or fails it, heartbeating on every poll. */
  private async awaitPost(state: CallState, publishId: string, size: number, options: PlatformUploadOptions): Promise<PostStatus> {
    const deadline = Date.now() + this.maxWaitMs;
    for (;;) {
      const post = await this.fetchStatus(state, publishId);
      options.onProgress?.(size, size);
      if (post.status === 'PUBLISH_COMPLETE' || post.status === 'SEND_TO_USER_INBOX') return post;
      if (post.status === 'FAILED') {
        const reason = post.failReason ?? 'unknown';
        throw new ProviderError('tiktok', CODE_OF_FAIL_REASON[reason] ?? 'bad_request', `TikTok upload: the post ${publishId} failed (${reason})`, {
          statusCode: state.statusCode,
          providerReason: reason,
        });
      }
      if (Date.now() + this.pollIntervalMs > deadline) {
        throw new ProviderError('tiktok', 'server_error', `TikTok upload: the post ${publishId} is still ${post.status} after ${Math.round(this.maxWaitMs / 1000)} s`, {
          providerReason: 'processing_timeout',
        });
      }
      await sleep(this.pollIntervalMs, options.signal);
    }
  }

  /** Sends with the current token; when TikTok calls it invalid, refreshes once for the whole call and sends again. */
  private async authorized<T>(state: CallState, send: (token: string) => Promise<T>): Promise<T> {
    const expiresAt = state.credentials.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
    if (!state.accessToken || (!state.refreshed && expiresAt - Date.now() < EXPIRY_MARGIN_MS)) await this.refreshInto(state);
    try {
      return await send(state.accessToken as string);
    } catch (error) {
      if (!(error instanceof ProviderError) || error.providerReason !== 'access_token_invalid' || state.refreshedAfterReject) throw error;
      state.refreshedAfterReject = true;
      await this.refreshInto(state);
      return send(state.accessToken as string);
    }
  }

  private async refreshInto(state: CallState): Promise<void> {
    const token = await this.refreshAccessToken(state.credentials, state.options);
    // The old refresh token stops working: a second refresh in this call must use the new one.
    if (token.refreshToken) state.credentials = { ...state.credentials, refreshToken: token.refreshToken };
    await adoptToken(state, token);
  }

  private jsonHeaders(token: string): Record<string, string> {
    return { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json; charset=UTF-8', Accept: 'application/json' };
  }

  private state(operation: TikTokOperation, credentials: TikTokCredentials, options: PlatformCallOptions): CallState {
    return {
      operation,
      credentials,
      accessToken: credentials.accessToken,
      refreshedAfterReject: false,
      calls: 0,
      secrets: [credentials.accessToken, credentials.refreshToken, credentials.clientSecret].filter((secret): secret is string => Boolean(secret)),
      options,
    };
  }

  /**
   * One request and its answer, read by `read`; any failure (network, HTTP error, TikTok error
   * code, unreadable answer) is recorded as a failed call and thrown as a `ProviderError`.
   */
  private exchange<T>(state: CallState, url: string, init: RequestInit, timeoutMs: number, read: (answer: Answer) => T, json = true): Promise<T> {
    return platformExchange(TIKTOK, state, url, init, timeoutMs, (response, text) => {
      const parsed = parseAnswer(text, {});
      const failure = this.failure(state, response, parsed, text);
      if (failure) throw failure;
      if (json && (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))) {
        throw new ProviderError('tiktok', 'invalid_response', `TikTok ${state.operation}: the answer is not a JSON object`, { statusCode: response.status });
      }
      return read({ status: response.status, text, body: record(parsed) });
    });
  }

  /** The error of an answer: an HTTP error, `error.code` other than "ok", or an OAuth `error`. */
  private failure(state: CallState, response: Response, body: unknown, text: string): ProviderError | undefined {
    const fields = record(body);
    const apiError = record(fields.error);
    const oauthError = optionalString(fields.error);
    const reason = oauthError ?? optionalString(apiError.code);
    if (response.ok && (reason === undefined || reason === 'ok')) return undefined;
    const message =
      optionalString(fields.error_description) ?? optionalString(apiError.message) ?? (body === undefined ? optionalString(text.slice(0, 300)) : undefined) ?? (response.statusText || 'no message');
    const code = (reason ? CODE_OF_REASON[reason] : undefined) ?? (response.ok ? 'bad_request' : codeForStatus(response.status));
    const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after')) ?? (code === 'rate_limited' ? RATE_WINDOW_MS : undefined);
    return httpFailure(callLabel(TIKTOK, state), response.status, message, { code, retryAfterMs, providerReason: reason, secrets: state.secrets });
  }

  /** The usage of a successful operation, also handed to `onUsage`. */
  private succeeded(state: CallState, startedAt: number, inputUnits: number, outputUnits: number): ProviderUsage {
    return platformUsage(TIKTOK, state, { startedAt, inputUnits, outputUnits, usdPerCall: this.usdPerCall });
  }
}
