import Joi from 'joi';
import { UniqueConstraintError } from 'sequelize';
import { OAUTH_PROVIDERS, type OAuthProvider, type User } from '../../db/models';
import { pkcePair } from '../../providers/oauth';
import { newNonce, oidcClients, type OidcClient, type OidcIdentity } from '../auth/oidc';
import { issueTokenPair } from '../auth/tokens';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { rateLimit } from '../middleware';
import { route, type AnyRouteSpec } from '../registry';
import { serializeUser } from '../serializers';

/**
 * Sign-in with Google or Kakao. The redirect_uri is one page of the web app (OIDC_REDIRECT_URL),
 * registered at each provider: the client (the web app, or any API client) asks `start` for the
 * provider's URL, sends the user there, and the provider sends the browser back to that page with
 * `?code&state`; the page (or client) posts both to `callback` and gets the token pair in the JSON
 * answer, as from /auth/login, so tokens never travel in a URL. The PKCE verifier and the nonce
 * stay on the server, under the state, for ten minutes and one use.
 */

/** How long a started sign-in may take to come back. */
const STATE_TTL_SEC = 600;

/** What the state stands for, kept in Redis; the PKCE verifier sealed. */
interface SignInState {
  provider: OAuthProvider;
  nonce: string;
  sealedVerifier: string;
}

const providerParams = Joi.object({ provider: Joi.string().valid(...OAUTH_PROVIDERS).required() });
/** What the provider writes into the users row: an address the column holds and the API accepts elsewhere. */
const providerEmail = Joi.string().trim().lowercase().email({ tlds: false }).max(255);
const NAME_MAX_CHARS = 100;

const sealContext = (provider: OAuthProvider) => `oidc-sign-in:${provider}`;

