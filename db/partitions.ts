import { QueryTypes } from 'sequelize';
import type { Sequelize } from 'sequelize';

/**
 * Makes sure api_usages has monthly partitions for the current UTC month and `monthsAhead`
 * months after it (create_api_usages_partitions of migration 004; it skips existing ones).
 * Returns the names of the partitions it created. Rows never fail for want of a partition
 * (api_usages_default takes them), but only monthly partitions keep months cheap to scan and drop.
 * The application's role may call it although it can create no table: the function runs as its
 * owner (SECURITY DEFINER, migration 008), so the partitions are the owner's like every table.
 */
export async function ensureApiUsagePartitions(sequelize: Sequelize, monthsAhead: number): Promise<string[]> {
  if (!Number.isInteger(monthsAhead) || monthsAhead < 0) throw new RangeError(`monthsAhead must be a whole number ≥ 0, got ${monthsAhead}`);
  const rows = await sequelize.query<{ name: string }>(
    "SELECT name FROM create_api_usages_partitions((NOW() AT TIME ZONE 'UTC')::date, :months) AS name",
    { replacements: { months: monthsAhead + 1 }, type: QueryTypes.SELECT },
  );
  return rows.map((row) => row.name);
}
