import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { readAll, sendJson, serveLocally, type LocalServer } from './http';

/**
 * A loopback OpenID provider that speaks like Google or like Kakao, its issuer being its own base
 * URL: discovery, a JWKS of an RSA key generated at start, an authorize endpoint that signs in the
 * user the test chose and redirects to the registered redirect_uri with `code` and `state`, a token
 * endpoint that checks the client's credentials, the redirect_uri, the code (once) and the PKCE
 * verifier against the S256 challenge, and answers an RS256 ID token with the authorize request's
 * nonce. As Kakao it leaves `email_verified` out of the ID token and serves `/v2/user/me` with
 * `kakao_account.is_email_valid` / `is_email_verified`, as Kakao does.
 */

export type OidcFlavor = 'google' | 'kakao';

/** The user who signs in at the next authorize request, as the test plays them. */
export interface FakeOidcUser {
  sub: string;
  email?: string;
  email_verified: boolean;
  name?: string;
}

/** Ways to spoil the next ID token, as a forger or a confused provider would. */
export interface IdTokenForgery {
  /** Signed with another key under the same key id, so only the signature gives it away. */
  foreignKey?: boolean;
  audience?: string;
  nonce?: string;
}

export interface FakeOidcOptions {
  flavor: OidcFlavor;
  clientId: string;
  /** Omitted: the client authenticates by its id alone (a Kakao app with its client secret off). */
  clientSecret?: string;
  redirectUris: string[];
}

interface PendingCode {
  user: FakeOidcUser;
  redirectUri: string;
  nonce: string;
  codeChallenge: string;
}

const PATHS: Record<OidcFlavor, { authorize: string; token: string; jwks: string; userInfo?: string }> = {
  google: { authorize: '/o/oauth2/v2/auth', token: '/token', jwks: '/oauth2/v3/certs' },
  kakao: { authorize: '/oauth/authorize', token: '/oauth/token', jwks: '/.well-known/jwks.json', userInfo: '/v2/user/me' },
};

export interface FakeOidcServer extends LocalServer {
  issuer: string;
  /** Kakao's user info URL (KAKAO_OIDC_USERINFO_URL). */
  userInfoUrl: string;
  /** Who signs in at the next authorize request. */
  user: FakeOidcUser | undefined;
  /** Spoils the next ID token only. */
  forgeNext(forgery: IdTokenForgery): void;
  /** Calls to the token endpoint, refused ones included. */
  tokenRequests: number;
  /** Codes, access and ID tokens handed out: none may reach a response of the API. */
  issuedSecrets: Set<string>;
}

async function rsaKey(): Promise<{ privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, publicJwk: await exportJWK(publicKey) };
}

const oauthError = (res: ServerResponse, status: number, error: string, description: string) => sendJson(res, status, { error, error_description: description });

