import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { ProviderError } from '../../../providers/errors';
import { planChunks, TikTokClient, TIKTOK_MIN_CHUNK_BYTES, type TikTokCredentials, type TikTokUploadRequest } from '../../../providers/platforms/tiktok';
import type { PlatformAccessToken } from '../../../providers/platforms/types';
import { startFakeTikTok, type FakeTikTokState } from '../../fakes/tiktok-server';
import { assertRateLimited, leakWatch } from '../../support/provider-errors';
import { waitFor } from '../../support/wait';

const MIB = 1024 * 1024;

describe('planChunks follows TikTok chunk rules', () => {
  it('sends a small file, or one no larger than a chunk, whole', () => {
    assert.deepEqual(planChunks(3 * MIB, 10 * MIB), { chunkSize: 3 * MIB, chunkCount: 1 });
    assert.deepEqual(planChunks(4 * MIB, 5 * MIB), { chunkSize: 4 * MIB, chunkCount: 1 });
    assert.deepEqual(planChunks(9 * MIB, 10 * MIB), { chunkSize: 9 * MIB, chunkCount: 1 });
  });

  it('rounds the chunk count down and lets the last chunk take the trailing bytes', () => {
    // The Media Transfer Guide's example: 50,000,123 bytes in 10,000,000-byte chunks.
    assert.deepEqual(planChunks(50_000_123, 10_000_000), { chunkSize: 10_000_000, chunkCount: 5 });
    assert.deepEqual(planChunks(15 * MIB, 10 * MIB), { chunkSize: 10 * MIB, chunkCount: 1 });
    assert.deepEqual(planChunks(4 * 1024 * MIB, TIKTOK_MIN_CHUNK_BYTES), { chunkSize: 5 * MIB, chunkCount: 819 });
  });

  it('refuses a chunk size outside 5–64 MiB', () => {
    assert.throws(() => new TikTokClient({ chunkSizeBytes: 4 * MIB }), RangeError);
    assert.throws(() => new TikTokClient({ chunkSizeBytes: 65 * MIB }), RangeError);
  });
});

