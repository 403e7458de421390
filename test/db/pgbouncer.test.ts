import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import { QueryTypes } from 'sequelize';
import { lockForTransaction } from '../../db/locks';
import { migrateUp } from '../../db/migrate';
import { initModels, type Models } from '../../db/models';
import { createSequelize } from '../../db/sequelize';
import { loadConfig } from '../../lib/config';
import { connect, createScratchDatabase, type ScratchDatabase } from '../support/database';

/**
 * The local stack puts PgBouncer in transaction mode (seed §9.2) between the platform and
 * PostgreSQL, as production does, so what breaks under transaction pooling breaks here. The admin
 * console (PGBOUNCER_ADMIN_URL) is the local stack's own; without it the database is not the
 * stack's and there is no PgBouncer of ours to look at.
 */
const adminUrl = process.env.PGBOUNCER_ADMIN_URL;
const portOf = (url: string): number => Number(new URL(url).port);

async function one<T>(client: Client, sql: string, values: unknown[] = []): Promise<T> {
  const { rows } = await client.query(sql, values);
  assert.ok(rows[0], sql);
  return rows[0] as T;
}

const backendPid = async (client: Client): Promise<number> => (await one<{ pid: number }>(client, 'SELECT pg_backend_pid() AS pid')).pid;

describe('PgBouncer in front of PostgreSQL (local stack)', { skip: adminUrl ? false : 'PGBOUNCER_ADMIN_URL is not set: not the local stack' }, () => {
  let db: ScratchDatabase;

  before(async () => {
    db = await createScratchDatabase('pgbouncer');
    await migrateUp(db.url);
  });
  after(async () => {
    await db?.drop();
  });

  it("the platform's DATABASE_URL is PgBouncer, pooling as the seed sets it", async () => {
    const config = loadConfig();
    const admin = await connect(adminUrl as string);
    try {
      const { rows } = await admin.query<{ key: string; value: string }>('SHOW CONFIG');
      const settings = Object.fromEntries(rows.map((row) => [row.key, row.value]));
      assert.deepEqual(
        { pool_mode: settings.pool_mode, max_client_conn: settings.max_client_conn, default_pool_size: settings.default_pool_size, reserve_pool_size: settings.reserve_pool_size },
        { pool_mode: 'transaction', max_client_conn: '1000', default_pool_size: '25', reserve_pool_size: '5' },
      );
      assert.equal(Number(settings.listen_port), portOf(config.databaseUrl), 'DATABASE_URL names PgBouncer');
    } finally {
      await admin.end();
    }
    const app = await connect(config.databaseUrl);
    try {
      const { port } = await one<{ port: number }>(app, 'SELECT inet_server_port() AS port');
      assert.equal(port, portOf(config.migrationDatabaseUrl), 'PgBouncer serves it from the PostgreSQL the migrations reach directly');
      assert.notEqual(port, portOf(config.databaseUrl));
    } finally {
      await app.end();
    }
  });

  it('transaction mode: two clients share one server connection, and a SET outside a transaction reaches the other client', async () => {
    const first = await connect(db.appUrl);
    const second = await connect(db.appUrl);
    try {
      await first.query("SET statement_timeout = '17s'");
      assert.equal(await backendPid(second), await backendPid(first), 'the idle server connection of the first client serves the second');
      assert.deepEqual(await one(second, 'SHOW statement_timeout'), { statement_timeout: '17s' });
      await second.query('RESET statement_timeout');
    } finally {
      await Promise.all([first.end(), second.end()]);
    }
  });

  it('Sequelize keeps its UTC time zone on every server connection and leaves no other setting behind: timestamps and day boundaries round-trip', async () => {
    const sequelize = createSequelize({ databaseUrl: db.appUrl, databasePoolMax: 1 });
    const other = await connect(db.appUrl);
    try {
      const models: Models = initModels(sequelize);
      const at = new Date('2025-03-01T23:30:15.123Z'); // already 2 March in Seoul
      const user = await models.User.create({ email: 'tz@example.com', name: 'TZ', last_login_at: at } as never);
      let shared = false;
      for (let round = 0; round < 3; round += 1) {
        // Another client of the same pool moves the server connection to Seoul time.
        await other.query("SET TIME ZONE 'Asia/Seoul'");
        const [row] = await sequelize.query<{ zone: string; pid: number; day: Date; wall: string }>(
          `SELECT current_setting('TimeZone') AS zone, pg_backend_pid() AS pid, date_trunc('day', last_login_at) AS day,
                  to_char(last_login_at, 'YYYY-MM-DD HH24:MI:SS.MS') AS wall
             FROM users WHERE id = :id`,
          { replacements: { id: user.get('id') }, type: QueryTypes.SELECT },
        );
        assert.ok(row);
        shared ||= row.pid === (await backendPid(other));
        assert.equal(row.zone, '<+00>-00', `round ${round}: Sequelize's time zone, set again by PgBouncer`);
        assert.equal(row.wall, '2025-03-01 23:30:15.123');
        assert.equal(row.day.toISOString(), '2025-03-01T00:00:00.000Z');
        const reloaded = await models.User.findByPk(user.get('id') as string);
        assert.equal((reloaded?.get('last_login_at') as Date).toISOString(), at.toISOString());
        assert.deepEqual(
          await one(other, "SELECT current_setting('TimeZone') AS zone, current_setting('client_min_messages') AS messages"),
          { zone: 'Asia/Seoul', messages: 'notice' },
          'the other client keeps its own time zone, and Sequelize left no untracked setting on the server connection',
        );
      }
      assert.ok(shared, 'Sequelize and the other client ran on the same server connection at least once');
    } finally {
      await other.end();
      await sequelize.close();
    }
  });

  it('lockForTransaction excludes a second holder through PgBouncer until the first transaction ends', async () => {
    const sequelize = createSequelize({ databaseUrl: db.appUrl, databasePoolMax: 2 });
    try {
      const first = await sequelize.transaction();
      await lockForTransaction(sequelize, 'pgbouncer-test', first);
      await assert.rejects(
        sequelize.transaction(async (second) => {
          await sequelize.query("SET LOCAL lock_timeout = '300ms'", { transaction: second });
          await lockForTransaction(sequelize, 'pgbouncer-test', second);
        }),
        { name: 'SequelizeDatabaseError', message: /lock timeout/ },
      );
      await first.commit();
      await sequelize.transaction(async (second) => {
        await sequelize.query("SET LOCAL lock_timeout = '300ms'", { transaction: second });
        await lockForTransaction(sequelize, 'pgbouncer-test', second);
      });
    } finally {
      await sequelize.close();
    }
  });

  it('a session-level advisory lock holds straight to PostgreSQL only (why the migrator uses MIGRATION_DATABASE_URL)', async () => {
    const key = 7_412_905_999;
    const tryLock = async (client: Client) => (await one<{ locked: boolean }>(client, 'SELECT pg_try_advisory_lock($1) AS locked', [key])).locked;
    const [viaPgBouncer, alsoViaPgBouncer] = [await connect(db.appUrl), await connect(db.appUrl)];
    const [direct, alsoDirect] = [await connect(db.url), await connect(db.url)];
    try {
      assert.equal(await tryLock(viaPgBouncer), true);
      assert.equal(await tryLock(alsoViaPgBouncer), true, 'the lock stayed with the server connection, which now serves another client');
      await viaPgBouncer.query('SELECT pg_advisory_unlock_all()');
      assert.equal(await tryLock(direct), true);
      assert.equal(await tryLock(alsoDirect), false);
    } finally {
      await Promise.all([viaPgBouncer, alsoViaPgBouncer, direct, alsoDirect].map((client) => client.end()));
    }
  });
});