export function oidcRoutes({ ctx, refreshTokens, box }: ApiDeps): AnyRouteSpec[] {
  const { User } = ctx.models;
  const clients = oidcClients(ctx.config.oidc);
  // Sign-ins count with password logins against the same per-address limit.
  const signInLimit = rateLimit(ctx.db.rateCounters, 'login', ctx.config.api.authRateLimitPerIp, (req) => req.ip);

  function clientFor(provider: OAuthProvider): OidcClient {
    const client = clients[provider];
    if (!client) throw new HttpError(404, 'oidc_not_configured', `sign-in with ${provider} is not configured`);
    return client;
  }

  const inactive = () => new HttpError(401, 'invalid_credentials', 'this account cannot sign in');

  /** Links an existing account to the provider's user: only for an address the provider verified, and never one linked already. */
  async function link(existing: User, provider: OAuthProvider, identity: OidcIdentity): Promise<User> {
    if (!identity.emailVerified) {
      throw new HttpError(
        409,
        'email_not_verified',
        `an account with this email exists, and ${provider} has not verified that the address belongs to this ${provider} user: sign in with your password, or verify the address at ${provider} first`,
      );
    }
    if (existing.status !== 'active') throw inactive();
    const alreadyLinked = () => new HttpError(409, 'account_linked', `the account with this email signs in with another ${existing.oauth_provider ?? 'OpenID'} account`);
    if (existing.oauth_provider !== null) throw alreadyLinked();
    // Conditional on the row still being unlinked, so two sign-ins at once cannot both link it.
    const [linked] = await User.update({ oauth_provider: provider, oauth_id: identity.subject, email_verified: true }, { where: { id: existing.id, oauth_provider: null } });
    if (linked === 0) throw alreadyLinked();
    return existing.reload();
  }

  /** The user the provider's identity signs in: linked already, an account with the same (verified) address, or a new one. */
  async function accountFor(provider: OAuthProvider, identity: OidcIdentity): Promise<User> {
    const known = await User.findOne({ where: { oauth_provider: provider, oauth_id: identity.subject } });
    if (known) return known;
    if (!identity.email) throw new HttpError(400, 'oidc_email_missing', `${provider} did not share an email address: allow access to it and sign in again`);
    const { value: email, error } = providerEmail.validate(identity.email);
    if (error) throw new HttpError(400, 'oidc_email_invalid', `${provider} gave an email address this service cannot use`);
    const existing = await User.findOne({ where: { email } });
    if (existing) return link(existing, provider, identity);
    const name = [...(identity.name ?? email.split('@')[0]!)].slice(0, NAME_MAX_CHARS).join('');
    try {
      return await User.create({
        email,
        name,
        password_hash: null,
        oauth_provider: provider,
        oauth_id: identity.subject,
        email_verified: identity.emailVerified,
      });
    } catch (err) {
      if (err instanceof UniqueConstraintError) throw new HttpError(409, 'conflict', 'an account with this email was created at the same moment: sign in again');
      throw err;
    }
  }

  return [
    route({
      method: 'post',
      path: '/auth/oidc/:provider/start',
      summary: 'Start a sign-in with Google or Kakao: the provider URL to send the user to',
      tag: 'auth',
      auth: 'public',
      before: [signInLimit],
      params: providerParams,
      responses: {
        200: 'authorization_url to open, and the state the provider will send back (valid ten minutes, once)',
        404: 'oidc_not_configured: this deployment has no client id for the provider',
        502: 'oidc_provider_unavailable: the provider’s discovery document could not be read',
      },
      handler: async (_req, res, { params }) => {
        const client = clientFor(params.provider);
        const metadata = await client.discover();
        const { verifier, challenge } = pkcePair();
        const nonce = newNonce();
        const { token: state, expiresAt } = await ctx.db.oneTimeTokens.issue<SignInState>(
          'oidc-sign-in',
          { provider: params.provider, nonce, sealedVerifier: box.encrypt(verifier, sealContext(params.provider)) },
          STATE_TTL_SEC,
        );
        res.json({ authorization_url: client.authorizationUrl(metadata, { state, nonce, codeChallenge: challenge }), state, expires_at: expiresAt.toISOString() });
      },
    }),
    route({
      method: 'post',
      path: '/auth/oidc/:provider/callback',
      summary: 'Finish a sign-in with Google or Kakao: the code and state the provider sent back, for a token pair',
      tag: 'auth',
      auth: 'public',
      before: [signInLimit],
      params: providerParams,
      body: Joi.object({ code: Joi.string().max(2048).required(), state: Joi.string().max(200).required() }).required(),
      responses: {
        200: 'the user (found, linked or created) and a token pair, as from /auth/login',
        400: 'invalid_state: unknown, used, expired or another provider’s; oidc_code_rejected: the provider refused the code',
        401: 'invalid_id_token: the ID token failed verification; invalid_credentials: the account is not active',
        404: 'oidc_not_configured: this deployment has no client id for the provider',
        409: 'email_not_verified: an account has this email and the provider has not verified it; account_linked: it signs in with another provider account',
        502: 'oidc_provider_unavailable: the provider could not be reached or answered unexpectedly',
      },
      handler: async (_req, res, { params, body }) => {
        const client = clientFor(params.provider);
        const saved = await ctx.db.oneTimeTokens.consume<SignInState>('oidc-sign-in', body.state);
        if (!saved || saved.provider !== params.provider) {
          throw new HttpError(400, 'invalid_state', 'this sign-in is unknown, used, expired or was started with another provider: start it again', {
            'body.state': 'unknown, used, expired or of another provider',
          });
        }
        const identity = await client.signIn({ code: body.code, codeVerifier: box.decrypt(saved.sealedVerifier, sealContext(params.provider)), nonce: saved.nonce });
        const user = await accountFor(params.provider, identity);
        if (user.status !== 'active') throw inactive();
        await user.update({ last_login_at: new Date() });
        res.json({ user: serializeUser(user), ...(await issueTokenPair(user.id, ctx.config.auth, refreshTokens)) });
      },
    }),
  ];
}
