import { createHash, randomBytes } from 'node:crypto';

/**
 * The authorization-code half of OAuth 2.0 as the fake platforms speak it: the consent page hands
 * out a code bound to the client, the redirect URI, the scopes and the PKCE challenge, and sends
 * the browser back (or the user's refusal); the token endpoint redeems a code once, within ten
 * minutes, for the same client and redirect URI, checking the PKCE verifier (S256) when the consent
 * request carried a challenge. Tests steer the next consent through `decision`.
 */

export interface ConsentRequest {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  codeChallenge?: string;
  codeChallengeMethod?: string;
  /** Google's `access_type=offline`: the code brings a refresh token. */
  offline?: boolean;
}

export interface RedeemRequest {
  clientId: string;
  redirectUri: string | undefined;
  codeVerifier: string | undefined;
}

const CODE_LIFETIME_MS = 10 * 60_000;

export class AuthorizationCodes {
  private readonly codes = new Map<string, ConsentRequest & { expiresAt: number }>();
  /** What the next consents do: approve every scope asked for (default), approve only `grantOnly`, or `deny`. */
  decision: { deny?: boolean; grantOnly?: string[] } = {};
  /** The consent requests received, in order. */
  readonly requests: ConsentRequest[] = [];
  /** Codes redeemed, so a test can tell the exchange happened. */
  redeemed = 0;

  /** The consent page's answer: where it sends the browser back to, with a code or the refusal. */
  consent(request: ConsentRequest, state: string | null, extra: Record<string, string> = {}): string {
    this.requests.push(request);
    const back = new URL(request.redirectUri);
    if (this.decision.deny) {
      back.searchParams.set('error', 'access_denied');
      back.searchParams.set('error_description', 'The user denied the request');
    } else {
      const code = randomBytes(18).toString('base64url');
      const scopes = this.decision.grantOnly ? request.scopes.filter((scope) => this.decision.grantOnly?.includes(scope)) : request.scopes;
      this.codes.set(code, { ...request, scopes, expiresAt: Date.now() + CODE_LIFETIME_MS });
      back.searchParams.set('code', code);
      for (const [name, value] of Object.entries(extra)) back.searchParams.set(name, value);
    }
    if (state !== null) back.searchParams.set('state', state);
    return back.toString();
  }

  /** The consent a code stands for (its scopes as granted), used up; or why it cannot be redeemed (an OAuth error and its description). */
  redeem(code: string | null, request: RedeemRequest): { granted: ConsentRequest } | { error: string; description: string } {
    const issued = code === null ? undefined : this.codes.get(code);
    if (code === null || !issued || issued.expiresAt < Date.now()) return { error: 'invalid_grant', description: 'The authorization code is invalid, used or expired.' };
    this.codes.delete(code);
    if (issued.clientId !== request.clientId) return { error: 'invalid_grant', description: 'The code was issued to another client.' };
    if (issued.redirectUri !== request.redirectUri) return { error: 'invalid_grant', description: 'redirect_uri does not match the one of the authorization request.' };
    if (issued.codeChallenge !== undefined) {
      if (!request.codeVerifier) return { error: 'invalid_grant', description: 'Missing code verifier.' };
      const challenge = createHash('sha256').update(request.codeVerifier).digest('base64url');
      if (issued.codeChallengeMethod !== 'S256' || challenge !== issued.codeChallenge) return { error: 'invalid_grant', description: 'Invalid code verifier.' };
    }
    this.redeemed += 1;
    return { granted: issued };
  }
}
