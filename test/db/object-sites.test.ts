import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  GetObjectRetentionCommand,
  HeadObjectCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import { ObjectStore } from '../../db/objects';
import { loadConfig } from '../../lib/config';
import { scratchDir } from '../support/scratch-dir';
import { waitFor } from '../support/wait';

const DENIED = { name: 'AccessDenied' };

/**
 * The two MinIO sites of the stack as the platform's own key sees them (never root): the media
 * bucket replicated to the second site, which can serve the platform when the first is lost, and
 * the backups' bucket, object-locked, where that key writes but can neither delete nor overwrite.
 */
describe('object sites: media replication and the locked backups bucket', () => {
  const config = loadConfig();
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const media = new ObjectStore(config.s3);
  const backups = new ObjectStore({ ...config.s3, bucket: config.s3.backupBucket });
  const replicaEndpoint = process.env.S3_REPLICA_ENDPOINT;
  // The platform as it runs after the first site is lost: only S3_ENDPOINT changes (and the CA of the first site goes).
  const failover = replicaEndpoint ? loadConfig({ ...process.env, S3_ENDPOINT: replicaEndpoint, S3_CA_FILE: undefined }) : undefined;
  const replica = failover ? new ObjectStore(failover.s3) : undefined;
  const work = scratchDir('object-sites-');
  let video: Buffer;

  before(() => {
    const file = join(work.path, 'clip.mp4');
    execFileSync('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25:duration=1', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-y', file]);
    video = readFileSync(file);
  });

  after(() => {
    media.destroy();
    backups.destroy();
    replica?.destroy();
  });

  it('replicates a video written on the first site to the second, where a presigned link plays it', { skip: !replica && 'no S3_REPLICA_ENDPOINT' }, async () => {
    const key = `test/replication-${runId}/final.mp4`;
    await media.put(key, video, 'video/mp4');

    const copied = await waitFor(
      'the video on the second site',
      () => replica!.getBuffer(key).catch((error: unknown) => {
        if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
        throw error;
      }),
      30_000,
    );
    assert.deepEqual(copied, video);

    const link = await replica!.presignedGetUrl(key, 60);
    assert.ok(link.startsWith(`${replicaEndpoint}/${config.s3.bucket}/`), link);
    const served = Buffer.from(await (await fetch(link)).arrayBuffer());
    assert.deepEqual(served, video);
    const file = join(work.path, 'from-replica.mp4');
    execFileSync('sh', ['-c', 'cat > "$1"', 'sh', file], { input: served });
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' })) as { streams: { codec_type: string; codec_name: string }[] };
    assert.deepEqual(probe.streams.map((s) => `${s.codec_type}:${s.codec_name}`), ['video:h264']);

    await media.client.send(new DeleteObjectCommand({ Bucket: media.bucket, Key: key }));
    await waitFor(
      'the delete replicated',
      () => replica!.client.send(new HeadObjectCommand({ Bucket: replica!.bucket, Key: key })).then(() => undefined, () => true),
      30_000,
    );
  });

  it("keeps backups locked: the platform's key writes under a retention and cannot delete or overwrite", async () => {
    const key = `postgres/test-${runId}.dump`;
    const retainUntil = new Date(Date.now() + 86_400_000);
    const first = await backups.client.send(
      new PutObjectCommand({ Bucket: backups.bucket, Key: key, Body: Buffer.from('first'), ObjectLockMode: 'COMPLIANCE', ObjectLockRetainUntilDate: retainUntil }),
    );
    assert.ok(first.VersionId, 'the backups bucket is versioned');
    const retention = await backups.client.send(new GetObjectRetentionCommand({ Bucket: backups.bucket, Key: key }));
    assert.equal(retention.Retention?.Mode, 'COMPLIANCE');

    await assert.rejects(backups.client.send(new DeleteObjectCommand({ Bucket: backups.bucket, Key: key })), DENIED);
    await assert.rejects(backups.client.send(new DeleteObjectCommand({ Bucket: backups.bucket, Key: key, VersionId: first.VersionId })), DENIED);
    await assert.rejects(
      backups.client.send(new DeleteObjectCommand({ Bucket: backups.bucket, Key: key, VersionId: first.VersionId, BypassGovernanceRetention: true })),
      DENIED,
    );

    // A second write under the same key is a new version: the first stays as it was.
    await backups.client.send(new PutObjectCommand({ Bucket: backups.bucket, Key: key, Body: Buffer.from('second') }));
    const kept = await backups.client.send(new GetObjectCommand({ Bucket: backups.bucket, Key: key, VersionId: first.VersionId }));
    assert.equal(await kept.Body?.transformToString(), 'first');

    // The media key is not a way around it, and the media bucket is not a place for backups.
    await assert.rejects(media.client.send(new DeleteObjectCommand({ Bucket: backups.bucket, Key: key, VersionId: first.VersionId })), DENIED);
  });
});
