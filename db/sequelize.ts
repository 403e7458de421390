import { Sequelize } from 'sequelize';
import type { AppConfig } from '../lib/config';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('db');

/** One Sequelize instance per process; models are attached by `initModels`. */
export function createSequelize(config: Pick<AppConfig, 'databaseUrl' | 'databasePoolMax'>): Sequelize {
  return new Sequelize(config.databaseUrl, {
    dialect: 'postgres',
    logging: (sql) => log.trace({ sql }, 'query'),
    pool: { max: config.databasePoolMax, min: 0, idle: 10_000, acquire: 30_000 },
    define: { underscored: true, timestamps: true, createdAt: 'created_at', updatedAt: 'updated_at' },
    // PgBouncer in transaction mode cannot keep session state: no prepared statements by name,
    // no SET at connect. Sequelize issues neither by default.
  });
}
