import type { Sequelize, Transaction } from 'sequelize';

/**
 * Takes a transaction-scoped advisory lock named `key`: held until the transaction ends, so
 * concurrent transactions asking for the same name take turns (a check-then-insert stays atomic).
 */
export async function lockForTransaction(sequelize: Sequelize, key: string, transaction: Transaction): Promise<void> {
  await sequelize.query('SELECT pg_advisory_xact_lock(hashtext(:key))', { replacements: { key }, transaction });
}
