import { captionOpensWith, readAll, sendJson, serveLocally, Storm } from './http';
import { AuthorizationCodes } from './oauth';
import { randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';

/**
 * A loopback server speaking the Instagram API with Instagram Login (graph.instagram.com): REELS
 * containers that really fetch their `video_url` (an S3 presigned URL, or a file the fake hosts
 * itself through `hostFile`), container status walking IN_PROGRESS → FINISHED, `media_publish`
 * with the 24-hour publishing cap (a published container answers PUBLISHED), the account's media
 * list (newest first), permalinks and the AI info label (`is_ai_generated`), media insights and
 * the long-lived token refresh; and Business Login for Instagram: the consent page
 * (`/oauth/authorize`), the code exchange for a short-lived token (`POST /oauth/access_token`, as on
 * api.instagram.com), its exchange for a long-lived one (`/access_token?grant_type=ig_exchange_token`)
 * and `/me`. Short-lived tokens serve only that exchange here, so a client that skips it fails.
 * Tokens are accepted as a Bearer header or an `access_token` parameter, like the Graph API.
 * Tests steer it through `state`: `next` queues Graph errors per endpoint, `failNextContainers`
 * ends containers in ERROR, `stallNextPublish` publishes without answering, helpers revoke or
 * expire tokens, and containers and reels are counted per caption.
 */

export type InstagramEndpoint = 'refresh' | 'media' | 'status' | 'publish' | 'permalink' | 'insights';

export interface InstagramKnob {
  on: InstagramEndpoint;
  status: number;
  code?: number;
  subcode?: number;
  message?: string;
  type?: string;
  transient?: boolean;
  retryAfterSec?: number;
  /** Minutes in the `X-Business-Use-Case-Usage` header's `estimated_time_to_regain_access`. */
  regainAccessMinutes?: number;
  /** Answer this text instead of Graph JSON (a malformed or gateway answer). */
  raw?: string;
}

export interface InstagramRecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed body of JSON and form requests. */
  body?: Record<string, unknown>;
}

export interface FakeContainer {
  id: string;
  params: Record<string, unknown>;
  /** IN_PROGRESS polls left once the video is fetched. */
  pollsLeft: number;
  statusCode: 'IN_PROGRESS' | 'FINISHED' | 'ERROR' | 'EXPIRED' | 'PUBLISHED';
  status: string;
  /** The bytes fetched from `video_url`, once the download ended. */
  bytes?: Buffer;
  fetched: Promise<void>;
  failure?: { subcode: number; message: string };
}

export interface FakeMedia {
  id: string;
  containerId: string;
  /** When it was published (Graph's format); reels a test seeds may have none. */
  timestamp?: string;
  permalink: string;
  bytes?: Buffer;
  insights: { views: number; likes: number; comments: number; shares: number };
}

