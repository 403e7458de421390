import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Client } from 'pg';
import type { Sequelize } from 'sequelize';
import { migrateUp } from '../../db/migrate';
import { initModels, type Channel, type Models } from '../../db/models';
import { ChannelRepository, type SealedColumnSource } from '../../db/repositories/channels';
import { WebhookRepository } from '../../db/repositories/webhooks';
import { ProviderKeyRepository } from '../../db/repositories/provider-keys';
import { createSequelize } from '../../db/sequelize';
import { SecretBox, SecretBoxError } from '../../lib/secrets';
import { parseRotate, rotateSealedSecrets, sealedSources } from '../../scripts/secrets';
import { connect, createScratchDatabase, type ScratchDatabase } from '../support/database';

const k1 = randomBytes(32);
const k2 = randomBytes(32);
const onlyOld = new SecretBox(new Map([['k1', k1]]), 'k1');
const rotating = new SecretBox(new Map([['k1', k1], ['k2', k2]]), 'k2');
const onlyNew = new SecretBox(new Map([['k2', k2]]), 'k2');

/** `npm run secrets -- rotate`: every channel token re-sealed under the active key, in batches, resumable and idempotent. */
describe('key rotation (scripts/secrets.ts)', () => {
  let db: ScratchDatabase;
  let owner: Client;
  let sequelize: Sequelize;
  let models: Models;
  let channels: ChannelRepository;
  let projectId: string;
  /** channel id → [access token, refresh token] as planted. */
  const planted = new Map<string, [string | null, string | null]>();

  async function newChannel(box: SecretBox, access: string | null, refresh: string | null): Promise<Channel> {
    const channel = models.Channel.build({
      project_id: projectId,
      platform: 'youtube',
      channel_id: `UC${randomBytes(6).toString('hex')}`,
      channel_name: null,
      channel_url: null,
      token_expires_at: null,
      last_sync_at: null,
    });
    if (access !== null) channel.setTokens(box, { accessToken: access, refreshToken: refresh });
    await channel.save();
    planted.set(channel.id, [access, refresh]);
    return channel;
  }

  async function assertAllOpenWithOnlyNewKey(): Promise<void> {
    for (const channel of await models.Channel.findAll()) {
      const [access, refresh] = planted.get(channel.id)!;
      assert.equal(channel.readAccessToken(onlyNew), access, `channel ${channel.id} access token`);
      assert.equal(channel.readRefreshToken(onlyNew), refresh, `channel ${channel.id} refresh token`);
    }
    assert.throws(() => onlyOld.decrypt(rotating.encrypt('x')), SecretBoxError);
  }

  before(async () => {
    db = await createScratchDatabase('secret_rotation');
    await migrateUp(db.url);
    owner = await connect(db.url);
    const { rows } = await owner.query<{ id: string }>("INSERT INTO users (email, name) VALUES ('rotation@example.com', 'R') RETURNING id");
    const project = await owner.query<{ id: string }>("INSERT INTO projects (user_id, name, vertical) VALUES ($1, 'R', 'tech') RETURNING id", [rows[0]!.id]);
    projectId = project.rows[0]!.id;
    // As the platform connects: the rotation needs no more than the app role's privileges.
    sequelize = createSequelize({ databaseUrl: db.appUrl, databasePoolMax: 2 });
    models = initModels(sequelize);
    channels = new ChannelRepository(sequelize);
  });
  after(async () => {
    await sequelize?.close();
    await owner?.end();
    await db?.drop();
  });

  it('parses `rotate [--batch N]`', () => {
    assert.deepEqual(parseRotate(['rotate']), { batch: 100 });
    assert.deepEqual(parseRotate(['rotate', '--batch', '7']), { batch: 7 });
    assert.throws(() => parseRotate(['rotate', '--batch', '0']), /--batch/);
    assert.throws(() => parseRotate(['spin']), /unknown command/);
  });

  it('re-seals every token under the active key in batches; a box holding only the new key opens them all; a second run changes nothing', async () => {
    for (let i = 0; i < 7; i++) await newChannel(onlyOld, `access-${i}-${randomBytes(4).toString('hex')}`, i % 3 === 0 ? null : `refresh-${i}`);
    await newChannel(onlyOld, null, null); // no tokens: nothing to rotate
    await newChannel(rotating, 'already-new', 'already-new-refresh'); // already on k2: never read
    const stale = 7;
    const staleValues = 7 + 4; // every access token, and the refresh tokens of i = 1, 2, 4, 5

    const lines: string[] = [];
    const [report] = await rotateSealedSecrets(sealedSources(channels), rotating, { batch: 3, progress: (line) => lines.push(line) });
    assert.deepEqual({ rows: report!.rows, changed: report!.changed, changedMeanwhile: report!.changedMeanwhile, failed: report!.failed }, { rows: stale, changed: staleValues, changedMeanwhile: 0, failed: [] });
    assert.equal(lines.length, 3, 'three batches of at most 3 rows');

    const { rows } = await owner.query<{ sealed: string }>('SELECT access_token AS sealed FROM channels WHERE access_token IS NOT NULL UNION ALL SELECT refresh_token FROM channels WHERE refresh_token IS NOT NULL');
    assert.ok(rows.every((row) => SecretBox.keyIdOf(row.sealed) === 'k2'), 'every stored token names k2');
    await assertAllOpenWithOnlyNewKey();

    const [again] = await rotateSealedSecrets(sealedSources(channels), rotating, { batch: 3 });
    assert.deepEqual({ rows: again!.rows, changed: again!.changed }, { rows: 0, changed: 0 });
  });

  it('resumes after a crash midway: the rerun continues with the rows left', async () => {
    for (let i = 0; i < 5; i++) await newChannel(onlyOld, `crash-${i}`, `crash-refresh-${i}`);
    let batches = 0;
    const crashing: SealedColumnSource = {
      name: channels.name,
      columns: channels.columns,
      context: (column, id) => channels.context(column, id),
      staleBatch: async (active, afterId, limit) => {
        if (++batches > 1) throw new Error('killed');
        return channels.staleBatch(active, afterId, limit);
      },
      replaceSealed: (id, column, expected, next) => channels.replaceSealed(id, column, expected, next),
    };
    await assert.rejects(rotateSealedSecrets([crashing], rotating, { batch: 2 }), /killed/);
    const [rerun] = await rotateSealedSecrets(sealedSources(channels), rotating, { batch: 2 });
    assert.deepEqual({ rows: rerun!.rows, changed: rerun!.changed }, { rows: 3, changed: 6 }, 'the two rows done before the crash are not read again');
    await assertAllOpenWithOnlyNewKey();
  });

  it('never overwrites a token refreshed meanwhile (compare-and-set); the next run rotates it', async () => {
    const channel = await newChannel(onlyOld, 'before-refresh', 'refresh-kept');
    const racing: SealedColumnSource = {
      name: channels.name,
      columns: channels.columns,
      context: (column, id) => channels.context(column, id),
      staleBatch: async (active, afterId, limit) => {
        const rows = await channels.staleBatch(active, afterId, limit);
        // A worker still configured with only the old key refreshes the access token after the read.
        const fresh = (await models.Channel.findByPk(channel.id))!;
        fresh.setTokens(onlyOld, { accessToken: 'after-refresh' });
        await fresh.save();
        return rows;
      },
      replaceSealed: (id, column, expected, next) => channels.replaceSealed(id, column, expected, next),
    };
    const [report] = await rotateSealedSecrets([racing], rotating, { batch: 100 });
    assert.deepEqual({ changed: report!.changed, changedMeanwhile: report!.changedMeanwhile }, { changed: 1, changedMeanwhile: 1 });
    planted.set(channel.id, ['after-refresh', 'refresh-kept']);
    const [next] = await rotateSealedSecrets(sealedSources(channels), rotating, { batch: 100 });
    assert.deepEqual({ rows: next!.rows, changed: next!.changed, changedMeanwhile: next!.changedMeanwhile }, { rows: 1, changed: 1, changedMeanwhile: 0 });
    await assertAllOpenWithOnlyNewKey();
  });

  it("re-seals an organization's provider key too (a second sealed source)", async () => {
    const { rows } = await owner.query<{ id: string }>("INSERT INTO organizations (name, slug) VALUES ('Keys', $1) RETURNING id", [`keys-${randomBytes(4).toString('hex')}`]);
    const organizationId = rows[0]!.id;
    const key = models.OrganizationProviderKey.build({ id: randomUUID(), organization_id: organizationId, provider: 'elevenlabs', sealed_key: '', key_hint: '', created_by: null });
    key.setKey(onlyOld, 'sk_org_elevenlabs_key');
    await key.save();
    assert.equal(SecretBox.keyIdOf(key.sealed_key), 'k1');

    const providerKeys = new ProviderKeyRepository(sequelize, models, rotating);
    const reports = await rotateSealedSecrets(sealedSources(channels, providerKeys), rotating, { batch: 10 });
    const report = reports.find((r) => r.source === providerKeys.name)!;
    assert.deepEqual({ rows: report.rows, changed: report.changed, failed: report.failed }, { rows: 1, changed: 1, failed: [] });
    const stored = (await models.OrganizationProviderKey.findByPk(key.id))!;
    assert.equal(SecretBox.keyIdOf(stored.sealed_key), 'k2');
    assert.equal(stored.readKey(onlyNew), 'sk_org_elevenlabs_key');
    assert.deepEqual(await new ProviderKeyRepository(sequelize, models, onlyNew).keysFor(organizationId), { elevenlabs: 'sk_org_elevenlabs_key' });

    const again = await rotateSealedSecrets(sealedSources(channels, providerKeys), rotating, { batch: 10 });
    assert.deepEqual(again.map((r) => r.rows), [0, 0]);
  });

  it("re-seals a webhook endpoint's signing secret, which still signs afterwards", async () => {
    const { rows } = await owner.query<{ id: string }>("INSERT INTO organizations (name, slug) VALUES ('Hooks', $1) RETURNING id", [`hooks-${randomBytes(4).toString('hex')}`]);
    const endpoint = await new WebhookRepository(sequelize, onlyOld).create(
      { owner: { organizationId: rows[0]!.id }, createdBy: null, url: 'https://hooks.example.com/in', eventTypes: ['content.ready'], description: null },
      'whsec_c2VjcmV0LXRoYXQtc2lnbnMtZXZlbnRz',
    );
    const webhooks = new WebhookRepository(sequelize, rotating);
    const reports = await rotateSealedSecrets(sealedSources(channels, webhooks), rotating, { batch: 10 });
    const report = reports.find((r) => r.source === webhooks.name)!;
    assert.deepEqual({ rows: report.rows, changed: report.changed, failed: report.failed }, { rows: 1, changed: 1, failed: [] });
    assert.equal(await new WebhookRepository(sequelize, onlyNew).secretOf(endpoint.id), 'whsec_c2VjcmV0LXRoYXQtc2lnbnMtZXZlbnRz');
  });
});
