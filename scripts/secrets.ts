import { ChannelRepository, type SealedColumnSource } from '../db/repositories/channels';
import { initModels } from '../db/models';
import { ProviderKeyRepository } from '../db/repositories/provider-keys';
import { WebhookRepository } from '../db/repositories/webhooks';
import { createSequelize } from '../db/sequelize';
import { loadConfig } from '../lib/config';
import { SecretBox, SecretBoxError } from '../lib/secrets';
import { runCli } from './cli';

/**
 * `npm run secrets -- rotate [--batch 100]`: re-seals every sealed column under the active key
 * (SECRETS_ACTIVE_KEY_ID), so an old key can then be dropped from SECRETS_ENCRYPTION_KEYS. Each
 * source is walked in batches by id (keyset) and only rows holding a value under another key are
 * read, so a run that stopped midway is simply run again and continues with what is left, and a
 * run with nothing left changes nothing and says so. Each value is written back only if the row
 * still holds the ciphertext read (compare-and-set): a token refreshed meanwhile is kept, and
 * counted as `changed meanwhile` for the next run to look at again.
 */
const USAGE = `usage: npm run secrets -- rotate [--batch <rows>]
  re-seals every channel token and organization provider key under SECRETS_ACTIVE_KEY_ID,
  <rows> (1–10000, default 100) rows a batch; resumable and idempotent`;

class UsageError extends Error {}

export interface RotateCommand {
  batch: number;
}

export function parseRotate(argv: string[]): RotateCommand {
  const [command, ...rest] = argv;
  if (command !== 'rotate') throw new UsageError(command ? `unknown command ${command}` : 'name a command');
  let batch = 100;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (arg === '--batch') {
      batch = Number(rest[++i]);
      if (!Number.isInteger(batch) || batch < 1 || batch > 10_000) throw new UsageError('--batch is a whole number of rows from 1 to 10000');
    } else {
      throw new UsageError(`unexpected argument ${arg}`);
    }
  }
  return { batch };
}

/** What a rotation did, per source and in all. */
export interface RotationReport {
  source: string;
  /** Rows read (each held at least one value under an old key). */
  rows: number;
  /** Values re-sealed under the active key and written. */
  changed: number;
  /** Values the row no longer held when written (a concurrent refresh): left as they are now. */
  changedMeanwhile: number;
  /** Values that could not be opened (their key is not configured, or they do not authenticate); ids only. */
  failed: string[];
}

/** The sealed columns the rotation walks: add a source here when another column is sealed. */
export function sealedSources(channels: ChannelRepository, ...others: (ProviderKeyRepository | WebhookRepository)[]): SealedColumnSource[] {
  return [channels, ...others];
}

export async function rotateSealedSecrets(
  sources: readonly SealedColumnSource[],
  box: SecretBox,
  options: { batch: number; progress?: (line: string) => void },
): Promise<RotationReport[]> {
  const reports: RotationReport[] = [];
  for (const source of sources) {
    const report: RotationReport = { source: source.name, rows: 0, changed: 0, changedMeanwhile: 0, failed: [] };
    let afterId: string | null = null;
    for (;;) {
      const rows = await source.staleBatch(box.activeKeyId, afterId, options.batch);
      if (rows.length === 0) break;
      for (const row of rows) {
        report.rows += 1;
        for (const column of source.columns) {
          const sealed = row.values[column];
          if (sealed === null || sealed === undefined || !box.needsRotation(sealed)) continue;
          let next: string;
          try {
            next = box.rotate(sealed, source.context(column, row.id));
          } catch (err) {
            if (!(err instanceof SecretBoxError)) throw err;
            report.failed.push(`${row.id} ${column}: ${err.message}`);
            continue;
          }
          if (await source.replaceSealed(row.id, column, sealed, next)) report.changed += 1;
          else report.changedMeanwhile += 1;
        }
      }
      afterId = rows[rows.length - 1]!.id;
      options.progress?.(`${source.name}: ${report.rows} rows read, ${report.changed} values re-sealed (up to id ${afterId})`);
    }
    reports.push(report);
  }
  return reports;
}

async function main(argv: string[]): Promise<number> {
  let command: RotateCommand;
  try {
    command = parseRotate(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n${USAGE}`);
    return 2;
  }
  const config = loadConfig();
  const box = SecretBox.fromConfig(config.secrets);
  const sequelize = createSequelize(config);
  try {
    const reports = await rotateSealedSecrets(sealedSources(new ChannelRepository(sequelize), new ProviderKeyRepository(sequelize, initModels(sequelize), box), new WebhookRepository(sequelize, box)), box, { batch: command.batch, progress: (line) => console.log(line) });
    let code = 0;
    for (const r of reports) {
      if (r.rows === 0) console.log(`${r.source}: nothing to rotate, every value is sealed under key "${box.activeKeyId}" (0 changed)`);
      else console.log(`${r.source}: ${r.changed} changed under key "${box.activeKeyId}", ${r.changedMeanwhile} changed meanwhile, ${r.failed.length} could not be opened`);
      for (const failure of r.failed) console.error(`  cannot open ${failure}`);
      if (r.failed.length > 0) code = 1;
      if (r.changedMeanwhile > 0) console.log('  values changed meanwhile: run the command again to check them');
    }
    return code;
  } finally {
    await sequelize.close();
  }
}

if (require.main === module) runCli(main);
