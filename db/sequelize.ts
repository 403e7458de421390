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
    // Through PgBouncer in transaction mode, a SET outside a transaction changes whichever server
    // connection ran it, for its next clients too. On each new connection Sequelize sets the time
    // zone (UTC here), which PgBouncer tracks and sets again on every server it hands this client,
    // and client_min_messages, which it does not track: that one is not sent (notices reach the
    // client, which drops them). Statements are unnamed, so none is prepared for a session.
    dialectOptions: { clientMinMessages: 'ignore' },
  });
}
