import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect, type SecureVersion, type TLSSocket } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { createAppContext, type AppContext } from '../../control/app-context';
import { startApi, STRICT_TRANSPORT_SECURITY, type RunningApi } from '../../api/server';
import { ConfigError, loadConfig } from '../../lib/config';
import { minimalEnv } from '../support/env';

/**
 * The API's own HTTPS (seed §8.1, TLS 1.3): started as in production (`startApi`) with a self-signed
 * certificate made here by openssl, and spoken to by real TLS clients.
 */

function makeCertificate(dir: string): { certFile: string; keyFile: string; cert: Buffer } {
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '1', '-keyout', keyFile, '-out', certFile],
    { stdio: 'pipe' },
  );
  return { certFile, keyFile, cert: readFileSync(certFile) };
}

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  protocol: string | null;
}

function get(url: string, ca: Buffer, versions: { minVersion?: SecureVersion; maxVersion?: SecureVersion } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca, agent: false, ...versions }, (res) => {
      const protocol = (res.socket as TLSSocket).getProtocol();
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), protocol }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** A bare TLS handshake: resolves with the negotiated protocol, rejects with the handshake's error. */
function handshake(port: number, ca: Buffer, versions: { minVersion?: SecureVersion; maxVersion?: SecureVersion }): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca, ...versions }, () => {
      const protocol = socket.getProtocol();
      socket.end();
      resolve(protocol);
    });
    socket.once('error', reject);
  });
}

describe('API over TLS', () => {
  let dir: string;
  let tls: ReturnType<typeof makeCertificate>;
  let ctx: AppContext;
  let api: RunningApi;

  before(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'autoclip-tls-'));
    tls = makeCertificate(dir);
    // Other suites share the test stack's Redis, where the per-IP counts live: limits out of the way.
    const limits = { API_RATE_LIMIT_PER_IP: '100000', API_RATE_LIMIT_PER_USER: '100000', API_AUTH_RATE_LIMIT_PER_IP: '100000' };
    ctx = await createAppContext(loadConfig({ ...process.env, ...limits, API_TLS_CERT_FILE: tls.certFile, API_TLS_KEY_FILE: tls.keyFile }));
    api = await startApi(ctx, 0, '127.0.0.1');
  });
  after(async () => {
    await api?.stop();
    await ctx?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves HTTPS on TLS 1.3, with Strict-Transport-Security on every response', async () => {
    assert.match(api.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const health = await get(`${api.url}/healthz`, tls.cert, { minVersion: 'TLSv1.3' });
    assert.equal(health.protocol, 'TLSv1.3');
    assert.equal(health.status, 200, health.body);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
    assert.equal(health.headers['strict-transport-security'], STRICT_TRANSPORT_SECURITY);
    assert.match(STRICT_TRANSPORT_SECURITY, /^max-age=31536000; includeSubDomains$/);

    // Errors too: an unknown route, an unauthenticated one, a malformed path.
    for (const [pathname, status] of [['/no/such/route', 404], ['/me', 401], ['/contents/%ZZ', 400]] as const) {
      const res = await get(`${api.url}${pathname}`, tls.cert);
      assert.equal(res.status, status, `${pathname}: ${res.body}`);
      assert.equal(res.headers['strict-transport-security'], STRICT_TRANSPORT_SECURITY, pathname);
      assert.equal(JSON.parse(res.body).error.status, status);
    }
    // The client's default (TLS 1.2 to 1.3) negotiates 1.3.
    assert.equal(await handshake(Number(new URL(api.url).port), tls.cert, {}), 'TLSv1.3');
  });

  it('refuses a client that speaks at most TLS 1.2', async () => {
    const port = Number(new URL(api.url).port);
    await assert.rejects(handshake(port, tls.cert, { maxVersion: 'TLSv1.2' }), (err: NodeJS.ErrnoException) => {
      assert.match(`${err.code} ${err.message}`, /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|protocol version/i);
      return true;
    });
    await assert.rejects(get(`${api.url}/healthz`, tls.cert, { maxVersion: 'TLSv1.2' }), /PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|protocol version/i);
    // Still serving 1.3 afterwards.
    assert.equal((await get(`${api.url}/healthz`, tls.cert)).status, 200);
  });

  it('serves plain HTTP without Strict-Transport-Security when no certificate is configured', async () => {
    const plain = await startApi({ ...ctx, config: { ...ctx.config, api: { ...ctx.config.api, tls: undefined } } }, 0, '127.0.0.1');
    try {
      assert.match(plain.url, /^http:\/\//);
      const res = await fetch(`${plain.url}/healthz`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('strict-transport-security'), null);
    } finally {
      await plain.stop();
    }
  });
});

describe('TLS configuration', () => {
  it('takes both files or neither, and each must be readable', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'autoclip-tls-config-'));
    try {
      const cert = path.join(dir, 'cert.pem');
      const key = path.join(dir, 'key.pem');
      writeFileSync(cert, 'x');
      writeFileSync(key, 'x');
      assert.equal(loadConfig(minimalEnv()).api.tls, undefined);
      assert.deepEqual(loadConfig({ ...minimalEnv(), API_TLS_CERT_FILE: cert, API_TLS_KEY_FILE: key }).api.tls, { certFile: cert, keyFile: key });

      for (const env of [{ API_TLS_CERT_FILE: cert }, { API_TLS_KEY_FILE: key }]) {
        assert.throws(
          () => loadConfig({ ...minimalEnv(), ...env }),
          (err: unknown) => err instanceof ConfigError && /"API_TLS_CERT_FILE" and "API_TLS_KEY_FILE" go together/.test(err.message),
        );
      }
      const missing = path.join(dir, 'missing.pem');
      assert.throws(
        () => loadConfig({ ...minimalEnv(), API_TLS_CERT_FILE: cert, API_TLS_KEY_FILE: missing }),
        (err: unknown) => err instanceof ConfigError && err.message.includes(`"API_TLS_KEY_FILE" names ${missing}, which cannot be read`),
      );
      if (process.getuid?.() !== 0) {
        chmodSync(key, 0o000);
        assert.throws(() => loadConfig({ ...minimalEnv(), API_TLS_CERT_FILE: cert, API_TLS_KEY_FILE: key }), /"API_TLS_KEY_FILE" names .+, which cannot be read/);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
