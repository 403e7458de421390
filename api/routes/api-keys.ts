import Joi from 'joi';
import { ROLES, type Role } from '../../db/models';
import { generateApiKey } from '../auth/api-keys';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { serializeApiKey } from '../serializers/api-keys';
import { notFound, requireOrganizationRole, roleAtLeast, roleOver } from '../tenancy';
import { requirePlanFeature } from '../limits';

interface CreateBody {
  name: string;
  role: Role;
  organization_id?: string;
  expires_at?: Date | null;
}

/** Keys are managed with a person's access token: a key never mints, lists or revokes keys. */
function byPerson(auth: { apiKey?: unknown } | undefined): void {
  if (auth?.apiKey) throw new HttpError(403, 'forbidden', "API keys are created, listed and revoked with a user's access token, not with an API key");
}

/**
 * API keys (plan feature api_access): a personal key acts as its user, an organization's key as
 * its creator on that organization only; both never above the key's role (api/tenancy.ts). The
 * key itself is answered once, at creation; only its prefix and the SHA-256 of its secret are kept.
 */
export function apiKeyRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models } = ctx;
  // `authenticate` finds the keys through the app's configuration (api/middleware.ts).

  return [
    route<Record<string, never>, Record<string, never>, CreateBody>({
      method: 'post',
      path: '/api-keys',
      summary:
        "Create an API key, personal or (organization_id) an organization's, with a role no higher than the caller's; the key is in this answer only. Needs a plan with api_access",
      tag: 'api-keys',
      auth: 'user',
      body: Joi.object({
        name: schemas.name.required(),
        role: Joi.string().valid(...ROLES).required(),
        organization_id: schemas.id,
        expires_at: Joi.date().iso().greater('now').allow(null),
      }).required(),
      responses: {
        201: '{ api_key, key }: key (ak_<prefix>_<secret>) is shown this once',
        403: "plan_feature: the owner's plan has no api_access; forbidden: a role above the caller's, or an API key as caller",
      },
      handler: async (req, res, { body }) => {
        byPerson(req.auth);
        const userId = req.auth!.userId;
        const owner = body.organization_id ? { user_id: null, organization_id: body.organization_id } : { user_id: userId, organization_id: null };
        if (body.organization_id) {
          const callerRole = await requireOrganizationRole(models, userId, body.organization_id, 'viewer');
          if (!roleAtLeast(callerRole, body.role)) {
            throw new HttpError(403, 'forbidden', `a key's role cannot be above yours (${callerRole})`, { 'body.role': `at most ${callerRole}` });
          }
        }
        await requirePlanFeature(ctx, owner, 'api_access', body.organization_id ? 'body.organization_id' : 'body');
        const generated = generateApiKey();
        const key = await ctx.db.apiKeys.create({
          ...owner,
          created_by: userId,
          name: body.name,
          prefix: generated.prefix,
          secret_hash: generated.secretHash,
          role: body.role,
          expires_at: body.expires_at ?? null,
        });
        res.status(201).json({ api_key: serializeApiKey(key), key: generated.key });
      },
    }),
    route<Record<string, never>, { organization_id?: string }>({
      method: 'get',
      path: '/api-keys',
      summary: "The caller's personal API keys, or (organization_id, admin or higher) an organization's; never their secrets",
      tag: 'api-keys',
      auth: 'user',
      query: Joi.object({ organization_id: schemas.id }),
      responses: { 200: '{ items }, newest first, revoked keys included' },
      handler: async (req, res, { query }) => {
        byPerson(req.auth);
        const userId = req.auth!.userId;
        if (query.organization_id) await requireOrganizationRole(models, userId, query.organization_id, 'admin');
        const keys = await ctx.db.apiKeys.list(query.organization_id ? { organization_id: query.organization_id } : { user_id: userId });
        res.json({ items: keys.map(serializeApiKey) });
      },
    }),
    route<{ id: string }>({
      method: 'delete',
      path: '/api-keys/:id',
      summary: "Revoke an API key at once (a personal key by its user; an organization's by its creator or an admin or higher)",
      tag: 'api-keys',
      auth: 'user',
      params: schemas.idParams,
      responses: { 204: 'revoked (also when it was already)' },
      handler: async (req, res, { params }) => {
        byPerson(req.auth);
        const userId = req.auth!.userId;
        const key = await ctx.db.apiKeys.findById(params.id);
        const role = key ? await roleOver(models, userId, key) : undefined;
        if (!key || !role) throw notFound('API key');
        if (key.organization_id && key.created_by !== userId && !roleAtLeast(role, 'admin')) {
          throw new HttpError(403, 'forbidden', "an organization's API key is revoked by its creator or an admin or higher");
        }
        await ctx.db.apiKeys.revoke(key.id);
        res.status(204).end();
      },
    }),
  ];
}
