import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetBucketPolicyCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3';
import { ObjectStore } from '../../db/objects';
import { loadConfig } from '../../lib/config';

async function listAll(store: ObjectStore, prefix: string, pageSize: number): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let pages = 0;
  let token: string | undefined;
  do {
    const page: ListObjectsV2CommandOutput = await store.client.send(
      new ListObjectsV2Command({ Bucket: store.bucket, Prefix: prefix, MaxKeys: pageSize, ContinuationToken: token }),
    );
    pages += 1;
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return { keys, pages };
}

describe('ObjectStore (against the MinIO of the test stack)', () => {
  const config = loadConfig();
  const runId = `${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const prefix = `test/storage-${runId}/`;
  const store = new ObjectStore(config.s3);

  after(async () => {
    const { keys } = await listAll(store, prefix, 1000);
    if (keys.length > 0) {
      await store.client.send(new DeleteObjectsCommand({ Bucket: store.bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
    }
    store.destroy();
  });

  it('puts a buffer and gets the same bytes back, with its content type and length', async () => {
    const key = `${prefix}buffer/장면 1.png`;
    const body = randomBytes(256 * 1024);
    await store.put(key, body, 'image/png');

    assert.deepEqual(await store.getBuffer(key), body);
    const head = await store.client.send(new HeadObjectCommand({ Bucket: store.bucket, Key: key }));
    assert.equal(head.ContentType, 'image/png');
    assert.equal(head.ContentLength, body.length);
  });

  it('puts a stream of known length', async () => {
    const key = `${prefix}stream/narration.wav`;
    const chunks = Array.from({ length: 8 }, () => randomBytes(100_000));
    const body = Buffer.concat(chunks);
    await store.put(key, Readable.from(chunks), 'audio/wav', body.length);

    assert.deepEqual(await store.getBuffer(key), body);
  });

  it('fails to get a missing object', async () => {
    await assert.rejects(store.getBuffer(`${prefix}missing.mp4`), (error: unknown) => (error as { name?: string }).name === 'NoSuchKey');
  });

  it('urlFor gives an HTTP URL of the object under the public base', async () => {
    const key = `${prefix}url/최종 영상 #1.mp4`;
    const body = randomBytes(4096);
    await store.put(key, body, 'video/mp4');

    const url = new URL(store.urlFor(key));
    assert.match(url.protocol, /^https?:$/);
    const base = config.s3.publicUrl ?? `${config.s3.endpoint?.replace(/\/$/, '')}/${config.s3.bucket}`;
    assert.ok(url.href.startsWith(`${base}/`), `${url.href} starts with ${base}/`);
    // Each path segment is escaped: '#' and spaces must not end or break the path.
    assert.equal(decodeURIComponent(url.pathname.slice(new URL(base).pathname.length + 1)), key);
    assert.equal(url.hash, '');

    const response = await fetch(url);
    assert.equal(response.status, 403, 'the media bucket refuses anonymous reads');
    assert.deepEqual(await store.getBuffer(key), body);
  });

  it('signs its links for the address viewers reach the store at, when another than its own is set', async () => {
    const key = `${prefix}links/video.mp4`;
    const body = randomBytes(4096);
    await store.put(key, body, 'video/mp4');
    // The test stack's MinIO answers on 127.0.0.1 and, by its certificate, as localhost too.
    const endpoint = new URL(config.s3.endpoint ?? '');
    assert.equal(endpoint.hostname, '127.0.0.1');
    const viewersEndpoint = `${endpoint.protocol}//localhost:${endpoint.port}`;
    const outside = new ObjectStore({ ...config.s3, presignEndpoint: viewersEndpoint });
    try {
      const link = new URL(await outside.presignedGetUrl(key, 60));
      assert.equal(link.origin, viewersEndpoint);
      assert.equal(await outside.linkOrigin(), viewersEndpoint);
      const response = await fetch(link);
      assert.equal(response.status, 200, link.href);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), body);

      // The host is signed: a link made for the store's own address does not open at another.
      const own = new URL(await store.presignedGetUrl(key, 60));
      assert.equal(own.origin, endpoint.origin);
      own.host = link.host;
      assert.equal((await fetch(own)).status, 403);
    } finally {
      outside.destroy();
    }
  });

  it('lists the objects under a prefix, page by page and by folder', async () => {
    const listed = `${prefix}list/`;
    const names = ['a/1.png', 'a/2.png', 'a/3.png', 'b/1.png'];
    for (const name of names) await store.put(`${listed}${name}`, Buffer.from(name), 'image/png');

    const underA = await listAll(store, `${listed}a/`, 2);
    assert.deepEqual(underA.keys, ['a/1.png', 'a/2.png', 'a/3.png'].map((name) => `${listed}${name}`));
    assert.equal(underA.pages, 2);

    const folders = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: listed, Delimiter: '/' }));
    assert.deepEqual(
      (folders.CommonPrefixes ?? []).map((folder) => folder.Prefix),
      [`${listed}a/`, `${listed}b/`],
    );
    assert.equal(folders.Contents, undefined);
  });

  it("holds the platform's key to its buckets: it cannot make a bucket, read or change a bucket's policy", async () => {
    const denied = { name: 'AccessDenied' };
    await assert.rejects(store.client.send(new CreateBucketCommand({ Bucket: `autoclip-test-${runId}` })), denied);
    await assert.rejects(store.client.send(new GetBucketPolicyCommand({ Bucket: store.bucket })), denied);
    await assert.rejects(
      store.client.send(new PutBucketPolicyCommand({ Bucket: store.bucket, Policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }) })),
      denied,
    );
  });
});
