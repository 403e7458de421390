import { captionOpensWith, readAll, sendJson, serveLocally, Storm } from './http';
import { AuthorizationCodes } from './oauth';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/**
 * A loopback server speaking TikTok's v2 APIs: Login Kit's consent page (`/v2/auth/authorize/`),
 * the OAuth token endpoint (authorization code, and the refresh rotating the refresh token as
 * TikTok does), user info (the fields of user.info.basic), creator info, direct-post init with TikTok's chunk rules, the chunk PUTs on the
 * upload URL (sequential, sizes checked, bytes kept), the post status walking from
 * PROCESSING_UPLOAD through PROCESSING_DOWNLOAD to PUBLISH_COMPLETE (public post ids as bare 64-bit
 * numbers, as TikTok writes them; `uploaded_bytes` tells how much of the file arrived, so an
 * interrupted upload continues on the same upload URL) and the video query. Tests steer it through
 * `state`: `next` queues errors per endpoint, helpers expire tokens, revoke the refresh token, fail
 * or abandon a post, and posts are counted per title.
 */

export type TikTokEndpoint = 'token' | 'creator_info' | 'init' | 'chunk' | 'status' | 'query';

export interface TikTokKnob {
  on: TikTokEndpoint;
  status: number;
  /** TikTok's `error.code` (an OAuth `error` on the token endpoint). */
  code?: string;
  message?: string;
  retryAfterSec?: number;
  /** Answer this text instead of TikTok's JSON (a malformed or gateway answer). */
  raw?: string;
}

export interface TikTokRecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
  /** The parsed body of JSON and form requests. */
  body?: unknown;
}

export interface FakeTikTokPost {
  publishId: string;
  uploadId: string;
  uploadToken: string;
  postInfo: Record<string, unknown>;
  videoSize: number;
  chunkSize: number;
  chunkCount: number;
  data: Buffer;
  chunksReceived: number;
  /** Polls still answered PROCESSING_DOWNLOAD once every byte arrived. */
  processingPolls: number;
  failReason?: string;
  /** TikTok gave up on the post before all its bytes arrived: it answers FAILED and takes no chunk. */
  abandoned?: boolean;
  postId?: string;
}

interface FakeVideo {
  bytes: Buffer;
  statistics: { view_count: number; like_count: number; comment_count: number; share_count: number };
}

const MIB = 1024 * 1024;

export class FakeTikTokState {
  readonly clientKey = `awfake${randomBytes(6).toString('hex')}`;
  readonly clientSecret = `fake-secret-${randomBytes(8).toString('hex')}`;
  readonly accessTokens = new Set<string>();
  /** Every token ever issued, valid or not, so tests can look for leaks. */
  readonly issuedTokens: string[] = [];
  /** The refresh token that works now; every refresh replaces it. */
  refreshToken = this.issueRefreshToken();
  refreshRevoked = false;
  /** Codes handed out by the consent page; `decision` steers the next consent. */
  readonly consents = new AuthorizationCodes();
  /** The only redirect URI the consent page accepts, as registered for Login Kit; any when unset. */
  registeredRedirectUri?: string;
  /** The consenting user's id for this app, and display name. */
  readonly openId = '-000fake-open-id';
  readonly displayName = 'AutoClip 페이크';
  readonly creator = {
    creator_username: 'autoclip.fake',
    creator_nickname: 'AutoClip Fake',
    creator_avatar_url: 'https://p16-sign.tiktokcdn.com/fake.jpeg',
    privacy_level_options: ['PUBLIC_TO_EVERYONE', 'MUTUAL_FOLLOW_FRIENDS', 'SELF_ONLY'] as string[],
    comment_disabled: false,
    duet_disabled: false,
    stitch_disabled: true,
    max_video_post_duration_sec: 600,
  };
  /** PROCESSING_DOWNLOAD polls of each new post before it completes. */
  processingPolls = 2;
  /** Errors answered, in order, by the next request to their endpoint. */
  readonly next: TikTokKnob[] = [];
  /** `fail_reason`s given, in order, to the next posts once their bytes arrived. */
  readonly failNextPosts: string[] = [];
  readonly posts = new Map<string, FakeTikTokPost>();
  readonly videos = new Map<string, FakeVideo>();
  readonly requests: TikTokRecordedRequest[] = [];
  /**
   * The chunk PUT that brings a post to at least this many bytes is kept and never answered, as
   * when the uploader dies before the answer arrives.
   */
  stallAtBytes?: number;
  /** Chunk PUTs kept and left unanswered so far. */
  stalledChunks = 0;
  /** While it lasts, every request gets its 429 (rate_limit_exceeded) or 5xx (internal_error). */
  readonly storm = new Storm();

