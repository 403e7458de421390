import Joi from 'joi';
import { CONTENT_USAGE_GROUPING, monthNumber, monthText, USAGE_GROUPING } from '../../db/repositories/usage';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { serializeUsageSums } from '../serializers/usage';
import { requireOrganizationRole, type Owner } from '../tenancy';
import { loadContent } from './contents-common';

/**
 * Provider usage (api_usages) summed per UTC month, service and operation, for the caller's
 * personal resources or for an organization. Any member of the organization may read it (viewer
 * and up): it shows what the team's content cost, not payment details. Sums are computed in
 * PostgreSQL; a call counts as an error when it recorded an error message or an HTTP status ≥ 400.
 */

const MAX_USAGE_MONTHS = 24;

const month = Joi.string()
  .pattern(/^[12]\d{3}-(0[1-9]|1[0-2])$/)
  .messages({ 'string.pattern.base': '{{#label}} must be a month as YYYY-MM' });

export function usageRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  return [
    route({
      method: 'get',
      path: '/usage',
      summary: `Provider usage and estimated cost (USD) per UTC month, service and operation; at most ${MAX_USAGE_MONTHS} months`,
      tag: 'usage',
      auth: 'user',
      query: Joi.object<{ organization_id?: string; from?: string; to?: string }>({ organization_id: schemas.id, from: month, to: month }),
      responses: { 200: '{ from, to, usage, months, totals }: sums per month, service and operation, per month, and in total' },
      handler: async (req, res, { query }) => {
        const userId = req.auth!.userId;
        const now = new Date();
        const to = query.to ?? monthText(now.getUTCFullYear() * 12 + now.getUTCMonth());
        // Without `from`, the year up to `to`.
        const from = query.from ?? monthText(monthNumber(to) - 11);
        const span = monthNumber(to) - monthNumber(from) + 1;
        if (span < 1) throw new HttpError(400, 'validation_failed', 'the request is invalid', { 'query.from': 'from must not be after to' });
        if (span > MAX_USAGE_MONTHS) throw new HttpError(400, 'validation_failed', 'the request is invalid', { 'query.to': `at most ${MAX_USAGE_MONTHS} months from from` });

        let owner: Owner = { kind: 'user', userId };
        if (query.organization_id) {
          await requireOrganizationRole(ctx.models, userId, query.organization_id, 'viewer');
          owner = { kind: 'organization', organizationId: query.organization_id };
        }
        const rows = await ctx.db.usage.monthlySums(owner, from, to);
        // The empty grouping set yields its row even when nothing matches, so the totals always exist.
        const total = rows.find((r) => r.grouping === USAGE_GROUPING.grandTotal)!;
        res.json({
          ...(owner.kind === 'user' ? { user_id: owner.userId } : { organization_id: owner.organizationId }),
          from,
          to,
          usage: rows.filter((r) => r.grouping === USAGE_GROUPING.row).map((r) => ({ month: r.month, service: r.service, operation: r.operation, ...serializeUsageSums(r) })),
          months: rows.filter((r) => r.grouping === USAGE_GROUPING.monthTotal).map((r) => ({ month: r.month, ...serializeUsageSums(r) })),
          totals: serializeUsageSums(total),
        });
      },
    }),
    route<{ id: string }>({
      method: 'get',
      path: '/contents/:id/usage',
      summary: "A content's provider calls (api_usages) summed per service and operation, with its total estimated cost (USD)",
      tag: 'usage',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ content_id, usage, totals, cost_cap_usd }' },
      handler: async (req, res, { params }) => {
        const { content } = await loadContent(ctx.models, req.auth!.userId, params.id, 'viewer');
        const [rows, cost] = await Promise.all([ctx.db.usage.contentSums(content.id), ctx.db.usage.contentCost(content.id, ctx.config.costs.maxPerContentUsd)]);
        res.json({
          content_id: content.id,
          usage: rows.filter((r) => r.grouping === CONTENT_USAGE_GROUPING.row).map((r) => ({ service: r.service, operation: r.operation, ...serializeUsageSums(r) })),
          totals: serializeUsageSums(rows.find((r) => r.grouping === CONTENT_USAGE_GROUPING.total)!),
          cost_cap_usd: cost.capUsd ?? null,
        });
      },
    }),
  ];
}
