import { LedgerRepository } from '../db/repositories/ledger';
import { createSequelize } from '../db/sequelize';
import { loadConfig } from '../lib/config';
import { runCli } from './cli';

/**
 * `npm run credits -- bonus <subscription-id> <amount> --by <admin email> --reason "…"`: bonus
 * credits, a platform administrator's decision. Nothing in the API grants them; this command runs
 * with the deployment's database credentials (DATABASE_URL), which only operators hold, and writes
 * one `bonus` row to the ledger under the subscription's row lock, naming who and why.
 */
const USAGE = `usage: npm run credits -- bonus <subscription-id> <amount> --by <admin email> --reason "<why>"
  adds <amount> (1–100000) bonus credits to the subscription; the ledger row records --by and --reason`;

class UsageError extends Error {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

interface BonusCommand {
  subscriptionId: string;
  amount: number;
  by: string;
  reason: string;
}

export function parseBonus(argv: string[]): BonusCommand {
  const [command, ...rest] = argv;
  if (command !== 'bonus') throw new UsageError(command ? `unknown command ${command}` : 'name a command');
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--by' || arg === '--reason') {
      const value = rest[++i];
      if (value === undefined) throw new UsageError(`${arg} needs a value`);
      flags[arg.slice(2)] = value;
    } else if (arg.startsWith('--')) {
      throw new UsageError(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  const [subscriptionId, amountText, ...extra] = positional;
  if (!subscriptionId || !UUID.test(subscriptionId)) throw new UsageError('the first argument is the subscription id (a UUID)');
  const amount = Number(amountText);
  if (!Number.isInteger(amount) || amount < 1 || amount > 100_000) throw new UsageError('the amount is a whole number of credits from 1 to 100000');
  if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
  const by = flags.by?.trim();
  if (!by || !EMAIL.test(by)) throw new UsageError('--by names the administrator granting it, by email');
  const reason = flags.reason?.trim();
  if (!reason) throw new UsageError('--reason says why (it is kept in the ledger)');
  return { subscriptionId, amount, by, reason: reason.slice(0, 500) };
}

async function main(argv: string[]): Promise<number> {
  let command: BonusCommand;
  try {
    command = parseBonus(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const sequelize = createSequelize(config);
  try {
    const entry = await new LedgerRepository(sequelize).bonus(command.subscriptionId, command.amount, `bonus granted by ${command.by}: ${command.reason}`);
    console.log(`granted ${command.amount} bonus credits to subscription ${entry.subscriptionId}: balance ${entry.balance} (credit transaction ${entry.transactionId})`);
    return 0;
  } finally {
    await sequelize.close();
  }
}

if (require.main === module) runCli(main);
