import Joi from 'joi';
import {
  EmailNotConfiguredError,
  passwordStamp,
  queuePasswordReset,
  sendVerificationEmail,
  type EmailVerifyPayload,
  type PasswordResetPayload,
} from '../../control/email';
import type { AppContext } from '../../control/app-context';
import type { User } from '../../db/models';
import { moduleLogger } from '../../lib/logger';
import { isProviderError } from '../../providers/errors';
import { hashPassword } from '../auth/passwords';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { rateLimit } from '../middleware';
import { route, type AnyRouteSpec } from '../registry';
import { serializeUser } from '../serializers';

const log = moduleLogger('email');

/** A one-time token as mailed: 32 random bytes, base64url. */
const oneTimeToken = Joi.string().pattern(/^[A-Za-z0-9_-]{43}$/).messages({ 'string.pattern.base': 'token must be the token of a mailed link' });

/** How long a client waits before asking again for a mail the SMTP server could not take. */
const MAIL_RETRY_AFTER_S = 30;

const notConfigured = () => new HttpError(503, 'email_not_configured', 'this deployment sends no email');

/**
 * The verification mail of a new account, sent while /auth/register answers. The account exists
 * whatever happens to the mail: a failure is logged and the answer says the mail was not sent, so
 * the client asks again with POST /auth/email/verification.
 */
export async function sendSignUpVerification(ctx: AppContext, user: User): Promise<boolean> {
  try {
    await sendVerificationEmail(ctx, user);
    return true;
  } catch (err) {
    // An SMTP failure is logged where the mail was sent; anything else is logged here.
    if (!(err instanceof EmailNotConfiguredError) && !isProviderError(err)) log.warn({ userId: user.id, error: err instanceof Error ? err.message : String(err) }, 'the verification mail of a new account was not sent');
    return false;
  }
}

/**
 * Email verification and password reset. Tokens are single use and short-lived (db/sessions.ts
 * OneTimeTokens: only their hash is stored). The verification mail is sent while the request waits
 * (an SMTP failure is a 503 the client may repeat). A reset is queued (control/email.ts) after the
 * answer, which is the same 202 for any address, so neither the answer nor its timing tells
 * whether an account exists.
 */
export function accountEmailRoutes({ ctx, refreshTokens }: ApiDeps): AnyRouteSpec[] {
  const { User } = ctx.models;
  const { authRateLimitPerIp } = ctx.config.api;
  const perUser = rateLimit(ctx.db.rateCounters, 'email-verification', authRateLimitPerIp, (req) => req.auth?.userId);
  const perAddress = rateLimit(ctx.db.rateCounters, 'password-forgot', authRateLimitPerIp, (req) => req.ip);

  return [
    route({
      method: 'post',
      path: '/auth/email/verification',
      summary: 'Mail the signed-in user a new link that verifies their email address',
      tag: 'auth',
      auth: 'user',
      before: [perUser],
      responses: { 202: 'the mail is sent; its link works once, until `expires_at`', 409: 'the address is verified already', 503: 'the mail could not be sent now (Retry-After)' },
      handler: async (req, res) => {
        const user = await User.findByPk(req.auth!.userId);
        if (!user) throw new HttpError(401, 'unauthenticated', 'the user of this token no longer exists');
        if (user.email_verified) throw new HttpError(409, 'email_already_verified', 'this email address is verified already');
        try {
          const { expiresAt } = await sendVerificationEmail(ctx, user);
          res.status(202).json({ email: user.email, expires_at: expiresAt.toISOString() });
        } catch (err) {
          if (err instanceof EmailNotConfiguredError) throw notConfigured();
          // Anything but the SMTP server's refusal is the error handler's (a store down, a bug).
          if (!isProviderError(err)) throw err;
          res.setHeader('retry-after', String(MAIL_RETRY_AFTER_S));
          throw new HttpError(503, 'email_unavailable', 'the mail could not be sent now; try again shortly');
        }
      },
    }),
    route({
      method: 'post',
      path: '/auth/email/verify',
      summary: 'Verify an email address with the token of its mailed link',
      tag: 'auth',
      auth: 'public',
      body: Joi.object({ token: oneTimeToken.required() }).required(),
      responses: { 200: 'the address is verified; the user', 400: 'the token is unknown, used or expired' },
      handler: async (_req, res, { body }) => {
        const payload = await ctx.db.oneTimeTokens.consume<EmailVerifyPayload>('email-verify', body.token);
        const user = payload ? await User.findByPk(payload.userId) : null;
        // A link sent to an address the account no longer has verifies nothing.
        if (!payload || !user || user.email !== payload.email) throw new HttpError(400, 'invalid_token', 'the link is unknown, used or expired', { 'body.token': 'unknown, used or expired' });
        await user.update({ email_verified: true });
        res.json({ user: serializeUser(user) });
      },
    }),
    route({
      method: 'post',
      path: '/auth/password/forgot',
      summary: 'Mail a password-reset link to the account with this address, if there is one',
      tag: 'auth',
      auth: 'public',
      before: [perAddress],
      body: Joi.object({ email: Joi.string().trim().lowercase().email({ tlds: false }).max(255).required() }).required(),
      responses: { 202: 'the same answer for every address: a mail is on its way if an account has it', 503: 'this deployment sends no email' },
      handler: async (_req, res, { body }) => {
        if (!ctx.config.email.smtpUrl) throw notConfigured();
        res.status(202).json({ message: 'if an account has this address, a mail with a reset link is on its way' });
        try {
          const user = await User.findOne({ where: { email: body.email }, attributes: ['id', 'status'] });
          if (user && user.status === 'active') await queuePasswordReset(ctx, user.id);
        } catch (err) {
          log.error({ error: err instanceof Error ? err.message : String(err) }, 'a password-reset mail could not be queued');
        }
      },
    }),
    route({
      method: 'post',
      path: '/auth/password/reset',
      summary: 'Set a new password with the token of a mailed reset link; signs the user out everywhere',
      tag: 'auth',
      auth: 'public',
      body: Joi.object({ token: oneTimeToken.required(), password: Joi.string().min(10).max(200).required() }).required(),
      responses: { 204: 'the password is changed and every refresh token revoked', 400: 'the token is unknown, used, expired, or older than the password' },
      handler: async (_req, res, { body }) => {
        const payload = await ctx.db.oneTimeTokens.consume<PasswordResetPayload>('password-reset', body.token);
        const user = payload ? await User.findByPk(payload.userId) : null;
        if (!payload || !user || user.status !== 'active' || passwordStamp(user.password_hash) !== payload.stamp) {
          throw new HttpError(400, 'invalid_token', 'the link is unknown, used or expired', { 'body.token': 'unknown, used or expired' });
        }
        // The reset link reached this address: it is the user's.
        await user.update({ password_hash: await hashPassword(body.password), email_verified: true });
        await refreshTokens.revokeAll(user.id);
        log.info({ userId: user.id }, 'password reset; every refresh token revoked');
        res.status(204).end();
      },
    }),
  ];
}
