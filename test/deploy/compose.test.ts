import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { MIGRATIONS_DIR } from '../../db/migrate';
import { REQUIRED_ENV_VARS, loadConfig } from '../../lib/config';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes';

/**
 * Static checks of the deployment files (no Docker engine runs here): docker-compose.yml is read the
 * way `docker compose` reads it (YAML merge keys, then ${VAR} interpolation from deploy/.env), and
 * what the api and worker would receive is fed to the real configuration loader.
 */

const root = path.resolve(__dirname, '..', '..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

type Environment = Record<string, string | number | boolean | null> | string[];
interface Service {
  image?: string;
  build?: string | { context?: string; dockerfile?: string };
  command?: string | string[];
  environment?: Environment;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[] };
  volumes?: (string | { type?: string; source?: string; target?: string })[];
  stop_grace_period?: string;
  restart?: string;
  init?: boolean;
  profiles?: string[];
  ulimits?: Record<string, number | { soft: number; hard: number }>;
  env_file?: (string | { path: string; required?: boolean })[];
  ports?: (string | number | { target?: number; published?: string | number })[];
  expose?: (string | number)[];
}
interface ComposeFile {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
}

const composeText = read('docker-compose.yml');
const compose = parse(composeText, { merge: true }) as ComposeFile;

/** Compose's interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}. */
function interpolate(value: string, env: Record<string, string>): string {
  return value.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match: string, name: string | undefined, operator: string | undefined, argument: string | undefined, bare: string | undefined) => {
      if (match === '$$') return '$';
      if (bare) return env[bare] ?? '';
      const key = name as string;
      const isSet = key in env;
      const isNonEmpty = isSet && env[key] !== '';
      switch (operator) {
        case undefined:
          return env[key] ?? '';
        case ':-':
          return isNonEmpty ? (env[key] as string) : (argument ?? '');
        case '-':
          return isSet ? (env[key] as string) : (argument ?? '');
        case ':?':
        case '?':
          if (operator === ':?' ? !isNonEmpty : !isSet) throw new Error(`required variable ${key} is missing a value: ${argument}`);
          return env[key] as string;
        case ':+':
          return isNonEmpty ? (argument ?? '') : '';
        default:
          return isSet ? (argument ?? '') : '';
      }
    },
  );
}

function interpolateAll<T>(value: T, env: Record<string, string>): T {
  if (typeof value === 'string') return interpolate(value, env) as T;
  if (Array.isArray(value)) return value.map((item: unknown) => interpolateAll(item, env)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, interpolateAll(item, env)])) as T;
  }
  return value;
}

/** Every string value in the document (keys are never interpolated). */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

function environmentOf(service: Service): Record<string, string> {
  const environment = service.environment ?? {};
  if (Array.isArray(environment)) {
    return Object.fromEntries(
      environment.map((entry) => {
        const separator = entry.indexOf('=');
        return separator < 0 ? [entry, ''] : [entry.slice(0, separator), entry.slice(separator + 1)];
      }),
    );
  }
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, value === null ? '' : String(value)]));
}

function parseEnvFile(text: string): Record<string, string> {
  const entries = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const separator = line.indexOf('=');
      assert.ok(separator > 0, `"${line}" is KEY=VALUE`);
      return [line.slice(0, separator), line.slice(separator + 1)] as const;
    });
  return Object.fromEntries(entries);
}

function parseIni(text: string): Record<string, Record<string, string>> {
  const sections: Record<string, Record<string, string>> = {};
  let current: Record<string, string> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = sections[section[1] as string] = {};
      continue;
    }
    const separator = line.indexOf('=');
    assert.ok(current && separator > 0, `"${line}" is key = value inside a section`);
    current[line.slice(0, separator).trim()] = line.slice(separator + 1).trim();
  }
  return sections;
}

function commandOf(service: Service): string[] {
  const command = service.command ?? [];
  return Array.isArray(command) ? command : command.split(/\s+/);
}

