import {
  CreateBucketCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createReadStream, createWriteStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AppConfig } from '../lib/config';

/** The object store: one bucket, keys laid out per organization/project/content by the callers. */
export class ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;
  private readonly publicUrl: string | undefined;

  constructor(config: AppConfig['s3']) {
    this.client = new S3Client({
      region: config.region,
      endpoint: config.endpoint,
      forcePathStyle: config.forcePathStyle,
      credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    });
    this.bucket = config.bucket;
    this.publicUrl = config.publicUrl ?? (config.endpoint ? `${config.endpoint.replace(/\/$/, '')}/${config.bucket}` : undefined);
  }

  /** Creates the bucket when it is missing; safe to call at every start. */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    }
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
    return getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), { expiresIn: expiresInSec });
  }

  destroy(): void {
    this.client.destroy();
  }
}
