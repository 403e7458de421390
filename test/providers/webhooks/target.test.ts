import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { checkTargetUrl, isPublicAddress, postToTarget, resolveTarget, WebhookTargetError } from '../../../providers/webhooks/target';

const PRODUCTION = { allowPrivate: false, requireHttps: true };
const LOCAL = { allowPrivate: true, requireHttps: false };

describe('webhook targets', () => {
  it('tells public addresses from private, loopback, link-local, shared and special ones, in both families', () => {
    for (const address of ['8.8.8.8', '1.1.1.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '::ffff:808:808']) assert.equal(isPublicAddress(address), true, address);
    for (const address of [
      '127.0.0.1', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.64.0.1', '0.0.0.0', '224.0.0.1',
      '255.255.255.255', '198.18.0.1', '::1', '::', 'fe80::1', 'fd00::1', 'fc00::1', 'ff02::1', '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:7f00:1', '::ffff:a9fe:a9fe', '64:ff9b::a00:1', '2001:db8::1', 'not-an-ip',
    ]) assert.equal(isPublicAddress(address), false, address);
  });

  it('refuses in production what is not https, carries credentials or names a private host; the local stack allows loopback over http', () => {
    const refused = (url: string, reason: RegExp) => assert.throws(() => checkTargetUrl(url, PRODUCTION), (err: unknown) => err instanceof WebhookTargetError && reason.test(err.message), url);
    refused('http://hooks.example.com/in', /https/);
    refused('ftp://hooks.example.com/in', /https/);
    refused('not a url', /not a URL/);
    refused('https://user:pass@hooks.example.com/in', /user name or password/);
    for (const url of ['https://localhost/in', 'https://api.localhost/in', 'https://127.0.0.1/in', 'https://[::1]/in', 'https://169.254.169.254/latest/meta-data', 'https://10.0.0.5/in', 'https://[::ffff:192.168.0.1]/in']) {
      refused(url, /public address/);
    }
    assert.equal(checkTargetUrl('https://hooks.example.com/in?x=1', PRODUCTION).href, 'https://hooks.example.com/in?x=1');
    assert.equal(checkTargetUrl('http://127.0.0.1:8080/in', LOCAL).port, '8080');
  });

  it('resolves a name once and refuses it when any of its addresses is not public', async () => {
    const answers = (...addresses: string[]) => async () => addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    const ok = await resolveTarget('https://hooks.example.com/in', PRODUCTION, answers('93.184.216.34'));
    assert.deepEqual([ok.address, ok.family, ok.url.hostname], ['93.184.216.34', 4, 'hooks.example.com']);
    await assert.rejects(resolveTarget('https://rebind.example.com/in', PRODUCTION, answers('93.184.216.34', '127.0.0.1')), /resolves to 127\.0\.0\.1/);
    await assert.rejects(resolveTarget('https://inward.example.com/in', PRODUCTION, answers('fd12::1')), /not a public address/);
    await assert.rejects(resolveTarget('https://nowhere.example.com/in', PRODUCTION, answers()), /does not resolve/);
    const local = await resolveTarget('http://receiver.test/in', LOCAL, answers('127.0.0.1'));
    assert.equal(local.address, '127.0.0.1');
  });

  describe('posting', () => {
    let server: Server;
    let port: number;
    const received: { host?: string; body: string; headers: Record<string, unknown> }[] = [];
    before(async () => {
      server = createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        req.on('end', () => {
          if (req.url === '/silent') return;
          received.push({ host: req.headers.host, body, headers: req.headers });
          res.writeHead(req.url === '/fail' ? 503 : 204).end(req.url === '/fail' ? 'busy' : undefined);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
    });
    after(async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it('connects to the pinned address under the URL’s own host name, and reports the status and the start of the answer', async () => {
      // The name has no DNS entry: only the pinned address reaches the receiver.
      const target = { url: new URL(`http://receiver.invalid:${port}/in`), address: '127.0.0.1', family: 4 as const };
      const ok = await postToTarget(target, { 'webhook-id': 'msg_1' }, '{"a":1}', { timeoutMs: 5000 });
      assert.equal(ok.status, 204);
      assert.equal(received.at(-1)?.host, `receiver.invalid:${port}`);
      assert.equal(received.at(-1)?.body, '{"a":1}');
      assert.equal(received.at(-1)?.headers['webhook-id'], 'msg_1');
      assert.equal(received.at(-1)?.headers['content-type'], 'application/json');
      const failed = await postToTarget({ ...target, url: new URL(`http://receiver.invalid:${port}/fail`) }, {}, '{}', { timeoutMs: 5000 });
      assert.deepEqual([failed.status, failed.body], [503, 'busy']);
    });

    it('gives up on a receiver that does not answer within the timeout', async () => {
      const started = Date.now();
      await assert.rejects(postToTarget({ url: new URL(`http://receiver.invalid:${port}/silent`), address: '127.0.0.1', family: 4 }, {}, '{}', { timeoutMs: 300 }), /no answer within 300 ms/);
      assert.ok(Date.now() - started < 3000);
    });
  });
});
