import type { UsageSumRow } from '../../db/repositories/usage';

/** Counts become numbers; the cost stays an exact decimal string in USD. */
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
