import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { seedReferenceData } from '../../db/seeds/reference-data';
import { createSequelize } from '../../db/sequelize';

/**
 * The test stack's owner URL (MIGRATION_DATABASE_URL, else DATABASE_URL): it creates the scratch
 * databases, migrates and seeds them. The scratch databases live in the same cluster.
 */
export function testDatabaseUrl(): string {
  const url = process.env.MIGRATION_DATABASE_URL ?? process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: run the tests with the test stack environment (.autoclip/test/stack.env)');
  return url;
}

export interface ScratchDatabase {
  /** As the owner: migrations, seeds, fixtures and checks that go around the application. */
  url: string;
  /**
   * As the platform connects (DATABASE_URL's login role, a member of app_readwrite): its
   * privileges here are the ones the migrations grant, so run them (as `url`) first.
   */
  appUrl: string;
  /** As backups connect (BACKUP_DATABASE_URL's login role, a member of app_readonly). */
  backupUrl: string;
  drop(): Promise<void>;
}

async function asAdmin(work: (client: Client) => Promise<unknown>, ownerUrl = testDatabaseUrl()): Promise<void> {
  const client = new Client({ connectionString: ownerUrl });
  await client.connect();
  try {
    await work(client);
  } finally {
    await client.end();
  }
}

/** `base` (a URL of the test stack's cluster) pointing at database `name`. */
function inDatabase(base: string, name: string): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.toString();
}

/** URLs of a cluster as its owner, the app's and the backups' login roles (default: the test stack's environment). */
export interface ClusterUrls {
  owner: string;
  app: string;
  backup: string;
}

function testClusterUrls(): ClusterUrls {
  const app = process.env.DATABASE_URL ?? testDatabaseUrl();
  return { owner: testDatabaseUrl(), app, backup: process.env.BACKUP_DATABASE_URL ?? app };
}

/**
 * Creates an empty database (from template0, so nothing added to template1 leaks in) with a
 * unique name starting with `prefix`; `drop` removes it even if connections are left open.
 */
export async function createScratchDatabase(prefix: string, cluster: ClusterUrls = testClusterUrls()): Promise<ScratchDatabase> {
  const safePrefix = prefix.toLowerCase().replace(/[^a-z0-9_]/g, '_').slice(0, 40);
  const name = `${safePrefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  await asAdmin((client) => client.query(`CREATE DATABASE "${name}" TEMPLATE template0`), cluster.owner);
  return {
    url: inDatabase(cluster.owner, name),
    appUrl: inDatabase(cluster.app, name),
    backupUrl: inDatabase(cluster.backup, name),
    drop: () => asAdmin((client) => client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`), cluster.owner),
  };
}

/** A connected client for `url`; the caller ends it. */
export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Loads the reference data (plans, system templates) as the owner, as `npm start` and `db:seed` do. */
export async function seedAsOwner(url: string): Promise<void> {
  const sequelize = createSequelize({ databaseUrl: url, databasePoolMax: 1 });
  try {
    await seedReferenceData(sequelize);
  } finally {
    await sequelize.close();
  }
}
