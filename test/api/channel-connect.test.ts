import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Platform } from '../../db/models';
import { SUBSCRIPTION_PLANS } from '../../db/seeds/reference-data';
import { SecretBox } from '../../lib/secrets';
import { startFakeInstagram } from '../fakes/instagram-server';
import { startFakeTikTok } from '../fakes/tiktok-server';
import { startFakeYouTube } from '../fakes/youtube-server';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createAccount, createPeople, createProject, rawRow, subscribe, type Account, type Actor } from '../support/tenants';

/**
 * Connecting channels through the platforms' consent pages, driven as a browser does it: the API
 * answers the consent URL, the local platform's consent page redirects to the callback with a code
 * and the state, the callback answers 303 to the return page. The API is reached at its public URL
 * (API_PUBLIC_URL, as behind a proxy), which this browser resolves to the local server.
 */

const PUBLIC_URL = 'https://api.autoclip.test';
const RETURN_URL = 'https://app.autoclip.test/channels/connected?from=settings';

interface Visit {
  status: number;
  location: URL | undefined;
  body: { error?: { code: string; message: string; details?: Record<string, string> } } | undefined;
}

describe('connecting channels through the platforms’ consent pages', () => {
  let api: ApiHarness;
  let box: SecretBox;
  let youtube: Awaited<ReturnType<typeof startFakeYouTube>>;
  let tiktok: Awaited<ReturnType<typeof startFakeTikTok>>;
  let instagram: Awaited<ReturnType<typeof startFakeInstagram>>;
  let as: Record<Actor, Account>;
  let orgId: string;
  let projectId: string;

  before(async () => {
    [youtube, tiktok, instagram] = await Promise.all([startFakeYouTube(), startFakeTikTok(), startFakeInstagram()]);
    api = await createApiHarness({
      API_PUBLIC_URL: PUBLIC_URL,
      CHANNEL_CONNECT_RETURN_URL: RETURN_URL,
      YOUTUBE_CLIENT_ID: youtube.state.clientId,
      YOUTUBE_CLIENT_SECRET: youtube.state.clientSecret,
      YOUTUBE_AUTHORIZE_URL: `${youtube.baseUrl}/o/oauth2/v2/auth`,
      YOUTUBE_OAUTH_URL: youtube.baseUrl,
      YOUTUBE_API_URL: youtube.baseUrl,
      TIKTOK_CLIENT_KEY: tiktok.state.clientKey,
      TIKTOK_CLIENT_SECRET: tiktok.state.clientSecret,
      TIKTOK_AUTHORIZE_URL: `${tiktok.baseUrl}/v2/auth/authorize/`,
      TIKTOK_API_URL: tiktok.baseUrl,
      INSTAGRAM_APP_ID: instagram.state.appId,
      INSTAGRAM_APP_SECRET: instagram.state.appSecret,
      INSTAGRAM_AUTHORIZE_URL: `${instagram.baseUrl}/oauth/authorize`,
      INSTAGRAM_OAUTH_URL: instagram.baseUrl,
      INSTAGRAM_GRAPH_URL: instagram.baseUrl,
    });
    box = SecretBox.fromConfig(api.ctx.config.secrets);
    for (const secret of [youtube.state.clientSecret, tiktok.state.clientSecret, instagram.state.appSecret]) api.secrets.add(secret);
    // The platforms accept only the redirect URIs registered for the app.
    youtube.state.registeredRedirectUri = `${PUBLIC_URL}/channels/oauth/youtube/callback`;
    tiktok.state.registeredRedirectUri = `${PUBLIC_URL}/channels/oauth/tiktok/callback`;
    instagram.state.registeredRedirectUri = `${PUBLIC_URL}/channels/oauth/instagram/callback`;
    await api.ctx.models.SubscriptionPlan.create({ code: 'roomy', name: 'Roomy', price_monthly: 0, price_yearly: null, monthly_credits: 0, max_channels: 1000, max_projects: 1000, features: SUBSCRIPTION_PLANS[0]!.features });
    ({ orgId, as } = await createPeople(api, { plan: 'roomy' }));
    projectId = await createProject(api, { organization_id: orgId }, 'Channels by consent');
  });

  beforeEach(() => {
    for (const fake of [youtube, tiktok, instagram]) fake.state.consents.decision = {};
  });

  after(async () => {
    try {
      api.assertNoLeaks();
      const issued = [...youtube.state.issuedTokens, youtube.state.refreshToken, ...tiktok.state.issuedTokens, ...instagram.state.issuedTokens];
      assert.ok(issued.length >= 6);
      for (const r of api.responses) for (const token of issued) assert.ok(!r.text.includes(token), `${r.method} ${r.path} carries a platform token`);
    } finally {
      await api?.close();
      await Promise.all([youtube?.close(), tiktok?.close(), instagram?.close()]);
    }
  });

  /** The consent URL the API answers `member` for the platform and a project (the suite's by default). */
  async function consentUrl(platform: Platform, member: Account = as.admin, project: string = projectId): Promise<URL> {
    const res = await api.request('POST', `/projects/${project}/channels/connect`, { token: member.token, body: { platform } });
    assert.equal(res.status, 200, res.text);
    assert.ok(Date.parse(res.body.expires_at) > Date.now());
    return new URL(res.body.url);
  }

  /** The platform's consent page, approved (or refused) at once: where it sends the browser back to. */
  async function consent(url: URL): Promise<URL> {
    const res = await fetch(url, { redirect: 'manual' });
    assert.equal(res.status, 302, await res.text());
    const back = new URL(res.headers.get('location')!);
    assert.equal(back.origin, PUBLIC_URL, 'the platform sends the browser to the API’s public address');
    return back;
  }

  /** A GET of the API's public address, as the browser makes it (redirects not followed), recorded for the leak checks. */
  async function visit(publicUrl: URL): Promise<Visit> {
    const path = `${publicUrl.pathname}${publicUrl.search}`;
    const res = await fetch(`${api.baseUrl}${path}`, { redirect: 'manual' });
    const text = await res.text();
    api.responses.push({ method: 'GET', path, status: res.status, text });
    const location = res.headers.get('location');
    return { status: res.status, location: location ? new URL(location) : undefined, body: (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined };
  }

  /** The whole flow: consent URL, consent page, callback; the callback's answer and the URL it was reached at. */
  async function connectThrough(platform: Platform, member?: Account, project?: string): Promise<{ callback: URL; answer: Visit }> {
    const callback = await consent(await consentUrl(platform, member, project));
    return { callback, answer: await visit(callback) };
  }

  /** The return page's parameters, after checking the callback sent the browser there with 303. */
  function returned(answer: Visit): Record<string, string> {
    assert.equal(answer.status, 303, JSON.stringify(answer.body));
    const target = answer.location!;
    assert.equal(`${target.origin}${target.pathname}`, 'https://app.autoclip.test/channels/connected');
    return Object.fromEntries(target.searchParams);
  }

  async function channelCount(): Promise<number> {
    return api.ctx.models.Channel.count({ where: { project_id: projectId } });
  }

  /** The channel row, after checking its token columns hold SecretBox ciphertext and not the tokens. */
  async function storedChannel(id: string, tokens: { access: string; refresh: string | null }) {
    const raw = (await rawRow(api, 'channels', id)) as { access_token: string; refresh_token: string | null };
    assert.notEqual(raw.access_token, tokens.access);
    assert.ok(SecretBox.isSealed(raw.access_token), 'the access token is sealed');
    assert.ok(!raw.access_token.includes(tokens.access));
    if (tokens.refresh) assert.ok(raw.refresh_token && SecretBox.isSealed(raw.refresh_token) && !raw.refresh_token.includes(tokens.refresh), 'the refresh token is sealed');
    else assert.equal(raw.refresh_token, null);
    const channel = await api.ctx.models.Channel.findByPk(id, { rejectOnEmpty: true });
    assert.equal(channel.readAccessToken(box), tokens.access);
    assert.equal(channel.readRefreshToken(box), tokens.refresh);
    return channel;
  }

  it('connects a YouTube channel through Google’s consent with PKCE: the channel as YouTube names it, its tokens sealed', async () => {
    const url = await consentUrl('youtube');
    assert.equal(`${url.origin}${url.pathname}`, `${youtube.baseUrl}/o/oauth2/v2/auth`);
    const query = url.searchParams;
    assert.equal(query.get('client_id'), youtube.state.clientId);
    assert.equal(query.get('redirect_uri'), `${PUBLIC_URL}/channels/oauth/youtube/callback`);
    assert.equal(query.get('response_type'), 'code');
    assert.deepEqual(query.get('scope')?.split(' '), ['https://www.googleapis.com/auth/youtube.upload', 'https://www.googleapis.com/auth/youtube.readonly']);
    assert.equal(query.get('access_type'), 'offline');
    assert.equal(query.get('prompt'), 'consent');
    assert.equal(query.get('code_challenge_method'), 'S256');
    assert.match(query.get('code_challenge') ?? '', /^[\w-]{43}$/);
    assert.match(query.get('state') ?? '', /^[\w-]{43}$/);
    assert.ok(![...query.keys()].some((key) => /verifier|secret/.test(key)), 'neither the PKCE verifier nor the client secret leaves the server');

    const redeemed = youtube.state.consents.redeemed;
    const params = returned(await visit(await consent(url)));
    assert.equal(youtube.state.consents.redeemed, redeemed + 1, 'the code was exchanged with its PKCE verifier');
    assert.deepEqual({ ...params, channel: undefined }, { from: 'settings', platform: 'youtube', status: 'connected', project: projectId, channel: undefined });

    const channel = await storedChannel(params.channel!, { access: youtube.state.issuedTokens.at(-1)!, refresh: youtube.state.refreshToken });
    assert.deepEqual(
      [channel.project_id, channel.platform, channel.channel_id, channel.channel_name, channel.channel_url, channel.status],
      [projectId, 'youtube', youtube.state.channel.id, youtube.state.channel.title, `https://www.youtube.com/channel/${youtube.state.channel.id}`, 'connected'],
    );
    assert.ok(Math.abs(channel.token_expires_at!.getTime() - (Date.now() + youtube.state.tokenLifetimeSec * 1000)) < 60_000);

    const shown = await api.request('GET', `/channels/${channel.id}`, { token: as.viewer.token });
    assert.equal(shown.status, 200);
    assert.deepEqual([shown.body.channel.has_access_token, shown.body.channel.has_refresh_token, shown.body.channel.status_reason], [true, true, null]);
    const usage = await api.ctx.models.ApiUsage.findAll({ where: { organization_id: orgId, service: 'youtube' } });
    assert.deepEqual(usage.map((row) => `${row.operation}:${row.status_code}`).sort(), ['account:200', 'oauth_code:200'], 'each platform call is recorded for the project’s owner');
  });

  it('connects a TikTok account through Login Kit: open_id, display name and profile link, tokens sealed', async () => {
    const url = await consentUrl('tiktok');
    assert.equal(`${url.origin}${url.pathname}`, `${tiktok.baseUrl}/v2/auth/authorize/`);
    assert.equal(url.searchParams.get('client_key'), tiktok.state.clientKey);
    assert.equal(url.searchParams.get('scope'), 'user.info.basic,video.publish,video.list');
    assert.equal(url.searchParams.get('redirect_uri'), `${PUBLIC_URL}/channels/oauth/tiktok/callback`);
    assert.equal(url.searchParams.get('code_challenge'), null, 'TikTok’s web kit takes no PKCE');

    const params = returned(await visit(await consent(url)));
    assert.deepEqual([params.platform, params.status], ['tiktok', 'connected']);
    const access = [...tiktok.state.accessTokens].at(-1)!;
    const channel = await storedChannel(params.channel!, { access, refresh: tiktok.state.refreshToken });
    assert.deepEqual(
      [channel.platform, channel.channel_id, channel.channel_name, channel.channel_url],
      ['tiktok', tiktok.state.openId, tiktok.state.displayName, 'https://www.tiktok.com/@autoclip.fake'],
    );
  });

  it('connects an Instagram professional account: the short-lived token exchanged for a long-lived one, stored sealed', async () => {
    const url = await consentUrl('instagram');
    assert.equal(`${url.origin}${url.pathname}`, `${instagram.baseUrl}/oauth/authorize`);
    assert.equal(url.searchParams.get('client_id'), instagram.state.appId);
    assert.equal(url.searchParams.get('scope'), 'instagram_business_basic,instagram_business_content_publish');
    assert.equal(url.searchParams.get('code_challenge'), null);

    const params = returned(await visit(await consent(url)));
    assert.deepEqual([params.platform, params.status], ['instagram', 'connected']);
    const longLived = [...instagram.state.accessTokens].at(-1)!;
    assert.equal(instagram.state.shortLivedTokens.size, 0, 'the short-lived token was exchanged');
    const channel = await storedChannel(params.channel!, { access: longLived, refresh: null });
    assert.deepEqual(
      [channel.platform, channel.channel_id, channel.channel_name, channel.channel_url],
      ['instagram', instagram.state.userId, instagram.state.username, 'https://www.instagram.com/autoclip.fake'],
    );
    assert.ok(channel.token_expires_at!.getTime() > Date.now() + 59 * 86_400_000, 'a long-lived token lasts 60 days');
  });

  it('reconnects a channel in error: the same row, new tokens, connected again without its reason', async () => {
    const first = returned((await connectThrough('youtube')).answer).channel!;
    const channel = await api.ctx.models.Channel.findByPk(first, { rejectOnEmpty: true });
    await channel.markError('YouTube oauth_refresh failed with HTTP 400 (invalid_grant): Token has been expired or revoked.');
    const before = await channelCount();

    const params = returned((await connectThrough('youtube')).answer);
    assert.equal(params.channel, first, 'the project’s row for that channel is reused');
    assert.equal(await channelCount(), before);
    const reconnected = await storedChannel(first, { access: youtube.state.issuedTokens.at(-1)!, refresh: youtube.state.refreshToken });
    assert.deepEqual([reconnected.status, reconnected.status_reason], ['connected', null]);
  });

  it('refuses a state used twice, expired, missing, not ours or another platform’s with 400, storing nothing', async () => {
    const redeemed = youtube.state.consents.redeemed + tiktok.state.consents.redeemed;

    const { callback, answer } = await connectThrough('youtube');
    returned(answer);
    const count = await channelCount();
    const channelRow = () => rawRow(api, 'channels', answer.location!.searchParams.get('channel')!);
    const row = await channelRow();
    const replayed = await visit(callback);
    assert.deepEqual([replayed.status, replayed.body?.error?.code], [400, 'invalid_state']);
    assert.deepEqual(await channelRow(), row, 'the replay changed nothing');

    const ttl = api.ctx.config.channelConnect.stateTtlSec;
    api.ctx.config.channelConnect.stateTtlSec = 1;
    let late: URL;
    try {
      late = await consent(await consentUrl('youtube'));
    } finally {
      api.ctx.config.channelConnect.stateTtlSec = ttl;
    }
    await sleep(1500);
    const expired = await visit(late);
    assert.deepEqual([expired.status, expired.body?.error?.code], [400, 'invalid_state']);

    const missing = await visit(new URL(`${PUBLIC_URL}/channels/oauth/youtube/callback?code=4%2F0Adeu5BW`));
    assert.equal(missing.status, 400);
    assert.deepEqual([missing.body?.error?.code, Object.keys(missing.body?.error?.details ?? {})], ['validation_failed', ['query.state']]);

    const forged = await visit(new URL(`${PUBLIC_URL}/channels/oauth/youtube/callback?code=4%2F0Adeu5BW&state=${randomBytes(32).toString('base64url')}`));
    assert.deepEqual([forged.status, forged.body?.error?.code], [400, 'invalid_state']);

    // A TikTok state at YouTube's callback is refused, and used up: it works nowhere after.
    const tiktokBack = await consent(await consentUrl('tiktok'));
    const crossed = new URL(`${PUBLIC_URL}/channels/oauth/youtube/callback${tiktokBack.search}`);
    const foreign = await visit(crossed);
    assert.deepEqual([foreign.status, foreign.body?.error?.code], [400, 'invalid_state']);
    assert.match(foreign.body?.error?.message ?? '', /issued for tiktok, not youtube/);
    assert.equal((await visit(tiktokBack)).status, 400);

    assert.equal(await channelCount(), count, 'no refused callback stored a channel');
    assert.equal(youtube.state.consents.redeemed + tiktok.state.consents.redeemed, redeemed + 1, 'no refused callback exchanged its code');
  });

  it('sends the browser back with the platform’s refusal or an unusable grant, storing nothing', async () => {
    const before = await channelCount();
    youtube.state.consents.decision = { deny: true };
    const denied = returned((await connectThrough('youtube')).answer);
    assert.deepEqual(denied, { from: 'settings', platform: 'youtube', status: 'error', reason: 'access_denied', project: projectId });

    tiktok.state.consents.decision = { grantOnly: ['user.info.basic'] };
    const narrow = returned((await connectThrough('tiktok')).answer);
    assert.deepEqual([narrow.status, narrow.reason, narrow.channel], ['error', 'insufficient_scope', undefined]);
    assert.equal(await channelCount(), before);
  });

  it('counts a new channel against the owner’s max_channels, and a reconnect against nothing', async () => {
    const starter = await createAccount(api, 'starter');
    await subscribe(api, { user_id: starter.userId }, 'starter');
    const project = await createProject(api, { user_id: starter.userId }, 'One channel');
    const first = returned((await connectThrough('tiktok', starter, project)).answer);
    assert.deepEqual([first.status, first.project], ['connected', project]);

    const refused = returned((await connectThrough('youtube', starter, project)).answer);
    assert.deepEqual([refused.status, refused.reason], ['error', 'plan_limit']);
    assert.equal(await api.ctx.models.Channel.count({ where: { project_id: project } }), 1);

    const again = returned((await connectThrough('tiktok', starter, project)).answer);
    assert.deepEqual([again.status, again.channel], ['connected', first.channel]);
  });

  it('answers the consent URL to admins and owners only, for the platforms it knows', async () => {
    const expected: Record<Actor, number> = { owner: 200, admin: 200, editor: 403, viewer: 403, outsider: 404, other: 404 };
    for (const [actor, status] of Object.entries(expected) as [Actor, number][]) {
      const res = await api.request('POST', `/projects/${projectId}/channels/connect`, { token: as[actor].token, body: { platform: 'youtube' } });
      assert.equal(res.status, status, `${actor}: ${res.text}`);
    }
    const unknown = await api.request('POST', `/projects/${projectId}/channels/connect`, { token: as.admin.token, body: { platform: 'facebook' } });
    assert.deepEqual([unknown.status, Object.keys(unknown.body.error.details)], [400, ['body.platform']]);
    assert.equal((await api.request('POST', `/projects/${projectId}/channels/connect`, { body: { platform: 'youtube' } })).status, 401);
    assert.equal((await visit(new URL(`${PUBLIC_URL}/channels/oauth/facebook/callback?code=x&state=y`))).status, 404);
  });
});
