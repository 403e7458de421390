import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ApplicationFailure } from '@temporalio/common';
import { toActivityFailure } from '../../../activities/failures';
import { ProviderError } from '../../../providers/errors';
import { fitCaption, InstagramClient, type InstagramCredentials, type InstagramUploadRequest } from '../../../providers/platforms/instagram';
import type { PlatformAccessToken, PlatformClient } from '../../../providers/platforms/types';
import { YouTubeClient, type YouTubeCredentials, type YouTubeUploadRequest } from '../../../providers/platforms/youtube';
import { startFakeInstagram, type FakeInstagramState } from '../../fakes/instagram-server';
import { assertRateLimited, leakWatch } from '../../support/provider-errors';
import { waitFor } from '../../support/wait';

const DAY_MS = 86_400_000;

describe('fitCaption keeps a caption within Instagram limits', () => {
  it('drops hashtags past the 30th and cuts the text to 2200 characters', () => {
    const tags = Array.from({ length: 33 }, (_, i) => `#tag${i + 1}`).join(' ');
    const fitted = fitCaption(`오늘의 시장 요약 ${tags}`);
    assert.equal(fitted.match(/#tag\d+/g)?.length, 30);
    assert.ok(fitted.endsWith('#tag30'));
    assert.equal(Array.from(fitCaption('가'.repeat(2300))).length, 2200);
    assert.equal(fitCaption('  short  '), 'short');
  });

  it('lets the three platform clients be driven through one interface', () => {
    const youtube: PlatformClient<YouTubeCredentials, YouTubeUploadRequest> = new YouTubeClient();
    const instagram: PlatformClient<InstagramCredentials, InstagramUploadRequest> = new InstagramClient();
    assert.equal(typeof youtube.upload, 'function');
    assert.equal(typeof instagram.fetchStatistics, 'function');
  });
});

describe('InstagramClient against the fake Instagram server', () => {
  let fake: Awaited<ReturnType<typeof startFakeInstagram>>;
  let state: FakeInstagramState;
  let client: InstagramClient;
  let video: Buffer;
  let videoUrl: string;
  const { thrown, failure, watched, assertNoSecrets } = leakWatch();

  before(async () => {
    fake = await startFakeInstagram();
    state = fake.state;
    video = randomBytes(300 * 1024);
    videoUrl = fake.hostFile(video);
    client = new InstagramClient({ graphUrl: fake.baseUrl, apiVersion: 'v23.0', requestTimeoutMs: 5000, pollIntervalMs: 5 });
  });

  after(async () => {
    await fake.close();
  });

  beforeEach(() => state.reset());

  function credentials(expiresInMs = 50 * DAY_MS): InstagramCredentials {
    return { userId: state.userId, accessToken: state.issueAccessToken(), expiresAt: new Date(Date.now() + expiresInMs) };
  }

  function uploadRequest(creds: InstagramCredentials, overrides: Partial<InstagramUploadRequest> = {}): InstagramUploadRequest {
    return { credentials: creds, videoUrl, caption: '무릎 건강을 지키는 다섯 가지 습관 #health #shorts', aiGenerated: true, ...overrides };
  }

  const requestsTo = (pattern: RegExp) => state.requests.filter((r) => pattern.test(`${r.method} ${r.path}`));

  it('publishes a reel: container from the video URL, status polls, media_publish, permalink', async () => {
    const creds = credentials();
    const progress: number[] = [];
    const sessions: string[] = [];
    const watch = watched();
    const tags = Array.from({ length: 32 }, (_, i) => `#t${i}`).join(' ');
    const result = await client.upload(uploadRequest(creds, { caption: `오늘의 요약 ${tags}`, thumbOffsetMs: 1200 }), {
      ...watch,
      onProgress: (done, total) => progress.push(done / total),
      onSession: (s) => void sessions.push(s),
    });

    const media = state.media.get(result.videoId);
    assert.ok(media);
    assert.deepEqual(media.bytes, video, 'Instagram fetched exactly the file behind the URL');
    assert.equal(result.url, media.permalink);
    assert.equal(result.status, 'published');
    assert.equal(result.containerId, media.containerId);
    assert.deepEqual(sessions, [`container:${media.containerId}`, `media:${result.videoId}`]);
    assert.deepEqual(progress, [0, 1 / 3, 1 / 3, 1 / 3, 2 / 3, 1]);

    const create = requestsTo(/^POST \/v23\.0\/\d+\/media$/)[0];
    assert.equal(create?.path, `/v23.0/${state.userId}/media`);
    assert.equal(create?.headers.authorization, `Bearer ${creds.accessToken}`);
    const params = create?.body as Record<string, unknown>;
    assert.equal(params.media_type, 'REELS');
    assert.equal(params.video_url, videoUrl);
    assert.equal(params.share_to_feed, true);
    assert.equal(params.thumb_offset, 1200);
    assert.equal(params.is_ai_generated, true);
    assert.equal(state.aiGeneratedOf(media), true, 'the reel carries the AI info label');
    assert.equal(String(params.caption).match(/#t\d+/g)?.length, 30);
    assert.equal(requestsTo(/^GET \/v23\.0\/\d+\?fields=status_code%2Cstatus$/).length, 3, 'two IN_PROGRESS polls, then FINISHED');
    assert.deepEqual(requestsTo(/media_publish/)[0]?.body, { creation_id: media.containerId });
    assert.ok(state.requests.every((r) => !r.path.includes('access_token')), 'the token travels in the header');

    assert.deepEqual(watch.usages.map((u) => [u.service, u.operation, u.inputUnits, u.outputUnits, u.statusCode]), [['instagram', 'upload', 6, 1, 200]]);
    assert.deepEqual(result.usage, watch.usages[0]);
    assert.equal(result.refreshedToken, undefined);
  });

  it('sends is_ai_generated false when the reel is not declared AI-generated', async () => {
    const result = await client.upload(uploadRequest(credentials(), { aiGenerated: false }));
    const media = state.media.get(result.videoId);
    assert.ok(media);
    assert.equal((requestsTo(/^POST \/v23\.0\/\d+\/media$/)[0]?.body as Record<string, unknown>).is_ai_generated, false);
    assert.equal(state.aiGeneratedOf(media), false);
  });

  it('refreshes a token close to expiry first, with ig_refresh_token', async () => {
    const creds = credentials(3 * DAY_MS);
    const refreshed: PlatformAccessToken[] = [];
    const watch = watched();
    const result = await client.upload(uploadRequest(creds), { ...watch, onTokenRefreshed: (t) => void refreshed.push(t) });
    const refresh = requestsTo(/^GET \/refresh_access_token/);
    assert.equal(refresh.length, 1);
    assert.equal(refresh[0]?.path, `/refresh_access_token?grant_type=ig_refresh_token&access_token=${creds.accessToken}`);
    assert.equal(refresh[0]?.headers.authorization, undefined);
    assert.ok(result.refreshedToken && state.accessTokens.has(result.refreshedToken.accessToken));
    assert.ok(result.refreshedToken.expiresAt.getTime() > Date.now() + 59 * DAY_MS);
    assert.equal(result.refreshedToken.refreshToken, undefined, 'Instagram refreshes the access token itself');
    assert.equal(refreshed[0]?.accessToken, result.refreshedToken.accessToken);
    assert.ok(requestsTo(/media_publish/).every((r) => r.headers.authorization === `Bearer ${result.refreshedToken?.accessToken}`));
    assert.deepEqual(watch.usages.map((u) => [u.operation, u.inputUnits]), [['oauth_refresh', 1], ['upload', 6]]);
  });

  it('on code 190 refreshes once and sends again', async () => {
    state.rejectNextAsExpired('publish');
    const watch = watched();
    const result = await client.upload(uploadRequest(credentials()), watch);
    assert.ok(state.media.has(result.videoId));
    assert.equal(requestsTo(/^GET \/refresh_access_token/).length, 1);
    assert.ok(result.refreshedToken);
    assert.deepEqual(watch.failed.map(([u, e]) => [u.operation, u.statusCode, /code 190\/463/.test(e)]), [['upload', 400, true]]);
  });

  it('reports auth_revoked when the refreshed token is refused too, or the refresh is', async () => {
    state.rejectNextAsExpired('media');
    state.rejectNextAsExpired('media');
    const twice = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(twice.code, 'auth_revoked');
    assert.equal(twice.retryable, false);
    assert.equal(twice.requiresReconnect, true);
    assert.equal(requestsTo(/^GET \/refresh_access_token/).length, 1);

    const creds = credentials();
    state.revokeAccessTokens();
    const revoked = await failure(() => client.upload(uploadRequest(creds)));
    assert.equal(revoked.code, 'auth_revoked');
    assert.match(revoked.message, /session has been invalidated/);
    const direct = await failure(() => client.refreshAccessToken(creds));
    assert.equal(direct.code, 'auth_revoked');
    assert.equal(direct.providerReason, '190/460');
  });

  it('maps rate limits to rate_limited with Retry-After, Meta’s regain-access estimate, or one minute', async () => {
    state.next.push({ on: 'publish', status: 400, code: 4, message: 'Application request limit reached', retryAfterSec: 9 });
    const app = await failure(() => client.upload(uploadRequest(credentials())));
    assertRateLimited(app, 9000);

    state.next.push({ on: 'media', status: 400, code: 32, message: 'Page request limit reached', regainAccessMinutes: 12 });
    const buc = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(buc.code, 'rate_limited');
    assert.equal(buc.retryAfterMs, 12 * 60_000);

    state.next.push({ on: 'status', status: 403, code: 613, message: 'Calls to this api have exceeded the rate limit.' });
    const bare = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(bare.code, 'rate_limited');
    assert.equal(bare.retryAfterMs, 60_000);
  });

  it('maps a 500 to a retryable server_error, and the next attempt succeeds', async () => {
    state.next.push({ on: 'media', status: 500, code: 2, transient: true, message: 'Service temporarily unavailable' });
    const watch = watched();
    const error = await failure(() => client.upload(uploadRequest(credentials()), watch));
    assert.equal(error.code, 'server_error');
    assert.equal(error.retryable, true);
    assert.equal(error.statusCode, 500);
    assert.match(error.message, /Service temporarily unavailable/);
    assert.deepEqual(watch.failed.map(([u]) => [u.service, u.operation, u.statusCode]), [['instagram', 'upload', 500]]);
    const result = await client.upload(uploadRequest(credentials()));
    assert.ok(state.media.has(result.videoId));
  });

  it('reports 400 and 403 answers without retry, with Instagram’s message', async () => {
    state.next.push({ on: 'media', status: 400, code: 100, subcode: 2207026, message: 'Invalid parameter', type: 'OAuthException' });
    const invalid = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(invalid.code, 'bad_request');
    assert.equal(invalid.retryable, false);
    assert.equal(invalid.providerReason, '100/2207026');
    assert.match(invalid.message, /HTTP 400 \(code 100\/2207026\): Invalid parameter/);
    assert.equal((toActivityFailure(invalid) as ApplicationFailure).nonRetryable, true);

    state.next.push({ on: 'media', status: 403, code: 10, message: '(#10) Application does not have permission for this action' });
    const denied = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(denied.code, 'forbidden');
    assert.equal(denied.retryable, false);
    assert.match(denied.message, /does not have permission/);
  });

  it('reports the 24-hour publishing cap as quota_exceeded', async () => {
    state.publishedInWindow = state.publishLimit;
    const error = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(error.code, 'quota_exceeded');
    assert.equal(error.retryable, false);
    assert.equal(error.providerReason, '9/2207042');
    assert.match(error.message, /request limit reached/);
  });

  it('ends a container in ERROR without retry, unless Instagram calls it transient; a retry replaces the dead container', async () => {
    state.failNextContainers.push({ subcode: 2207026, message: 'The video format is not supported' });
    const unsupported = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(unsupported.code, 'bad_request');
    assert.equal(unsupported.retryable, false);
    assert.equal(unsupported.providerReason, '2207026');
    assert.match(unsupported.message, /ended ERROR: Error: The video format is not supported/);

    const unreachable = await failure(() => client.upload(uploadRequest(credentials(), { videoUrl: `${fake.baseUrl}/_files/missing` })));
    assert.equal(unreachable.code, 'bad_request');
    assert.match(unreachable.message, /could not be fetched/);

    let session = '';
    state.failNextContainers.push({ subcode: 2207001, message: 'Instagram server error' });
    const transient = await failure(() => client.upload(uploadRequest(credentials()), { onSession: (s) => void (session = s) }));
    assert.equal(transient.code, 'server_error');
    assert.equal(transient.retryable, true);
    const dead = session.replace('container:', '');
    state.requests.length = 0;
    const result = await client.upload(uploadRequest(credentials(), { session }));
    assert.notEqual(result.containerId, dead);
    assert.equal(state.containers.get(dead)?.statusCode, 'ERROR');
    assert.equal(requestsTo(/^POST \/v23\.0\/\d+\/media$/).length, 1, 'one new container');
  });

  it('continues from a session: an unfinished container is awaited, a published media only needs its permalink', async () => {
    let container = '';
    state.processingPolls = 1000;
    const slow = new InstagramClient({ graphUrl: fake.baseUrl, pollIntervalMs: 5, maxWaitMs: 60 });
    const timedOut = await failure(() => slow.upload(uploadRequest(credentials()), { onSession: (s) => void (container = s) }));
    assert.equal(timedOut.code, 'server_error');
    assert.equal(timedOut.providerReason, 'processing_timeout');
    assert.match(timedOut.message, /still IN_PROGRESS/);

    state.containers.get(container.replace('container:', ''))!.pollsLeft = 0;
    state.requests.length = 0;
    const resumed = await client.upload(uploadRequest(credentials(), { session: container }));
    assert.equal(`container:${resumed.containerId}`, container);
    assert.equal(requestsTo(/^POST \/v23\.0\/\d+\/media$/).length, 0);

    state.requests.length = 0;
    const again = await client.upload(uploadRequest(credentials(), { session: `media:${resumed.videoId}` }));
    assert.equal(again.url, resumed.url);
    assert.deepEqual(state.requests.map((r) => r.method), ['GET'], 'only the permalink');

    const bogus = await failure(() => client.upload(uploadRequest(credentials(), { session: 'https://evil.example/' })));
    assert.equal(bogus.code, 'bad_request');
  });

  it('asks to publish only once the caller has stored the container', async () => {
    let publishesWhileStoring = -1;
    await client.upload(uploadRequest(credentials()), {
      onSession: async (session) => {
        if (!session.startsWith('container:')) return;
        await new Promise((resolve) => setTimeout(resolve, 50));
        publishesWhileStoring = requestsTo(/media_publish/).length;
      },
    });
    assert.equal(publishesWhileStoring, 0);
    assert.equal(requestsTo(/media_publish/).length, 1);
  });

  it('finds the reel of a container published by an attempt killed before the answer, publishing nothing again', async () => {
    const caption = `응답 없는 게시 ${randomBytes(4).toString('hex')} #health`;
    const request = uploadRequest(credentials(), { caption });
    let session = '';
    state.stallNextPublish = true;
    const stalled = state.stalledPublishes;
    const controller = new AbortController();
    const attempt = client.upload(request, { signal: controller.signal, onSession: (s) => void (session = s) });
    await waitFor('the stalled media_publish', async () => state.stalledPublishes > stalled, 10_000, 10);
    controller.abort(new Error('the worker died'));
    await assert.rejects(attempt, /the worker died/);
    const [reel] = state.mediaCaptioned(caption);
    assert.ok(reel, 'Instagram published the reel before the kill');
    assert.equal(session, `container:${reel.containerId}`, 'the media id never reached the caller');

    state.requests.length = 0;
    const sessions: string[] = [];
    const result = await client.upload({ ...request, session }, { onSession: (s) => void sessions.push(s) });
    assert.equal(result.videoId, reel.id);
    assert.equal(result.url, reel.permalink);
    assert.deepEqual(sessions, [`media:${reel.id}`]);
    assert.deepEqual(state.requests.map((r) => `${r.method} ${r.path.replace(/\?.*/, '')}`), [
      `GET /v23.0/${reel.containerId}`,
      `GET /v23.0/${state.userId}/media`,
      `GET /v23.0/${reel.id}`,
    ], 'the container answers PUBLISHED, the account lists the reel, then its permalink');
    assert.equal(state.mediaCaptioned(caption).length, 1, 'one reel');
    assert.equal(state.containersCaptioned(caption).length, 1, 'one container');

    state.requests.length = 0;
    const elsewhere = await failure(() => client.upload({ ...request, caption: `다른 캡션 ${randomBytes(4).toString('hex')}`, session }));
    assert.equal(elsewhere.code, 'not_found');
    assert.equal(elsewhere.retryable, false);
    assert.match(elsewhere.message, /published by an earlier attempt, but its reel is not among the account's 25 latest media/);
    assert.equal(requestsTo(/^POST /).length, 0, 'a reel not found is never published again');
  });

  it('rejects malformed answers cleanly', async () => {
    state.next.push({ on: 'media', status: 200, raw: JSON.stringify({ success: true }) });
    const noId = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(noId.code, 'invalid_response');
    assert.match(noId.message, /container answer has no id/);

    state.next.push({ on: 'status', status: 200, raw: '{"id": "1"}' });
    const noStatus = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(noStatus.code, 'invalid_response');

    state.next.push({ on: 'publish', status: 502, raw: '<html><body>502 Bad Gateway</body></html>' });
    const gateway = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(gateway.code, 'server_error');
    assert.match(gateway.message, /502 Bad Gateway/);

    state.next.push({ on: 'permalink', status: 200, raw: 'not json' });
    const text = await failure(() => client.upload(uploadRequest(credentials())));
    assert.equal(text.code, 'invalid_response');
  });

  it('stops at once when the caller cancels while it polls', async () => {
    state.processingPolls = 1000;
    const patient = new InstagramClient({ graphUrl: fake.baseUrl, pollIntervalMs: 50 });
    const controller = new AbortController();
    let polls = 0;
    const upload = patient.upload(uploadRequest(credentials()), {
      signal: controller.signal,
      onProgress: (done) => done === 1 && ++polls === 2 && controller.abort(new Error('cancelled by the workflow')),
    });
    await assert.rejects(upload, (reason: unknown) => !(reason instanceof ProviderError) && (reason as Error).message === 'cancelled by the workflow');
  });

  it('fetches views, likes, comments and shares from insights, leaving out media Instagram does not have', async () => {
    const first = await client.upload(uploadRequest(credentials()));
    const second = await client.upload(uploadRequest(credentials()));
    state.setInsights(first.videoId, { views: 5400, likes: 310, comments: 12, shares: 41 });
    state.requests.length = 0;
    const watch = watched();
    const { items, usage } = await client.fetchStatistics(credentials(), [first.videoId, second.videoId, '17999999999999999', first.videoId], watch);
    assert.deepEqual(items, [
      { videoId: first.videoId, views: 5400, likes: 310, comments: 12, shares: 41 },
      { videoId: second.videoId, views: 0, likes: 0, comments: 0, shares: 0 },
    ]);
    assert.equal(requestsTo(/\/insights\?metric=views%2Clikes%2Ccomments%2Cshares$/).length, 3);
    assert.deepEqual([usage.operation, usage.inputUnits, usage.outputUnits], ['metrics', 3, 2]);
    assert.equal(watch.failed.length, 1, 'the missing media is recorded as a failed call');

    state.next.push({ on: 'insights', status: 400, code: 17, message: 'User request limit reached', retryAfterSec: 30 });
    const limited = await failure(() => client.fetchStatistics(credentials(), [first.videoId]));
    assert.equal(limited.code, 'rate_limited');
    assert.equal(limited.retryAfterMs, 30_000);
  });

  it('never puts a token or the video URL in an error or a record', () => {
    assert.ok(thrown.length >= 15);
    const secrets = [...state.issuedTokens, videoUrl];
    assertNoSecrets(secrets);
  });
});
