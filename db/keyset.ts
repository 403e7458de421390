import type { Sequelize } from 'sequelize';

/**
 * Keyset pagination in SQL, newest first: rows are ordered by (created_at, id) descending, and a
 * page after the first holds the rows older than the last one before it. A cursor is that last
 * row's (created_at, id), created_at kept to the microsecond as PostgreSQL stores it (a JS Date
 * would round it, and a page boundary would lose rows).
 */
export interface Cursor {
  /** created_at in UTC, to the microsecond: 2030-01-01T00:00:00.123456Z */
  at: string;
  id: string;
}

/** `column` of `table` (or unqualified), as SQL. */
function column(table: string | undefined, name: string): string {
  return table ? `${table}.${name}` : name;
}

/** SQL for a row's cursor `at`: its created_at in UTC to the microsecond. `table` qualifies the column (an alias in a join). */
export function cursorAt(table?: string): string {
  return `to_char(${column(table, 'created_at')} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

/** SQL condition: the row comes after the cursor, newest first, i.e. its (created_at, id) is older. `table` qualifies the columns. */
export function olderThan(sequelize: Sequelize, cursor: Cursor, table?: string): string {
  const at = sequelize.escape(cursor.at);
  const id = sequelize.escape(cursor.id);
  return `(${column(table, 'created_at')}, ${column(table, 'id')}) < (CAST(${at} AS timestamptz), CAST(${id} AS uuid))`;
}
