import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Client } from 'pg';
import type { Sequelize } from 'sequelize';
import { migrateUp } from '../../db/migrate';
import { ensureApiUsagePartitions } from '../../db/partitions';
import { createSequelize } from '../../db/sequelize';
import { connect, createScratchDatabase } from '../support/database';
import type { ScratchDatabase } from '../support/database';

/** First day of the UTC month `offset` months from now. */
function utcMonth(offset: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
}

function partitionName(month: Date): string {
  return `api_usages_${month.getUTCFullYear()}_${String(month.getUTCMonth() + 1).padStart(2, '0')}`;
}

describe('api_usages monthly partitions', () => {
  let db: ScratchDatabase;
  let client: Client;
  let sequelize: Sequelize;

  async function partitions(): Promise<string[]> {
    const { rows } = await client.query<{ name: string }>(
      "SELECT name FROM (SELECT inhrelid::regclass::text AS name FROM pg_inherits WHERE inhparent = 'api_usages'::regclass) AS p ORDER BY name COLLATE \"C\"",
    );
    return rows.map((row) => row.name);
  }

  /** Inserts a usage at `createdAt` and answers the partition it landed in. */
  async function insertAt(createdAt: string, userId: string | null = null): Promise<string> {
    const { rows } = await client.query<{ partition: string }>(
      `INSERT INTO api_usages (user_id, service, operation, created_at) VALUES ($1, 'gemini', 'text_generation', $2)
       RETURNING tableoid::regclass::text AS partition`,
      [userId, createdAt],
    );
    assert.ok(rows[0]);
    return rows[0].partition;
  }

  before(async () => {
    db = await createScratchDatabase('partitions_test');
    await migrateUp(db.url);
    client = await connect(db.url);
    sequelize = createSequelize({ databaseUrl: db.url, databasePoolMax: 1 });
  });
  after(async () => {
    await sequelize?.close();
    await client?.end();
    await db?.drop();
  });

  it('the migration creates the current UTC month, three months ahead and the default partition', async () => {
    const expected = [0, 1, 2, 3].map((offset) => partitionName(utcMonth(offset)));
    assert.deepEqual(await partitions(), [...expected, 'api_usages_default'].sort());
  });

  it('routes rows to their month by UTC bounds, and outside the created months to the default', async () => {
    const current = utcMonth(0);
    const next = utcMonth(1);
    assert.equal(await insertAt(new Date().toISOString()), partitionName(current));
    assert.equal(await insertAt(current.toISOString()), partitionName(current));
    assert.equal(await insertAt(new Date(next.getTime() - 1).toISOString()), partitionName(current));
    assert.equal(await insertAt(next.toISOString()), partitionName(next));
    // Midnight of the 1st in Seoul is still the previous UTC month.
    assert.equal(await insertAt(`${next.toISOString().slice(0, 10)} 08:59:59+09`), partitionName(current));
    assert.equal(await insertAt('2001-06-15T12:00:00Z'), 'api_usages_default');
    assert.equal(await insertAt(utcMonth(24).toISOString()), 'api_usages_default');
  });

  it('is idempotent: calling it again over existing months creates nothing', async () => {
    const before = await partitions();
    const { rows } = await client.query("SELECT * FROM create_api_usages_partitions((NOW() AT TIME ZONE 'UTC')::date, 4)");
    assert.deepEqual(rows, []);
    assert.deepEqual(await partitions(), before);
  });

  it('moves rows already in the default partition into a newly created month', async () => {
    const { rows } = await client.query<{ name: string }>("SELECT name FROM create_api_usages_partitions('2001-06-20', 2) AS name");
    assert.deepEqual(rows.map((r) => r.name), ['api_usages_2001_06', 'api_usages_2001_07']);
    const placed = await client.query<{ partition: string; n: number }>(
      `SELECT tableoid::regclass::text AS partition, count(*)::int AS n FROM api_usages
       WHERE created_at >= '2001-01-01' AND created_at < '2002-01-01' GROUP BY 1`,
    );
    assert.deepEqual(placed.rows, [{ partition: 'api_usages_2001_06', n: 1 }]);
  });

  it('gives every partition every index of the parent, idx_api_usages_user_month included', async () => {
    const { rows } = await client.query<{ partition: string; indexes: string[] }>(
      `SELECT p.inhrelid::regclass::text AS partition,
              array_agg(parent_index.relname::text ORDER BY parent_index.relname) AS indexes
       FROM pg_inherits p
       JOIN pg_index i ON i.indrelid = p.inhrelid
       JOIN pg_inherits ii ON ii.inhrelid = i.indexrelid
       JOIN pg_class parent_index ON parent_index.oid = ii.inhparent
       WHERE p.inhparent = 'api_usages'::regclass
       GROUP BY 1`,
    );
    assert.equal(rows.length, (await partitions()).length);
    for (const row of rows) {
      assert.deepEqual(
        row.indexes,
        ['api_usages_pkey', 'idx_api_usages_content', 'idx_api_usages_created', 'idx_api_usages_org', 'idx_api_usages_service', 'idx_api_usages_user', 'idx_api_usages_user_month'],
        row.partition,
      );
    }
  });

  it('answers a per-user monthly query from idx_api_usages_user_month', async () => {
    const userId = (await client.query<{ id: string }>("INSERT INTO users (email, name) VALUES ('usage@example.com', 'U') RETURNING id"))
      .rows[0]?.id;
    assert.ok(userId);
    // Many months of one user in the default partition: only the month index narrows to one month.
    await client.query(
      `INSERT INTO api_usages (user_id, service, operation, created_at)
       SELECT $1, 'tts', 'tts', timestamptz '1990-01-01 00:00:00+00' + (n || ' days')::interval FROM generate_series(0, 3000) AS n`,
      [userId],
    );
    await client.query('ANALYZE api_usages');
    await client.query('SET enable_seqscan = off');
    try {
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(
        `EXPLAIN (FORMAT JSON) SELECT count(*) FROM api_usages
         WHERE user_id = $1 AND date_trunc('month', created_at AT TIME ZONE 'UTC') = timestamp '1991-03-01'`,
        [userId],
      );
      const plan = JSON.stringify(rows[0]?.['QUERY PLAN']);
      assert.match(plan, /"Index Name":"api_usages_default_user_id_date_trunc_idx"/);
    } finally {
      await client.query('RESET enable_seqscan');
    }
    const counted = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM api_usages WHERE user_id = $1 AND date_trunc('month', created_at AT TIME ZONE 'UTC') = timestamp '1991-03-01'`,
      [userId],
    );
    assert.equal(counted.rows[0]?.n, 31);
  });

  it('ensureApiUsagePartitions adds only the missing months ahead and reports them', async () => {
    assert.deepEqual(await ensureApiUsagePartitions(sequelize, 5), [partitionName(utcMonth(4)), partitionName(utcMonth(5))]);
    assert.deepEqual(await ensureApiUsagePartitions(sequelize, 5), []);
    await assert.rejects(ensureApiUsagePartitions(sequelize, -1), RangeError);
  });
});