export async function startOidcServer(options: FakeOidcOptions): Promise<FakeOidcServer> {
  const kid = randomBytes(8).toString('hex');
  const signing = await rsaKey();
  const foreign = await rsaKey();
  const paths = PATHS[options.flavor];
  const codes = new Map<string, PendingCode>();
  const accessTokens = new Map<string, FakeOidcUser>();
  let forgery: IdTokenForgery = {};

  async function idToken(pending: PendingCode, issuer: string): Promise<string> {
    const { user } = pending;
    const spoil = forgery;
    forgery = {};
    const claims =
      options.flavor === 'google'
        ? { azp: options.clientId, email: user.email, email_verified: user.email_verified, name: user.name }
        : { email: user.email, nickname: user.name, auth_time: Math.floor(Date.now() / 1000) };
    return new SignJWT({ ...claims, nonce: spoil.nonce ?? pending.nonce })
      .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
      .setIssuer(issuer)
      .setAudience(spoil.audience ?? options.clientId)
      .setSubject(user.sub)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(spoil.foreignKey ? foreign.privateKey : signing.privateKey);
  }

  function authorize(url: URL, res: ServerResponse): void {
    const q = url.searchParams;
    const redirectUri = q.get('redirect_uri') ?? '';
    if (q.get('client_id') !== options.clientId) return oauthError(res, 400, 'invalid_client', 'unknown client_id');
    if (!options.redirectUris.includes(redirectUri)) return oauthError(res, 400, 'invalid_request', 'redirect_uri is not registered');
    const missing = ['state', 'nonce', 'code_challenge'].filter((name) => !q.get(name));
    if (q.get('response_type') !== 'code' || !(q.get('scope') ?? '').split(' ').includes('openid') || q.get('code_challenge_method') !== 'S256' || missing.length > 0) {
      return oauthError(res, 400, 'invalid_request', `an OpenID code request with S256 PKCE, state and nonce is expected${missing.length ? ` (missing ${missing.join(', ')})` : ''}`);
    }
    if (!server.user) return oauthError(res, 400, 'access_denied', 'the test chose no user to sign in');
    const code = randomBytes(24).toString('base64url');
    server.issuedSecrets.add(code);
    codes.set(code, { user: server.user, redirectUri, nonce: q.get('nonce')!, codeChallenge: q.get('code_challenge')! });
    const back = new URL(redirectUri);
    back.searchParams.set('code', code);
    back.searchParams.set('state', q.get('state')!);
    res.writeHead(302, { Location: back.toString() });
    res.end();
  }

  async function token(req: IncomingMessage, res: ServerResponse, issuer: string): Promise<void> {
    server.tokenRequests += 1;
    const form = new URLSearchParams((await readAll(req)).toString('utf8'));
    if (form.get('client_id') !== options.clientId || (options.clientSecret !== undefined && form.get('client_secret') !== options.clientSecret)) {
      return oauthError(res, 401, 'invalid_client', 'client authentication failed');
    }
    if (form.get('grant_type') !== 'authorization_code') return oauthError(res, 400, 'unsupported_grant_type', 'only authorization_code');
    const code = form.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    if (!pending) return oauthError(res, 400, 'invalid_grant', 'the code is unknown or used');
    if (form.get('redirect_uri') !== pending.redirectUri) return oauthError(res, 400, 'invalid_grant', 'redirect_uri differs from the authorize request');
    const challenge = createHash('sha256').update(form.get('code_verifier') ?? '').digest('base64url');
    if (challenge !== pending.codeChallenge) return oauthError(res, 400, 'invalid_grant', 'code_verifier does not match code_challenge');
    const accessToken = randomBytes(24).toString('base64url');
    const signed = await idToken(pending, issuer);
    accessTokens.set(accessToken, pending.user);
    server.issuedSecrets.add(accessToken).add(signed);
    sendJson(res, 200, { access_token: accessToken, token_type: 'Bearer', expires_in: 3599, scope: 'openid', id_token: signed });
  }

  function userInfo(req: IncomingMessage, res: ServerResponse): void {
    const user = accessTokens.get((req.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (!user) return sendJson(res, 401, { msg: 'this access token does not exist', code: -401 });
    sendJson(res, 200, {
      id: Number(user.sub),
      connected_at: new Date().toISOString(),
      kakao_account: {
        profile_nickname_needs_agreement: false,
        profile: { nickname: user.name, is_default_nickname: false },
        ...(user.email
          ? { has_email: true, email_needs_agreement: false, is_email_valid: true, is_email_verified: user.email_verified, email: user.email }
          : { has_email: false }),
      },
    });
  }

  const local = await serveLocally(
    async (req, res) => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const issuer = server.issuer;
      if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration') {
        return sendJson(res, 200, {
          issuer,
          authorization_endpoint: `${issuer}${paths.authorize}`,
          token_endpoint: `${issuer}${paths.token}`,
          jwks_uri: `${issuer}${paths.jwks}`,
          response_types_supported: ['code'],
          subject_types_supported: ['public'],
          id_token_signing_alg_values_supported: ['RS256'],
          code_challenge_methods_supported: ['S256'],
          token_endpoint_auth_methods_supported: ['client_secret_post'],
        });
      }
      if (req.method === 'GET' && url.pathname === paths.jwks) return sendJson(res, 200, { keys: [{ ...signing.publicJwk, kid, alg: 'RS256', use: 'sig' }] });
      if (req.method === 'GET' && url.pathname === paths.authorize) return authorize(url, res);
      if (req.method === 'POST' && url.pathname === paths.token) return token(req, res, issuer);
      if (req.method === 'GET' && paths.userInfo && url.pathname === paths.userInfo) return userInfo(req, res);
      sendJson(res, 404, { error: 'not_found' });
    },
    (res, error) => sendJson(res, 500, { error: 'server_error', error_description: String(error) }),
  );

  const server: FakeOidcServer = {
    ...local,
    issuer: local.baseUrl,
    userInfoUrl: `${local.baseUrl}${PATHS.kakao.userInfo}`,
    user: undefined,
    forgeNext(next) {
      forgery = next;
    },
    tokenRequests: 0,
    issuedSecrets: new Set(),
  };
  return server;
}