  issueAccessToken(): string {
    const token = `act.fake${randomBytes(16).toString('hex')}`;
    this.accessTokens.add(token);
    this.issuedTokens.push(token);
    return token;
  }

  private issueRefreshToken(): string {
    const token = `rft.fake${randomBytes(16).toString('hex')}`;
    this.issuedTokens.push(token);
    return token;
  }

  rotateRefreshToken(): string {
    this.refreshToken = this.issueRefreshToken();
    return this.refreshToken;
  }

  /** Every access token stops working (the next call gets access_token_invalid); a refresh gives a working one. */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** The user removed the app: refreshes answer invalid_grant and access tokens stop working. */
  revokeRefreshToken(): void {
    this.refreshRevoked = true;
    this.accessTokens.clear();
  }

  take(on: TikTokEndpoint): TikTokKnob | undefined {
    const index = this.next.findIndex((knob) => knob.on === on);
    return index < 0 ? undefined : this.next.splice(index, 1)[0];
  }

  uploadedBytes(publishId: string): Buffer | undefined {
    return this.posts.get(publishId)?.data;
  }

  /** The posts initialised with a title that begins with `title`. */
  postsTitled(title: string): FakeTikTokPost[] {
    return [...this.posts.values()].filter((post) => String(post.postInfo.title).startsWith(title));
  }

  /** TikTok drops a post whose bytes stopped coming (its upload URL expired): it ends FAILED. */
  abandonPost(publishId: string, failReason = 'internal'): void {
    const post = this.posts.get(publishId);
    if (!post) throw new Error(`no post ${publishId}`);
    post.abandoned = true;
    post.failReason = failReason;
  }

  /** Posts whose every chunk arrived (TikTok publishes those) and whose caption opens with `title`. */
  uploadsTitled(title: string): number {
    return [...this.posts.values()].filter((post) => post.chunksReceived === post.chunkCount && captionOpensWith(String(post.postInfo.title ?? ''), title)).length;
  }

  setStatistics(postId: string, statistics: FakeVideo['statistics']): void {
    const video = this.videos.get(postId);
    if (!video) throw new Error(`no video ${postId}`);
    video.statistics = statistics;
  }

  reset(): void {
    this.next.length = 0;
    this.failNextPosts.length = 0;
    this.requests.length = 0;
    this.refreshRevoked = false;
    this.processingPolls = 2;
    this.stallAtBytes = undefined;
  }
}

function logId(): string {
  return `2026${randomBytes(13).toString('hex').toUpperCase()}`;
}

function sendTikTokError(res: ServerResponse, status: number, code: string, message: string, retryAfterSec?: number): void {
  const headers: Record<string, string> = retryAfterSec !== undefined ? { 'Retry-After': String(retryAfterSec) } : {};
  sendJson(res, status, { data: {}, error: { code, message, log_id: logId() } }, headers);
}

function sendKnob(res: ServerResponse, knob: TikTokKnob): void {
  const headers: Record<string, string> = knob.retryAfterSec !== undefined ? { 'Retry-After': String(knob.retryAfterSec) } : {};
  if (knob.raw !== undefined) {
    res.writeHead(knob.status, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(knob.raw), ...headers });
    res.end(knob.raw);
    return;
  }
  if (knob.on === 'token') {
    sendJson(res, knob.status, { error: knob.code ?? 'server_error', error_description: knob.message ?? 'Error', log_id: logId() }, headers);
    return;
  }
  sendTikTokError(res, knob.status, knob.code ?? 'internal_error', knob.message ?? 'Something went wrong.', knob.retryAfterSec);
}