export class FakeInstagramState {
  readonly userId = String(17_841_400_000_000_000n + BigInt(randomBytes(3).readUIntBE(0, 3)));
  readonly username = 'autoclip.fake';
  /** The Instagram app's id and secret (App Dashboard > Instagram > API setup with Instagram login). */
  readonly appId = String(990_000_000_000_000 + randomBytes(3).readUIntBE(0, 3));
  readonly appSecret = `fake-app-secret-${randomBytes(8).toString('hex')}`;
  /** Codes handed out by the consent page; `decision` steers the next consent. */
  readonly consents = new AuthorizationCodes();
  /** The only redirect URI the consent page accepts, as registered in the App Dashboard; any when unset. */
  registeredRedirectUri?: string;
  /** Short-lived tokens of the code exchange, each good for one exchange for a long-lived token. */
  readonly shortLivedTokens = new Set<string>();
  readonly accessTokens = new Set<string>();
  /** Every token ever issued, valid or not, so tests can look for leaks. */
  readonly issuedTokens: string[] = [];
  /** IN_PROGRESS polls of each new container. */
  processingPolls = 2;
  /** Fetch each container's `video_url` (turn off to leave the URL unchecked). */
  fetchVideos = true;
  /** Posts published in the current 24 hours, against `publishLimit`. */
  publishedInWindow = 0;
  publishLimit = 100;
  /** Graph errors answered, in order, by the next request to their endpoint. */
  readonly next: InstagramKnob[] = [];
  /** Failures given, in order, to the next containers (status_code ERROR). */
  readonly failNextContainers: { subcode: number; message: string }[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly media = new Map<string, FakeMedia>();
  readonly files = new Map<string, Buffer>();
  readonly requests: InstagramRecordedRequest[] = [];
  /** The next media_publish publishes its container and never answers, as when the publisher dies before the answer arrives. */
  stallNextPublish = false;
  /** media_publish calls that published and were left unanswered so far. */
  stalledPublishes = 0;
  /** While it lasts, every Graph request gets its 429 (code 4, rate limit) or 5xx (code 2, transient). */
  readonly storm = new Storm();

  issueAccessToken(): string {
    const token = `IGAAfake${randomBytes(24).toString('hex')}`;
    this.accessTokens.add(token);
    this.issuedTokens.push(token);
    return token;
  }

  /** The user removed the app or the token expired: every token is refused, refreshes too. */
  revokeAccessTokens(): void {
    this.accessTokens.clear();
  }

  /** The next call to `on` answers code 190 (session expired) although the token can still be refreshed. */
  rejectNextAsExpired(on: InstagramEndpoint): void {
    this.next.push({ on, status: 400, code: 190, subcode: 463, message: 'Error validating access token: Session has expired on Friday, 01-Jan-27 00:00:00 PST.' });
  }

  take(on: InstagramEndpoint): InstagramKnob | undefined {
    const index = this.next.findIndex((knob) => knob.on === on);
    return index < 0 ? undefined : this.next.splice(index, 1)[0];
  }

  /** The containers whose caption begins with `caption`. */
  containersCaptioned(caption: string): FakeContainer[] {
    return [...this.containers.values()].filter((container) => String(container.params.caption ?? '').startsWith(caption));
  }

  /** A reel's caption: its container's. */
  captionOf(media: FakeMedia): string {
    const caption = this.containers.get(media.containerId)?.params.caption;
    return typeof caption === 'string' ? caption : '';
  }

  /** A reel's AI info label as its container declared it (`is_ai_generated`, a boolean or its text form); undefined when left out. */
  aiGeneratedOf(media: FakeMedia): boolean | undefined {
    const declared = this.containers.get(media.containerId)?.params.is_ai_generated;
    return declared === undefined ? undefined : declared === true || declared === 'true';
  }

  /** The reels whose caption begins with `caption`. */
  mediaCaptioned(caption: string): FakeMedia[] {
    return [...this.media.values()].filter((media) => this.captionOf(media).startsWith(caption));
  }

  /** Published reels whose caption opens with `title` (containers never published do not count). */
  uploadsTitled(title: string): number {
    return [...this.media.values()].filter((media) => captionOpensWith(String(this.containers.get(media.containerId)?.params.caption ?? ''), title)).length;
  }

  setInsights(mediaId: string, insights: FakeMedia['insights']): void {
    const media = this.media.get(mediaId);
    if (!media) throw new Error(`no media ${mediaId}`);
    media.insights = insights;
  }

  reset(): void {
    this.next.length = 0;
    this.failNextContainers.length = 0;
    this.requests.length = 0;
    this.processingPolls = 2;
    this.fetchVideos = true;
    this.publishedInWindow = 0;
    this.publishLimit = 100;
    this.stallNextPublish = false;
  }
}

function graphId(): string {
  return String(17_900_000_000_000_000n + BigInt(`0x${randomBytes(6).toString('hex')}`));
}

function sendGraphError(res: ServerResponse, knob: Omit<InstagramKnob, 'on'>): void {
  const headers: Record<string, string> = {};
  if (knob.retryAfterSec !== undefined) headers['Retry-After'] = String(knob.retryAfterSec);
  if (knob.regainAccessMinutes !== undefined) {
    headers['X-Business-Use-Case-Usage'] = JSON.stringify({ '17841400000000000': [{ type: 'instagram', call_count: 100, total_cputime: 30, total_time: 40, estimated_time_to_regain_access: knob.regainAccessMinutes }] });
  }
  if (knob.raw !== undefined) {
    res.writeHead(knob.status, { 'Content-Type': 'text/html', 'Content-Length': Buffer.byteLength(knob.raw), ...headers });
    res.end(knob.raw);
    return;
  }
  sendJson(
    res,
    knob.status,
    {
      error: {
        message: knob.message ?? 'An unknown error has occurred.',
        type: knob.type ?? 'OAuthException',
        code: knob.code ?? 1,
        ...(knob.subcode !== undefined ? { error_subcode: knob.subcode } : {}),
        is_transient: knob.transient ?? false,
        fbtrace_id: randomBytes(9).toString('base64url'),
      },
    },
    headers,
  );
}

function missingObject(res: ServerResponse, id: string): void {
  sendGraphError(res, {
    status: 400,
    code: 100,
    subcode: 33,
    type: 'GraphMethodException',
    message: `Unsupported get request. Object with ID '${id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
  });
}

export async function startFakeInstagram(): Promise<{ baseUrl: string; state: FakeInstagramState; hostFile(bytes: Buffer): string; close(): Promise<void> }> {
  const state = new FakeInstagramState();
  let baseUrl = '';

  function tokenOf(req: IncomingMessage, url: URL): string | undefined {
    return /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? url.searchParams.get('access_token') ?? undefined;
  }

  function authorized(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const token = tokenOf(req, url);
    if (token && state.accessTokens.has(token)) return true;
    sendGraphError(res, { status: 400, code: 190, subcode: token ? 460 : undefined, message: token ? 'Error validating access token: The session has been invalidated.' : 'An active access token must be used to query information about the current user.' });
    return false;
  }

  /** The consent page: the user consents at once (or refuses, see `consents.decision`) and the browser goes back with the code (and Instagram's `#_`). */
  function authorize(res: ServerResponse, url: URL): void {
    const query = url.searchParams;
    const redirectUri = query.get('redirect_uri') ?? '';
    const problem =
      query.get('client_id') !== state.appId ? 'Invalid platform app'
      : !/^https?:\/\//.test(redirectUri) || (state.registeredRedirectUri !== undefined && redirectUri !== state.registeredRedirectUri) ? 'Invalid redirect_uri'
      : query.get('response_type') !== 'code' ? 'Invalid response_type'
      : !query.get('scope') ? 'Missing scope'
      : undefined;
    if (problem) {
      res.writeHead(400, { 'Content-Type': 'text/html; charset=UTF-8' });
      res.end(`<p>${problem}</p>`);
      return;
    }
    const scopes = (query.get('scope') ?? '').split(/[\s,]+/).filter(Boolean);
    const location = state.consents.consent({ clientId: state.appId, redirectUri, scopes }, query.get('state'));
    res.writeHead(302, { Location: `${location}#_`, 'Content-Length': 0 });
    res.end();
  }

  /** api.instagram.com's code exchange: a short-lived token and the account's id. */
  function exchangeCode(res: ServerResponse, form: Record<string, unknown>): void {
    const oauthError = (message: string): void => sendJson(res, 400, { error_type: 'OAuthException', code: 400, error_message: message });
    if (form.client_id !== state.appId || form.client_secret !== state.appSecret) return oauthError('Invalid Client ID or client secret');
    if (form.grant_type !== 'authorization_code') return oauthError('Invalid grant_type');
    const redeemed = state.consents.redeem(typeof form.code === 'string' ? form.code : null, {
      clientId: state.appId,
      redirectUri: typeof form.redirect_uri === 'string' ? form.redirect_uri : undefined,
      codeVerifier: undefined,
    });
    if ('error' in redeemed) return oauthError(redeemed.description);
    const token = `IGAAshort${randomBytes(16).toString('hex')}`;
    state.shortLivedTokens.add(token);
    state.issuedTokens.push(token);
    sendJson(res, 200, { data: [{ access_token: token, user_id: state.userId, permissions: redeemed.granted.scopes.join(',') }] });
  }

  /** graph.instagram.com/access_token: a short-lived token for a long-lived one (60 days), with the app secret. */
  function exchangeToken(res: ServerResponse, url: URL): void {
    const query = url.searchParams;
    if (query.get('grant_type') !== 'ig_exchange_token') return sendGraphError(res, { status: 400, code: 100, message: 'Invalid grant_type' });
    if (query.get('client_secret') !== state.appSecret) return sendGraphError(res, { status: 400, code: 101, message: 'Error validating client secret.' });
    const shortLived = query.get('access_token') ?? '';
    if (!state.shortLivedTokens.delete(shortLived)) return sendGraphError(res, { status: 400, code: 190, message: 'Invalid OAuth access token - Cannot parse access token' });
    sendJson(res, 200, { access_token: state.issueAccessToken(), token_type: 'bearer', expires_in: 5_183_944 });
  }

  /** /me: the account of the token, with the fields asked for. */
  function me(res: ServerResponse, url: URL): void {
    const all: Record<string, unknown> = { id: `2${state.userId.slice(1)}`, user_id: state.userId, username: state.username, name: 'AutoClip Fake', account_type: 'BUSINESS' };
    const fields = (url.searchParams.get('fields') ?? 'id').split(',').filter(Boolean);
    const unknown = fields.find((field) => !(field in all));
    if (unknown) return sendGraphError(res, { status: 400, code: 100, type: 'IGApiException', message: `Tried accessing nonexisting field (${unknown}) on node type (User)` });
    sendJson(res, 200, Object.fromEntries([...fields, 'id'].map((field) => [field, all[field]])));
  }

  function refresh(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const knob = state.take('refresh');
    if (knob) return sendGraphError(res, knob);
    if (url.searchParams.get('grant_type') !== 'ig_refresh_token') return sendGraphError(res, { status: 400, code: 100, message: 'Invalid grant_type' });
    if (req.headers.authorization) return sendGraphError(res, { status: 400, code: 100, message: 'The token to refresh goes in the access_token parameter' });
    if (!authorized(req, res, url)) return;
    sendJson(res, 200, { access_token: state.issueAccessToken(), token_type: 'bearer', expires_in: 5_183_944 });
  }

  /** Instagram cURLs the video: the container stays IN_PROGRESS until the bytes are in. */
  async function fetchVideo(container: FakeContainer): Promise<void> {
    try {
      const response = await fetch(String(container.params.video_url), { signal: AbortSignal.timeout(10_000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      container.bytes = Buffer.from(await response.arrayBuffer());
    } catch {
      container.failure ??= { subcode: 2207052, message: 'The media could not be fetched from this uri' };
    }
  }

  function createContainer(res: ServerResponse, userId: string, params: Record<string, unknown>): void {
    const knob = state.take('media');
    if (knob) return sendGraphError(res, knob);
    if (userId !== state.userId) return missingObject(res, userId);
    if (params.media_type !== 'REELS') return sendGraphError(res, { status: 400, code: 100, message: 'The parameter media_type must be REELS for a video' });
    if (typeof params.video_url !== 'string' || !/^https?:\/\//.test(params.video_url)) return sendGraphError(res, { status: 400, code: 100, message: 'The parameter video_url is required' });
    const caption = typeof params.caption === 'string' ? params.caption : '';
    if (Array.from(caption).length > 2200) return sendGraphError(res, { status: 400, code: 100, subcode: 2207035, message: 'The caption is longer than 2200 characters' });
    if ((caption.match(/#[\p{L}\p{N}_]+/gu) ?? []).length > 30) return sendGraphError(res, { status: 400, code: 100, message: 'The caption has more than 30 hashtags' });
    const aiGenerated = params.is_ai_generated;
    if (aiGenerated !== undefined && typeof aiGenerated !== 'boolean' && aiGenerated !== 'true' && aiGenerated !== 'false') {
      return sendGraphError(res, { status: 400, code: 100, message: 'The parameter is_ai_generated must be a boolean' });
    }
    const failure = state.failNextContainers.shift();
    const container: FakeContainer = {
      id: graphId(),
      params,
      pollsLeft: state.processingPolls,
      statusCode: 'IN_PROGRESS',
      status: 'In Progress',
      fetched: Promise.resolve(),
      ...(failure ? { failure } : {}),
    };
    if (state.fetchVideos) container.fetched = fetchVideo(container);
    state.containers.set(container.id, container);
    sendJson(res, 200, { id: container.id });
  }

  async function containerStatus(res: ServerResponse, container: FakeContainer, fields: string[]): Promise<void> {
    const knob = state.take('status');
    if (knob) return sendGraphError(res, knob);
    if (container.statusCode === 'IN_PROGRESS') {
      await container.fetched;
      if (container.pollsLeft > 0) {
        container.pollsLeft -= 1;
      } else if (container.failure) {
        container.statusCode = 'ERROR';
        container.status = `Error: ${container.failure.message} (${container.failure.subcode})`;
      } else {
        container.statusCode = 'FINISHED';
        container.status = 'Finished: Media has been uploaded and it is ready to be published.';
      }
    }
    const all: Record<string, unknown> = { status_code: container.statusCode, status: container.status, id: container.id };
    sendJson(res, 200, Object.fromEntries([...fields, 'id'].filter((f) => f in all).map((f) => [f, all[f]])));
  }

  function publish(res: ServerResponse, userId: string, params: Record<string, unknown>): void {
    const knob = state.take('publish');
    if (knob) return sendGraphError(res, knob);
    if (userId !== state.userId) return missingObject(res, userId);
    const container = state.containers.get(String(params.creation_id));
    if (!container) return sendGraphError(res, { status: 400, code: 100, message: 'The parameter creation_id is required or invalid' });
    if (state.publishedInWindow >= state.publishLimit) {
      return sendGraphError(res, { status: 400, code: 9, subcode: 2207042, type: 'OAuthException', message: 'Application request limit reached', transient: false });
    }
    if (container.statusCode !== 'FINISHED') {
      return sendGraphError(res, { status: 400, code: 9007, subcode: 2207027, message: 'Media ID is not available: the media is not ready for publishing, please wait for a moment' });
    }
    container.statusCode = 'PUBLISHED';
    container.status = 'Published';
    state.publishedInWindow += 1;
    const id = graphId();
    const media: FakeMedia = {
      id,
      containerId: container.id,
      timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, '+0000'),
      permalink: `https://www.instagram.com/reel/${randomBytes(8).toString('base64url')}/`,
      ...(container.bytes ? { bytes: container.bytes } : {}),
      insights: { views: 0, likes: 0, comments: 0, shares: 0 },
    };
    state.media.set(id, media);
    if (state.stallNextPublish) {
      state.stallNextPublish = false;
      state.stalledPublishes += 1;
      return;
    }
    sendJson(res, 200, { id });
  }

  /** The account's media, newest first, with the fields asked for; `limit` per page (25 by default). */
  function listMedia(res: ServerResponse, userId: string, url: URL, fields: string[]): void {
    if (userId !== state.userId) return missingObject(res, userId);
    const limit = Number(url.searchParams.get('limit') ?? 25);
    const data = [...state.media.values()]
      .reverse()
      .slice(0, limit)
      .map((media) => {
        const all: Record<string, unknown> = { id: media.id, caption: state.captionOf(media), ...(media.timestamp ? { timestamp: media.timestamp } : {}), permalink: media.permalink, media_product_type: 'REELS', media_type: 'VIDEO' };
        return Object.fromEntries([...fields, 'id'].filter((f) => f in all).map((f) => [f, all[f]]));
      });
    sendJson(res, 200, { data, paging: { cursors: { before: 'QVFIUmZA', after: 'QVFIUmZB' } } });
  }

  function insights(res: ServerResponse, media: FakeMedia, url: URL): void {
    const knob = state.take('insights');
    if (knob) return sendGraphError(res, knob);
    const metrics = (url.searchParams.get('metric') ?? '').split(',').filter(Boolean);
    const unknown = metrics.find((m) => !(m in media.insights));
    if (metrics.length === 0 || unknown) return sendGraphError(res, { status: 400, code: 100, message: `(#100) metric[0] must be one of the following values: views, likes, comments, shares${unknown ? ` (got ${unknown})` : ''}` });
    const data = metrics.map((name) => ({
      name,
      period: 'lifetime',
      values: [{ value: media.insights[name as keyof FakeMedia['insights']] }],
      title: name,
      description: `The number of ${name}.`,
      id: `${media.id}/insights/${name}/lifetime`,
    }));
    sendJson(res, 200, { data });
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', baseUrl);
    const raw = (await readAll(req)).toString('utf8');
    const contentType = req.headers['content-type'] ?? '';
    const body = contentType.startsWith('application/json') && raw !== '' ? (JSON.parse(raw) as Record<string, unknown>)
      : contentType.startsWith('application/x-www-form-urlencoded') ? Object.fromEntries(new URLSearchParams(raw))
      : undefined;
    const file = /^\/_files\/([\w-]+)$/.exec(url.pathname);
    if (req.method === 'GET' && file) {
      const bytes = state.files.get(file[1] as string);
      res.writeHead(bytes ? 200 : 404, { 'Content-Type': 'video/mp4', 'Content-Length': bytes?.length ?? 0 });
      res.end(bytes);
      return;
    }
    const storm = state.storm.take();
    if (storm) {
      return sendGraphError(
        res,
        storm.status === 429
          ? { status: 429, code: 4, transient: true, message: 'Application request limit reached', retryAfterSec: storm.retryAfterSec }
          : { status: storm.status, code: 2, transient: true, message: 'Service temporarily unavailable' },
      );
    }
    state.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, ...(body ? { body } : {}) });
    if (req.method === 'GET' && url.pathname === '/refresh_access_token') return refresh(req, res, url);
    if (req.method === 'GET' && url.pathname === '/oauth/authorize') return authorize(res, url);
    if (req.method === 'POST' && url.pathname === '/oauth/access_token') return exchangeCode(res, body ?? {});
    if (req.method === 'GET' && url.pathname === '/access_token') return exchangeToken(res, url);
    if (req.method === 'GET' && /^\/v\d+\.\d+\/me$/.test(url.pathname)) return authorized(req, res, url) ? me(res, url) : undefined;
    const path = /^\/v\d+\.\d+\/(\d+)(?:\/(media|media_publish|insights))?$/.exec(url.pathname);
    if (!path) return sendGraphError(res, { status: 400, code: 100, message: `Unknown path components: ${url.pathname}` });
    if (!authorized(req, res, url)) return;
    const [, id, edge] = path as unknown as [string, string, string | undefined];
    const params = { ...Object.fromEntries(url.searchParams), ...body };
    const fields = (url.searchParams.get('fields') ?? '').split(',').filter(Boolean);
    if (req.method === 'POST' && edge === 'media') return createContainer(res, id, params);
    if (req.method === 'POST' && edge === 'media_publish') return publish(res, id, params);
    if (req.method !== 'GET') return sendGraphError(res, { status: 400, code: 100, message: `Unsupported ${req.method} request` });
    if (edge === 'media') return listMedia(res, id, url, fields);
    const container = state.containers.get(id);
    const media = state.media.get(id);
    if (edge === 'insights') return media ? insights(res, media, url) : missingObject(res, id);
    if (container) return containerStatus(res, container, fields);
    if (!media) return missingObject(res, id);
    const knob = state.take('permalink');
    if (knob) return sendGraphError(res, knob);
    const all: Record<string, unknown> = { id, permalink: media.permalink, media_product_type: 'REELS', media_type: 'VIDEO', is_ai_generated: state.aiGeneratedOf(media) ?? false };
    sendJson(res, 200, Object.fromEntries([...fields, 'id'].filter((f) => f in all).map((f) => [f, all[f]])));
  }

  const server = await serveLocally(route, (res, error) => sendGraphError(res, { status: 500, code: 2, transient: true, message: String(error) }));
  baseUrl = server.baseUrl;
  return {
    baseUrl,
    state,
    hostFile: (bytes: Buffer): string => {
      const id = randomBytes(8).toString('hex');
      state.files.set(id, bytes);
      return `${baseUrl}/_files/${id}`;
    },
    close: server.close,
  };
}
