import Joi from 'joi';
import { UniqueConstraintError } from 'sequelize';
import { DUMMY_PASSWORD_HASH, hashPassword, verifyPassword } from '../auth/passwords';
import { issueTokenPair } from '../auth/tokens';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { rateLimit } from '../middleware';
import { route, type AnyRouteSpec } from '../registry';
import { sendSignUpVerification } from './account-email';
import { serializeUser } from '../serializers';

const email = Joi.string().trim().lowercase().email({ tlds: false }).max(255);
const password = Joi.string().min(10).max(200);

export function authRoutes({ ctx, refreshTokens }: ApiDeps): AnyRouteSpec[] {
  const { User } = ctx.models;
  const { auth } = ctx.config;
  // Password guessing is slowed per address, on top of the general limits.
  const loginLimit = rateLimit(ctx.db.rateCounters, 'login', ctx.config.api.authRateLimitPerIp, (req) => req.ip);

  const tokensFor = (userId: string) => issueTokenPair(userId, auth, refreshTokens);

  return [
    route({
      method: 'post',
      path: '/auth/register',
      summary: 'Create an account with email and password',
      tag: 'auth',
      auth: 'public',
      before: [loginLimit],
      body: Joi.object({
        email: email.required(),
        password: password.required(),
        name: Joi.string().trim().min(1).max(100).required(),
        locale: Joi.string().valid('ko', 'en').default('ko'),
        timezone: Joi.string().max(50).default('Asia/Seoul'),
      }).required(),
      responses: { 201: 'the new user, a token pair, and whether the mail verifying the address was sent' },
      handler: async (_req, res, { body }) => {
        try {
          const user = await User.create({
            email: body.email,
            name: body.name,
            password_hash: await hashPassword(body.password),
            locale: body.locale,
            timezone: body.timezone,
            last_login_at: new Date(),
          } as never);
          const verificationEmailSent = await sendSignUpVerification(ctx, user);
          res.status(201).json({ user: serializeUser(user), ...(await tokensFor(user.id)), verification_email_sent: verificationEmailSent });
        } catch (err) {
          if (err instanceof UniqueConstraintError) throw new HttpError(409, 'conflict', 'an account with this email exists', { 'body.email': 'already registered' });
          throw err;
        }
      },
    }),
    route({
      method: 'post',
      path: '/auth/login',
      summary: 'Exchange email and password for a token pair',
      tag: 'auth',
      auth: 'public',
      before: [loginLimit],
      body: Joi.object({ email: email.required(), password: Joi.string().max(200).required() }).required(),
      responses: { 200: 'a token pair' },
      handler: async (_req, res, { body }) => {
        const user = await User.findOne({ where: { email: body.email } });
        const ok = await verifyPassword(body.password, user?.password_hash ?? DUMMY_PASSWORD_HASH);
        if (!user || !ok || user.status !== 'active') throw new HttpError(401, 'invalid_credentials', 'email or password is wrong');
        await user.update({ last_login_at: new Date() });
        res.json({ user: serializeUser(user), ...(await tokensFor(user.id)) });
      },
    }),
    route({
      method: 'post',
      path: '/auth/refresh',
      summary: 'Exchange a refresh token (once) for a new token pair',
      tag: 'auth',
      auth: 'public',
      body: Joi.object({ refresh_token: Joi.string().max(200).required() }).required(),
      responses: { 200: 'a new token pair; the old refresh token no longer works' },
      handler: async (_req, res, { body }) => {
        const userId = await refreshTokens.consume(body.refresh_token);
        const user = userId ? await User.findByPk(userId) : null;
        if (!user || user.status !== 'active') throw new HttpError(401, 'invalid_refresh_token', 'the refresh token is unknown, used or revoked');
        res.json(await tokensFor(user.id));
      },
    }),
    route({
      method: 'post',
      path: '/auth/logout',
      summary: 'Revoke a refresh token, or every refresh token of the user',
      tag: 'auth',
      auth: 'user',
      body: Joi.object({ refresh_token: Joi.string().max(200), everywhere: Joi.boolean().default(false) }).or('refresh_token', 'everywhere').required(),
      responses: { 204: 'revoked' },
      handler: async (req, res, { body }) => {
        if (body.everywhere) await refreshTokens.revokeAll(req.auth!.userId);
        else if (body.refresh_token) await refreshTokens.revoke(body.refresh_token);
        res.status(204).end();
      },
    }),
    route({
      method: 'get',
      path: '/me',
      summary: 'The signed-in user and their organizations',
      tag: 'auth',
      auth: 'user',
      responses: { 200: 'the user' },
      handler: async (req, res) => {
        const user = await User.findByPk(req.auth!.userId);
        if (!user) throw new HttpError(401, 'unauthenticated', 'the user of this token no longer exists');
        const memberships = await ctx.models.OrganizationMember.findAll({
          where: { user_id: user.id },
          include: [{ model: ctx.models.Organization, as: 'organization', attributes: ['id', 'name', 'slug'] }],
        });
        res.json({
          user: serializeUser(user),
          organizations: memberships.map((m) => ({ id: m.organization_id, name: m.organization?.name, slug: m.organization?.slug, role: m.role })),
        });
      },
    }),
  ];
}
