import { createHmac, timingSafeEqual } from 'node:crypto';
import type { RefreshTokens } from '../../db/sessions';
import type { AppConfig } from '../../lib/config';

/**
 * Access tokens are short-lived HS256 JWTs (stateless, checked on every request without I/O).
 * Refresh tokens are opaque random strings; Redis keeps only their SHA-256, so they can be revoked
 * (logout) and rotate on every use: a refresh token works once.
 */
export interface AccessClaims {
  sub: string;
  iat: number;
  exp: number;
}

const HEADER = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT' })).toString('base64url');

function sign(data: string, secret: Buffer): string {
  return createHmac('sha256', secret).update(data).digest('base64url');
}

export function issueAccessToken(userId: string, secret: Buffer, ttlSec: number, now = Date.now()): { token: string; expiresAt: Date } {
  const iat = Math.floor(now / 1000);
  const claims: AccessClaims = { sub: userId, iat, exp: iat + ttlSec };
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return { token: `${HEADER}.${payload}.${sign(`${HEADER}.${payload}`, secret)}`, expiresAt: new Date(claims.exp * 1000) };
}

/**
 * Tokens whose signature was checked, per secret, with their claims: a client sends the same token
 * on every request until it expires, and its signature, once checked, stays valid. Expiry is still
 * checked on each use. Bounded: the oldest entry makes room for a new one.
 */
const VERIFIED_MAX = 10_000;
const verifiedBySecret = new WeakMap<Buffer, Map<string, Readonly<AccessClaims>>>();

/** The claims of a valid, unexpired token, or undefined. Never throws on malformed input. */
export function verifyAccessToken(token: string, secret: Buffer, now = Date.now()): AccessClaims | undefined {
  let verified = verifiedBySecret.get(secret);
  const known = verified?.get(token);
  if (known) return known.exp * 1000 > now ? known : undefined;
  const claims = checkAccessToken(token, secret, now);
  if (!claims) return undefined;
  if (!verified) verifiedBySecret.set(secret, (verified = new Map()));
  if (verified.size >= VERIFIED_MAX) verified.delete(verified.keys().next().value!);
  verified.set(token, Object.freeze(claims));
  return claims;
}

function checkAccessToken(token: string, secret: Buffer, now: number): AccessClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== HEADER) return undefined;
  const expected = Buffer.from(sign(`${parts[0]}.${parts[1]}`, secret));
  const given = Buffer.from(parts[2]!);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Partial<AccessClaims>;
    if (typeof claims.sub !== 'string' || typeof claims.exp !== 'number' || claims.exp * 1000 <= now) return undefined;
    return claims as AccessClaims;
  } catch {
    return undefined;
  }
}

/** What every sign-in answers (password or OpenID): an access token and a refresh token that works once. */
export async function issueTokenPair(userId: string, auth: AppConfig['auth'], refreshTokens: RefreshTokens) {
  const access = issueAccessToken(userId, auth.tokenSecret, auth.accessTokenTtlSec);
  const refresh = await refreshTokens.issue(userId);
  return {
    token_type: 'Bearer',
    access_token: access.token,
    access_token_expires_at: access.expiresAt.toISOString(),
    refresh_token: refresh.token,
    refresh_token_expires_at: refresh.expiresAt.toISOString(),
  };
}