describe('TikTokClient against the fake TikTok server', () => {
  let fake: Awaited<ReturnType<typeof startFakeTikTok>>;
  let state: FakeTikTokState;
  let dir: string;
  let bigPath: string;
  let big: Buffer;
  let smallPath: string;
  let small: Buffer;
  let client: TikTokClient;
  const { thrown, failure, watched, assertNoSecrets } = leakWatch();

  before(async () => {
    fake = await startFakeTikTok();
    state = fake.state;
    dir = await mkdtemp(join(tmpdir(), 'autoclip-tiktok-'));
    // TikTok's smallest chunk is 5 MiB, so three chunks need a file of 15 MiB or more.
    big = randomBytes(16 * MIB + 123);
    bigPath = join(dir, 'big.mp4');
    await writeFile(bigPath, big);
    small = randomBytes(700 * 1024);
    smallPath = join(dir, 'small.mp4');
    await writeFile(smallPath, small);
    client = new TikTokClient({ baseUrl: fake.baseUrl, chunkSizeBytes: 5 * MIB, requestTimeoutMs: 5000, chunkTimeoutMs: 10_000, pollIntervalMs: 5 });
  });

  after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => state.reset());

  function credentials(withAccessToken = true): TikTokCredentials {
    const base = { clientKey: state.clientKey, clientSecret: state.clientSecret, refreshToken: state.refreshToken };
    return withAccessToken ? { ...base, accessToken: state.issueAccessToken(), expiresAt: new Date(Date.now() + 3600_000) } : base;
  }

  function uploadRequest(creds: TikTokCredentials, overrides: Partial<TikTokUploadRequest> = {}): TikTokUploadRequest {
    return {
      credentials: creds,
      filePath: smallPath,
      post: { title: '오늘의 시장 요약 #finance #주식', privacyLevel: 'PUBLIC_TO_EVERYONE', aiGenerated: true },
      ...overrides,
    };
  }

  const requestsTo = (path: string) => state.requests.filter((r) => r.path.startsWith(path));

  /** The post and upload URL the fake handed out for a publish id. */
  function sessionOf(publishId: string): { uploadUrl: string } {
    const post = state.posts.get(publishId);
    assert.ok(post, `no post ${publishId}`);
    return { uploadUrl: `${fake.baseUrl}/upload/?upload_id=${post.uploadId}&upload_token=${post.uploadToken}` };
  }

  function publishIdOf(session: string): string {
    return (JSON.parse(session) as { publishId: string }).publishId;
  }

  /**
   * An upload killed while it sends: the fake keeps the chunk that brings the post to `stallAtBytes`
   * and never answers it, then the attempt is aborted. Returns the session it handed out.
   */
  async function killedUpload(request: TikTokUploadRequest, stallAtBytes: number): Promise<string> {
    let session = '';
    const stalled = state.stalledChunks;
    state.stallAtBytes = stallAtBytes;
    const controller = new AbortController();
    const attempt = client.upload(request, { signal: controller.signal, onSession: (s) => void (session = s) });
    await waitFor('the stalled chunk', async () => state.stalledChunks > stalled, 10_000, 10);
    controller.abort(new Error('the worker died'));
    await assert.rejects(attempt, /the worker died/);
    return session;
  }

  it('uploads a 16 MiB file in three chunks, polls to PUBLISH_COMPLETE and keeps the 64-bit post id intact', async () => {
    const progress: [number, number][] = [];
    const sessions: { session: string; chunksSent: number }[] = [];
    const refreshed: PlatformAccessToken[] = [];
    const watch = watched();
    const result = await client.upload(
      uploadRequest(credentials(false), { filePath: bigPath, durationSec: 58 }),
      {
        ...watch,
        onProgress: (done, total) => progress.push([done, total]),
        onSession: async (session) => {
          // Awaited: no chunk may go while the caller stores the session.
          await new Promise((resolve) => setTimeout(resolve, 50));
          sessions.push({ session, chunksSent: requestsTo('/upload/').length });
        },
        onTokenRefreshed: (t) => void refreshed.push(t),
      },
    );

    assert.deepEqual(state.uploadedBytes(result.publishId), big, 'the chunks reassemble to the file');
    const post = state.posts.get(result.publishId);
    assert.ok(post?.postId && /^\d{19}$/.test(post.postId));
    assert.equal(result.postId, post.postId, 'every digit of the int64 post id survives');
    assert.equal(result.videoId, post.postId);
    assert.equal(result.url, `https://www.tiktok.com/@autoclip.fake/video/${post.postId}`);
    assert.equal(result.status, 'published');

    const ranges = requestsTo('/upload/').map((r) => [r.headers['content-range'], r.headers['content-length'], r.headers['content-type']]);
    const total = big.length;
    assert.deepEqual(ranges, [
      [`bytes 0-${5 * MIB - 1}/${total}`, String(5 * MIB), 'video/mp4'],
      [`bytes ${5 * MIB}-${10 * MIB - 1}/${total}`, String(5 * MIB), 'video/mp4'],
      [`bytes ${10 * MIB}-${total - 1}/${total}`, String(total - 10 * MIB), 'video/mp4'],
    ]);
    const init = requestsTo('/v2/post/publish/video/init/')[0]?.body as { post_info: Record<string, unknown>; source_info: Record<string, unknown> };
    assert.deepEqual(init.source_info, { source: 'FILE_UPLOAD', video_size: total, chunk_size: 5 * MIB, total_chunk_count: 3 });
    assert.deepEqual(init.post_info, {
      title: '오늘의 시장 요약 #finance #주식',
      privacy_level: 'PUBLIC_TO_EVERYONE',
      disable_comment: false,
      disable_duet: false,
      disable_stitch: true,
      is_aigc: true,
    });
    assert.equal(requestsTo('/v2/post/publish/status/fetch/').length, 3, 'two PROCESSING_DOWNLOAD polls, then PUBLISH_COMPLETE');
    assert.equal(requestsTo('/v2/post/publish/creator_info/query/').length, 1);

    assert.equal(sessions.length, 1);
    assert.equal(sessions[0]?.chunksSent, 0, 'the post is handed over, and stored, before its first chunk');
    assert.deepEqual(JSON.parse(sessions[0]!.session), { publishId: result.publishId, uploadUrl: sessionOf(result.publishId).uploadUrl, chunkSize: 5 * MIB, chunkCount: 3 });
    assert.deepEqual(progress.slice(0, 4).map(([done]) => done), [0, 5 * MIB, 10 * MIB, total]);
    assert.ok(progress.slice(4).every(([done, all]) => done === total && all === total), 'polls heartbeat');

    // No access token was given: the client refreshed, and TikTok rotated the refresh token.
    assert.ok(result.refreshedToken && state.accessTokens.has(result.refreshedToken.accessToken));
    assert.equal(result.refreshedToken.refreshToken, state.refreshToken);
    assert.ok(result.refreshedToken.refreshExpiresAt && result.refreshedToken.refreshExpiresAt.getTime() > Date.now());
    assert.deepEqual(refreshed.map((t) => t.refreshToken), [state.refreshToken]);
    const form = requestsTo('/v2/oauth/token/')[0]?.body as Record<string, string>;
    assert.equal(form.grant_type, 'refresh_token');
    assert.equal(form.client_key, state.clientKey);

    assert.deepEqual(watch.usages.map((u) => [u.service, u.operation, u.inputUnits, u.outputUnits, u.statusCode]), [
      ['tiktok', 'oauth_refresh', 1, 1, 200],
      ['tiktok', 'upload', total, 1, 200],
    ]);
    assert.deepEqual(result.usage, watch.usages[1]);
    assert.equal(watch.failed.length, 0);
  });

  it('sends a small file whole; a private post has no public id, so the publish id and the profile stand in', async () => {
    const result = await client.upload(uploadRequest(credentials(), { post: { title: 'Private', privacyLevel: 'SELF_ONLY', aiGenerated: false, disableComment: true, coverTimestampMs: 1500 } }));
    assert.deepEqual(state.uploadedBytes(result.publishId), small);
    const init = requestsTo('/v2/post/publish/video/init/')[0]?.body as { post_info: Record<string, unknown>; source_info: Record<string, unknown> };
    assert.deepEqual(init.source_info, { source: 'FILE_UPLOAD', video_size: small.length, chunk_size: small.length, total_chunk_count: 1 });
    assert.equal(init.post_info.disable_comment, true);
    assert.equal(init.post_info.video_cover_timestamp_ms, 1500);
    assert.equal(init.post_info.is_aigc, false);
    assert.equal(state.posts.get(result.publishId)?.postInfo.is_aigc, false, 'the post is not labelled AI-generated');
    assert.equal(result.postId, undefined);
    assert.equal(result.videoId, result.publishId);
    assert.equal(result.url, 'https://www.tiktok.com/@autoclip.fake');
    assert.equal(result.refreshedToken, undefined);
  });

  it('given the session of an earlier attempt whose bytes all arrived, only polls that post', async () => {
    let session = '';
    state.processingPolls = 1000;
    const slow = new TikTokClient({ baseUrl: fake.baseUrl, pollIntervalMs: 5, maxWaitMs: 60 });
    const timedOut = await failure(() => slow.upload(uploadRequest(credentials()), { onSession: (s) => void (session = s) }));
    assert.equal(timedOut.code, 'server_error');
    assert.equal(timedOut.retryable, true);
    assert.equal(timedOut.providerReason, 'processing_timeout');
    assert.match(timedOut.message, /still PROCESSING_DOWNLOAD/);

    const publishId = publishIdOf(session);
    state.posts.get(publishId)!.processingPolls = 1;
    state.requests.length = 0;
    const watch = watched();
    const result = await client.upload(uploadRequest(credentials(), { session }), watch);
    assert.equal(result.publishId, publishId);
    assert.equal(requestsTo('/v2/post/publish/video/init/').length, 0);
    assert.equal(requestsTo('/upload/').length, 0);
    assert.deepEqual(state.uploadedBytes(publishId), small);
    assert.equal(result.usage.inputUnits, 0, 'no byte was sent again');
  });

  it('continues a post killed mid-file on its upload URL from the bytes TikTok holds, and one post exists', async () => {
    const title = `중단된 업로드 ${randomBytes(4).toString('hex')}`;
    const request = uploadRequest(credentials(), { filePath: bigPath, post: { title, privacyLevel: 'PUBLIC_TO_EVERYONE', aiGenerated: true } });
    const session = await killedUpload(request, 5 * MIB);
    const publishId = publishIdOf(session);
    assert.equal(state.uploadedBytes(publishId)?.length, 5 * MIB, 'the first chunk arrived before the kill');

    state.requests.length = 0;
    const result = await client.upload({ ...request, session });
    assert.equal(result.publishId, publishId);
    assert.deepEqual(state.uploadedBytes(publishId), big);
    assert.deepEqual(requestsTo('/upload/').map((r) => r.headers['content-range']), [`bytes ${5 * MIB}-${10 * MIB - 1}/${big.length}`, `bytes ${10 * MIB}-${big.length - 1}/${big.length}`]);
    assert.equal(result.usage.inputUnits, big.length - 5 * MIB, 'only the missing bytes were sent');
    assert.equal(requestsTo('/v2/post/publish/video/init/').length, 0);
    assert.deepEqual(state.postsTitled(title).map((p) => p.publishId), [publishId], 'one post');
  });

  it('polls a post killed after its last chunk arrived, posting nothing again', async () => {
    const title = `응답 없는 업로드 ${randomBytes(4).toString('hex')}`;
    const request = uploadRequest(credentials(), { post: { title, privacyLevel: 'PUBLIC_TO_EVERYONE', aiGenerated: true } });
    const session = await killedUpload(request, small.length);

    state.requests.length = 0;
    const result = await client.upload({ ...request, session });
    assert.equal(requestsTo('/upload/').length, 0);
    assert.equal(requestsTo('/v2/post/publish/video/init/').length, 0);
    assert.equal(result.postId, state.posts.get(publishIdOf(session))?.postId);
    assert.equal(state.postsTitled(title).length, 1, 'one post');
  });

  it('replaces a post TikTok dropped before its bytes all arrived, once', async () => {
    const title = `버려진 업로드 ${randomBytes(4).toString('hex')}`;
    const request = uploadRequest(credentials(), { filePath: bigPath, post: { title, privacyLevel: 'PUBLIC_TO_EVERYONE', aiGenerated: true } });
    const session = await killedUpload(request, 5 * MIB);
    state.abandonPost(publishIdOf(session));

    const sessions: string[] = [];
    const result = await client.upload({ ...request, session }, { onSession: (s) => void sessions.push(s) });
    assert.notEqual(result.publishId, publishIdOf(session));
    assert.deepEqual(sessions.map(publishIdOf), [result.publishId], 'the new post is handed over');
    assert.deepEqual(state.uploadedBytes(result.publishId), big);
    const posts = state.postsTitled(title);
    assert.equal(posts.length, 2);
    assert.equal(posts.filter((p) => p.postId).length, 1, 'one of them is published');
  });

  it('refuses a session it did not hand out', async () => {
    const bogus = await failure(() => client.upload(uploadRequest(credentials(), { session: 'v_pub_file~v2-1.123' })));
    assert.equal(bogus.code, 'bad_request');
    assert.equal(requestsTo('/upload/').length, 0);
  });

  it('maps a 429 with Retry-After to rate_limited and the activity retry delay, and records the failed call', async () => {
    state.next.push({ on: 'init', status: 429, code: 'rate_limit_exceeded', message: 'API rate limit exceeded, please retry later.', retryAfterSec: 7 });
    const watch = watched();
    const error = await failure(() => client.upload(uploadRequest(credentials()), watch));
    assertRateLimited(error, 7000);
    assert.equal(error.providerReason, 'rate_limit_exceeded');
    assert.deepEqual(watch.failed.map(([u, e]) => [u.service, u.operation, u.statusCode, e]), [['tiktok', 'upload', 429, error.message]]);
    assert.equal(watch.usages.length, 0);

    state.next.push({ on: 'status', status: 429, code: 'rate_limit_exceeded', message: 'Too many status calls.' });
    const noHeader = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(noHeader.retryAfterMs, 60_000, 'without Retry-After, one of TikTok’s one-minute windows');
  });

  it('maps a 500 on a chunk to a retryable server_error, and the next attempt succeeds', async () => {
    state.next.push({ on: 'chunk', status: 500, code: 'internal_error', message: 'Something went wrong. Please try again later.' });
    const error = await failure(() => client.upload(uploadRequest(credentials(), { filePath: bigPath })));
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.equal(error.statusCode, 500);
    assert.match(error.message, /Something went wrong/);
    const result = await client.upload(uploadRequest(credentials(), { filePath: bigPath }));
    assert.deepEqual(state.uploadedBytes(result.publishId), big);
  });

  it('reports 400 and 403 answers without retry, with TikTok’s message', async () => {
    state.next.push({ on: 'init', status: 400, code: 'invalid_params', message: 'The title contains prohibited characters.' });
    const invalid = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(invalid.code, 'bad_request');
    assert.equal(invalid.retryable, false);
    assert.match(invalid.message, /HTTP 400 \(invalid_params\): The title contains prohibited characters/);
    assert.equal((toActivityFailure(invalid) as ApplicationFailure).nonRetryable, true);

    state.next.push({ on: 'init', status: 403, code: 'spam_risk_user_banned_from_posting', message: 'The user is banned from making new posts.' });
    const banned = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(banned.code, 'forbidden');
    assert.equal(banned.retryable, false);
    assert.match(banned.message, /banned from making new posts/);

    state.next.push({ on: 'init', status: 403, code: 'spam_risk_too_many_posts', message: 'The daily post cap from the API is reached for the current user.' });
    const capped = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(capped.code, 'quota_exceeded');
    assert.equal(capped.retryable, false);
    assert.match(capped.message, /daily post cap/);
  });

  it('refuses a privacy level or a duration the creator is not offered, before sending anything', async () => {
    const privacy = await failure(() => client.upload(uploadRequest(credentials(), { post: { title: 'x', privacyLevel: 'FOLLOWER_OF_CREATOR', aiGenerated: true } })));
    assert.equal(privacy.code, 'bad_request');
    assert.equal(privacy.providerReason, 'privacy_level_option_mismatch');
    assert.match(privacy.message, /PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, SELF_ONLY/);
    const long = await failure(() => client.upload(uploadRequest(credentials(), { durationSec: 601 })));
    assert.equal(long.code, 'bad_request');
    assert.match(long.message, /at most 600 s/);
    assert.equal(requestsTo('/v2/post/publish/video/init/').length, 0);
  });

  it('ends a post TikTok fails without retry, with its fail_reason', async () => {
    state.failNextPosts.push('frame_rate_check_failed');
    const error = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(error.code, 'bad_request');
    assert.equal(error.retryable, false);
    assert.equal(error.providerReason, 'frame_rate_check_failed');
    assert.match(error.message, /failed \(frame_rate_check_failed\)/);

    state.failNextPosts.push('auth_removed');
    const removed = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(removed.code, 'auth_revoked');
    assert.equal(removed.requiresReconnect, true);
  });

  it('refreshes an expired access token once, sends again, and hands over the rotated refresh token', async () => {
    const creds = credentials();
    state.expireAccessTokens();
    const refreshed: PlatformAccessToken[] = [];
    const watch = watched();
    const result = await client.upload(uploadRequest(creds), { ...watch, onTokenRefreshed: (t) => void refreshed.push(t) });
    assert.deepEqual(state.uploadedBytes(result.publishId), small);
    assert.equal(requestsTo('/v2/oauth/token/').length, 1);
    assert.ok(result.refreshedToken && state.accessTokens.has(result.refreshedToken.accessToken));
    assert.equal(refreshed[0]?.refreshToken, state.refreshToken);
    assert.notEqual(state.refreshToken, creds.refreshToken, 'the old refresh token no longer works');
    assert.deepEqual(watch.failed.map(([u]) => [u.operation, u.statusCode]), [['upload', 401]]);
    assert.deepEqual(watch.usages.map((u) => u.operation), ['oauth_refresh', 'upload']);
  });

  it('fails without retry when TikTok refuses the token after the refresh', async () => {
    const reject = { on: 'creator_info' as const, status: 401, code: 'access_token_invalid', message: 'The access token is invalid or not found in the request.' };
    state.next.push(reject, { ...reject });
    const error = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.retryable, false);
    assert.equal(requestsTo('/v2/oauth/token/').length, 1);
  });

  it('reports a refresh answered invalid_grant as auth_revoked', async () => {
    const creds = credentials();
    state.revokeRefreshToken();
    const watch = watched();
    const error = await failure(() => client.upload(uploadRequest(creds), watch));
    assert.equal(error.code, 'auth_revoked');
    assert.equal(error.retryable, false);
    assert.equal(error.requiresReconnect, true);
    assert.equal(error.providerReason, 'invalid_grant');
    assert.match(error.message, /Refresh token is invalid or expired/);
    assert.deepEqual(watch.failed.map(([u]) => [u.operation, u.statusCode]), [['upload', 401], ['oauth_refresh', 400]]);
    const direct = await failure(() => client.refreshAccessToken(creds));
    assert.equal(direct.code, 'auth_revoked');
  });

  it('rejects malformed answers cleanly', async () => {
    state.next.push({ on: 'init', status: 200, raw: '<html><body>upstream reset</body></html>' });
    const html = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(html.code, 'invalid_response');
    assert.equal(html.retryable, true);

    state.next.push({ on: 'status', status: 200, raw: JSON.stringify({ data: {}, error: { code: 'ok', message: '' } }) });
    const noStatus = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(noStatus.code, 'invalid_response');
    assert.match(noStatus.message, /no data\.status/);

    state.next.push({ on: 'init', status: 502, raw: '<html>502 Bad Gateway</html>' });
    const gateway = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(gateway.code, 'server_error');
    assert.match(gateway.message, /502 Bad Gateway/);

    state.next.push({ on: 'token', status: 200, raw: JSON.stringify({ token_type: 'Bearer' }) });
    const noToken = await failure(() => client.refreshAccessToken(credentials(false)));
    assert.equal(noToken.code, 'invalid_response');
  });

  it('stops at once when the caller cancels while it polls', async () => {
    state.processingPolls = 1000;
    const patient = new TikTokClient({ baseUrl: fake.baseUrl, pollIntervalMs: 50 });
    const controller = new AbortController();
    let heartbeats = 0;
    const onProgress = (done: number, total: number): void => {
      // The first full count ends the chunks; the next ones are polls.
      if (done === total && ++heartbeats === 3) controller.abort(new Error('cancelled by the workflow'));
    };
    const upload = patient.upload(uploadRequest(credentials()), { signal: controller.signal, onProgress });
    await assert.rejects(upload, (reason: unknown) => !(reason instanceof ProviderError) && (reason as Error).message === 'cancelled by the workflow');
    assert.equal(heartbeats, 3);
  });

  it('fetches views, likes, comments and shares in batches of 20', async () => {
    const first = await client.upload(uploadRequest(credentials()));
    const second = await client.upload(uploadRequest(credentials()));
    state.setStatistics(first.videoId, { view_count: 1234, like_count: 56, comment_count: 7, share_count: 3 });
    const ids = [first.videoId, second.videoId, ...Array.from({ length: 20 }, (_, i) => `70000000000000000${String(i).padStart(2, '0')}`), first.videoId];
    const watch = watched();
    const { items, usage } = await client.fetchStatistics(credentials(), ids, watch);
    assert.deepEqual(items, [
      { videoId: first.videoId, views: 1234, likes: 56, comments: 7, shares: 3 },
      { videoId: second.videoId, views: 0, likes: 0, comments: 0, shares: 0 },
    ]);
    const queries = requestsTo('/v2/video/query/');
    assert.equal(queries.length, 2);
    assert.match(queries[0]!.path, /fields=id,view_count,like_count,comment_count,share_count/);
    assert.equal((queries[0]!.body as { filters: { video_ids: string[] } }).filters.video_ids.length, 20);
    assert.deepEqual([usage.operation, usage.inputUnits, usage.outputUnits], ['metrics', 2, 2]);
    assert.deepEqual(watch.usages, [usage]);
  });

  it('never puts a token, secret or upload token in an error or a record', () => {
    assert.ok(thrown.length >= 15);
    const secrets = [...state.issuedTokens, state.clientSecret, ...[...state.posts.values()].map((p) => p.uploadToken)];
    assertNoSecrets(secrets);
  });
});
