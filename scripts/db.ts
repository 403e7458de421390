import { ensureLoginRoles, migrateDown, migrateUp, migrationStatus, type LoginRole } from '../db/migrate';
import { seedReferenceData } from '../db/seeds/reference-data';
import { createSequelize } from '../db/sequelize';

const USAGE = `usage: tsx scripts/db.ts <command>
  migrate                       apply every pending migration
  migrate --login-roles         then create or update the login roles of DATABASE_URL (a member of
                                app_readwrite) and BACKUP_DATABASE_URL (of app_readonly) with the
                                passwords of those URLs
  rollback                      revert the last migration
  rollback --step N             revert the last N migrations
  rollback --to NAME            revert down to and including NAME
  rollback --all                revert every migration
  status                        list applied and pending migrations
  seed                          load the reference data (plans, system templates); safe to repeat
Connects as MIGRATION_DATABASE_URL (the database owner), else DATABASE_URL.`;

class UsageError extends Error {}

function postgresUrl(name: string): string | undefined {
  const url = process.env[name];
  if (url && !/^postgres(ql)?:\/\//.test(url)) throw new UsageError(`${name} must be a postgres:// or postgresql:// URL`);
  return url || undefined;
}

/** Only the database URLs are needed here, so the full configuration is not demanded. */
function databaseUrl(): string {
  const url = postgresUrl('MIGRATION_DATABASE_URL') ?? postgresUrl('DATABASE_URL');
  if (!url) throw new UsageError('MIGRATION_DATABASE_URL (or DATABASE_URL) is not set: it must name the PostgreSQL database as its owner, e.g. postgres://user:pass@host:5432/autoclip');
  return url;
}

/** The login roles that DATABASE_URL and BACKUP_DATABASE_URL name, except the owner's own user. */
function loginRoles(ownerUrl: string): LoginRole[] {
  const owner = decodeURIComponent(new URL(ownerUrl).username);
  const logins: LoginRole[] = [];
  for (const [name, memberOf] of [['DATABASE_URL', 'app_readwrite'], ['BACKUP_DATABASE_URL', 'app_readonly']] as const) {
    const value = postgresUrl(name);
    if (!value) continue;
    const url = new URL(value);
    const user = decodeURIComponent(url.username);
    if (user === owner) {
      console.log(`${name} names the owner (${user}): no login role to set for it`);
      continue;
    }
    if (!url.password) throw new UsageError(`${name} has no password for ${user}`);
    logins.push({ name: user, password: decodeURIComponent(url.password), memberOf });
  }
  return logins;
}

function parseRollbackOptions(args: string[]): { to?: string | 0; step?: number } {
  const [flag, value, ...rest] = args;
  if (rest.length > 0) throw new UsageError(`unexpected arguments: ${rest.join(' ')}`);
  switch (flag) {
    case undefined:
      return {};
    case '--all':
      if (value !== undefined) throw new UsageError('--all takes no value');
      return { to: 0 };
    case '--to':
      if (!value) throw new UsageError('--to needs a migration name');
      return { to: value };
    case '--step': {
      const step = Number(value);
      if (!Number.isInteger(step) || step < 1) throw new UsageError('--step needs a whole number ≥ 1');
      return { step };
    }
    default:
      throw new UsageError(`unknown option ${flag}`);
  }
}

function list(title: string, names: string[]): void {
  console.log(names.length === 0 ? `${title}: none` : `${title}:\n  ${names.join('\n  ')}`);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  switch (command) {
    case 'migrate': {
      const withLogins = args[0] === '--login-roles';
      if (args.length > (withLogins ? 1 : 0)) throw new UsageError(`migrate takes only --login-roles, got ${args.join(' ')}`);
      list('applied', await migrateUp(databaseUrl()));
      if (withLogins) {
        const logins = loginRoles(databaseUrl());
        await ensureLoginRoles(databaseUrl(), logins);
        list('login roles', logins.map((login) => `${login.name} (${login.memberOf})`));
      }
      return;
    }
    case 'rollback':
      list('reverted', await migrateDown(databaseUrl(), parseRollbackOptions(args)));
      return;
    case 'status': {
      const { applied, pending } = await migrationStatus(databaseUrl());
      list('applied', applied.map((m) => `${m.name}  (${m.runAt.toISOString()})`));
      list('pending', pending);
      return;
    }
    case 'seed': {
      if (args.length > 0) throw new UsageError(`seed takes no arguments, got ${args.join(' ')}`);
      const sequelize = createSequelize({ databaseUrl: databaseUrl(), databasePoolMax: 1 });
      try {
        await seedReferenceData(sequelize);
      } finally {
        await sequelize.close();
      }
      console.log('reference data loaded');
      return;
    }
    default:
      throw new UsageError(command ? `unknown command ${command}` : 'no command given');
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`${error.message}\n\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exitCode = 1;
});
