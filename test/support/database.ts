import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** The test stack's database URL; the scratch databases live in the same cluster. */
export function testDatabaseUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with the test stack environment (.autoclip/test/stack.env)');
  return url;
}

export interface ScratchDatabase {
  url: string;
  drop(): Promise<void>;
}

async function asAdmin(work: (client: Client) => Promise<unknown>): Promise<void> {
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/**
 * Creates an empty database (from template0, so nothing added to template1 leaks in) with a
 * unique name starting with `prefix`; `drop` removes it even if connections are left open.
 */
export async function createScratchDatabase(prefix: string): Promise<ScratchDatabase> {
  const safePrefix = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  const name = `${safePrefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await asAdmin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE template0`));
  const url = new URL(testDatabaseUrl());
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => asAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)),
  };
}

/** A connected client for `url`; the caller ends it. */
export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}
