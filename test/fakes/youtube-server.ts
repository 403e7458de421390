import { readAll, sendJson, serveLocally, Storm } from './http';
import { AuthorizationCodes } from './oauth';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/**
 * A loopback server speaking the parts of YouTube's protocol AutoClip uses: Google's consent page
 * (`/o/oauth2/v2/auth`, PKCE S256) and OAuth token endpoint (authorization code and refresh grants),
 * channels.list of the authorized account (`mine=true`), resumable uploads (session, chunked PUTs with 308 + Range, status queries that answer
 * the video once the session is complete), captions.insert (multipart: the caption resource, then
 * the file) and captions.list, and videos.list statistics. Tests steer it through
 * `state` to reproduce the provider's failures, and count sessions and videos per title.
 */

export interface FakeFailure {
  status: number;
  reason?: string;
  message?: string;
  retryAfterSec?: number;
  /** Chunk PUTs: bytes of the chunk the server keeps before failing (a partly received chunk). */
  keepBytes?: number;
  /** Cut the connection instead of answering. */
  dropConnection?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  bodyBytes: number;
  /** The parsed body of JSON and form requests. */
  body?: unknown;
}

interface UploadSession {
  total: number;
  contentType: string;
  resource: { snippet?: Record<string, unknown>; status?: Record<string, unknown> };
  data: Buffer;
  videoId?: string;
}

interface FakeVideo {
  resource: Record<string, unknown>;
  bytes: Buffer;
  statistics: { viewCount: number; likeCount: number; commentCount: number };
}

/** A caption track as captions.insert received it. */
export interface FakeCaptionTrack {
  id: string;
  videoId: string;
  language: string;
  name: string;
  contentType: string;
  /** The caption file, as text. */
  body: string;
}

const CHUNK_GRANULARITY = 256 * 1024;

/** The parts of a multipart/related body, each with its headers (names in lower case) and bytes. */
function multipartParts(body: Buffer, contentType: string): { headers: Record<string, string>; data: Buffer }[] | undefined {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!/^multipart\/related/i.test(contentType) || !boundary) return undefined;
  const text = body.toString('latin1');
  const delimiter = `--${boundary}`;
  const end = text.indexOf(`\r\n${delimiter}--`);
  if (!text.startsWith(`${delimiter}\r\n`) || end < 0) return undefined;
  return text
    .slice(delimiter.length + 2, end)
    .split(`\r\n${delimiter}\r\n`)
    .map((part) => {
      const split = part.indexOf('\r\n\r\n');
      const head = split < 0 ? '' : part.slice(0, split);
      const headers = Object.fromEntries(
        head.split('\r\n').flatMap((line) => {
          const colon = line.indexOf(':');
          return colon > 0 ? [[line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]] : [];
        }),
      );
      return { headers, data: Buffer.from(split < 0 ? '' : part.slice(split + 4), 'latin1') };
    });
}

export class FakeYouTubeState {
  readonly clientId = 'fake-client-id.apps.googleusercontent.com';
  readonly clientSecret = `fake-secret-${randomBytes(6).toString('hex')}`;
  readonly refreshToken = `1//fake-refresh-${randomBytes(12).toString('hex')}`;
  refreshRevoked = false;
  tokenLifetimeSec = 3599;
  /** Codes handed out by the consent page; `decision` steers the next consent. */
  readonly consents = new AuthorizationCodes();
  /** The only redirect URI the consent page accepts, as registered in Google's console; any when unset. */
  registeredRedirectUri?: string;
  /** The channel of the account that consents. */
  readonly channel = { id: `UC${randomBytes(11).toString('base64url')}`, title: 'AutoClip 테스트 채널', customUrl: '@autoclip-fake' };
  readonly accessTokens = new Set<string>();
  /** Every access token ever issued, valid or not, so tests can look for leaks. */
  readonly issuedTokens: string[] = [];
  /** Failures answered, in order, by the next requests of each kind. */
  readonly tokenFailures: FakeFailure[] = [];
  readonly initFailures: FakeFailure[] = [];
  readonly chunkFailures: FakeFailure[] = [];
  readonly statisticsFailures: FakeFailure[] = [];
  /** captions.insert; a `dropConnection` failure stores the track, then cuts the connection (the answer lost). */
  readonly captionFailures: FakeFailure[] = [];
  readonly captionListFailures: FakeFailure[] = [];
  /** Caption tracks by their id. */
  readonly captions = new Map<string, FakeCaptionTrack>();
  readonly sessions = new Map<string, UploadSession>();
  readonly videos = new Map<string, FakeVideo>();
  readonly requests: RecordedRequest[] = [];
  /**
   * The chunk PUT that brings a session to at least this many bytes is kept (the video is made when
   * it was the last one) and never answered, as when the uploader dies before the answer arrives.
   */
  stallAtBytes?: number;
  /** Chunk PUTs kept and left unanswered so far. */
  stalledChunks = 0;
  /** While it lasts, every request gets its 429 (rateLimitExceeded) or 5xx (backendError). */
  readonly storm = new Storm();

