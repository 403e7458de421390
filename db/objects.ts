import {
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AppConfig } from '../lib/config';

/**
 * A bucket's settings. `presignEndpoint` is the store's address as browsers and outside services
 * reach it, when it is not `endpoint` (in compose, the API's own domain through Caddy instead of
 * the network's `minio:9000`): presigned links are signed for that host.
 */
export type ObjectStoreConfig = Omit<AppConfig['s3'], 'backupBucket'>;

/**
 * One bucket of the object store, keys laid out by the callers. The platform's key may not create
 * buckets: they are made, with their versioning, lock and replication, when the site is set up.
 */
export class ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly publicUrl: string | undefined;
  /** Signs presigned links (no request goes through it): the client itself, or one for `presignEndpoint`. */
  private readonly signer: S3Client;

  constructor(config: ObjectStoreConfig) {
    const common = {
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    };
    this.client = new S3Client({
      ...common,
      endpoint: config.endpoint,
      ...(config.caFile ? { requestHandler: { httpsAgent: new Agent({ ca: readFileSync(config.caFile), keepAlive: true }) } } : {}),
    });
    this.signer = config.presignEndpoint ? new S3Client({ ...common, endpoint: config.presignEndpoint }) : this.client;
    this.bucket = config.bucket;
    this.publicUrl = config.publicUrl ?? (config.endpoint ? `${config.endpoint.replace(/\/$/, '')}/${config.bucket}` : undefined);
  }

  async put(key: string, body: Buffer | Readable | string, contentType: string, contentLength?: number): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType, ContentLength: contentLength }),
    );
  }

  /** Uploads a local file, streamed. */
  async putFile(key: string, path: string, contentType: string): Promise<void> {
    const { size } = await stat(path);
    await this.put(key, createReadStream(path), contentType, size);
  }

  /** Streams an object into a local file, never holding it whole in memory. */
  async getToFile(key: string, path: string, signal?: AbortSignal): Promise<void> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }), { abortSignal: signal });
    if (!out.Body) throw new Error(`object ${key} has no body`);
    await pipeline(out.Body as Readable, createWriteStream(path), { signal });
  }

  /** Answers when the bucket is reachable with these credentials. */
  async probe(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
  }

  async getBuffer(key: string): Promise<Buffer> {
    const out = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
    if (!out.Body) throw new Error(`object ${key} has no body`);
    return Buffer.from(await out.Body.transformToByteArray());
  }

  /** The URL a viewer uses for a public object (the bucket's address joined with the key). */
  urlFor(key: string): string {
    if (!this.publicUrl) return `s3://${this.bucket}/${key}`;
    return `${this.publicUrl}/${key.split('/').map(encodeURIComponent).join('/')}`;
  }

  /** A time-limited GET URL for a private object, e.g. for a viewer or a platform that pulls the file. */
  async presignedGetUrl(key: string, expiresInSec = 3600): Promise<string> {
    return getSignedUrl(this.signer, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInSec });
  }

  /** The origin of the links this store hands out, which a page showing them allows in its Content-Security-Policy. */
  async linkOrigin(): Promise<string> {
    return new URL(await this.presignedGetUrl('origin')).origin;
  }

  /**
   * A time-limited PUT URL for one object: the uploader must send `contentType` as its Content-Type
   * (the header is signed), and the object gets that type.
   */
  async presignedPutUrl(key: string, contentType: string, expiresInSec = 900): Promise<string> {
    return getSignedUrl(this.signer, new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentType: contentType }), {
      expiresIn: expiresInSec,
      signableHeaders: new Set(['content-type']),
    });
  }

  /** An object's type and size, or undefined when there is no such object. */
  async head(key: string): Promise<{ contentType: string | undefined; sizeBytes: number } | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { contentType: out.ContentType, sizeBytes: out.ContentLength ?? 0 };
    } catch (err) {
      if (err instanceof Error && (err.name === 'NotFound' || err.name === 'NoSuchKey')) return undefined;
      throw err;
    }
  }

  destroy(): void {
    this.client.destroy();
    if (this.signer !== this.client) this.signer.destroy();
  }
}
