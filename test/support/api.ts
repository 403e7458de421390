import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createApp } from '../../api/app';
import { migrateUp } from '../../db/migrate';
import { createAppContext, type AppContext } from '../../control/app-context';
import { loadConfig } from '../../lib/config';
import { createScratchDatabase, seedAsOwner, type ScratchDatabase } from './database';

/**
 * The API over real HTTP on a loopback port, against a scratch database (migrated and seeded) and
 * the test stack's Redis, MongoDB-compatible server, MinIO and Temporal. Every response is kept,
 * so a suite can assert at the end that none carried a secret or a stack trace.
 */
export interface ApiResponse<T = any> { // eslint-disable-line @typescript-eslint/no-explicit-any
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is (for malformed JSON tests). */
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface ApiHarness {
  ctx: AppContext;
  baseUrl: string;
  responses: { method: string; path: string; status: number; text: string }[];
  request<T = any>(method: string, path: string, options?: RequestOptions): Promise<ApiResponse<T>>; // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Registers a fresh user; returns its id, access token and email. */
  register(name?: string): Promise<{ userId: string; token: string; email: string; refreshToken: string }>;
  /** Secrets the suite planted (channel tokens, passwords): none may ever come back in a response. */
  secrets: Set<string>;
  assertNoLeaks(): void;
  close(): Promise<void>;
}

export async function createApiHarness(env: Record<string, string> = {}): Promise<ApiHarness> {
  const database: ScratchDatabase = await createScratchDatabase('api');
  // Migrated and seeded as the owner; the API connects as the app's login role, as deployed.
  await migrateUp(database.url);
  await seedAsOwner(database.url);
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: database.appUrl,
    BACKUP_DATABASE_URL: database.backupUrl,
    MIGRATION_DATABASE_URL: database.url,
    API_RATE_LIMIT_PER_IP: '100000',
    API_RATE_LIMIT_PER_USER: '100000',
    API_AUTH_RATE_LIMIT_PER_IP: '100000',
    TEMPORAL_TASK_QUEUE: `api-test-${randomBytes(3).toString('hex')}`,
    ...env,
  });
  const ctx = await createAppContext(config);
  const server: Server = createApp(ctx).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  const baseUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const responses: ApiHarness['responses'] = [];
  const secrets = new Set<string>();

  const harness: ApiHarness = {
    ctx,
    baseUrl,
    responses,
    secrets,
    async request(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token) headers.authorization = `Bearer ${options.token}`;
      let body: string | undefined;
      if (options.rawBody !== undefined) {
        body = options.rawBody;
        headers['content-type'] ??= 'application/json';
      } else if (options.body !== undefined) {
        body = JSON.stringify(options.body);
        headers['content-type'] = 'application/json';
      }
      const res = await fetch(`${baseUrl}${path}`, { method, headers, body });
      const text = await res.text();
      responses.push({ method, path, status: res.status, text });
      let parsed: unknown = undefined;
      if (text && (res.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
      return { status: res.status, headers: res.headers, body: parsed as never, text };
    },
    async register(name = 'Tester') {
      const email = `user-${randomBytes(5).toString('hex')}@example.com`;
      const password = `pw-${randomBytes(8).toString('hex')}`;
      secrets.add(password);
      const res = await harness.request('POST', '/auth/register', { body: { email, password, name } });
      assert.equal(res.status, 201, res.text);
      return { userId: res.body.user.id, token: res.body.access_token, email, refreshToken: res.body.refresh_token };
    },
    assertNoLeaks() {
      for (const r of responses) {
        const where = `${r.method} ${r.path} → ${r.status}`;
        assert.ok(!/password_hash|"access_token_sealed"|scrypt\$/.test(r.text), `${where} carries a password hash`);
        assert.ok(!/\n\s+at .+\(.+:\d+:\d+\)/.test(r.text) && !/"stack"/.test(r.text), `${where} carries a stack trace`);
        assert.ok(!/v1\.[\w-]+\.[\w-]+\.[\w-]+\.[\w-]+/.test(r.text), `${where} carries sealed ciphertext`);
        for (const secret of secrets) assert.ok(!r.text.includes(secret), `${where} carries a planted secret`);
        if (r.status >= 500) assert.fail(`${where}: a server error (${r.text})`);
      }
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ctx.close();
      await database.drop();
    },
  };
  return harness;
}
