import { randomBytes } from 'node:crypto';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { OAuthProvider } from '../../db/models';
import type { AppConfig, OidcProviderConfig } from '../../lib/config';
import { oauthErrorCode, withQuery } from '../../providers/oauth';
import { readBody, sendRequest, type ProviderLabel } from '../../providers/http';
import { record } from '../../providers/platforms/exchange';
import { HttpError } from '../errors';

/**
 * Sign-in with an OpenID provider (Google, Kakao): the authorization code flow with PKCE (S256),
 * `state` and `nonce`. The provider's endpoints and signing keys come from its discovery document
 * (`{issuer}/.well-known/openid-configuration`), read once an hour; the ID token is verified with
 * `jose` against those keys (RS256, issuer, audience = our client id, expiry, nonce).
 */

/** Deadline of each request to a provider (discovery, token, user info). */
const REQUEST_TIMEOUT_MS = 10_000;
/** How long a discovery document is used before it is read again (keys rotate through the JWKS, which jose refetches itself). */
const DISCOVERY_TTL_MS = 3_600_000;
/** Clock skew allowed between the provider and this server when checking `iat` and `exp`. */
const CLOCK_TOLERANCE_SEC = 60;

/** What the sign-in asks for: Kakao names its consent items as scopes. */
const SCOPES: Readonly<Record<OAuthProvider, string>> = {
  google: 'openid email profile',
  kakao: 'openid account_email profile_nickname',
};

/** Who the provider says signed in; `emailVerified` is true only when the provider says so in as many words. */
export interface OidcIdentity {
  subject: string;
  email: string | undefined;
  emailVerified: boolean;
  name: string | undefined;
}

/** An ID token's claims once verified: it names its subject. */
type VerifiedClaims = JWTPayload & { sub: string };

/** The identity from the verified claims, reading more from the provider (with the sign-in's access token) where its ID token does not say enough. */
type IdentityReader = (claims: VerifiedClaims, accessToken: string, client: OidcClient) => Promise<OidcIdentity>;

interface ProviderMetadata {
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwks: JWTVerifyGetKey;
}

/** A value for the authorization request's `nonce`, echoed back inside the ID token. */
export function newNonce(): string {
  return randomBytes(24).toString('base64url');
}

/** Errors of the ID token itself (signature, claims, algorithm); anything else jose throws is about reaching the keys. */
const TOKEN_ERROR_CODES = new Set([
  joseErrors.JWTClaimValidationFailed.code,
  joseErrors.JWTExpired.code,
  joseErrors.JWTInvalid.code,
  joseErrors.JWSInvalid.code,
  joseErrors.JWSSignatureVerificationFailed.code,
  joseErrors.JWKSNoMatchingKey.code,
  joseErrors.JWKSMultipleMatchingKeys.code,
  joseErrors.JOSEAlgNotAllowed.code,
  joseErrors.JOSENotSupported.code,
]);

const invalidIdToken = (provider: OAuthProvider, why: string) => new HttpError(401, 'invalid_id_token', `the ID token from ${provider} was refused: ${why}`);
const unavailable = (provider: OAuthProvider, what: string) =>
  new HttpError(502, 'oidc_provider_unavailable', `${provider} could not be reached or answered unexpectedly (${what}); try again shortly`);

/** One provider's client: discovery (cached), the authorization URL, the code exchange and the ID token check. */
export class OidcClient {
  private discovery: { readAt: number; metadata: Promise<ProviderMetadata> } | undefined;

  constructor(
    readonly provider: OAuthProvider,
    private readonly config: OidcProviderConfig,
    private readonly identityOf: IdentityReader,
    /** The `iss` values the provider's ID tokens carry (Google also writes its issuer without the scheme). */
    private readonly issuers: readonly string[] = [config.issuer],
  ) {}

