import { tmpdir } from 'node:os';
import { runRecoveryDrill, type DrillResult } from '../db/recovery-drill';
import { pgBackRestSetupOf } from '../db/pitr';
import { loadConfig } from '../lib/config';
import { runCli } from './cli';
import { startStack } from './local-stack';

/**
 * `npm run drill [-- --target <time>]`: restores the newest full backup plus the archived WAL into a
 * scratch PostgreSQL, to now or to the time given, verifies it against the platform's database and
 * prints, as its last line, `RPO <s> s, RTO <s> s, <N> tables verified`. It runs against the
 * platform that `npm start` runs (its local services are started if they are not), or the one the
 * environment names.
 */
const USAGE = 'usage: npm run drill [-- --target <ISO 8601 time>]';

export function drillSummary(result: Pick<DrillResult, 'rpoSeconds' | 'rtoSeconds' | 'tablesVerified'>): string {
  return `RPO ${Math.round(result.rpoSeconds)} s, RTO ${result.rtoSeconds.toFixed(1)} s, ${result.tablesVerified} tables verified`;
}

function parseTarget(argv: string[]): Date | undefined {
  if (argv.length === 0) return undefined;
  const target = argv[0] === '--target' && argv.length === 2 ? new Date(argv[1]!) : undefined;
  if (!target || Number.isNaN(target.getTime())) throw new Error(USAGE);
  if (target.getTime() > Date.now()) throw new Error('--target is in the future: a restore reaches at most now');
  return target;
}

async function main(argv: string[]): Promise<number> {
  const targetTime = parseTarget(argv);
  const stack = await startStack('dev');
  try {
    const config = loadConfig({ ...process.env, ...stack.env });
    if (!config.recovery) throw new Error('this platform does not archive WAL with pgBackRest (PGBACKREST_CONFIG is not set)');
    const result = await runRecoveryDrill({
      sourceUrl: config.migrationDatabaseUrl,
      pgBackRest: pgBackRestSetupOf(config.recovery),
      postgresBinDir: config.recovery.postgresBinDir,
      workDir: tmpdir(),
      targetTime,
      onStep: (step) => console.error(`[drill] ${step}`),
    });
    for (const t of result.tables) console.log(`${t.table.padEnd(48)} ${String(t.restored).padStart(9)} rows${t.expected === undefined ? '' : ' (as the source)'}`);
    console.log(`restored ${result.backupLabel} to ${result.target}; ${result.migrations} migrations`);
    console.log(drillSummary(result));
    return 0;
  } finally {
    await stack.stop();
  }
}

runCli(main);
