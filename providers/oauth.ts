import { createHash, randomBytes } from 'node:crypto';

/**
 * What the OAuth 2.0 flows share: channel consent (providers/platforms/oauth-connect.ts) and
 * OpenID sign-in (api/auth/oidc.ts).
 */

/** A PKCE verifier (43 characters of base64url) and its S256 challenge: the verifier stays on the server. */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** `base` with each defined parameter set in its query string. */
export function withQuery(base: string, params: Record<string, string | undefined>): string {
  const url = new URL(base);
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return url.toString();
}

/** An OAuth error code of the other side (`access_denied`, `invalid_grant`…), when it is a plain word safe to show. */
export function oauthErrorCode(value: unknown): string | undefined {
  return typeof value === 'string' && /^[\w.-]{1,64}$/.test(value) ? value : undefined;
}