  /** The discovery document's endpoints and key set, read again once it is an hour old or after a failure. */
  discover(): Promise<ProviderMetadata> {
    if (!this.discovery || Date.now() - this.discovery.readAt > DISCOVERY_TTL_MS) {
      const metadata = this.readDiscovery();
      this.discovery = { readAt: Date.now(), metadata };
      metadata.catch(() => {
        if (this.discovery?.metadata === metadata) this.discovery = undefined;
      });
    }
    return this.discovery.metadata;
  }

  private async readDiscovery(): Promise<ProviderMetadata> {
    const url = `${this.config.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const body = await this.getJson(url, 'discovery', {});
    const { issuer, authorization_endpoint: authorize, token_endpoint: token, jwks_uri: jwksUri } = body;
    // OpenID Connect Discovery §4.3: the document must name exactly the issuer it was read from.
    if (issuer !== this.config.issuer) throw unavailable(this.provider, `the discovery document names another issuer than ${this.config.issuer}`);
    if (typeof authorize !== 'string' || typeof token !== 'string' || typeof jwksUri !== 'string' || !URL.canParse(authorize) || !URL.canParse(token) || !URL.canParse(jwksUri)) {
      throw unavailable(this.provider, 'the discovery document lacks its endpoints');
    }
    return { authorizationEndpoint: authorize, tokenEndpoint: token, jwks: createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: REQUEST_TIMEOUT_MS }) };
  }

  /** A JSON object from the provider; anything else is the provider's failure. */
  async getJson(url: string, operation: string, headers: Record<string, string>): Promise<Record<string, unknown>> {
    const response = await this.send(url, operation, { headers: { accept: 'application/json', ...headers } });
    const body = await readBody(response);
    const json = record(body);
    // record() answers a new empty object for anything that is not a JSON object.
    if (!response.ok || json !== body) throw unavailable(this.provider, `${operation} answered HTTP ${response.status}`);
    return json;
  }

  /** One request within the deadline; its failure is answered without the request's details (codes, secrets). */
  private async send(url: string, operation: string, init: RequestInit): Promise<Response> {
    const label: ProviderLabel = { provider: this.provider, operation: `${this.provider} ${operation}` };
    try {
      return await sendRequest(label, url, { ...init, redirect: 'error' }, REQUEST_TIMEOUT_MS, []);
    } catch {
      throw unavailable(this.provider, `${operation}: no answer`);
    }
  }

  /** Where to send the browser: the provider's consent page for this sign-in. */
  authorizationUrl(metadata: ProviderMetadata, request: { state: string; nonce: string; codeChallenge: string }): string {
    return withQuery(metadata.authorizationEndpoint, {
      response_type: 'code',
      client_id: this.config.clientId,
      redirect_uri: this.config.redirectUrl,
      scope: SCOPES[this.provider],
      state: request.state,
      nonce: request.nonce,
      code_challenge: request.codeChallenge,
      code_challenge_method: 'S256',
    });
  }

  /** Exchanges the code (with the PKCE verifier) and verifies the ID token: who signed in. */
  async signIn(request: { code: string; codeVerifier: string; nonce: string }): Promise<OidcIdentity> {
    const metadata = await this.discover();
    const tokens = await this.exchangeCode(metadata, request.code, request.codeVerifier);
    const claims = await this.verifyIdToken(metadata, tokens.idToken, request.nonce);
    return this.identityOf(claims, tokens.accessToken, this);
  }

  private async exchangeCode(metadata: ProviderMetadata, code: string, codeVerifier: string): Promise<{ idToken: string; accessToken: string }> {
    const { clientId, clientSecret, redirectUrl } = this.config;
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: redirectUrl, client_id: clientId, code_verifier: codeVerifier });
    if (clientSecret) form.set('client_secret', clientSecret);
    const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const response = await this.send(metadata.tokenEndpoint, 'token exchange', { method: 'POST', headers, body: form.toString() });
    const body = await readBody(response);
    if (!response.ok) {
      const reason = oauthErrorCode(record(body).error);
      // A code that is wrong, used, expired or tied to another verifier: the client's input. Our own
      // credentials refused (invalid_client) or a provider failure: not something the client can fix.
      if (response.status < 500 && reason !== 'invalid_client' && reason !== 'unauthorized_client') {
        throw new HttpError(400, 'oidc_code_rejected', `${this.provider} refused the authorization code${reason ? ` (${reason})` : ''}: start the sign-in again`, {
          'body.code': 'unknown, used or expired',
        });
      }
      throw unavailable(this.provider, `token exchange answered HTTP ${response.status}${reason ? ` ${reason}` : ''}`);
    }
    const idToken = record(body).id_token;
    const accessToken = record(body).access_token;
    if (typeof idToken !== 'string' || typeof accessToken !== 'string') throw unavailable(this.provider, 'the token answer has no ID token');
    return { idToken, accessToken };
  }

  private async verifyIdToken(metadata: ProviderMetadata, idToken: string, nonce: string): Promise<VerifiedClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, metadata.jwks, {
        issuer: [...this.issuers],
        audience: this.config.clientId,
        algorithms: ['RS256'],
        requiredClaims: ['sub', 'iat', 'exp', 'nonce'],
        clockTolerance: CLOCK_TOLERANCE_SEC,
      }));
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (typeof code === 'string' && TOKEN_ERROR_CODES.has(code)) throw invalidIdToken(this.provider, (error as Error).message);
      throw unavailable(this.provider, 'its signing keys could not be read');
    }
    if (payload.nonce !== nonce) throw invalidIdToken(this.provider, 'it was not issued for this sign-in (nonce)');
    // OpenID Connect Core §3.1.3.7: with several audiences, the token must name us as its authorized party.
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== this.config.clientId) throw invalidIdToken(this.provider, 'it was issued to another party (azp)');
    if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 255) throw invalidIdToken(this.provider, 'its subject is not a usable id');
    return { ...payload, sub: payload.sub };
  }
}

const stringClaim = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined);

/** Google puts the address and its verification in the ID token (`email`, `email_verified`). */
const googleIdentity: IdentityReader = async (claims) => ({ subject: claims.sub, email: stringClaim(claims.email), emailVerified: claims.email_verified === true, name: stringClaim(claims.name) });

/**
 * Kakao's ID token carries no `email_verified`: its user info (`/v2/user/me`) says whether the
 * Kakao account's address is valid (`is_email_valid`) and was verified (`is_email_verified`), and
 * the address is taken from there, for the user the ID token names.
 */
function kakaoIdentity(userInfoUrl: string): IdentityReader {
  return async (claims, accessToken, client) => {
    const info = await client.getJson(userInfoUrl, 'user info', { authorization: `Bearer ${accessToken}` });
    if (String(info.id) !== claims.sub) throw unavailable('kakao', 'the user info belongs to another user than the ID token');
    const account = record(info.kakao_account);
    const profile = record(account.profile);
    return {
      subject: claims.sub,
      email: stringClaim(account.email),
      emailVerified: account.is_email_valid === true && account.is_email_verified === true,
      name: stringClaim(claims.nickname) ?? stringClaim(profile.nickname),
    };
  };
}

/** The clients of the providers this deployment has a client id for. */
export function oidcClients(config: AppConfig['oidc']): Partial<Record<OAuthProvider, OidcClient>> {
  const clients: Partial<Record<OAuthProvider, OidcClient>> = {};
  if (config.google) {
    const issuers = config.google.issuer === 'https://accounts.google.com' ? ['https://accounts.google.com', 'accounts.google.com'] : [config.google.issuer];
    clients.google = new OidcClient('google', config.google, googleIdentity, issuers);
  }
  if (config.kakao) clients.kakao = new OidcClient('kakao', config.kakao, kakaoIdentity(config.kakao.userInfoUrl));
  return clients;
}
