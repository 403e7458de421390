import Joi from 'joi';
import { KEY_PROVIDERS, type KeyProvider } from '../../db/models';
import type { ApiDeps } from '../deps';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { notFound, requireOrganizationRole } from '../tenancy';

const providerParams = Joi.object({
  id: schemas.id.required(),
  provider: Joi.string().valid(...KEY_PROVIDERS).required(),
});

/**
 * An organization's own provider keys (issue 14): stored sealed (AES-256-GCM, lib/secrets.ts),
 * used by its productions instead of the platform's, and never returned: answers carry the
 * provider, the key's last 4 characters and when it was set. Admin or higher.
 */
export function providerKeyRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models } = ctx;
  return [
    route<{ id: string; provider: KeyProvider }, Record<string, never>, { key: string }>({
      method: 'put',
      path: '/organizations/:id/provider-keys/:provider',
      summary: "Store (or replace) the organization's own key for a provider (admin or higher); the key is never returned",
      tag: 'organizations',
      auth: 'user',
      params: providerParams,
      body: Joi.object({ key: Joi.string().trim().min(8).max(1000).required() }).required(),
      responses: { 200: '{ provider, key_hint, updated_at }: key_hint is the last 4 characters' },
      handler: async (req, res, { params, body }) => {
        const userId = req.auth!.userId;
        await requireOrganizationRole(models, userId, params.id, 'admin');
        const hint = await ctx.db.providerKeys.put(params.id, params.provider, body.key, userId);
        res.json(hint);
      },
    }),
    route<{ id: string }>({
      method: 'get',
      path: '/organizations/:id/provider-keys',
      summary: "The organization's own provider keys (admin or higher): provider, key_hint, updated_at; never the keys",
      tag: 'organizations',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ items: [{ provider, key_hint, updated_at }] }' },
      handler: async (req, res, { params }) => {
        await requireOrganizationRole(models, req.auth!.userId, params.id, 'admin');
        res.json({ items: await ctx.db.providerKeys.list(params.id) });
      },
    }),
    route<{ id: string; provider: KeyProvider }>({
      method: 'delete',
      path: '/organizations/:id/provider-keys/:provider',
      summary: "Remove the organization's own key for a provider (admin or higher): its productions use the platform's again",
      tag: 'organizations',
      auth: 'user',
      params: providerParams,
      responses: { 204: 'removed', 404: 'no key stored for this provider' },
      handler: async (req, res, { params }) => {
        await requireOrganizationRole(models, req.auth!.userId, params.id, 'admin');
        if (!(await ctx.db.providerKeys.remove(params.id, params.provider))) throw notFound('provider key');
        res.status(204).end();
      },
    }),
  ];
}
