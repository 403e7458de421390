import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { ProviderError } from '../../../providers/errors';
import { YouTubeClient, type YouTubeCredentials, type YouTubeUploadRequest } from '../../../providers/platforms/youtube';
import type { ProviderUsage } from '../../../providers/types';
import { startFakeYouTube, type FakeYouTubeState } from '../../fakes/youtube-server';
import { leakWatch } from '../../support/provider-errors';
import { waitFor } from '../../support/wait';

const KIB = 1024;

describe('YouTubeClient against the fake YouTube server', () => {
  let fake: Awaited<ReturnType<typeof startFakeYouTube>>;
  let state: FakeYouTubeState;
  let dir: string;
  let videoPath: string;
  let video: Buffer;
  let client: YouTubeClient;
  const usages: ProviderUsage[] = [];
  const { thrown, failure, assertNoSecrets } = leakWatch();

  before(async () => {
    fake = await startFakeYouTube();
    dir = await mkdtemp(join(tmpdir(), 'autoclip-youtube-'));
    video = randomBytes(700 * KIB);
    videoPath = join(dir, 'video.mp4');
    await writeFile(videoPath, video);
    client = new YouTubeClient({
      endpoints: { oauthUrl: fake.baseUrl, uploadUrl: fake.baseUrl, apiUrl: fake.baseUrl },
      chunkSizeBytes: 256 * KIB,
      requestTimeoutMs: 5000,
      chunkTimeoutMs: 5000,
      resumeBackoffMs: 5,
      maxResumeAttempts: 3,
    });
  });

  after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    state = fake.state;
    state.refreshRevoked = false;
    state.requests.length = 0;
  });

  function credentials(withAccessToken = false): YouTubeCredentials {
    const base = { clientId: state.clientId, clientSecret: state.clientSecret, refreshToken: state.refreshToken };
    return withAccessToken ? { ...base, accessToken: state.issueAccessToken(), expiresAt: new Date(Date.now() + 3600_000) } : base;
  }

  function uploadRequest(creds: YouTubeCredentials, overrides: Partial<YouTubeUploadRequest> = {}): YouTubeUploadRequest {
    return {
      credentials: creds,
      filePath: videoPath,
      metadata: { title: '오늘의 시장 요약 <AAPL>', description: 'Daily summary', tags: ['finance', '주식', 'finance'], privacyStatus: 'public', madeForKids: false, containsSyntheticMedia: true, language: 'ko' },
      ...overrides,
    };
  }

  const chunkPuts = (): { range: string; bytes: number }[] =>
    state.requests.filter((r) => r.method === 'PUT').map((r) => ({ range: String(r.headers['content-range']), bytes: r.bodyBytes }));

  it('refreshes an access token', async () => {
    const token = await client.refreshAccessToken(credentials(), { onUsage: (u) => usages.push(u) });
    assert.ok(state.accessTokens.has(token.accessToken));
    assert.ok(token.expiresAt.getTime() > Date.now() + 3000_000);
    const form = state.requests.find((r) => r.path === '/token')?.body as Record<string, string>;
    assert.equal(form.grant_type, 'refresh_token');
  });

  it('uploads a 700 KiB file in 256 KiB chunks and the bytes arrive identical', async () => {
    const progress: [number, number][] = [];
    const sessions: string[] = [];
    const result = await client.upload(uploadRequest(credentials()), {
      onUsage: (u) => usages.push(u),
      onProgress: (sent, total) => progress.push([sent, total]),
      onSession: (uri) => void sessions.push(uri),
    });
    assert.deepEqual(state.uploadedBytes(result.videoId), video);
    assert.equal(result.url, `https://www.youtube.com/watch?v=${result.videoId}`);
    assert.ok(result.refreshedToken, 'no access token was given, so the client refreshed one');
    assert.deepEqual(chunkPuts(), [
      { range: `bytes 0-262143/${video.length}`, bytes: 262144 },
      { range: `bytes 262144-524287/${video.length}`, bytes: 262144 },
      { range: `bytes 524288-716799/${video.length}`, bytes: 192512 },
    ]);
    const sizes = state.requests.filter((r) => r.method === 'PUT').map((r) => [r.headers['content-length'], r.headers['transfer-encoding']]);
    assert.deepEqual(sizes, [['262144', undefined], ['262144', undefined], ['192512', undefined]]);
    assert.deepEqual(progress.map(([sent]) => sent), [0, 262144, 524288, 716800]);
    assert.equal(sessions.length, 1);

    const init = state.requests.find((r) => r.method === 'POST' && r.path.startsWith('/upload/'));
    assert.equal(init?.headers['x-upload-content-length'], String(video.length));
    assert.equal(init?.headers['x-upload-content-type'], 'video/mp4');
    const resource = init?.body as { snippet: Record<string, unknown>; status: Record<string, unknown> };
    assert.equal(resource.snippet.title, '오늘의 시장 요약 AAPL');
    assert.deepEqual(resource.snippet.tags, ['finance', '주식']);
    assert.equal(resource.snippet.categoryId, '22');
    assert.deepEqual(resource.status, { privacyStatus: 'public', selfDeclaredMadeForKids: false, containsSyntheticMedia: true });
    assert.equal(state.containsSyntheticMedia(result.videoId), true, 'the video carries the synthetic-media disclosure');

    const upload = usages.filter((u) => u.operation === 'upload').at(-1);
    assert.deepEqual({ ...upload, durationMs: 0 }, {
      service: 'youtube', operation: 'upload', inputUnits: 1600, outputUnits: 1, durationMs: 0, estimatedCostUsd: 0, statusCode: 200,
    });
  });

  it('sends publishAt only on a private video, and refuses it on a public one before any request; containsSyntheticMedia false is sent as false', async () => {
    const publishAt = '2030-01-02T03:04:05.000Z';
    const result = await client.upload(uploadRequest(credentials(true), {
      metadata: { title: 'Scheduled', privacyStatus: 'private', publishAt, madeForKids: true, containsSyntheticMedia: false },
      urlStyle: 'shorts',
    }));
    assert.equal(result.url, `https://www.youtube.com/shorts/${result.videoId}`);
    const init = state.requests.find((r) => r.method === 'POST' && r.path.startsWith('/upload/'));
    assert.deepEqual((init?.body as { status: unknown }).status, { privacyStatus: 'private', selfDeclaredMadeForKids: true, containsSyntheticMedia: false, publishAt });
    assert.equal(state.containsSyntheticMedia(result.videoId), false, 'an explicit false is declared, not left out');

    state.requests.length = 0;
    const error = await failure(() => client.upload(uploadRequest(credentials(true), {
      metadata: { title: 'Scheduled', privacyStatus: 'public', publishAt, madeForKids: false, containsSyntheticMedia: true },
    })));
    assert.equal(error.code, 'bad_request');
    assert.equal(error.retryable, false);
    assert.equal(state.requests.length, 0);
  });

  it('resumes after a 500 in the middle of the upload from the Range the server reports', async () => {
    const result = await client.upload(uploadRequest(credentials(true)), {
      onProgress: () => {
        // Fail the second chunk, after the server kept 100 KiB of it.
        if (chunkPuts().length === 1 && state.chunkFailures.length === 0) state.failNextChunks(1, 500, 100 * KIB);
      },
    });
    assert.deepEqual(state.uploadedBytes(result.videoId), video);
    const puts = chunkPuts();
    assert.equal(puts[2]?.range, `bytes */${video.length}`, 'a status query follows the failure');
    assert.equal(puts[3]?.range, `bytes ${256 * KIB + 100 * KIB}-${256 * KIB + 100 * KIB + 256 * KIB - 1}/${video.length}`);
  });

  it('resumes after the connection drops mid-chunk and after a 503', async () => {
    state.dropNextChunks(1, 64 * KIB);
    state.failNextChunks(1, 503);
    const result = await client.upload(uploadRequest(credentials(true)));
    assert.deepEqual(state.uploadedBytes(result.videoId), video);
  });

  it('gives up with a retryable error after too many consecutive 5xx', async () => {
    state.failNextChunks(10, 503);
    const error = await failure(() => client.upload(uploadRequest(credentials(true))));
    state.chunkFailures.length = 0;
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.equal(error.statusCode, 503);
  });

  it('continues a session started by an earlier attempt', async () => {
    let session = '';
    state.failNextChunks(10, 500);
    await failure(() => client.upload(uploadRequest(credentials(true)), { onSession: (uri) => void (session = uri) }));
    state.chunkFailures.length = 0;
    const before = state.sessions.size;
    const result = await client.upload(uploadRequest(credentials(true), { sessionUri: session }));
    assert.equal(state.sessions.size, before, 'no new session was started');
    assert.deepEqual(state.uploadedBytes(result.videoId), video);
  });

  it('hands over the session, and waits while the caller stores it, before the first byte', async () => {
    let putsAfterStoring = -1;
    await client.upload(uploadRequest(credentials(true)), {
      onSession: async () => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        putsAfterStoring = chunkPuts().length;
      },
    });
    assert.equal(putsAfterStoring, 0);
  });

  /**
   * An upload killed while it sends: the fake keeps the chunk that brings the session to
   * `stallAtBytes` and never answers it, then the attempt is aborted. Returns its session.
   */
  async function killedUpload(request: YouTubeUploadRequest, stallAtBytes: number): Promise<string> {
    let session = '';
    const stalled = state.stalledChunks;
    state.stallAtBytes = stallAtBytes;
    const controller = new AbortController();
    const attempt = client.upload(request, { signal: controller.signal, onSession: (uri) => void (session = uri) });
    await waitFor('the stalled chunk', async () => state.stalledChunks > stalled, 10_000, 10);
    controller.abort(new Error('the worker died'));
    await assert.rejects(attempt, /the worker died/);
    return session;
  }

  it('continues a session killed mid-file from the Range YouTube holds, and one video exists', async () => {
    const title = `중단된 업로드 ${randomBytes(4).toString('hex')}`;
    const request = uploadRequest(credentials(true), { metadata: { title, privacyStatus: 'public', madeForKids: false, containsSyntheticMedia: true } });
    const session = await killedUpload(request, 512 * KIB);
    assert.deepEqual(state.videosTitled(title), [], 'no video before the rest of the bytes');

    state.requests.length = 0;
    const result = await client.upload({ ...request, sessionUri: session });
    assert.deepEqual(chunkPuts(), [
      { range: `bytes */${video.length}`, bytes: 0 },
      { range: `bytes 524288-716799/${video.length}`, bytes: 192512 },
    ], 'a status query, then only the bytes YouTube lacks');
    assert.deepEqual(state.videosTitled(title), [result.videoId]);
    assert.deepEqual(state.uploadedBytes(result.videoId), video);
    assert.equal(state.sessionsTitled(title), 1);
  });

  it('finds the video of a session killed after its last chunk arrived, uploading nothing again', async () => {
    const title = `응답 없는 업로드 ${randomBytes(4).toString('hex')}`;
    const request = uploadRequest(credentials(true), { metadata: { title, privacyStatus: 'public', madeForKids: false, containsSyntheticMedia: true } });
    const session = await killedUpload(request, video.length);
    const [made] = state.videosTitled(title);
    assert.ok(made, 'YouTube made the video before the kill');

    state.requests.length = 0;
    const result = await client.upload({ ...request, sessionUri: session });
    assert.equal(result.videoId, made);
    assert.deepEqual(chunkPuts(), [{ range: `bytes */${video.length}`, bytes: 0 }], 'one status query, which answers the video');
    assert.deepEqual(state.videosTitled(title), [made]);
    assert.equal(state.sessionsTitled(title), 1);
  });

  it('starts over when the session is gone (404)', async () => {
    let expired = false;
    const result = await client.upload(uploadRequest(credentials(true)), {
      onProgress: (sent) => {
        if (sent === 256 * KIB && !expired) {
          expired = true;
          state.expireSessions();
        }
      },
    });
    assert.deepEqual(state.uploadedBytes(result.videoId), video);
    assert.equal(chunkPuts().filter((p) => p.range.startsWith('bytes 0-')).length, 2);
  });

  it('on a 401 refreshes the token once and succeeds', async () => {
    const local: ProviderUsage[] = [];
    state.rejectNextInitAsExpired();
    const result = await client.upload(uploadRequest(credentials(true)), { onUsage: (u) => local.push(u) });
    usages.push(...local);
    assert.deepEqual(state.uploadedBytes(result.videoId), video);
    assert.ok(result.refreshedToken && state.accessTokens.has(result.refreshedToken.accessToken));
    assert.deepEqual(local.map((u) => u.operation), ['oauth_refresh', 'upload']);
    assert.equal(state.requests.filter((r) => r.path === '/token').length, 1);
  });

  it('fails without retry when the token is refused after the refresh', async () => {
    state.rejectNextInitAsExpired();
    state.rejectNextInitAsExpired();
    const error = await failure(() => client.upload(uploadRequest(credentials(true))));
    assert.equal(error.code, 'unauthorized');
    assert.equal(error.retryable, false);
    assert.equal(state.requests.filter((r) => r.path === '/token').length, 1);
  });

  it('reports invalid_grant as a non-retryable auth_revoked error', async () => {
    const creds = credentials(true);
    state.revokeRefreshToken();
    const local: ProviderUsage[] = [];
    const error = await failure(() => client.upload(uploadRequest(creds), { onUsage: (u) => local.push(u) }));
    usages.push(...local);
    assert.equal(error.code, 'auth_revoked');
    assert.equal(error.retryable, false);
    assert.equal(error.requiresReconnect, true);
    assert.equal(error.providerReason, 'invalid_grant');
    assert.equal(error.statusCode, 400);
    assert.deepEqual(local.map((u) => [u.operation, u.statusCode]), [['oauth_refresh', 400], ['upload', 401]]);
    const direct = await failure(() => client.refreshAccessToken(creds));
    assert.equal(direct.code, 'auth_revoked');
  });

  it('reports quotaExceeded as non-retryable with the provider message', async () => {
    state.exceedQuota();
    const error = await failure(() => client.upload(uploadRequest(credentials(true))));
    assert.equal(error.code, 'quota_exceeded');
    assert.equal(error.retryable, false);
    assert.equal(error.statusCode, 403);
    assert.match(error.message, /exceeded your <a href=.*quota/);
    state.exceedQuota('uploadLimitExceeded');
    const limit = await failure(() => client.upload(uploadRequest(credentials(true))));
    assert.equal(limit.code, 'quota_exceeded');
    assert.match(limit.message, /number of videos/);
  });

  it('reports a 429 as retryable with the Retry-After delay', async () => {
    state.rateLimitNextInit(120);
    const error = await failure(() => client.upload(uploadRequest(credentials(true))));
    assert.equal(error.code, 'rate_limited');
    assert.equal(error.retryable, true);
    assert.equal(error.retryAfterMs, 120_000);
  });

  it('reports an unreachable server as a retryable network error', async () => {
    const offline = new YouTubeClient({ endpoints: { oauthUrl: 'http://127.0.0.1:1' }, requestTimeoutMs: 2000 });
    const error = await failure(() => offline.refreshAccessToken(credentials()));
    assert.equal(error.code, 'network_error');
    assert.equal(error.retryable, true);
  });

  it('times out a request that gets no answer, and stops at once when the caller cancels', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      const slow = new YouTubeClient({ endpoints: { oauthUrl: url }, requestTimeoutMs: 200 });
      const error = await failure(() => slow.refreshAccessToken(credentials()));
      assert.equal(error.code, 'network_error');
      assert.match(error.message, /no answer within 200 ms/);
      const patient = new YouTubeClient({ endpoints: { oauthUrl: url }, requestTimeoutMs: 10_000 });
      const cancelled = patient.refreshAccessToken(credentials(), { signal: AbortSignal.timeout(100) });
      await assert.rejects(cancelled, (reason: unknown) => !(reason instanceof ProviderError) && (reason as Error).name === 'TimeoutError');
    } finally {
      silent.closeAllConnections();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  const VTT = 'WEBVTT\n\n00:00:02.500 --> 00:00:05.000\n고양이는 왜 <c>골골</c> 소리를 낼까요?\n';

  it('inserts a caption track as one multipart request (the resource, then the WebVTT) and lists it', async () => {
    const { videoId } = await client.upload(uploadRequest(credentials(true)));
    const local: ProviderUsage[] = [];
    const inserted = await client.insertCaption(
      { credentials: credentials(true), videoId, language: 'ko', name: '한국어', track: Buffer.from(VTT) },
      { onUsage: (u) => local.push(u) },
    );
    const [stored] = state.captionsOf(videoId);
    assert.deepEqual(stored, { id: inserted.track.id, videoId, language: 'ko', name: '한국어', contentType: 'text/vtt', body: VTT });
    assert.deepEqual(inserted.track, { id: stored?.id, language: 'ko', name: '한국어', trackKind: 'standard' });
    const request = state.requests.find((r) => r.path.startsWith('/upload/youtube/v3/captions'));
    assert.equal(request?.path, '/upload/youtube/v3/captions?uploadType=multipart&part=snippet');
    assert.match(String(request?.headers['content-type']), /^multipart\/related; boundary=autoclip-[0-9a-f]{32}$/);

    const listed = await client.listCaptions(credentials(true), videoId, { onUsage: (u) => local.push(u) });
    assert.deepEqual(listed.tracks, [inserted.track]);
    usages.push(...local);
    assert.deepEqual(local.map((u) => [u.operation, u.inputUnits, u.outputUnits, u.statusCode]), [['captions_insert', 400, 1, 200], ['captions_list', 50, 1, 200]]);
  });

  it('refreshes once on a 401 for a caption track, and reports a refusal or a lost answer without sending the track again', async () => {
    const { videoId } = await client.upload(uploadRequest(credentials(true)));
    const expired = { ...credentials(true), accessToken: 'ya29.revoked-long-ago' };
    const inserted = await client.insertCaption({ credentials: expired, videoId, language: 'en', name: 'English', track: Buffer.from(VTT) });
    assert.ok(inserted.refreshedToken && state.accessTokens.has(inserted.refreshedToken.accessToken));

    state.captionFailures.push({ status: 403, reason: 'forbidden', message: 'The permissions associated with the request are not sufficient to upload the caption track.' });
    const refused = await failure(() => client.insertCaption({ credentials: credentials(true), videoId, language: 'en', name: 'English', track: Buffer.from(VTT) }));
    assert.deepEqual([refused.code, refused.retryable, refused.statusCode], ['forbidden', false, 403]);
    assert.match(refused.message, /not sufficient to upload the caption track/);

    state.captionFailures.push({ status: 0, dropConnection: true });
    const before = state.requests.length;
    const lost = await failure(() => client.insertCaption({ credentials: credentials(true), videoId, language: 'en', name: 'English', track: Buffer.from(VTT) }));
    assert.equal(lost.code, 'network_error');
    assert.equal(state.requests.slice(before).filter((r) => r.path.startsWith('/upload/youtube/v3/captions')).length, 1, 'sent once');
    assert.equal(state.captionsOf(videoId).length, 2, 'the track whose answer was lost exists, and the refused one does not');
  });

  it('fetches statistics as numbers', async () => {
    const first = await client.upload(uploadRequest(credentials(true)));
    const second = await client.upload(uploadRequest(credentials(true)));
    state.setStatistics(first.videoId, { viewCount: 1234, likeCount: 56, commentCount: 7 });
    const local: ProviderUsage[] = [];
    const { items } = await client.fetchStatistics(credentials(true), [first.videoId, second.videoId, 'missing0001', first.videoId], {
      onUsage: (u) => local.push(u),
    });
    usages.push(...local);
    assert.deepEqual(items, [
      { videoId: first.videoId, views: 1234, likes: 56, comments: 7 },
      { videoId: second.videoId, views: 0, likes: 0, comments: 0 },
    ]);
    assert.deepEqual(local.map((u) => [u.operation, u.inputUnits, u.outputUnits]), [['metrics', 1, 2]]);
  });

  it('never puts a token or secret in an error or a usage record', () => {
    assert.ok(thrown.length >= 8);
    const secrets = [...state.issuedTokens, state.refreshToken, state.clientSecret];
    assertNoSecrets(secrets, [JSON.stringify(usages)]);
  });
});