function sendOk(res: ServerResponse, data: Record<string, unknown>): void {
  sendJson(res, 200, { data, error: { code: 'ok', message: '', log_id: logId() } });
}

/** TikTok's rules for `source_info` (see the Media Transfer Guide). */
function chunkProblem(size: number, chunkSize: number, count: number): string | undefined {
  if (!Number.isInteger(size) || size <= 0) return 'video_size must be a positive integer';
  if (!Number.isInteger(chunkSize) || !Number.isInteger(count) || count < 1 || count > 1000) return 'total_chunk_count must be between 1 and 1000';
  if (size < 5 * MIB) return chunkSize === size && count === 1 ? undefined : 'a video under 5 MB must be uploaded whole';
  if (chunkSize === size && count === 1) return size <= 64 * MIB ? undefined : 'a video over 64 MB must be uploaded in chunks';
  if (chunkSize < 5 * MIB || chunkSize > 64 * MIB) return 'chunk_size must be between 5 MB and 64 MB';
  if (count !== Math.floor(size / chunkSize)) return 'total_chunk_count must be video_size / chunk_size rounded down';
  if (size - (count - 1) * chunkSize > 128 * MIB) return 'the final chunk may not exceed 128 MB';
  return undefined;
}

export async function startFakeTikTok(): Promise<{ baseUrl: string; state: FakeTikTokState; close(): Promise<void> }> {
  const state = new FakeTikTokState();
  let baseUrl = '';

  function authorized(req: IncomingMessage, res: ServerResponse): boolean {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token && state.accessTokens.has(token)) return true;
    sendTikTokError(res, 401, 'access_token_invalid', 'The access token is invalid or not found in the request.');
    return false;
  }

  /** Login Kit's consent page: the user consents at once (or refuses, see `consents.decision`) and the browser goes back with the code. */
  function authorize(res: ServerResponse, url: URL): void {
    const query = url.searchParams;
    const redirectUri = query.get('redirect_uri') ?? '';
    const problem =
      query.get('client_key') !== state.clientKey ? 'client_key'
      : !/^https?:\/\//.test(redirectUri) || (state.registeredRedirectUri !== undefined && redirectUri !== state.registeredRedirectUri) ? 'redirect_uri'
      : query.get('response_type') !== 'code' ? 'response_type'
      : !query.get('scope') ? 'scope'
      : undefined;
    if (problem) {
      res.writeHead(400, { 'Content-Type': 'text/html; charset=UTF-8' });
      res.end(`<p>Something went wrong: ${problem}</p>`);
      return;
    }
    const scopes = (query.get('scope') ?? '').split(',').filter(Boolean);
    const challenge = query.get('code_challenge') ?? undefined;
    const location = state.consents.consent(
      { clientId: state.clientKey, redirectUri, scopes, ...(challenge ? { codeChallenge: challenge, codeChallengeMethod: query.get('code_challenge_method') ?? 'S256' } : {}) },
      query.get('state'),
      state.consents.decision.deny ? {} : { scopes: (state.consents.decision.grantOnly ?? scopes).filter((scope) => scopes.includes(scope)).join(',') },
    );
    res.writeHead(302, { Location: location, 'Content-Length': 0 });
    res.end();
  }

  /** user/info: the fields user.info.basic covers; any other field needs a scope this app never asks for. */
  function userInfo(res: ServerResponse, url: URL): void {
    const fields = (url.searchParams.get('fields') ?? '').split(',').filter(Boolean);
    const basic: Record<string, string> = { open_id: state.openId, union_id: 'fake-union-id', avatar_url: state.creator.creator_avatar_url, display_name: state.displayName };
    const outside = fields.find((field) => !(field in basic));
    if (fields.length === 0) return sendTikTokError(res, 400, 'invalid_params', 'fields is required');
    if (outside) return sendTikTokError(res, 401, 'scope_not_authorized', `The user did not authorize the scope required for field ${outside}.`);
    sendOk(res, { user: Object.fromEntries(fields.map((field) => [field, basic[field]])) });
  }

  function token(res: ServerResponse, form: URLSearchParams): void {
    const knob = state.take('token');
    if (knob) return sendKnob(res, knob);
    const oauthError = (status: number, error: string, description: string): void =>
      sendJson(res, status, { error, error_description: description, log_id: logId() });
    const grant = form.get('grant_type');
    if (grant !== 'refresh_token' && grant !== 'authorization_code') return oauthError(400, 'unsupported_grant_type', 'The grant type is not supported.');
    if (form.get('client_key') !== state.clientKey || form.get('client_secret') !== state.clientSecret) {
      return oauthError(401, 'invalid_client', 'Client key or secret is incorrect.');
    }
    if (grant === 'authorization_code') {
      const redeemed = state.consents.redeem(form.get('code'), { clientId: state.clientKey, redirectUri: form.get('redirect_uri') ?? undefined, codeVerifier: form.get('code_verifier') ?? undefined });
      if ('error' in redeemed) return oauthError(400, redeemed.error, redeemed.description);
      return sendJson(res, 200, {
        access_token: state.issueAccessToken(),
        expires_in: 86_400,
        open_id: state.openId,
        refresh_expires_in: 31_536_000,
        refresh_token: state.rotateRefreshToken(),
        scope: redeemed.granted.scopes.join(','),
        token_type: 'Bearer',
      });
    }
    if (state.refreshRevoked || form.get('refresh_token') !== state.refreshToken) {
      return oauthError(400, 'invalid_grant', 'Refresh token is invalid or expired.');
    }
    sendJson(res, 200, {
      access_token: state.issueAccessToken(),
      expires_in: 86_400,
      open_id: '-000fake-open-id',
      refresh_expires_in: 31_536_000,
      refresh_token: state.rotateRefreshToken(),
      scope: 'user.info.basic,video.publish,video.list',
      token_type: 'Bearer',
    });
  }

  function init(res: ServerResponse, body: unknown): void {
    const knob = state.take('init');
    if (knob) return sendKnob(res, knob);
    const { post_info: postInfo, source_info: sourceInfo } = (body ?? {}) as { post_info?: Record<string, unknown>; source_info?: Record<string, unknown> };
    if (!postInfo || !sourceInfo) return sendTikTokError(res, 400, 'invalid_params', 'post_info and source_info are required');
    if (typeof postInfo.title !== 'string' || postInfo.title.length > 2200) return sendTikTokError(res, 400, 'invalid_params', 'title must be a string of at most 2200 characters');
    if (!state.creator.privacy_level_options.includes(String(postInfo.privacy_level))) {
      return sendTikTokError(res, 400, 'privacy_level_option_mismatch', 'privacy_level is not one of the creator options');
    }
    if (postInfo.is_aigc !== undefined && typeof postInfo.is_aigc !== 'boolean') return sendTikTokError(res, 400, 'invalid_params', 'is_aigc must be a boolean');
    if (sourceInfo.source !== 'FILE_UPLOAD') return sendTikTokError(res, 400, 'invalid_params', 'this fake takes FILE_UPLOAD only');
    const [size, chunkSize, count] = [Number(sourceInfo.video_size), Number(sourceInfo.chunk_size), Number(sourceInfo.total_chunk_count)];
    const problem = chunkProblem(size, chunkSize, count);
    if (problem) return sendTikTokError(res, 400, 'invalid_params', problem);
    const post: FakeTikTokPost = {
      publishId: `v_pub_file~v2-1.${BigInt(`0x${randomBytes(7).toString('hex')}`).toString()}`,
      uploadId: randomBytes(8).toString('hex'),
      uploadToken: randomBytes(12).toString('base64url'),
      postInfo,
      videoSize: size,
      chunkSize,
      chunkCount: count,
      data: Buffer.alloc(0),
      chunksReceived: 0,
      processingPolls: state.processingPolls,
    };
    state.posts.set(post.publishId, post);
    sendOk(res, { publish_id: post.publishId, upload_url: `${baseUrl}/upload/?upload_id=${post.uploadId}&upload_token=${post.uploadToken}` });
  }

  async function putChunk(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const body = await readAll(req);
    state.requests.push({ method: 'PUT', path: req.url ?? '', headers: req.headers, bodyBytes: body.length });
    const post = [...state.posts.values()].find((p) => p.uploadId === url.searchParams.get('upload_id'));
    if (!post || post.uploadToken !== url.searchParams.get('upload_token')) return sendTikTokError(res, 404, 'invalid_params', 'upload session not found');
    if (post.abandoned) return sendTikTokError(res, 404, 'invalid_params', 'upload session not found');
    const knob = state.take('chunk');
    if (knob) return sendKnob(res, knob);
    const range = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(req.headers['content-range'] ?? '');
    if (!range) return sendTikTokError(res, 400, 'invalid_file_upload', 'Content-Range is missing or malformed');
    const [first, last, total] = [Number(range[1]), Number(range[2]), Number(range[3])];
    const isFinal = post.chunksReceived === post.chunkCount - 1;
    const expected = isFinal ? post.videoSize - post.data.length : post.chunkSize;
    const problem =
      !/^video\/(mp4|quicktime|webm)$/.test(req.headers['content-type'] ?? '') ? 'Content-Type must be video/mp4, video/quicktime or video/webm'
      : total !== post.videoSize ? 'the total differs from video_size'
      : post.chunksReceived >= post.chunkCount ? 'every chunk was already received'
      : first !== post.data.length ? `chunks must be sent in order: expected byte ${post.data.length}, got ${first}`
      : body.length !== last - first + 1 || Number(req.headers['content-length']) !== body.length ? 'the body does not match Content-Range'
      : body.length !== expected ? `chunk ${post.chunksReceived + 1} must have ${expected} bytes, got ${body.length}`
      : undefined;
    if (problem) return sendTikTokError(res, 400, 'invalid_file_upload', problem);
    post.data = Buffer.concat([post.data, body]);
    post.chunksReceived += 1;
    const failReason = post.chunksReceived === post.chunkCount ? state.failNextPosts.shift() : undefined;
    if (failReason) post.failReason = failReason;
    if (state.stallAtBytes !== undefined && post.data.length >= state.stallAtBytes) {
      state.stallAtBytes = undefined;
      state.stalledChunks += 1;
      return;
    }
    if (post.chunksReceived < post.chunkCount) {
      res.writeHead(206, { 'Content-Range': `bytes 0-${post.data.length - 1}/${post.videoSize}`, 'Content-Length': 0 });
      res.end();
      return;
    }
    res.writeHead(201, { 'Content-Length': 0 });
    res.end();
  }

  /** The status walk; the public post id is written as a bare number, like TikTok's int64. */
  function status(res: ServerResponse, body: unknown): void {
    const knob = state.take('status');
    if (knob) return sendKnob(res, knob);
    const post = state.posts.get(String((body as { publish_id?: unknown } | undefined)?.publish_id));
    if (!post) return sendTikTokError(res, 400, 'invalid_params', 'publish_id does not exist');
    if (post.abandoned) return sendOk(res, { status: 'FAILED', fail_reason: post.failReason, uploaded_bytes: post.data.length });
    if (post.data.length < post.videoSize) return sendOk(res, { status: 'PROCESSING_UPLOAD', uploaded_bytes: post.data.length });
    if (post.processingPolls > 0) {
      post.processingPolls -= 1;
      return sendOk(res, { status: 'PROCESSING_DOWNLOAD', uploaded_bytes: post.videoSize });
    }
    if (post.failReason) return sendOk(res, { status: 'FAILED', fail_reason: post.failReason, uploaded_bytes: post.videoSize });
    const isPublic = post.postInfo.privacy_level !== 'SELF_ONLY';
    if (isPublic && !post.postId) {
      post.postId = `7${String(BigInt(`0x${randomBytes(8).toString('hex')}`) % 10n ** 18n).padStart(18, '0')}`;
      state.videos.set(post.postId, { bytes: post.data, statistics: { view_count: 0, like_count: 0, comment_count: 0, share_count: 0 } });
    }
    const text = JSON.stringify({
      data: { status: 'PUBLISH_COMPLETE', uploaded_bytes: post.videoSize, publicaly_available_post_id: '__IDS__' },
      error: { code: 'ok', message: '', log_id: logId() },
    }).replace('"__IDS__"', `[${post.postId ?? ''}]`);
    res.writeHead(200, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  function query(res: ServerResponse, url: URL, body: unknown): void {
    const knob = state.take('query');
    if (knob) return sendKnob(res, knob);
    const fields = (url.searchParams.get('fields') ?? '').split(',').filter(Boolean);
    const ids = (body as { filters?: { video_ids?: unknown } } | undefined)?.filters?.video_ids;
    if (fields.length === 0) return sendTikTokError(res, 400, 'invalid_params', 'fields is required');
    if (!Array.isArray(ids) || ids.length === 0 || ids.length > 20) return sendTikTokError(res, 400, 'invalid_params', 'filters.video_ids must hold 1 to 20 ids');
    const videos = ids.flatMap((id) => {
      const video = state.videos.get(String(id));
      if (!video) return [];
      const all: Record<string, unknown> = { id: String(id), ...video.statistics };
      return [Object.fromEntries(fields.filter((f) => f in all).map((f) => [f, all[f]]))];
    });
    sendOk(res, { videos, cursor: 0, has_more: false });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const storm = state.storm.take();
    if (storm) {
      await readAll(req);
      const [code, message] = storm.status === 429 ? ['rate_limit_exceeded', 'The API rate limit was exceeded.'] : ['internal_error', 'Something went wrong. Please try again later.'];
      if (url.pathname !== '/v2/oauth/token/') return sendTikTokError(res, storm.status, code, message, storm.retryAfterSec);
      const headers: Record<string, string> = storm.retryAfterSec !== undefined ? { 'Retry-After': String(storm.retryAfterSec) } : {};
      return sendJson(res, storm.status, { error: code, error_description: message, log_id: logId() }, headers);
    }
    if (req.method === 'PUT' && url.pathname === '/upload/') return putChunk(req, res, url);
    const raw = await readAll(req);
    const text = raw.toString('utf8');
    const contentType = req.headers['content-type'] ?? '';
    const body = contentType.startsWith('application/json') && text !== '' ? (JSON.parse(text) as unknown)
      : contentType.startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(text))
      : undefined;
    state.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, bodyBytes: raw.length, body });
    if (req.method === 'GET' && url.pathname === '/v2/auth/authorize/') return authorize(res, url);
    if (req.method === 'GET' && url.pathname === '/v2/user/info/') return authorized(req, res) ? userInfo(res, url) : undefined;
    if (req.method !== 'POST') return sendTikTokError(res, 404, 'invalid_params', `No route ${req.method} ${url.pathname}`);
    if (url.pathname === '/v2/oauth/token/') return token(res, new URLSearchParams(text));
    if (!authorized(req, res)) return;
    switch (url.pathname) {
      case '/v2/post/publish/creator_info/query/': {
        const knob = state.take('creator_info');
        return knob ? sendKnob(res, knob) : sendOk(res, { ...state.creator });
      }
      case '/v2/post/publish/video/init/':
        return init(res, body);
      case '/v2/post/publish/status/fetch/':
        return status(res, body);
      case '/v2/video/query/':
        return query(res, url, body);
      default:
        return sendTikTokError(res, 404, 'invalid_params', `No route POST ${url.pathname}`);
    }
  }

  const server = await serveLocally(route, (res, error) => sendTikTokError(res, 500, 'internal_error', String(error)));
  baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    close: server.close,
  };
}
