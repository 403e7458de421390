import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { BACKUP_RETENTION_DAYS } from '../../db/backups';
import { minioBinary, minioSetupBinary } from './binaries';
import { startDetached, type ManagedProcess } from './process';
import { localSecret, serviceDir, type ServiceDefinition, type StackContext } from './context';

/**
 * Two MinIO sites, as the seed's media policy asks (§7.1: real-time, kept forever, cross-region):
 * the first serves the platform over HTTPS (pgBackRest speaks only HTTPS to S3), with a versioned
 * media bucket replicated to the second site, and a bucket of its own for the backups, with object
 * lock. The platform holds an access key limited by a policy to exactly what it does; only the
 * setup below uses the root credentials, and they are never in the stack's environment.
 */
export const BUCKET_NAME = 'autoclip-media';
export const BACKUP_BUCKET_NAME = 'autoclip-backups';
/** Where pgBackRest keeps its repository inside the backups bucket. */
export const PGBACKREST_PREFIX = 'pgbackrest';

const ROOT_USER = 'autoclip-root';
const APP_USER = 'autoclip-app';
const PGBACKREST_USER = 'autoclip-pgbackrest';
const REPLICATOR_USER = 'autoclip-replicator';


const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;
const objectsArn = (bucket: string, prefix = '') => `arn:aws:s3:::${bucket}/${prefix}*`;

function allow(actions: string[], resources: string[]): Record<string, unknown> {
  return { Effect: 'Allow', Action: actions, Resource: resources };
}

/** What the api and the workers do with media: read, write and delete objects, in parts, with tags. */
const MEDIA_STATEMENTS = [
  allow(['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'], [bucketArn(BUCKET_NAME)]),
  allow(
    ['s3:GetObject', 's3:PutObject', 's3:DeleteObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObjectTagging', 's3:PutObjectTagging'],
    [objectsArn(BUCKET_NAME)],
  ),
];

/** The app's policy: the media, and backups written and read under a retention lock, never deleted. */
export const APP_POLICY = {
  Version: '2012-10-17',
  Statement: [
    ...MEDIA_STATEMENTS,
    allow(['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:GetBucketObjectLockConfiguration'], [bucketArn(BACKUP_BUCKET_NAME)]),
    allow(
      ['s3:GetObject', 's3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts', 's3:GetObjectTagging', 's3:PutObjectTagging', 's3:GetObjectRetention', 's3:PutObjectRetention'],
      [objectsArn(BACKUP_BUCKET_NAME)],
    ),
  ],
};

/** pgBackRest's policy: its own repository inside the backups bucket, which it also expires. */
const PGBACKREST_POLICY = {
  Version: '2012-10-17',
  Statement: [
    allow(['s3:GetBucketLocation', 's3:ListBucket'], [bucketArn(BACKUP_BUCKET_NAME)]),
    allow(['s3:GetObject', 's3:PutObject', 's3:DeleteObject'], [objectsArn(BACKUP_BUCKET_NAME, `${PGBACKREST_PREFIX}/`)]),
  ],
};

/** What the first site needs on the second to replicate the media into it (MinIO's documented target policy). */
const REPLICATION_TARGET_POLICY = {
  Version: '2012-10-17',
  Statement: [
    allow(
      ['s3:GetReplicationConfiguration', 's3:ListBucket', 's3:ListBucketMultipartUploads', 's3:GetBucketLocation', 's3:GetBucketVersioning', 's3:GetBucketObjectLockConfiguration', 's3:GetEncryptionConfiguration'],
      [bucketArn(BUCKET_NAME)],
    ),
    allow(
      ['s3:GetReplicationConfiguration', 's3:ReplicateTags', 's3:AbortMultipartUpload', 's3:GetObject', 's3:GetObjectVersion', 's3:GetObjectVersionTagging', 's3:PutObject', 's3:PutObjectRetention', 's3:PutObjectLegalHold', 's3:DeleteObject', 's3:ReplicateObject', 's3:ReplicateDelete'],
      [objectsArn(BUCKET_NAME)],
    ),
  ],
};

export interface MinioKeys {
  app: { accessKey: string; secretKey: string };
  pgbackrest: { accessKey: string; secretKey: string };
}

export function minioKeys(ctx: StackContext): MinioKeys {
  return {
    app: { accessKey: APP_USER, secretKey: localSecret(ctx, 'minio-app-secret', 'hex') },
    pgbackrest: { accessKey: PGBACKREST_USER, secretKey: localSecret(ctx, 'minio-pgbackrest-secret', 'hex') },
  };
}

function certsDir(ctx: StackContext): string {
  return join(ctx.dataDir, 'minio-certs');
}

/** The first site's self-signed certificate, which the platform and pgBackRest trust (S3_CA_FILE). */
export function minioCaFile(ctx: StackContext): string {
  return join(certsDir(ctx), 'public.crt');
}

/** For `localhost` (pgBackRest checks the name, not the address) and 127.0.0.1 (the platform's endpoint). */
function ensureCertificate(ctx: StackContext): void {
  const dir = certsDir(ctx);
  if (existsSync(minioCaFile(ctx))) return;
  mkdirSync(dir, { recursive: true });
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '3650', '-keyout', join(dir, 'private.key'), '-out', minioCaFile(ctx)],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
}

function healthy(url: string, ca?: Buffer): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ca, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.once('error', () => resolve(false));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}