  issueAccessToken(): string {
    const token = `ya29.fake-${randomBytes(16).toString('hex')}`;
    this.accessTokens.add(token);
    this.issuedTokens.push(token);
    return token;
  }

  /** Every access token stops working (the next call gets a 401). */
  expireAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** The user revoked the app: refreshes answer invalid_grant and access tokens stop working. */
  revokeRefreshToken(): void {
    this.refreshRevoked = true;
    this.accessTokens.clear();
  }

  /** The next session start answers 401, as with a token that expired in flight. */
  rejectNextInitAsExpired(): void {
    this.initFailures.push({ status: 401, reason: 'authError', message: 'Request had invalid authentication credentials.' });
  }

  exceedQuota(reason: 'quotaExceeded' | 'uploadLimitExceeded' = 'quotaExceeded'): void {
    const message =
      reason === 'quotaExceeded'
        ? 'The request cannot be completed because you have exceeded your <a href="/youtube/v3/getting-started#quota">quota</a>.'
        : 'The user has exceeded the number of videos they may upload.';
    this.initFailures.push({ status: 403, reason, message });
  }

  rateLimitNextInit(retryAfterSec: number): void {
    this.initFailures.push({ status: 429, reason: 'rateLimitExceeded', message: 'Too many requests.', retryAfterSec });
  }

  failNextChunks(count: number, status = 500, keepBytes = 0): void {
    for (let i = 0; i < count; i += 1) this.chunkFailures.push({ status, message: 'Backend Error', reason: 'backendError', keepBytes });
  }

  dropNextChunks(count: number, keepBytes = 0): void {
    for (let i = 0; i < count; i += 1) this.chunkFailures.push({ status: 0, dropConnection: true, keepBytes });
  }

  /** Every open upload session disappears (the next PUT on one gets a 404). */
  expireSessions(): void {
    this.sessions.clear();
  }

  setStatistics(videoId: string, statistics: FakeVideo['statistics']): void {
    const video = this.videos.get(videoId);
    if (!video) throw new Error(`no video ${videoId}`);
    video.statistics = statistics;
  }

  uploadedBytes(videoId: string): Buffer | undefined {
    return this.videos.get(videoId)?.bytes;
  }

  /** Upload sessions started for videos of this title. */
  sessionsTitled(title: string): number {
    return [...this.sessions.values()].filter((session) => session.resource.snippet?.title === title).length;
  }

  /** The ids of the videos of this title. */
  videosTitled(title: string): string[] {
    return [...this.videos].filter(([, video]) => (video.resource.snippet as { title?: unknown } | undefined)?.title === title).map(([id]) => id);
  }

  /** A video's `status.containsSyntheticMedia` as its upload declared it; undefined when it was left out. */
  containsSyntheticMedia(videoId: string): boolean | undefined {
    const status = this.videos.get(videoId)?.resource.status as { containsSyntheticMedia?: boolean } | undefined;
    return status?.containsSyntheticMedia;
  }

  /** The caption tracks of a video, in the order they were inserted. */
  captionsOf(videoId: string): FakeCaptionTrack[] {
    return [...this.captions.values()].filter((track) => track.videoId === videoId);
  }

  /** Videos the channel holds with this title: every finished upload counts, whichever session it came from. */
  uploadsTitled(title: string): number {
    return [...this.videos.values()].filter((video) => (video.resource.snippet as { title?: unknown } | undefined)?.title === title).length;
  }
}

