import type { Order } from 'sequelize';
import type { Cursor } from '../db/keyset';
import { schemas } from './registry';

export type { Cursor } from '../db/keyset';

/**
 * Keyset pagination, newest first (db/keyset.ts): a cursor is the last row's (created_at, id),
 * handed to the client as an opaque base64url string.
 */
const AT_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export const NEWEST_FIRST: Order = [
  ['created_at', 'DESC'],
  ['id', 'DESC'],
];

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

/**
 * One page from `rows`, fetched with a limit of `limit + 1`: the first `limit` rows, and the cursor
 * of the next page (made by `cursorOf` from the page's last row) when there was a row more.
 */
export function pageOf<T>(rows: readonly T[], limit: number, cursorOf: (last: T) => string): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return { page, nextCursor: rows.length > limit && last !== undefined ? cursorOf(last) : null };
}