function dependenciesOf(service: Service): Record<string, string> {
  const dependsOn = service.depends_on ?? {};
  if (Array.isArray(dependsOn)) return Object.fromEntries(dependsOn.map((name) => [name, 'service_started']));
  return Object.fromEntries(Object.entries(dependsOn).map(([name, options]) => [name, options.condition ?? 'service_started']));
}

function bindMounts(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).flatMap((volume) => {
    if (typeof volume === 'string') {
      const [source = '', target = ''] = volume.split(':');
      return source.startsWith('.') || source.startsWith('/') ? [{ source, target }] : [];
    }
    return volume.type === 'bind' && volume.source && volume.target ? [{ source: volume.source, target: volume.target }] : [];
  });
}

function namedVolumes(service: Service): string[] {
  return (service.volumes ?? []).flatMap((volume) => {
    const source = typeof volume === 'string' ? (volume.split(':')[0] ?? '') : volume.type === 'volume' ? (volume.source ?? '') : '';
    return source !== '' && !source.startsWith('.') && !source.startsWith('/') ? [source] : [];
  });
}

/** The `node …` invocations a service runs: its command, or each step of a `sh -c "a && b"` chain. */
function nodeInvocations(service: Service): string[][] {
  const command = commandOf(service);
  const steps = command[0] === 'sh' && command[1] === '-c' ? (command[2] ?? '').split('&&') : [command.join(' ')];
  return steps.map((step) => step.trim().split(/\s+/));
}

function seconds(duration: string): number {
  const units: Record<string, number> = { h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...duration.matchAll(/(\d+(?:\.\d+)?)(ms|h|m|s)/g)];
  assert.ok(parts.length > 0 && parts.map((part) => part[0]).join('') === duration, `"${duration}" is a compose duration`);
  return parts.reduce((total, part) => total + Number(part[1]) * (units[part[2] as string] as number), 0);
}

/** What an operator writes into deploy/.env: the example's values, with each empty one filled in. */
const exampleEnv = parseEnvFile(read('deploy/.env.example'));
const keyId = 'test-key';
const deployEnv: Record<string, string> = Object.fromEntries(
  Object.entries(exampleEnv).map(([name, value]) => {
    if (value !== '') return [name, value];
    if (name === 'SECRETS_ENCRYPTION_KEYS') return [name, `${keyId}:${randomBytes(32).toString('base64')}`];
    if (name === 'SECRETS_ACTIVE_KEY_ID') return [name, keyId];
    if (name === 'AUTH_TOKEN_SECRET') return [name, randomBytes(32).toString('hex')];
    return [name, `v${randomBytes(12).toString('hex')}`];
  }),
);
const resolved = interpolateAll(compose, deployEnv);
const service = (name: string): Service => {
  const found = resolved.services[name];
  assert.ok(found, `service ${name} exists`);
  return found;
};
const rawService = (name: string): Service => compose.services[name] as Service;

const APP_SERVICES = ['api', 'worker'] as const;

