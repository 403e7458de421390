import type { Order, Sequelize } from 'sequelize';
import { schemas } from './registry';

/**
 * Keyset pagination, newest first: rows are ordered by (created_at, id) descending, and a page after
 * the first holds the rows older than the last one before it, so rows added meanwhile never shift a
 * page. A cursor is that last row's (created_at, id), created_at kept to the microsecond as
 * PostgreSQL stores it (a JS Date would round it, and a page boundary would lose rows).
 */
export interface Cursor {
  /** created_at in UTC, to the microsecond: 2030-01-01T00:00:00.123456Z */
  at: string;
  id: string;
}

const AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export const NEWEST_FIRST: Order = [
  ['created_at', 'DESC'],
  ['id', 'DESC'],
];

/** `column` of `table` (or unqualified), as SQL. */
function column(table: string | undefined, name: string): string {
  return table ? `${table}.${name}` : name;
}

/** SQL for a row's cursor `at`: its created_at in UTC to the microsecond. `table` qualifies the column (an alias in a join). */
export function cursorAt(table?: string): string {
  return `to_char(${column(table, 'created_at')} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export function encodeCursor(at: string, id: string): string {
  return Buffer.from(JSON.stringify([at, id])).toString('base64url');
}

/** The cursor `value` names, or undefined when it is not one this API issued. */
function decodeCursor(value: string): Cursor | undefined {
  try {
    const [at, id] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
    if (typeof at === 'string' && AT_PATTERN.test(at) && typeof id === 'string' && !schemas.id.validate(id).error) return { at, id };
  } catch {
    // Not JSON, or not an array: not a cursor this API issued.
  }
  return undefined;
}

/** The `cursor` query parameter, validated into a Cursor: anything else fails validation as `query.cursor`. */
export const cursorParam = schemas.cursor.custom((value: string, helpers) => decodeCursor(value) ?? helpers.message({ custom: 'is not a cursor this API issued' }));

/** SQL condition: the row comes after the cursor, newest first, i.e. its (created_at, id) is older. `table` qualifies the columns. */
export function olderThan(sequelize: Sequelize, cursor: Cursor, table?: string): string {
  const at = sequelize.escape(cursor.at);
  const id = sequelize.escape(cursor.id);
  return `(${column(table, 'created_at')}, ${column(table, 'id')}) < (CAST(${at} AS timestamptz), CAST(${id} AS uuid))`;
}

/**
 * One page from `rows`, fetched with a limit of `limit + 1`: the first `limit` rows, and the cursor
 * of the next page (made by `cursorOf` from the page's last row) when there was a row more.
 */
export function pageOf<T>(rows: readonly T[], limit: number, cursorOf: (last: T) => string): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