function sendGoogleError(res: ServerResponse, failure: FakeFailure): void {
  const headers: Record<string, string> = failure.retryAfterSec !== undefined ? { 'Retry-After': String(failure.retryAfterSec) } : {};
  const message = failure.message ?? 'Error';
  sendJson(res, failure.status, { error: { code: failure.status, message, errors: [{ message, domain: 'youtube', reason: failure.reason ?? 'error' }] } }, headers);
}

export async function startFakeYouTube(): Promise<{ baseUrl: string; state: FakeYouTubeState; close(): Promise<void> }> {
  const state = new FakeYouTubeState();
  let baseUrl = '';

  function authorized(req: IncomingMessage, res: ServerResponse): boolean {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    if (token && state.accessTokens.has(token)) return true;
    sendGoogleError(res, { status: 401, reason: 'authError', message: 'Request had invalid authentication credentials.' });
    return false;
  }

  /** Google's consent page: the account consents at once (or refuses, see `consents.decision`) and the browser goes back with the code. */
  function authorize(res: ServerResponse, url: URL): void {
    const query = url.searchParams;
    const redirectUri = query.get('redirect_uri') ?? '';
    const problem =
      query.get('client_id') !== state.clientId ? 'invalid_client: The OAuth client was not found.'
      : !/^https?:\/\//.test(redirectUri) || (state.registeredRedirectUri !== undefined && redirectUri !== state.registeredRedirectUri) ? 'redirect_uri_mismatch'
      : query.get('response_type') !== 'code' ? 'unsupported_response_type'
      : !query.get('scope') ? 'invalid_request: Missing required parameter: scope'
      : undefined;
    // Google shows these on its own error page instead of redirecting.
    if (problem) {
      res.writeHead(400, { 'Content-Type': 'text/html; charset=UTF-8' });
      res.end(`<h1>Error 400: ${problem}</h1>`);
      return;
    }
    const scopes = (query.get('scope') ?? '').split(' ').filter(Boolean);
    const challenge = query.get('code_challenge') ?? undefined;
    const location = state.consents.consent(
      { clientId: state.clientId, redirectUri, scopes, ...(challenge ? { codeChallenge: challenge, codeChallengeMethod: query.get('code_challenge_method') ?? 'plain' } : {}), offline: query.get('access_type') === 'offline' },
      query.get('state'),
      state.consents.decision.deny ? {} : { scope: scopes.join(' ') },
    );
    res.writeHead(302, { Location: location, 'Content-Length': 0 });
    res.end();
  }

  function token(res: ServerResponse, form: URLSearchParams): void {
    const failure = state.tokenFailures.shift();
    if (failure) return sendGoogleError(res, failure);
    const grant = form.get('grant_type');
    if (grant !== 'refresh_token' && grant !== 'authorization_code') return sendJson(res, 400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
    if (form.get('client_id') !== state.clientId || form.get('client_secret') !== state.clientSecret) {
      return sendJson(res, 401, { error: 'invalid_client', error_description: 'The OAuth client was not found.' });
    }
    if (grant === 'authorization_code') {
      const redeemed = state.consents.redeem(form.get('code'), { clientId: state.clientId, redirectUri: form.get('redirect_uri') ?? undefined, codeVerifier: form.get('code_verifier') ?? undefined });
      if ('error' in redeemed) return sendJson(res, 400, { error: redeemed.error, error_description: redeemed.description });
      const { scopes, offline } = redeemed.granted;
      return sendJson(res, 200, {
        access_token: state.issueAccessToken(),
        expires_in: state.tokenLifetimeSec,
        ...(offline ? { refresh_token: state.refreshToken } : {}),
        scope: scopes.join(' '),
        token_type: 'Bearer',
      });
    }
    if (state.refreshRevoked || form.get('refresh_token') !== state.refreshToken) {
      return sendJson(res, 400, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
    }
    sendJson(res, 200, { access_token: state.issueAccessToken(), expires_in: state.tokenLifetimeSec, token_type: 'Bearer', scope: 'https://www.googleapis.com/auth/youtube.upload' });
  }

  function startSession(req: IncomingMessage, res: ServerResponse, json: unknown): void {
    if (!authorized(req, res)) return;
    const failure = state.initFailures.shift();
    if (failure) return sendGoogleError(res, failure);
    const total = Number(req.headers['x-upload-content-length']);
    const resource = json as UploadSession['resource'] | undefined;
    if (!Number.isInteger(total) || total <= 0) return sendGoogleError(res, { status: 400, reason: 'badContent', message: 'X-Upload-Content-Length is missing' });
    if (typeof resource?.snippet?.title !== 'string' || resource.snippet.title === '') {
      return sendGoogleError(res, { status: 400, reason: 'invalidTitle', message: 'The request metadata specifies an invalid or empty video title.' });
    }
    if (typeof resource.status?.selfDeclaredMadeForKids !== 'boolean') {
      return sendGoogleError(res, { status: 400, reason: 'invalidValue', message: 'selfDeclaredMadeForKids is required' });
    }
    if (resource.status.containsSyntheticMedia !== undefined && typeof resource.status.containsSyntheticMedia !== 'boolean') {
      return sendGoogleError(res, { status: 400, reason: 'invalidValue', message: 'containsSyntheticMedia must be a boolean' });
    }
    if (resource.status.publishAt !== undefined && resource.status.privacyStatus !== 'private') {
      return sendGoogleError(res, { status: 400, reason: 'invalidPublishAt', message: 'publishAt requires a private video' });
    }
    const uploadId = randomBytes(12).toString('base64url');
    state.sessions.set(uploadId, { total, contentType: String(req.headers['x-upload-content-type'] ?? ''), resource, data: Buffer.alloc(0) });
    res.writeHead(200, { Location: `${baseUrl}/upload/youtube/v3/videos?uploadType=resumable&upload_id=${uploadId}`, 'Content-Length': 0 });
    res.end();
  }

  function finish(session: UploadSession): Record<string, unknown> {
    if (!session.videoId) {
      session.videoId = randomBytes(8).toString('base64url').slice(0, 11);
      const resource = {
        kind: 'youtube#video',
        id: session.videoId,
        snippet: { ...session.resource.snippet, channelId: 'UCfakechannel', publishedAt: new Date().toISOString() },
        status: { uploadStatus: 'uploaded', ...session.resource.status },
      };
      state.videos.set(session.videoId, { resource, bytes: session.data, statistics: { viewCount: 0, likeCount: 0, commentCount: 0 } });
    }
    return state.videos.get(session.videoId)?.resource as Record<string, unknown>;
  }

  function answerProgress(res: ServerResponse, session: UploadSession): void {
    if (session.data.length === session.total) return sendJson(res, 200, finish(session));
    const headers: Record<string, string | number> = { 'Content-Length': 0 };
    if (session.data.length > 0) headers.Range = `bytes=0-${session.data.length - 1}`;
    res.writeHead(308, headers);
    res.end();
  }

  async function putChunk(req: IncomingMessage, res: ServerResponse, uploadId: string): Promise<void> {
    const session = state.sessions.get(uploadId);
    const range = req.headers['content-range'] ?? '';
    const query = /^bytes \*\/(\d+)$/.exec(range);
    const chunk = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(range);
    if (query || !chunk) {
      await readAll(req);
      state.requests.push({ method: 'PUT', path: req.url ?? '', headers: req.headers, bodyBytes: 0 });
      if (!session) return sendGoogleError(res, { status: 404, reason: 'notFound', message: 'Upload session not found' });
      if (!authorized(req, res)) return;
      if (!query) return sendGoogleError(res, { status: 400, reason: 'badRange', message: `Bad Content-Range: ${range}` });
      return answerProgress(res, session);
    }
    const failure = session ? state.chunkFailures.shift() : undefined;
    if (failure?.dropConnection) {
      // Read part of the body so the client is mid-send when the connection dies.
      const first = await new Promise<Buffer>((resolve) => req.once('data', (data: Buffer) => resolve(data)));
      if (session && failure.keepBytes) session.data = Buffer.concat([session.data, first.subarray(0, failure.keepBytes)]);
      state.requests.push({ method: 'PUT', path: req.url ?? '', headers: req.headers, bodyBytes: first.length });
      req.socket.destroy();
      return;
    }
    const body = await readAll(req);
    state.requests.push({ method: 'PUT', path: req.url ?? '', headers: req.headers, bodyBytes: body.length });
    if (!session) return sendGoogleError(res, { status: 404, reason: 'notFound', message: 'Upload session not found' });
    if (!authorized(req, res)) return;
    const [first, last, total] = [Number(chunk[1]), Number(chunk[2]), Number(chunk[3])];
    const problem =
      total !== session.total ? 'total differs from X-Upload-Content-Length'
      : first > session.data.length ? `first byte ${first} is past the ${session.data.length} bytes received`
      : body.length !== last - first + 1 ? `body has ${body.length} bytes, range says ${last - first + 1}`
      : last !== total - 1 && body.length % CHUNK_GRANULARITY !== 0 ? 'a chunk that is not the last must be a multiple of 256 KiB'
      : undefined;
    if (problem) return sendGoogleError(res, { status: 400, reason: 'badContent', message: problem });
    if (failure) {
      if (failure.keepBytes) session.data = Buffer.concat([session.data.subarray(0, first), body.subarray(0, failure.keepBytes)]);
      return sendGoogleError(res, failure);
    }
    session.data = Buffer.concat([session.data.subarray(0, first), body]);
    if (state.stallAtBytes !== undefined && session.data.length >= state.stallAtBytes) {
      state.stallAtBytes = undefined;
      state.stalledChunks += 1;
      if (session.data.length === session.total) finish(session);
      return;
    }
    answerProgress(res, session);
  }

  function statistics(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!authorized(req, res)) return;
    const failure = state.statisticsFailures.shift();
    if (failure) return sendGoogleError(res, failure);
    const ids = (url.searchParams.get('id') ?? '').split(',').filter(Boolean);
    if (ids.length > 50) return sendGoogleError(res, { status: 400, reason: 'tooManyIds', message: 'At most 50 ids' });
    const items = ids.flatMap((id) => {
      const video = state.videos.get(id);
      if (!video) return [];
      const { viewCount, likeCount, commentCount } = video.statistics;
      return [{ kind: 'youtube#video', id, statistics: { viewCount: String(viewCount), likeCount: String(likeCount), favoriteCount: '0', commentCount: String(commentCount) } }];
    });
    sendJson(res, 200, { kind: 'youtube#videoListResponse', items, pageInfo: { totalResults: items.length, resultsPerPage: items.length } });
  }

  function insertCaption(req: IncomingMessage, res: ServerResponse, raw: Buffer): void {
    if (!authorized(req, res)) return;
    const failure = state.captionFailures.shift();
    if (failure && !failure.dropConnection) return sendGoogleError(res, failure);
    const parts = multipartParts(raw, req.headers['content-type'] ?? '');
    if (!parts || parts.length !== 2) return sendGoogleError(res, { status: 400, reason: 'mediaBodyRequired', message: 'A multipart/related body with the caption resource and the caption file is required' });
    const [metadata, media] = parts as [(typeof parts)[number], (typeof parts)[number]];
    if (!/^application\/json/i.test(metadata.headers['content-type'] ?? '')) {
      return sendGoogleError(res, { status: 400, reason: 'invalidMetadata', message: 'The first part must be the JSON caption resource' });
    }
    const snippet = (JSON.parse(metadata.data.toString('utf8')) as { snippet?: Record<string, unknown> }).snippet ?? {};
    const { videoId, language, name } = snippet;
    if (typeof videoId !== 'string' || !state.videos.has(videoId)) return sendGoogleError(res, { status: 404, reason: 'videoNotFound', message: 'The video identified by videoId could not be found.' });
    if (typeof language !== 'string' || language === '') return sendGoogleError(res, { status: 400, reason: 'invalidMetadata', message: 'snippet.language is required' });
    if (typeof name !== 'string' || [...name].length > 150) return sendGoogleError(res, { status: 400, reason: 'nameTooLong', message: 'snippet.name is missing or longer than 150 characters' });
    if (media.data.length === 0) return sendGoogleError(res, { status: 400, reason: 'mediaBodyRequired', message: 'The caption file is empty' });
    const id = `AUtoClipCap${randomBytes(9).toString('base64url')}`;
    const track: FakeCaptionTrack = { id, videoId, language, name, contentType: media.headers['content-type'] ?? '', body: media.data.toString('utf8') };
    state.captions.set(id, track);
    if (failure?.dropConnection) {
      req.socket.destroy();
      return;
    }
    sendJson(res, 200, captionResource(track));
  }

  function captionResource(track: FakeCaptionTrack): Record<string, unknown> {
    const { id, videoId, language, name } = track;
    return { kind: 'youtube#caption', id, snippet: { videoId, language, name, trackKind: 'standard', isDraft: false, status: 'serving', lastUpdated: new Date().toISOString() } };
  }

  function listCaptions(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!authorized(req, res)) return;
    const failure = state.captionListFailures.shift();
    if (failure) return sendGoogleError(res, failure);
    const videoId = url.searchParams.get('videoId') ?? '';
    if (!state.videos.has(videoId)) return sendGoogleError(res, { status: 404, reason: 'videoNotFound', message: 'The video identified by videoId could not be found.' });
    sendJson(res, 200, { kind: 'youtube#captionListResponse', items: state.captionsOf(videoId).map(captionResource) });
  }

  /** channels.list with mine=true: the authorized account's channel, with the parts asked for. */
  function myChannel(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (!authorized(req, res)) return;
    const parts = (url.searchParams.get('part') ?? '').split(',');
    if (!parts.includes('snippet') && !parts.includes('id')) return sendGoogleError(res, { status: 400, reason: 'missingRequiredParameter', message: 'No filter selected. Expected one of: part' });
    const { id, title, customUrl } = state.channel;
    const item = { kind: 'youtube#channel', id, ...(parts.includes('snippet') ? { snippet: { title, description: '', customUrl, publishedAt: '2024-01-01T00:00:00Z' } } : {}) };
    sendJson(res, 200, { kind: 'youtube#channelListResponse', pageInfo: { totalResults: 1, resultsPerPage: 5 }, items: [item] });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const storm = state.storm.take();
    if (storm) {
      await readAll(req);
      return sendGoogleError(
        res,
        storm.status === 429
          ? { status: 429, reason: 'rateLimitExceeded', message: 'Too many requests.', retryAfterSec: storm.retryAfterSec }
          : { status: storm.status, reason: 'backendError', message: 'Backend Error' },
      );
    }
    if (req.method === 'PUT' && url.pathname === '/upload/youtube/v3/videos') {
      return putChunk(req, res, url.searchParams.get('upload_id') ?? '');
    }
    const raw = await readAll(req);
    const text = raw.toString('utf8');
    const contentType = req.headers['content-type'] ?? '';
    const body = contentType.startsWith('application/json') ? (JSON.parse(text) as unknown)
      : contentType.startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(text))
      : undefined;
    state.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, bodyBytes: raw.length, body });
    if (req.method === 'POST' && url.pathname === '/token') return token(res, new URLSearchParams(text));
    if (req.method === 'POST' && url.pathname === '/upload/youtube/v3/videos' && url.searchParams.get('uploadType') === 'resumable') {
      return startSession(req, res, body);
    }
    if (req.method === 'POST' && url.pathname === '/upload/youtube/v3/captions' && url.searchParams.get('uploadType') === 'multipart' && url.searchParams.get('part') === 'snippet') {
      return insertCaption(req, res, raw);
    }
    if (req.method === 'GET' && url.pathname === '/o/oauth2/v2/auth') return authorize(res, url);
    if (req.method === 'GET' && url.pathname === '/youtube/v3/channels' && url.searchParams.get('mine') === 'true') return myChannel(req, res, url);
    if (req.method === 'GET' && url.pathname === '/youtube/v3/captions' && url.searchParams.get('part') === 'snippet') return listCaptions(req, res, url);
    if (req.method === 'GET' && url.pathname === '/youtube/v3/videos' && url.searchParams.get('part') === 'statistics') return statistics(req, res, url);
    sendGoogleError(res, { status: 404, reason: 'notFound', message: `No route ${req.method} ${url.pathname}` });
  }

  const server = await serveLocally(route, (res, error) => sendGoogleError(res, { status: 500, reason: 'fakeServerError', message: String(error) }));
  baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    close: server.close,
  };
}