describe('docker-compose.yml', () => {
  it('declares the services of the deployment', () => {
    for (const name of ['temporal', 'temporal-ui', 'postgres', 'pgbouncer', 'redis', 'mongodb', 'minio', 'minio-init', 'migrate', 'api', 'worker']) {
      assert.ok(compose.services[name], `service ${name}`);
    }
  });

  it('requires every secret from deploy/.env, and deploy/.env.example names each variable it uses', () => {
    const values = stringsIn(compose);
    const referenced = new Set(values.flatMap((value) => [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1] as string)));
    const required = new Set(values.flatMap((value) => [...value.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*):?\?/g)].map((match) => match[1] as string)));
    for (const name of referenced) assert.ok(name in exampleEnv, `deploy/.env.example lists ${name}`);
    for (const name of required) assert.equal(exampleEnv[name], '', `deploy/.env.example leaves ${name} for the operator to fill`);
    for (const name of ['POSTGRES_PASSWORD', 'SECRETS_ENCRYPTION_KEYS', 'S3_SECRET_ACCESS_KEY']) assert.ok(required.has(name), `${name} is required`);

    assert.throws(() => interpolateAll(compose, {}), /required variable \w+ is missing a value/);
  });

  it('writes no secret into the file: every password, key and credential in a URL is a required variable', () => {
    const secretName = /(PASSWORD|PWD|SECRET_ACCESS_KEY|ENCRYPTION_KEYS|_AUTH)$/;
    const requiredVariable = /^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^}]*\}$/;
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const [key, value] of Object.entries(environmentOf(definition))) {
        if (secretName.test(key)) assert.match(value, requiredVariable, `${name}: ${key}`);
        const credentials = /^[a-z+]+:\/\/([^@/]*)@/.exec(value);
        if (credentials) {
          const password = (credentials[1] as string).split(':').slice(1).join(':');
          assert.match(password, requiredVariable, `${name}: ${key} takes its password from a required variable`);
        }
      }
    }
    const redisCommand = commandOf(rawService('redis'));
    assert.match(redisCommand[redisCommand.indexOf('--requirepass') + 1] ?? '', requiredVariable);
  });

  it('builds api, worker and migrate from the Dockerfile and runs files the build produces', () => {
    const buildInclude = (JSON.parse(read('tsconfig.build.json')) as { include: string[] }).include;
    for (const name of [...APP_SERVICES, 'migrate']) {
      const { build } = rawService(name);
      assert.ok(build, `${name} has build`);
      const context = typeof build === 'string' ? build : (build.context ?? '.');
      const dockerfile = typeof build === 'string' ? 'Dockerfile' : (build.dockerfile ?? 'Dockerfile');
      assert.equal(path.resolve(root, context), root, `${name} builds from the repository root`);
      assert.equal(dockerfile, 'Dockerfile');
      assert.ok(existsSync(path.join(root, context, dockerfile)));

      for (const [program, script] of nodeInvocations(rawService(name))) {
        assert.equal(program, 'node', `${name} runs node`);
        const compiled = /^dist\/(.+)\.js$/.exec(script ?? '');
        assert.ok(compiled, `${name} runs a compiled file under dist/ (${script})`);
        const source = `${compiled[1]}.ts`;
        assert.ok(existsSync(path.join(root, source)), `${name}: ${source} exists`);
        assert.ok(
          buildInclude.some((entry) => source === entry || source.startsWith(`${entry}/`)),
          `${name}: ${source} is compiled by tsconfig.build.json`,
        );
      }
    }
    assert.deepEqual(commandOf(rawService('api')), ['node', 'dist/api/server.js']);
    assert.deepEqual(commandOf(rawService('worker')), ['node', 'dist/worker.js']);
  });

  it('migrates, then loads the reference data (plans, system templates) so that someone can subscribe and produce', () => {
    assert.deepEqual(nodeInvocations(rawService('migrate')), [
      ['node', 'dist/scripts/db.js', 'migrate', '--login-roles'],
      ['node', 'dist/scripts/db.js', 'seed'],
    ]);
    const [shell, flag, chain] = commandOf(rawService('migrate'));
    assert.deepEqual([shell, flag], ['sh', '-c']);
    assert.doesNotMatch(chain ?? '', /;|\|\||\n/, 'the seed runs only after the migrations succeeded, and a failure fails the step');
    // The seed command of scripts/db.ts loads db/seeds/reference-data.ts, as the owner (MIGRATION_DATABASE_URL).
    const dbScript = read('scripts/db.ts');
    assert.match(dbScript, /case 'seed': \{[\s\S]*?await seedReferenceData\(sequelize\)/);
    assert.match(dbScript, /from '\.\.\/db\/seeds\/reference-data'/);
    assert.ok(environmentOf(service('migrate')).MIGRATION_DATABASE_URL, 'the seed connects as the owner');
  });

  it('gives api and worker every variable lib/config.ts requires, and loadConfig accepts what they get', () => {
    assert.ok(REQUIRED_ENV_VARS.includes('DATABASE_URL') && REQUIRED_ENV_VARS.length >= 9, 'the list is read from the schema');
    for (const name of [...APP_SERVICES, 'migrate']) {
      const env = environmentOf(service(name));
      for (const variable of [...REQUIRED_ENV_VARS, 'S3_ENDPOINT', 'S3_FORCE_PATH_STYLE', 'TEMPORAL_UI_URL']) {
        assert.ok(env[variable], `${name} sets ${variable}`);
      }
      const config = loadConfig(env);
      assert.equal(config.nodeEnv, 'production');
      assert.equal(config.s3.forcePathStyle, true);
      assert.equal(config.secrets.activeKeyId, keyId);
    }
  });

  it('reads optional settings for api and worker from an env file that may be absent, documented by an example', () => {
    for (const name of APP_SERVICES) {
      const envFiles = rawService(name).env_file ?? [];
      assert.ok(envFiles.length > 0, `${name} has an env_file`);
      for (const envFile of envFiles) {
        assert.ok(typeof envFile === 'object' && envFile.required === false, `${name}: ${JSON.stringify(envFile)} is optional`);
        assert.ok(existsSync(path.join(root, `${envFile.path}.example`)), `${envFile.path}.example exists`);
      }
    }
  });

  it('sends api and worker through PgBouncer in transaction mode (seed §9.2), and migrations straight to PostgreSQL', () => {
    const mount = bindMounts(rawService('pgbouncer')).find((volume) => volume.target === '/etc/pgbouncer/pgbouncer.ini');
    assert.ok(mount, 'pgbouncer mounts its configuration file');
    const ini = parseIni(read(mount.source));
    const settings = ini.pgbouncer ?? {};
    assert.equal(settings.pool_mode, 'transaction');
    assert.equal(settings.max_client_conn, '1000');
    assert.equal(settings.default_pool_size, '25');
    assert.equal(settings.reserve_pool_size, '5');

    const pgbouncerEnv = environmentOf(service('pgbouncer'));
    // The image's entrypoint writes DB_USER/DB_PASSWORD to /etc/pgbouncer/userlist.txt, hashed unless AUTH_TYPE says SCRAM.
    assert.equal(settings.auth_file, '/etc/pgbouncer/userlist.txt');
    assert.equal(pgbouncerEnv.AUTH_TYPE, settings.auth_type);
    const nofile = rawService('pgbouncer').ulimits?.nofile;
    const descriptors = typeof nofile === 'number' ? nofile : (nofile?.soft ?? 1024);
    assert.ok(descriptors > Number(settings.max_client_conn) + Number(settings.default_pool_size) + Number(settings.reserve_pool_size), 'a descriptor per connection');

    const postgresEnv = environmentOf(service('postgres'));
    for (const name of APP_SERVICES) {
      const url = new URL(environmentOf(service(name)).DATABASE_URL ?? '');
      assert.equal(url.hostname, 'pgbouncer', `${name} connects to pgbouncer`);
      assert.equal(url.port, settings.listen_port ?? '6432');
      const database = url.pathname.slice(1);
      assert.match(ini.databases?.[database] ?? '', /(^|\s)host=postgres(\s|$)/, `pgbouncer forwards database ${database} to postgres`);
      assert.equal(decodeURIComponent(url.username), pgbouncerEnv.DB_USER);
      assert.equal(decodeURIComponent(url.password), pgbouncerEnv.DB_PASSWORD);
    }

    const direct = new URL(environmentOf(service('migrate')).MIGRATION_DATABASE_URL ?? '');
    assert.equal(direct.hostname, 'postgres');
    assert.equal(direct.pathname, `/${postgresEnv.POSTGRES_DB}`);
    assert.equal(decodeURIComponent(direct.username), postgresEnv.POSTGRES_USER);
    assert.equal(decodeURIComponent(direct.password), postgresEnv.POSTGRES_PASSWORD);
  });

  it('connects each process as its own PostgreSQL role (seed §8.2): the app, the backups, and the owner for migrations only', () => {
    const postgresEnv = environmentOf(service('postgres'));
    const owner = postgresEnv.POSTGRES_USER ?? '';
    const ownerPassword = postgresEnv.POSTGRES_PASSWORD ?? '';
    const user = (value: string | undefined) => decodeURIComponent(new URL(value ?? '').username);
    const password = (value: string | undefined) => decodeURIComponent(new URL(value ?? '').password);

    // The login roles are the ones migration 008 creates, as members of the group roles of 005.
    const migration = read(path.join(path.relative(root, MIGRATIONS_DIR), '008_app_login_roles.up.sql'));
    assert.match(migration, /\('autoclip_app', 'app_readwrite'\)/);
    assert.match(migration, /\('autoclip_backup', 'app_readonly'\)/);

    for (const name of APP_SERVICES) {
      const env = environmentOf(service(name));
      const config = loadConfig(env);
      assert.equal(user(config.databaseUrl), 'autoclip_app', `${name} connects as the app's login role`);
      assert.equal(user(config.backupDatabaseUrl), 'autoclip_backup', `${name} backs up as the read-only login role`);
      assert.equal(new URL(config.backupDatabaseUrl).hostname, 'postgres', 'pg_dump goes straight to PostgreSQL');
      assert.equal(env.MIGRATION_DATABASE_URL, undefined, `${name} is not given the owner's URL`);
      for (const [key, value] of Object.entries(env)) assert.ok(!value.includes(ownerPassword), `${name}: ${key} does not carry the owner's password`);
    }
    const rawApp = environmentOf(rawService('api'));
    assert.match(rawApp.DATABASE_URL ?? '', /^postgres:\/\/autoclip_app:\$\{POSTGRES_APP_PASSWORD:\?[^}]*\}@/);
    assert.match(rawApp.BACKUP_DATABASE_URL ?? '', /^postgres:\/\/autoclip_backup:\$\{POSTGRES_BACKUP_PASSWORD:\?[^}]*\}@/);
    for (const name of ['POSTGRES_APP_PASSWORD', 'POSTGRES_BACKUP_PASSWORD']) assert.equal(exampleEnv[name], '', `deploy/.env.example leaves ${name} to fill`);

    // The migrate step: migrations and seeds as the owner; then it sets the passwords of the very
    // login roles api and worker use (from DATABASE_URL and BACKUP_DATABASE_URL).
    const migrate = loadConfig(environmentOf(service('migrate')));
    assert.equal(user(migrate.migrationDatabaseUrl), owner);
    assert.equal(password(migrate.migrationDatabaseUrl), ownerPassword);
    assert.ok(nodeInvocations(rawService('migrate')).some((invocation) => invocation.includes('--login-roles')));
    const api = loadConfig(environmentOf(service('api')));
    assert.equal(user(migrate.databaseUrl), user(api.databaseUrl));
    assert.equal(password(migrate.databaseUrl), password(api.databaseUrl));
    assert.equal(user(migrate.backupDatabaseUrl), user(api.backupDatabaseUrl));
    assert.equal(password(migrate.backupDatabaseUrl), password(api.backupDatabaseUrl));
    assert.equal(new Set([ownerPassword, password(api.databaseUrl), password(api.backupDatabaseUrl)]).size, 3, 'three different passwords');

    // PgBouncer knows the app's login role only, and gives it no admin console.
    const pgbouncerEnv = environmentOf(service('pgbouncer'));
    assert.equal(pgbouncerEnv.DB_USER, 'autoclip_app');
    assert.notEqual(pgbouncerEnv.DB_PASSWORD, ownerPassword);
    const mount = bindMounts(rawService('pgbouncer')).find((volume) => volume.target === '/etc/pgbouncer/pgbouncer.ini');
    assert.equal(parseIni(read(mount?.source ?? '')).pgbouncer?.admin_users, undefined);
  });

  it('wires each store with the credentials the store is given', () => {
    const env = environmentOf(service('worker'));
    const redis = new URL(env.REDIS_URL ?? '');
    assert.equal(redis.hostname, 'redis');
    const redisCommand = commandOf(service('redis'));
    assert.equal(decodeURIComponent(redis.password), redisCommand[redisCommand.indexOf('--requirepass') + 1]);

    const mongo = new URL(env.MONGODB_URL ?? '');
    const mongoEnv = environmentOf(service('mongodb'));
    assert.equal(mongo.hostname, 'mongodb');
    assert.equal(decodeURIComponent(mongo.username), mongoEnv.MONGO_APP_USER);
    assert.equal(decodeURIComponent(mongo.password), mongoEnv.MONGO_APP_PASSWORD);
    assert.equal(mongo.pathname, `/${mongoEnv.MONGO_APP_DATABASE}`, 'the app user lives in the database the URL names');
    assert.ok(bindMounts(rawService('mongodb')).some((volume) => volume.target.startsWith('/docker-entrypoint-initdb.d/')));

    const minioInit = environmentOf(service('minio-init'));
    assert.equal(new URL(env.S3_ENDPOINT ?? '').hostname, 'minio');
    for (const name of ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY']) assert.equal(env[name], minioInit[name], name);
    assert.notEqual(env.S3_ACCESS_KEY_ID, environmentOf(service('minio')).MINIO_ROOT_USER, 'the app does not use the MinIO root account');

    assert.equal(env.TEMPORAL_ADDRESS, 'temporal:7233');
    assert.equal(environmentOf(service('temporal-ui')).TEMPORAL_ADDRESS, 'temporal:7233');
  });

  it('runs Temporal on PostgreSQL and registers the search attributes the workflows use', () => {
    const temporal = environmentOf(service('temporal'));
    assert.equal(temporal.DB, 'postgres12');
    assert.ok(compose.services[temporal.POSTGRES_SEEDS ?? ''], `Temporal's database ${temporal.POSTGRES_SEEDS} is a service`);
    assert.equal(environmentOf(service('temporal-schema')).SQL_PASSWORD, temporal.POSTGRES_PWD);

    const registered = (environmentOf(service('temporal-init')).TEMPORAL_SEARCH_ATTRIBUTES ?? '').split(/\s+/).filter(Boolean);
    const cliType: Record<string, string> = {
      TEXT: 'Text',
      KEYWORD: 'Keyword',
      INT: 'Int',
      DOUBLE: 'Double',
      BOOL: 'Bool',
      DATETIME: 'Datetime',
      KEYWORD_LIST: 'KeywordList',
    };
    assert.deepEqual(registered.sort(), SEARCH_ATTRIBUTES.map((key) => `${key.name}=${cliType[key.type]}`).sort());
    assert.equal(environmentOf(service('temporal-init')).TEMPORAL_NAMESPACE, environmentOf(service('api')).TEMPORAL_NAMESPACE);
  });

  it('snapshots Redis every 4 hours (seed §7)', () => {
    assert.match(commandOf(service('redis')).join(' '), /(^| )--save 14400 1( |$)/);
  });

  it('health-checks what others wait for, keeps store data in named volumes, and mounts files that exist', () => {
    for (const [name, definition] of Object.entries(compose.services)) {
      for (const [dependency, condition] of Object.entries(dependenciesOf(definition))) {
        const target = compose.services[dependency];
        assert.ok(target, `${name} depends on an existing service ${dependency}`);
        assert.ok(!target.profiles, `${name} depends on ${dependency}, which always starts`);
        if (condition === 'service_healthy') assert.ok(target.healthcheck?.test, `${dependency} has a healthcheck (${name} waits for it)`);
        if (condition === 'service_completed_successfully') assert.ok([undefined, 'no'].includes(target.restart), `${dependency} is a one-shot`);
      }
      for (const volume of bindMounts(definition)) assert.ok(existsSync(path.join(root, volume.source)), `${name} mounts ${volume.source}`);
      for (const volume of namedVolumes(definition)) assert.ok(volume in (compose.volumes ?? {}), `${name}: volume ${volume} is declared`);
    }
    for (const store of ['postgres', 'temporal-postgresql', 'redis', 'mongodb', 'minio']) {
      assert.ok(rawService(store).healthcheck?.test, `${store} has a healthcheck`);
      assert.equal(namedVolumes(rawService(store)).length, 1, `${store} keeps its data in a named volume`);
    }
    for (const name of APP_SERVICES) {
      const dependencies = dependenciesOf(rawService(name));
      assert.equal(dependencies.migrate, 'service_completed_successfully', `${name} starts after the migrations`);
      for (const store of ['pgbouncer', 'redis', 'mongodb']) assert.equal(dependencies[store], 'service_healthy', `${name} waits for ${store}`);
      assert.equal(dependencies['minio-init'], 'service_completed_successfully');
      assert.equal(dependencies['temporal-init'], 'service_completed_successfully');
    }
    assert.equal(dependenciesOf(rawService('migrate')).postgres, 'service_healthy');
  });

  it('puts Caddy in front of the api (seed §8.1): HTTPS for the domain from deploy/.env, certificates renewed automatically, the api not published', () => {
    const caddy = rawService('caddy');
    assert.match(caddy.image ?? '', /^caddy:2(\.|$)/, 'the official caddy:2 image');
    const published = (caddy.ports ?? []).map((port) => (typeof port === 'object' ? `${port.published}:${port.target}` : String(port)));
    for (const port of ['80:80', '443:443']) assert.ok(published.includes(port), `caddy publishes ${port} (ACME and the redirect need 80)`);

    // The domain and the ACME account's email come from deploy/.env, required and left for the operator.
    const rawEnv = environmentOf(caddy);
    for (const name of ['AUTOCLIP_DOMAIN', 'ACME_EMAIL']) {
      assert.match(rawEnv[name] ?? '', new RegExp(`^\\$\\{${name}:\\?[^}]*\\}$`), `caddy's ${name} is a required variable`);
      assert.equal(exampleEnv[name], '', `deploy/.env.example leaves ${name} for the operator to fill`);
    }
    const caddyEnv = environmentOf(service('caddy'));
    assert.equal(caddyEnv.AUTOCLIP_DOMAIN, deployEnv.AUTOCLIP_DOMAIN);

    // The Caddyfile it mounts: a site for {$AUTOCLIP_DOMAIN} (automatic HTTPS: certificate, renewal,
    // HTTP→HTTPS redirect), TLS 1.3 only, HSTS, and every request proxied to the api.
    const mount = bindMounts(caddy).find((volume) => volume.target === '/etc/caddy/Caddyfile');
    assert.ok(mount, 'caddy mounts its Caddyfile');
    assert.equal(path.normalize(mount.source), path.join('deploy', 'caddy', 'Caddyfile'));
    const lines = read(mount.source)
      .split('\n')
      .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
      .filter(Boolean);
    assert.ok(lines.includes('{$AUTOCLIP_DOMAIN} {'), 'a site block for {$AUTOCLIP_DOMAIN}');
    assert.ok(lines.includes('email {$ACME_EMAIL}'), 'the ACME account email');
    for (const variable of [...read(mount.source).matchAll(/\{\$([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1] as string)) {
      assert.ok(caddyEnv[variable], `caddy's environment sets ${variable}, which the Caddyfile reads`);
    }
    assert.ok(lines.includes('protocols tls1.3'), 'TLS 1.3 only');
    assert.ok(lines.some((line) => /^header Strict-Transport-Security "max-age=31536000; includeSubDomains"$/.test(line)), 'HSTS');
    assert.ok(!lines.some((line) => /\bauto_https\b|^tls internal\b|^http:\/\//.test(line)), 'automatic HTTPS stays on, with a publicly trusted certificate');
    const upstream = lines.find((line) => line.startsWith('reverse_proxy '))?.split(/\s+/).slice(1);
    assert.deepEqual(upstream, [`api:${environmentOf(service('api')).API_PORT}`], 'caddy proxies to the api on its port');
    assert.ok('api' in dependenciesOf(caddy), 'caddy starts with the api');
    // Certificates and the ACME account survive a restart (no new issuance, no rate limit hit).
    const dataVolume = (caddy.volumes ?? []).find((volume) => typeof volume === 'string' && volume.endsWith(':/data'));
    assert.ok(typeof dataVolume === 'string' && namedVolumes(caddy).includes(dataVolume.split(':')[0] as string), 'caddy keeps /data in a named volume');

    // The api is reached only through caddy: it publishes no port, and serves plain HTTP inside.
    const api = rawService('api');
    assert.equal(api.ports, undefined, 'the api publishes no port to the host');
    for (const [name, definition] of Object.entries(compose.services)) {
      if (name === 'caddy') continue;
      for (const port of definition.ports ?? []) {
        const spec = typeof port === 'object' ? `${port.published}:${port.target}` : String(port);
        assert.match(spec, /^127\.0\.0\.1:/, `${name} publishes ${spec} on loopback only`);
      }
    }
    assert.equal(loadConfig(environmentOf(service('api'))).api.tls, undefined, 'caddy terminates TLS; the api speaks HTTP on the compose network');
  });

  it('lets the worker finish its renders on shutdown and caps its heap', () => {
    const worker = service('worker');
    const unitSeconds: Record<string, number> = { second: 1, minute: 60, hour: 3600 };
    const graceTimes = [...read('worker.ts').matchAll(/shutdownGraceTime:\s*'(\d+) (second|minute|hour)s?'/g)].map(
      (match) => Number(match[1]) * (unitSeconds[match[2] as string] ?? Number.NaN),
    );
    assert.ok(graceTimes.length > 0, "worker.ts gives its workers a literal shutdownGraceTime (update this test if that moved)");
    assert.ok(
      seconds(worker.stop_grace_period ?? '10s') > Math.max(...graceTimes),
      `stop_grace_period (${worker.stop_grace_period}) outlasts the workers' shutdownGraceTime (${Math.max(...graceTimes)} s)`,
    );
    assert.equal(worker.init, true);
    assert.match(environmentOf(worker).NODE_OPTIONS ?? '', /--max-old-space-size=\d+/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const args = Object.fromEntries(
    instructions.flatMap((line) => {
      const arg = /^ARG\s+(\w+)=(\S+)$/.exec(line);
      return arg ? [[arg[1], arg[2]]] : [];
    }),
  );
  const runs = instructions.filter((line) => line.startsWith('RUN '));

  it('builds on node:24-bookworm-slim in every stage', () => {
    const bases = instructions.filter((line) => line.startsWith('FROM ')).map((line) => interpolate(line.split(/\s+/)[1] ?? '', args));
    assert.ok(bases.length >= 2, 'a multi-stage build');
    for (const base of bases) assert.equal(base, 'node:24-bookworm-slim');
  });

  it('installs ffmpeg, espeak-ng and the CJK fonts in the runtime image', () => {
    const stages = dockerfile.split(/^FROM /m);
    const install = stages[stages.length - 1]?.replace(/\\\n/g, ' ').split('\n').find((line) => /apt-get install/.test(line));
    assert.ok(install, 'the last stage installs OS packages');
    const packages = install.split(/\s+/);
    for (const name of ['ffmpeg', 'espeak-ng', 'fonts-noto-cjk']) assert.ok(packages.includes(name), name);
  });

  it('installs with npm ci, compiles with npm run build, and ships the SQL migrations where the migrator reads them', () => {
    assert.ok(runs.some((line) => /\bnpm ci\b/.test(line)));
    assert.ok(runs.some((line) => /\bnpm run build\b/.test(line)));
    const relative = path.relative(root, MIGRATIONS_DIR);
    assert.equal(relative, path.join('db', 'migrations'));
    assert.ok(
      instructions.some((line) => line.startsWith('COPY ') && line.endsWith(`${relative} ./dist/${relative}`)),
      `the runtime image has dist/${relative}`,
    );
    const cmd = instructions.find((line) => line.startsWith('CMD '));
    assert.deepEqual(JSON.parse(cmd?.slice(4) ?? '[]'), ['node', 'dist/api/server.js']);
  });

  it('keeps the build context free of local state but not of the sources', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'));
    for (const entry of ['node_modules', '.git', '.autoclip', 'dist', '**/.env']) assert.ok(ignored.includes(entry), `${entry} is ignored`);
    const buildInclude = (JSON.parse(read('tsconfig.build.json')) as { include: string[] }).include;
    for (const needed of [...buildInclude, 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'db/migrations']) {
      assert.ok(!ignored.includes(needed), `${needed} reaches the build`);
    }
  });
});