/** Applies a site's layout (buckets, policies, users, replication) with the project's minio-setup tool. */
async function applyLayout(layout: Record<string, unknown>): Promise<void> {
  const tool = await minioSetupBinary();
  await new Promise<void>((resolve, reject) => {
    const child = execFile(tool, [], { timeout: 150_000 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`minio-setup failed: ${stderr.trim() || error.message}`)) : resolve(),
    );
    child.stdin?.end(JSON.stringify(layout));
  });
}

async function startMinio(proc: ManagedProcess, dir: string, port: number, rootPassword: string, extra: string[]): Promise<void> {
  startDetached(
    proc,
    await minioBinary(),
    ['server', dir, '--address', `127.0.0.1:${port}`, '--console-address', `127.0.0.1:${port + 1}`, '--quiet', ...extra],
    { env: { ...process.env, MINIO_ROOT_USER: ROOT_USER, MINIO_ROOT_PASSWORD: rootPassword, MINIO_BROWSER: 'on' } },
  );
}

/** The second site's media bucket, the platform's key, and the replicator the first site writes with. */
async function applyReplicaLayout(ctx: StackContext): Promise<void> {
  const keys = minioKeys(ctx);
  await applyLayout({
    endpoint: `127.0.0.1:${minioReplica.port(ctx)}`,
    secure: false,
    accessKey: ROOT_USER,
    secretKey: localSecret(ctx, 'minio-replica-root-password', 'hex'),
    buckets: [{ name: BUCKET_NAME, versioning: true }],
    policies: [
      { name: 'autoclip-app', document: { Version: '2012-10-17', Statement: MEDIA_STATEMENTS } },
      { name: 'autoclip-replication', document: REPLICATION_TARGET_POLICY },
    ],
    users: [
      { ...keys.app, policy: 'autoclip-app' },
      { accessKey: REPLICATOR_USER, secretKey: localSecret(ctx, 'minio-replicator-secret', 'hex'), policy: 'autoclip-replication' },
    ],
  });
}

/** The second site: plain HTTP on loopback, a replica of the media, readable with the platform's key. */
export const minioReplica: ServiceDefinition = {
  name: 'minio-replica',
  external: ['S3_ENDPOINT', 'S3_BUCKET'],
  port: (ctx) => 19002 + ctx.portOffset,
  env: (ctx) => ({ S3_REPLICA_ENDPOINT: `http://127.0.0.1:${minioReplica.port(ctx)}` }),
  start(ctx, proc) {
    return startMinio(proc, serviceDir(ctx, 'minio-replica'), this.port(ctx), localSecret(ctx, 'minio-replica-root-password', 'hex'), []);
  },
  ready: (ctx) => fetch(`http://127.0.0.1:${minioReplica.port(ctx)}/minio/health/live`).then((r) => r.ok),
};

export const minio: ServiceDefinition = {
  name: 'minio',
  external: ['S3_ENDPOINT', 'S3_BUCKET'],
  // Replication needs the second site's bucket and replicator first.
  after: ['minio-replica'],
  port: (ctx) => 19000 + ctx.portOffset,
  env: (ctx) => {
    const keys = minioKeys(ctx);
    return {
      S3_ENDPOINT: `https://127.0.0.1:${minio.port(ctx)}`,
      S3_REGION: 'us-east-1',
      S3_BUCKET: BUCKET_NAME,
      S3_BACKUP_BUCKET: BACKUP_BUCKET_NAME,
      S3_ACCESS_KEY_ID: keys.app.accessKey,
      S3_SECRET_ACCESS_KEY: keys.app.secretKey,
      S3_FORCE_PATH_STYLE: '1',
      S3_CA_FILE: minioCaFile(ctx),
      // For the processes started with this environment that fetch presigned links themselves.
      NODE_EXTRA_CA_CERTS: minioCaFile(ctx),
    };
  },
  start(ctx, proc) {
    ensureCertificate(ctx);
    return startMinio(proc, serviceDir(ctx, 'minio'), this.port(ctx), localSecret(ctx, 'minio-root-password', 'hex'), ['--certs-dir', certsDir(ctx)]);
  },
  ready: (ctx) => healthy(`https://127.0.0.1:${minio.port(ctx)}/minio/health/live`, readFileSync(minioCaFile(ctx))),
  async afterReady(ctx) {
    const keys = minioKeys(ctx);
    await applyReplicaLayout(ctx);
    await applyLayout({
      endpoint: `127.0.0.1:${this.port(ctx)}`,
      secure: true,
      caFile: minioCaFile(ctx),
      accessKey: ROOT_USER,
      secretKey: localSecret(ctx, 'minio-root-password', 'hex'),
      buckets: [
        { name: BUCKET_NAME, versioning: true },
        {
          name: BACKUP_BUCKET_NAME,
          objectLock: true,
          // Each kind's prefix expires when its objects' lock ends (seed §7.1).
          expire: Object.entries(BACKUP_RETENTION_DAYS).map(([kind, days]) => ({ prefix: `${kind}/`, days })),
          noncurrentDays: BACKUP_RETENTION_DAYS.postgres,
        },
      ],
      policies: [
        { name: 'autoclip-app', document: APP_POLICY },
        { name: 'autoclip-pgbackrest', document: PGBACKREST_POLICY },
      ],
      users: [
        { ...keys.app, policy: 'autoclip-app' },
        { ...keys.pgbackrest, policy: 'autoclip-pgbackrest' },
      ],
      replication: [
        {
          bucket: BUCKET_NAME,
          targetBucket: BUCKET_NAME,
          target: { endpoint: `127.0.0.1:${minioReplica.port(ctx)}`, secure: false, accessKey: REPLICATOR_USER, secretKey: localSecret(ctx, 'minio-replicator-secret', 'hex') },
        },
      ],
    });
  },
};
