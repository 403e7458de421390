import Joi from 'joi';
import { QueryTypes } from 'sequelize';
import { checkContentCost } from '../../lib/costs';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { serializeUsageSums, type UsageSumRow } from '../serializers/usage';
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

/** Months since year 0, so that month ranges are plain integer arithmetic. */
function monthNumber(value: string): number {
  const [year, mon] = value.split('-').map(Number);
  return year! * 12 + mon! - 1;
}

function monthText(n: number): string {
  return `${String(Math.floor(n / 12)).padStart(4, '0')}-${String((n % 12) + 1).padStart(2, '0')}`;
}

/*
 * The month expression is written exactly as in idx_api_usages_user_month (UTC months), so a
 * user's months are read from that index; the created_at range lets PostgreSQL skip the monthly
 * partitions outside the period.
 */
const MONTH_EXPR = "date_trunc('month', created_at AT TIME ZONE 'UTC')";

/** The sums of a group of api_usages rows, as `UsageSumRow` reads them. */
const USAGE_SUMS = `COUNT(*)::bigint AS calls,
           COALESCE(SUM(input_units), 0)::bigint AS input_units,
           COALESCE(SUM(output_units), 0)::bigint AS output_units,
           COALESCE(SUM(duration_ms), 0)::bigint AS duration_ms,
           COALESCE(SUM(estimated_cost), 0)::numeric(20, 6)::text AS estimated_cost_usd,
           COUNT(*) FILTER (WHERE error_message IS NOT NULL OR status_code >= 400)::bigint AS errors`;

/** The SQL of GET /usage for one owner and an inclusive range of months (YYYY-MM). */
export function usageQuery(owner: Owner, from: string, to: string): { sql: string; replacements: Record<string, string> } {
  const ownerCondition = owner.kind === 'user' ? 'user_id = :ownerId AND organization_id IS NULL' : 'organization_id = :ownerId';
  const sql = `
    SELECT to_char(${MONTH_EXPR}, 'YYYY-MM') AS month, service, operation,
           GROUPING(${MONTH_EXPR}, service, operation) AS grouping,
           ${USAGE_SUMS}
      FROM api_usages
     WHERE ${ownerCondition}
       AND created_at >= CAST(:fromTime AS timestamptz) AND created_at < CAST(:toTime AS timestamptz)
       AND ${MONTH_EXPR} BETWEEN CAST(:fromMonth AS timestamp) AND CAST(:toMonth AS timestamp)
     GROUP BY GROUPING SETS ((${MONTH_EXPR}, service, operation), (${MONTH_EXPR}), ())
     ORDER BY month NULLS LAST, service NULLS FIRST, operation NULLS FIRST`;
  const fromMonth = `${from}-01 00:00:00`;
  const toMonth = `${to}-01 00:00:00`;
  return {
    sql,
    replacements: {
      ownerId: owner.kind === 'user' ? owner.userId : owner.organizationId,
      fromMonth,
      toMonth,
      fromTime: `${fromMonth}+00`,
      toTime: `${monthText(monthNumber(to) + 1)}-01 00:00:00+00`,
    },
  };
}

/** GROUPING() bits: 0 is a (month, service, operation) row, 3 a month's total, 7 the grand total. */
const ROW = 0;
const MONTH_TOTAL = 3;
const GRAND_TOTAL = 7;

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
        const { sql, replacements } = usageQuery(owner, from, to);
        const rows = await ctx.sequelize.query<UsageSumRow & { grouping: number }>(sql, { replacements, type: QueryTypes.SELECT });
        // The empty grouping set yields its row even when nothing matches, so the totals always exist.
        const total = rows.find((r) => r.grouping === GRAND_TOTAL)!;
        res.json({
          ...(owner.kind === 'user' ? { user_id: owner.userId } : { organization_id: owner.organizationId }),
          from,
          to,
          usage: rows.filter((r) => r.grouping === ROW).map((r) => ({ month: r.month, service: r.service, operation: r.operation, ...serializeUsageSums(r) })),
          months: rows.filter((r) => r.grouping === MONTH_TOTAL).map((r) => ({ month: r.month, ...serializeUsageSums(r) })),
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
        const rows = await ctx.sequelize.query<UsageSumRow & { service: string | null; operation: string | null; grouping: number }>(
          `SELECT service, operation, GROUPING(service, operation) AS grouping,
                  ${USAGE_SUMS}
             FROM api_usages WHERE content_id = :contentId
            GROUP BY GROUPING SETS ((service, operation), ())
            ORDER BY service NULLS LAST, operation`,
          { replacements: { contentId: content.id }, type: QueryTypes.SELECT },
        );
        const cap = await checkContentCost(ctx.sequelize, ctx.config, content.id, 0);
        res.json({
          content_id: content.id,
          usage: rows.filter((r) => r.grouping === 0).map((r) => ({ service: r.service, operation: r.operation, ...serializeUsageSums(r) })),
          totals: serializeUsageSums(rows.find((r) => r.grouping === 3)!),
          cost_cap_usd: cap.capUsd ?? null,
        });
      },
    }),
  ];
}
