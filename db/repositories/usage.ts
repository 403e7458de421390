import { QueryTypes, type Sequelize } from 'sequelize';
import { countProviderCall } from '../../lib/metrics';
import type { ProviderUsage } from '../../providers/types';
import type { BilledTo, Models } from '../models';
import { OWNER_ACTIVE_SUBSCRIPTION } from './ledger';

/**
 * Provider usage: one `api_usages` row per provider call (failed ones included), what a content has
 * spent against its plan's cap, and the sums the API shows per month, service and operation. Sums
 * are computed in PostgreSQL; a call counts as an error when it recorded an error message or an
 * HTTP status ≥ 400.
 */

/** Who an `api_usages` row is charged to, and the content and job it belongs to, if any. */
export interface UsageOwner {
  user_id: string | null;
  organization_id: string | null;
  content_id: string | null;
  job_id: string | null;
}

/** Whose usage is summed: a user's personal resources or an organization's. */
export type UsageScope = { kind: 'user'; userId: string } | { kind: 'organization'; organizationId: string };

/**
 * api_usages sums as PostgreSQL returns them: counts and sums are bigint (strings in pg) and the
 * cost a numeric with six decimals rendered as text.
 */
export interface UsageSumRow {
  month: string | null;
  service: string | null;
  operation: string | null;
  calls: string;
  input_units: string;
  output_units: string;
  duration_ms: string;
  estimated_cost_usd: string;
  errors: string;
}

/** GROUPING() bits of the monthly sums: 0 is a (month, service, operation) row, 3 a month's total, 7 the grand total. */
export const USAGE_GROUPING = { row: 0, monthTotal: 3, grandTotal: 7 } as const;
/** GROUPING() bits of a content's sums: 0 a (service, operation) row, 3 the total. */
export const CONTENT_USAGE_GROUPING = { row: 0, total: 3 } as const;

/** Months since year 0, so that month ranges are plain integer arithmetic. */
export function monthNumber(value: string): number {
  const [year, mon] = value.split('-').map(Number);
  return year! * 12 + mon! - 1;
}

export function monthText(n: number): string {
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

/** The SQL of the monthly sums for one owner and an inclusive range of months (YYYY-MM). */
export function usageQuery(owner: UsageScope, from: string, to: string): { sql: string; replacements: Record<string, string> } {
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

export class UsageRepository {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Models,
  ) {}

  /** `billedTo`: whose key paid for the call (the organization's own key, or the platform's). */
  async insert(owner: UsageOwner, usage: ProviderUsage, error?: string, billedTo: BilledTo = 'platform'): Promise<void> {
    await this.models.ApiUsage.create({
      ...owner,
      service: usage.service,
      operation: usage.operation,
      input_units: Math.round(usage.inputUnits),
      output_units: Math.round(usage.outputUnits),
      duration_ms: Math.round(usage.durationMs),
      estimated_cost: usage.estimatedCostUsd,
      status_code: usage.statusCode ?? null,
      error_message: error ?? null,
      billed_to: billedTo,
    });
    countProviderCall(usage, billedTo, error);
  }

  /**
   * What a content's calls have cost so far (USD), and its cap: the lower of the deployment's and
   * the `max_cost_per_content_usd` feature of its owner's plan, if either is set.
   */
  async contentCost(contentId: string, deploymentCapUsd: number | undefined): Promise<{ spentUsd: number; capUsd: number | undefined }> {
    const [row] = await this.sequelize.query<{ spent: string | null; plan_cap: string | null }>(
      `SELECT (SELECT COALESCE(SUM(estimated_cost), 0) FROM api_usages WHERE content_id = :contentId) AS spent,
              (SELECT (sp.features->>'max_cost_per_content_usd')
                 FROM contents c
                 JOIN projects p ON p.id = c.project_id
                 ${OWNER_ACTIVE_SUBSCRIPTION}
                 JOIN subscription_plans sp ON sp.id = s.plan_id
                WHERE c.id = :contentId
                ORDER BY s.created_at DESC LIMIT 1) AS plan_cap`,
      { replacements: { contentId }, type: QueryTypes.SELECT },
    );
    const caps = [deploymentCapUsd, row?.plan_cap == null ? undefined : Number(row.plan_cap)].filter(
      (cap): cap is number => cap !== undefined && Number.isFinite(cap),
    );
    return { spentUsd: Number(row?.spent ?? 0), capUsd: caps.length > 0 ? Math.min(...caps) : undefined };
  }

  /** Sums per UTC month, service and operation, per month and in total (see USAGE_GROUPING). */
  async monthlySums(owner: UsageScope, from: string, to: string): Promise<(UsageSumRow & { grouping: number })[]> {
    const { sql, replacements } = usageQuery(owner, from, to);
    return this.sequelize.query<UsageSumRow & { grouping: number }>(sql, { replacements, type: QueryTypes.SELECT });
  }

  /** A content's sums per service and operation, and in total (see CONTENT_USAGE_GROUPING). */
  async contentSums(contentId: string): Promise<(UsageSumRow & { grouping: number })[]> {
    return this.sequelize.query<UsageSumRow & { grouping: number }>(
      `SELECT service, operation, GROUPING(service, operation) AS grouping,
              ${USAGE_SUMS}
         FROM api_usages WHERE content_id = :contentId
        GROUP BY GROUPING SETS ((service, operation), ())
        ORDER BY service NULLS LAST, operation`,
      { replacements: { contentId }, type: QueryTypes.SELECT },
    );
  }
}
