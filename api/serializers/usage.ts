/**
 * api_usages sums as PostgreSQL returns them: counts and sums are bigint (strings in pg) and the
 * cost a numeric with six decimals rendered as text. Counts become numbers; the cost stays an exact
 * decimal string in USD.
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

export function serializeUsageSums(row: UsageSumRow) {
  return {
    calls: Number(row.calls),
    input_units: Number(row.input_units),
    output_units: Number(row.output_units),
    duration_ms: Number(row.duration_ms),
    estimated_cost_usd: row.estimated_cost_usd,
    errors: Number(row.errors),
  };
}
