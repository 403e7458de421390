import { QueryTypes, type Sequelize } from 'sequelize';

/** One row of a table with sealed columns: its id and each sealed column's stored value. */
export interface SealedRow {
  id: string;
  values: Record<string, string | null>;
}

/**
 * A table whose columns hold SecretBox ciphertext (lib/secrets.ts), as the key rotation
 * (`npm run secrets -- rotate`, scripts/secrets.ts) walks it. Another sealed column (provider keys
 * per organization, later) is one more source of this shape in the command's list.
 */
export interface SealedColumnSource {
  /** `table.column, …`, for the command's report. */
  readonly name: string;
  readonly columns: readonly string[];
  /** The context the value of `column` in row `id` was sealed with (it is bound to its row and column). */
  context(column: string, id: string): string;
  /**
   * Up to `limit` rows with an id above `afterId` (keyset, in id order) holding at least one value
   * sealed under a key other than `activeKeyId`: rows already on the active key are never read.
   */
  staleBatch(activeKeyId: string, afterId: string | null, limit: number): Promise<SealedRow[]>;
  /**
   * Stores `next` in the row's `column` only if it still holds `expected` (compare-and-set), so a
   * token refreshed meanwhile is never overwritten by the re-sealed old one. True when written.
   */
  replaceSealed(id: string, column: string, expected: string, next: string): Promise<boolean>;
}

/**
 * The rows of `table` (keyed by a uuid `id`) past `afterId` whose sealed, non-null `column` is not
 * under `activeKeyId`, for a source with that one sealed column.
 */
export async function staleSealedRows(sequelize: Sequelize, table: string, column: string, activeKeyId: string, afterId: string | null, limit: number): Promise<SealedRow[]> {
  // A sealed value reads v1.<keyId>.<iv>.<tag>.<ciphertext>: its second part names its key.
  const rows = await sequelize.query<{ id: string; value: string }>(
    `SELECT id, ${column} AS value FROM ${table}
      WHERE (CAST(:afterId AS uuid) IS NULL OR id > CAST(:afterId AS uuid))
        AND split_part(${column}, '.', 2) <> :activeKeyId
      ORDER BY id
      LIMIT :limit`,
    { replacements: { afterId, activeKeyId, limit }, type: QueryTypes.SELECT },
  );
  return rows.map((row) => ({ id: row.id, values: { [column]: row.value } }));
}

/** `replaceSealed` for a source whose one sealed column of `table` is `column` (compare-and-set). */
export async function replaceSealedValue(sequelize: Sequelize, table: string, column: string, asked: { id: string; column: string; expected: string; next: string }): Promise<boolean> {
  if (asked.column !== column) throw new Error(`${table}.${asked.column} is not a sealed column`);
  const [, count] = await sequelize.query(`UPDATE ${table} SET ${column} = :next WHERE id = :id AND ${column} = :expected`, {
    replacements: { id: asked.id, next: asked.next, expected: asked.expected },
    type: QueryTypes.UPDATE,
  });
  return count > 0;
}

const TOKEN_COLUMNS = ['access_token', 'refresh_token'] as const;

/**
 * channels as a whole: the sealed OAuth tokens (access_token, refresh_token) as the key rotation
 * reads and re-seals them. A token's context is `channels.<column>:<id>` (db/models/channel.ts).
 */
export class ChannelRepository implements SealedColumnSource {
  readonly name = 'channels.access_token, channels.refresh_token';
  readonly columns = TOKEN_COLUMNS;

  constructor(private readonly sequelize: Sequelize) {}

  context(column: string, id: string): string {
    return `channels.${column}:${id}`;
  }

  async staleBatch(activeKeyId: string, afterId: string | null, limit: number): Promise<SealedRow[]> {
    // A sealed value reads v1.<keyId>.<iv>.<tag>.<ciphertext>: its second part names its key.
    const rows = await this.sequelize.query<{ id: string; access_token: string | null; refresh_token: string | null }>(
      `SELECT id, access_token, refresh_token FROM channels
        WHERE (CAST(:afterId AS uuid) IS NULL OR id > CAST(:afterId AS uuid))
          AND ((access_token IS NOT NULL AND split_part(access_token, '.', 2) <> :activeKeyId)
            OR (refresh_token IS NOT NULL AND split_part(refresh_token, '.', 2) <> :activeKeyId))
        ORDER BY id
        LIMIT :limit`,
      { replacements: { afterId, activeKeyId, limit }, type: QueryTypes.SELECT },
    );
    return rows.map((row) => ({ id: row.id, values: { access_token: row.access_token, refresh_token: row.refresh_token } }));
  }

  async replaceSealed(id: string, column: string, expected: string, next: string): Promise<boolean> {
    if (column !== 'access_token' && column !== 'refresh_token') throw new Error(`channels.${column} is not a sealed column`);
    const [, count] = await this.sequelize.query(`UPDATE channels SET ${column} = :next WHERE id = :id AND ${column} = :expected`, {
      replacements: { id, next, expected },
      type: QueryTypes.UPDATE,
    });
    return count > 0;
  }
}
