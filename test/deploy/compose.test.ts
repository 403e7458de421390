import assert from 'node:assert/strict';
import { BACKUP_RETENTION_DAYS } from '../../db/backups';
import { execFileSync } from 'node:child_process';
import { X509Certificate, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { MIGRATIONS_DIR } from '../../db/migrate';
import { REQUIRED_ENV_VARS, loadConfig } from '../../lib/config';
import { registry } from '../../lib/metrics';
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
  entrypoint?: string | string[];
  user?: string;
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

function namedVolumeMounts(service: Service): { source: string; target: string }[] {
  return (service.volumes ?? []).flatMap((volume) => {
    const [source = '', target = ''] =
      typeof volume === 'string' ? volume.split(':') : volume.type === 'volume' ? [volume.source ?? '', volume.target ?? ''] : [];
    return source !== '' && !source.startsWith('.') && !source.startsWith('/') ? [{ source, target }] : [];
  });
}

function namedVolumes(service: Service): string[] {
  return namedVolumeMounts(service).map((volume) => volume.source);
}

/** The named volume mounted at `target`, if any. */
function namedVolumeAt(service: Service, target: string): string | undefined {
  return namedVolumeMounts(service).find((volume) => volume.target === target)?.source;
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
    for (const name of [
      'temporal',
      'temporal-ui',
      'temporal-postgresql',
      'temporal-pgbackrest',
      'postgres',
      'pgbackrest',
      'pgbouncer',
      'redis',
      'mongodb',
      'internal-tls',
      'minio',
      'minio-replica',
      'minio-init',
      'migrate',
      'api',
      'worker',
    ]) {
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
    const secretName = /(PASSWORD|PWD|SECRET|SECRET_ACCESS_KEY|SECRET_KEY|ENCRYPTION_KEYS|_AUTH)$/;
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
    assert.equal(new URL(env.S3_ENDPOINT ?? '').host, minioInit.MINIO_HOST, 'the app and minio-init speak to the same site');
    for (const name of ['S3_BUCKET', 'S3_ACCESS_KEY_ID', 'S3_SECRET_ACCESS_KEY', 'S3_BACKUP_BUCKET']) assert.equal(env[name], minioInit[name], name);
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
    const dataPaths: Record<string, string> = {
      postgres: '/var/lib/postgresql/data',
      'temporal-postgresql': '/var/lib/postgresql/data',
      redis: '/data',
      mongodb: '/data/db',
      minio: '/data',
      'minio-replica': '/data',
    };
    const dataVolumes = Object.entries(dataPaths).map(([store, target]) => {
      assert.ok(rawService(store).healthcheck?.test, `${store} has a healthcheck`);
      const volume = namedVolumeAt(rawService(store), target);
      assert.ok(volume, `${store} keeps its data (${target}) in a named volume`);
      return volume;
    });
    assert.equal(new Set(dataVolumes).size, dataVolumes.length, 'no two stores share a data volume');
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
    assert.ok(lines.includes('respond /metrics 404'), 'the metrics are not served on the public site');
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

/** deploy/minio/init.sh as the shell reads it: comments dropped, continued lines joined. */
const initScript = read('deploy/minio/init.sh');
const initLines = initScript
  .replace(/\\\n\s*/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

/** The shell's $VAR and ${VAR} expansion with the given variables (every one must be known). */
function expand(text: string, variables: Record<string, string>): string {
  return text.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_match, name: string) => {
    assert.ok(name in variables, `$${name} is set`);
    return variables[name] as string;
  });
}

interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action: string[];
  Resource: string[];
  Condition?: Record<string, Record<string, string[]>>;
}
interface Policy {
  Version: string;
  Statement: PolicyStatement[];
}

const wildcard = (pattern: string, value: string): boolean =>
  new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.?+^$()[\]{}|\\/]/g, '\\$&')).join('.*')}$`).test(value);

function conditionHolds(statement: PolicyStatement, context: Record<string, string>): boolean {
  return Object.entries(statement.Condition ?? {}).every(([operator, keys]) => {
    assert.equal(operator, 'StringLike', `the condition operator ${operator} is one this test evaluates`);
    return Object.entries(keys).every(([key, patterns]) => context[key] !== undefined && patterns.some((pattern) => wildcard(pattern, context[key] as string)));
  });
}

/** IAM evaluation as MinIO does it: allowed when an Allow statement applies and no Deny does. */
function allowed(policy: Policy, action: string, resource: string, context: Record<string, string> = {}): boolean {
  const applying = policy.Statement.filter(
    (statement) => statement.Action.some((pattern) => wildcard(pattern, action)) && statement.Resource.some((pattern) => wildcard(pattern, resource)) && conditionHolds(statement, context),
  );
  return applying.some((statement) => statement.Effect === 'Allow') && !applying.some((statement) => statement.Effect === 'Deny');
}

/** Every S3 action that matters here, so that "exactly these" can be asserted. */
const S3_ACTIONS = [
  's3:AbortMultipartUpload',
  's3:BypassGovernanceRetention',
  's3:CreateBucket',
  's3:DeleteBucket',
  's3:DeleteBucketPolicy',
  's3:DeleteObject',
  's3:DeleteObjectTagging',
  's3:DeleteObjectVersion',
  's3:DeleteObjectVersionTagging',
  's3:GetBucketLocation',
  's3:GetBucketObjectLockConfiguration',
  's3:GetBucketPolicy',
  's3:GetBucketVersioning',
  's3:GetLifecycleConfiguration',
  's3:GetObject',
  's3:GetObjectLegalHold',
  's3:GetObjectRetention',
  's3:GetObjectTagging',
  's3:GetObjectVersion',
  's3:GetObjectVersionTagging',
  's3:GetReplicationConfiguration',
  's3:ListBucket',
  's3:ListBucketMultipartUploads',
  's3:ListBucketVersions',
  's3:ListMultipartUploadParts',
  's3:PutBucketObjectLockConfiguration',
  's3:PutBucketPolicy',
  's3:PutBucketVersioning',
  's3:PutLifecycleConfiguration',
  's3:PutObject',
  's3:PutObjectLegalHold',
  's3:PutObjectRetention',
  's3:PutObjectTagging',
  's3:PutReplicationConfiguration',
  's3:ReplicateDelete',
  's3:ReplicateObject',
  's3:ReplicateTags',
];
const granted = (policy: Policy, resource: string, context: Record<string, string> = {}): string[] =>
  S3_ACTIONS.filter((action) => allowed(policy, action, resource, context));
const bucketArn = (bucket: string): string => `arn:aws:s3:::${bucket}`;
const objectArn = (bucket: string, key: string): string => `arn:aws:s3:::${bucket}/${key}`;

describe('deploy/: the MinIO sites, their policies and replication (deploy/minio/init.sh)', () => {
  const minioInit = environmentOf(service('minio-init'));
  const scriptVariables = Object.fromEntries(initLines.flatMap((line) => {
    const assignment = /^([A-Z_]+)=([\w-]+)$/.exec(line);
    return assignment ? [[assignment[1], assignment[2]]] : [];
  })) as Record<string, string>;
  const variables = { ...minioInit, ...scriptVariables };
  const media = minioInit.S3_BUCKET ?? '';
  const backups = minioInit.S3_BACKUP_BUCKET ?? '';

  /** Each policy file the script writes, parsed, by file name. */
  const policies = new Map(
    [...initScript.matchAll(/cat > "\$POLICIES\/([\w-]+)\.json" <<POLICY\n([\s\S]*?)\nPOLICY\n/g)].map((match) => [match[1] as string, JSON.parse(expand(match[2] as string, variables)) as Policy]),
  );
  /** Which policy each site gives to which user: `grant <site> <file> <policy name> <user> <secret>`. */
  const grants = initLines.flatMap((line) => {
    const grant = /^grant (\w+) "\$POLICIES\/([\w-]+)\.json" ([\w-]+) "?(\$?[\w{}-]+)"? "?(\$?[\w{}-]+)"?$/.exec(line);
    return grant ? [{ site: grant[1] as string, policy: policies.get(grant[2] as string), user: expand(grant[4] as string, variables), secret: expand(grant[5] as string, variables) }] : [];
  });
  const policyOf = (site: string, user: string): Policy => {
    const found = grants.filter((grant) => grant.site === site && grant.user === user);
    assert.equal(found.length, 1, `one policy for ${user} on ${site}`);
    assert.ok(found[0]?.policy, `the policy of ${user} on ${site} is written by the script`);
    return found[0].policy;
  };
  const aliasUrl = (alias: string): string => {
    const line = initLines.find((entry) => entry.startsWith(`mc alias set ${alias} `));
    assert.ok(line, `alias ${alias}`);
    return expand(line.split(/\s+/)[4]?.replace(/"/g, '') ?? '', variables);
  };

  it('sends each site to its service over HTTPS, with its own root account, data and certificate', () => {
    const primary = new URL(aliasUrl('primary'));
    const replica = new URL(aliasUrl('replica'));
    assert.deepEqual([primary.protocol, primary.hostname, primary.port], ['https:', 'minio', '9000']);
    assert.deepEqual([replica.protocol, replica.hostname, replica.port], ['https:', 'minio-replica', '9000']);
    const first = service('minio');
    const second = service('minio-replica');
    assert.equal(second.image, first.image, 'the same MinIO release on both sites (replication needs it)');
    assert.notEqual(environmentOf(second).MINIO_ROOT_USER, environmentOf(first).MINIO_ROOT_USER);
    assert.notEqual(environmentOf(second).MINIO_ROOT_PASSWORD, environmentOf(first).MINIO_ROOT_PASSWORD);
    assert.equal(environmentOf(first).MINIO_ROOT_USER, minioInit.MINIO_ROOT_USER);
    assert.equal(environmentOf(second).MINIO_ROOT_USER, minioInit.MINIO_REPLICA_ROOT_USER);
    assert.equal(environmentOf(second).MINIO_ROOT_PASSWORD, minioInit.MINIO_REPLICA_ROOT_PASSWORD);
    assert.notEqual(namedVolumeAt(rawService('minio-replica'), '/data'), namedVolumeAt(rawService('minio'), '/data'));
    for (const name of ['minio', 'minio-replica']) assert.deepEqual(dependenciesOf(rawService('minio-init'))[name], 'service_healthy');
    for (const [name, definition] of Object.entries(resolved.services)) {
      assert.equal(environmentOf(definition).S3_REPLICA_ENDPOINT, undefined, `${name}: the replica serves only once the first site is lost`);
    }
  });

  it('gives the application exactly what it needs: media read, write, delete, multipart and tags; backups put, get, list, retention and tags, never a delete', () => {
    const app = policyOf('primary', minioInit.S3_ACCESS_KEY_ID ?? '');
    for (const name of APP_SERVICES) assert.equal(environmentOf(service(name)).S3_ACCESS_KEY_ID, minioInit.S3_ACCESS_KEY_ID, `${name} uses the key the script makes`);
    // PutObject covers a multipart upload's create, parts and completion; AbortMultipartUpload its cleanup.
    assert.deepEqual(granted(app, bucketArn(media)), ['s3:ListBucket']);
    assert.deepEqual(granted(app, objectArn(media, 'orgs/o/projects/p/contents/c/video.mp4')), [
      's3:AbortMultipartUpload',
      's3:DeleteObject',
      's3:GetObject',
      's3:GetObjectTagging',
      's3:PutObject',
      's3:PutObjectTagging',
    ]);
    assert.deepEqual(granted(app, bucketArn(backups)), ['s3:ListBucket']);
    for (const key of ['postgres/2026/12/01/20261201T030000.000Z.dump', 'mongo/x.jsonl.gz', 'redis/dump.rdb', 'anything']) {
      assert.deepEqual(granted(app, objectArn(backups, key)), [
        's3:AbortMultipartUpload',
        's3:GetObject',
        's3:PutObject',
        's3:PutObjectRetention',
        's3:PutObjectTagging',
      ]);
      for (const action of ['s3:DeleteObject', 's3:DeleteObjectVersion', 's3:BypassGovernanceRetention', 's3:PutObjectLegalHold']) {
        assert.ok(!allowed(app, action, objectArn(backups, key)), `the app may not ${action} ${key} in the backups bucket`);
      }
    }
    assert.ok(!app.Statement.some((statement) => statement.Effect === 'Allow' && statement.Action.includes('s3:DeleteObject') && statement.Resource.some((resource) => resource.startsWith(bucketArn(backups)))));
    assert.deepEqual(granted(app, objectArn(backups, 'pgbackrest/archive/autoclip/15-1/0000000100000000/x.gz')), [], "nothing in pgBackRest's repository");
  });

  it('makes the backups bucket with object lock and no default retention, and refuses one that has no lock; each kind expires when its lock ends', () => {
    assert.ok(initLines.includes('mc mb --ignore-existing --with-lock "primary/$S3_BACKUP_BUCKET"'));
    const check = initLines.findIndex((line) => line === 'if ! mc retention info --default "primary/$S3_BACKUP_BUCKET" >/dev/null 2>&1; then');
    assert.ok(check > 0 && initLines[check + 2] === 'exit 1', 'a backups bucket without object lock stops the script');
    assert.ok(!initLines.some((line) => /\bmc retention set\b/.test(line)), 'no default retention: each backup is locked for its own kind');
    assert.equal(backups, 'autoclip-backups');
    const lifecycles = [...initScript.matchAll(/mc ilm import "([^"]+)" <<ILM\n([\s\S]*?)\nILM\n/g)];
    assert.deepEqual(lifecycles.map((match) => match[1]), ['primary/$S3_BACKUP_BUCKET']);
    const rules = (JSON.parse(lifecycles[0]?.[2] ?? '{}') as { Rules: { Filter: { Prefix: string }; Expiration?: { Days?: number }; NoncurrentVersionExpiration?: { NoncurrentDays: number } }[] }).Rules;
    const expiry = Object.fromEntries(rules.filter((rule) => rule.Expiration?.Days).map((rule) => [rule.Filter.Prefix.replace(/\/$/, ''), rule.Expiration!.Days]));
    assert.deepEqual(expiry, BACKUP_RETENTION_DAYS, 'each kind expires when db/backups.ts stops locking it');
    for (const rule of rules) {
      assert.ok(rule.NoncurrentVersionExpiration, 'what was expired goes for good');
      assert.ok(!rule.Expiration?.Days || rule.Filter.Prefix !== 'pgbackrest/', "pgBackRest's repository expires by pgBackRest alone");
    }
  });

  it('gives pgBackRest its own user, on the pgbackrest/ prefix only, delete included (its expire)', () => {
    const user = environmentOf(service('postgres')).PGBACKREST_REPO1_S3_KEY ?? '';
    const backup = policyOf('primary', user);
    assert.equal(user, 'autoclip-backup');
    const key = objectArn(backups, 'pgbackrest/backup/autoclip/20261201-170000F/backup.manifest');
    assert.deepEqual(granted(backup, key), ['s3:AbortMultipartUpload', 's3:DeleteObject', 's3:GetObject', 's3:ListMultipartUploadParts', 's3:PutObject']);
    assert.ok(allowed(backup, 's3:ListBucket', bucketArn(backups), { 's3:prefix': 'pgbackrest/archive/autoclip/' }));
    assert.ok(!allowed(backup, 's3:ListBucket', bucketArn(backups), { 's3:prefix': 'postgres/' }));
    assert.ok(!allowed(backup, 's3:ListBucket', bucketArn(backups)), 'no listing of the whole bucket');
    for (const other of [objectArn(backups, 'postgres/x.dump'), objectArn(media, 'pgbackrest/x'), bucketArn(media)]) assert.deepEqual(granted(backup, other), [], other);
    const secret = grants.find((grant) => grant.user === user)?.secret;
    assert.equal(secret, minioInit.MINIO_BACKUP_SECRET_KEY);
  });

  it('versions the media on both sites and replicates them to the second site, with a user that can do only that', () => {
    assert.ok(initLines.includes('for site in primary replica; do') && initLines.includes('mc version enable "$site/$S3_BUCKET"'), 'versioning on both sites');
    const add = initLines.find((line) => line.startsWith('mc replicate add '));
    assert.ok(add, 'mc replicate add');
    const words = add.split(/\s+/);
    assert.equal(words[3], '"primary/$S3_BUCKET"', 'the media bucket of the first site is the source');
    const remote = new URL(expand((words[words.indexOf('--remote-bucket') + 1] ?? '').replace(/"/g, ''), variables));
    assert.deepEqual([remote.protocol, remote.host, remote.pathname], ['https:', 'minio-replica:9000', `/${media}`]);
    const replicate = (words[words.indexOf('--replicate') + 1] ?? '').replace(/"/g, '').split(',');
    assert.ok(replicate.includes('existing-objects') && replicate.includes('delete-marker'), replicate.join());
    assert.ok(!replicate.includes('delete'), 'deleting a version on the first site never deletes it on the second');
    assert.ok(initLines.includes('if mc replicate ls "primary/$S3_BUCKET" >/dev/null 2>&1; then'), 'the rule is added once');

    const replication = policyOf('replica', decodeURIComponent(remote.username));
    assert.equal(decodeURIComponent(remote.password), minioInit.MINIO_REPLICATION_SECRET_KEY);
    for (const action of ['s3:ReplicateObject', 's3:ReplicateDelete', 's3:ReplicateTags', 's3:PutObject', 's3:DeleteObject']) assert.ok(allowed(replication, action, objectArn(media, 'v.mp4')), action);
    assert.ok(allowed(replication, 's3:GetBucketVersioning', bucketArn(media)));
    assert.deepEqual(granted(replication, objectArn(backups, 'x')), []);
    // The application reads the media from the second site should the first be lost, and writes nothing there.
    const appOnReplica = policyOf('replica', minioInit.S3_ACCESS_KEY_ID ?? '');
    assert.deepEqual(granted(appOnReplica, objectArn(media, 'v.mp4')), ['s3:GetObject', 's3:GetObjectTagging']);
    assert.deepEqual(granted(appOnReplica, bucketArn(media)), ['s3:ListBucket']);
  });
});

describe('deploy/: TLS inside the network (deploy/tls/make-certs.sh)', () => {
  const tls = environmentOf(service('internal-tls'));
  const sites = (tls.TLS_SITES ?? '').split(/\s+/).filter(Boolean);
  const tlsDir = tls.TLS_DIR ?? '';
  const publicVolume = namedVolumeAt(rawService('internal-tls'), `${tlsDir}/public`);

  /** Checks that `service` has the authority's certificate (only) at `file`. */
  function trustsAuthority(name: string, file: string): void {
    assert.equal(namedVolumeAt(rawService(name), path.posix.dirname(file)), publicVolume, `${name} mounts the authority's certificate at ${file}`);
    assert.equal(path.posix.basename(file), 'ca.crt');
  }

  it('gives each MinIO site a certificate of the network authority, and every client that authority only', () => {
    assert.deepEqual([...sites].sort(), ['minio', 'minio-replica']);
    for (const site of sites) {
      const certsDir = commandOf(service(site))[commandOf(service(site)).indexOf('--certs-dir') + 1] ?? '';
      assert.ok(certsDir, `${site} serves TLS from --certs-dir`);
      assert.equal(namedVolumeAt(rawService(site), certsDir), namedVolumeAt(rawService('internal-tls'), `${tlsDir}/${site}`), `${site} reads the certificate made for it`);
      assert.equal(dependenciesOf(rawService(site))['internal-tls'], 'service_completed_successfully');
    }
    const caVolume = namedVolumeAt(rawService('internal-tls'), `${tlsDir}/ca`);
    for (const [name, definition] of Object.entries(compose.services)) {
      if (name !== 'internal-tls') assert.ok(!namedVolumes(definition).includes(caVolume ?? ''), `${name} never sees the authority's key`);
    }
    for (const name of [...APP_SERVICES, 'migrate']) {
      const env = environmentOf(service(name));
      assert.equal(new URL(env.S3_ENDPOINT ?? '').protocol, 'https:');
      assert.ok(sites.includes(new URL(env.S3_ENDPOINT ?? '').hostname));
      trustsAuthority(name, env.NODE_EXTRA_CA_CERTS ?? '');
    }
    trustsAuthority('minio-init', environmentOf(service('minio-init')).SSL_CERT_FILE ?? '');
  });

  it('makes the authority once, a certificate per site for its name, and renews one that is about to expire', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'autoclip-tls-'));
    const run = (): void => {
      execFileSync('sh', [path.join(root, 'deploy/tls/make-certs.sh')], { env: { PATH: process.env.PATH ?? '', TLS_DIR: dir, TLS_SITES: sites.join(' ') }, stdio: 'pipe' });
    };
    const certificate = (file: string): X509Certificate => new X509Certificate(readFileSync(path.join(dir, file)));
    try {
      run();
      const authority = certificate('public/ca.crt');
      assert.ok(authority.ca);
      assert.deepEqual(readdirSync(path.join(dir, 'public')), ['ca.crt'], 'clients get the certificate, not the key');
      const fingerprints = sites.map((site) => {
        const issued = certificate(`${site}/public.crt`);
        assert.equal(issued.checkHost(site), site, `the certificate of ${site} names it`);
        assert.ok(issued.verify(authority.publicKey), `the certificate of ${site} is signed by the authority`);
        assert.ok(!issued.ca);
        assert.equal(certificate(`${site}/CAs/ca.crt`).fingerprint256, authority.fingerprint256, `${site} trusts the authority (replication to the other site)`);
        return issued.fingerprint256;
      });

      run();
      assert.equal(certificate('public/ca.crt').fingerprint256, authority.fingerprint256, 'the authority is kept');
      assert.deepEqual(sites.map((site) => certificate(`${site}/public.crt`).fingerprint256), fingerprints, 'current certificates are kept');

      const [first = ''] = sites;
      const request = path.join(dir, 'short.csr');
      execFileSync('openssl', ['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${first}`, '-keyout', path.join(dir, first, 'private.key'), '-out', request], { stdio: 'pipe' });
      execFileSync('openssl', ['x509', '-req', '-days', '10', '-in', request, '-CA', path.join(dir, 'ca/ca.crt'), '-CAkey', path.join(dir, 'ca/ca.key'), '-set_serial', '7', '-out', path.join(dir, first, 'public.crt')], { stdio: 'pipe' });
      run();
      const renewed = certificate(`${first}/public.crt`);
      assert.ok(new Date(renewed.validTo).getTime() > Date.now() + 365 * 86_400_000, 'a certificate 10 days from expiry is renewed');
      assert.equal(renewed.checkHost(first), first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('deploy/: PostgreSQL point-in-time recovery with pgBackRest (deploy/pgbackrest/)', () => {
  const conf = parseIni(read('deploy/pgbackrest/pgbackrest.conf'));
  const global = conf.global ?? {};
  const minioInit = environmentOf(service('minio-init'));
  const clusters = [
    { server: 'postgres', backup: 'pgbackrest' },
    { server: 'temporal-postgresql', backup: 'temporal-pgbackrest' },
  ];

  /** The `-c name=value` settings a PostgreSQL command line sets. */
  function serverSettings(name: string): Record<string, string> {
    const command = commandOf(service(name));
    assert.equal(command[0], 'postgres');
    return Object.fromEntries(
      command.flatMap((word, index) => {
        if (command[index - 1] !== '-c') return [];
        const separator = word.indexOf('=');
        return [[word.slice(0, separator), word.slice(separator + 1)]];
      }),
    );
  }

  it('keeps one S3 repository under pgbackrest/ in the backups bucket on the first MinIO site, over HTTPS, with 30 days of recovery', () => {
    assert.equal(global['repo1-type'], 's3');
    assert.equal(global['repo1-path'], '/pgbackrest', "the prefix autoclip-backup's policy allows");
    const firstSite = new URL(`https://${minioInit.MINIO_HOST}`);
    assert.equal(global['repo1-s3-endpoint'], firstSite.hostname);
    assert.equal(global['repo1-storage-port'], firstSite.port);
    assert.equal(global['repo1-s3-uri-style'], 'path');
    assert.equal(global['repo1-retention-full-type'], 'time');
    assert.equal(global['repo1-retention-full'], '30', 'seed §7.1: PostgreSQL kept 30 days');
    const dockerfile = read('deploy/postgres/Dockerfile');
    assert.match(dockerfile, /^FROM postgres:15$/m, 'the PostgreSQL major version the app runs on');
    assert.match(dockerfile, /apt-get install [^\n]*\bpgbackrest\b/);
    assert.match(read('deploy/pgbackrest/backup-daily.sh'), /^\s*until pgbackrest backup --type=full; do$/m);
  });

  for (const { server, backup } of clusters) {
    it(`archives the WAL of ${server} continuously (archive_timeout 300) and backs it up in full daily beside it (${backup})`, () => {
      const settings = serverSettings(server);
      assert.equal(settings.archive_mode, 'on');
      assert.equal(settings.archive_timeout, '300');
      assert.equal(dependenciesOf(rawService(server))['internal-tls'], 'service_completed_successfully', 'MinIO is trusted before the first WAL is archived');
      const stanza = /^pgbackrest --stanza=(\w+) archive-push %p$/.exec(settings.archive_command ?? '')?.[1];
      assert.ok(stanza, `archive_command pushes through pgBackRest (${settings.archive_command})`);
      const section = conf[stanza] ?? {};
      const dataDirectory = section['pg1-path'] ?? '';
      assert.ok(namedVolumeAt(rawService(server), dataDirectory), `pg1-path ${dataDirectory} is ${server}'s data volume`);
      assert.equal(section['pg1-user'], environmentOf(service(server)).POSTGRES_USER, 'pgBackRest connects as the superuser the image made');

      const sidecar = service(backup);
      const sidecarEnv = environmentOf(sidecar);
      assert.equal(sidecarEnv.PGBACKREST_STANZA, stanza);
      assert.match(sidecarEnv.FULL_BACKUP_AT ?? '', /^([01]\d|2[0-3]):[0-5]\d$/);
      assert.equal(namedVolumeAt(rawService(backup), dataDirectory), namedVolumeAt(rawService(server), dataDirectory), 'the backup reads the same data directory');
      assert.ok(namedVolumeAt(rawService(server), '/var/run/postgresql'), `${server} shares its socket directory (pgBackRest's pg1-socket-path)`);
      assert.equal(namedVolumeAt(rawService(backup), '/var/run/postgresql'), namedVolumeAt(rawService(server), '/var/run/postgresql'));
      assert.equal(sidecar.user, 'postgres', 'the owner of the data directory');
      assert.deepEqual(commandOf({ command: sidecar.entrypoint }), ['/bin/sh', '/deploy/backup-daily.sh']);
      assert.ok(bindMounts(rawService(backup)).some((mount) => path.normalize(mount.source) === path.join('deploy', 'pgbackrest', 'backup-daily.sh') && mount.target === '/deploy/backup-daily.sh'));
      assert.equal(dependenciesOf(rawService(backup))[server], 'service_healthy');
      assert.equal(dependenciesOf(rawService(backup))['minio-init'], 'service_completed_successfully', 'the repository user exists before the first backup');
      assert.equal(rawService(backup).image, rawService(server).image);

      for (const name of [server, backup]) {
        const env = environmentOf(service(name));
        assert.ok(bindMounts(rawService(name)).some((mount) => path.normalize(mount.source) === path.join('deploy', 'pgbackrest', 'pgbackrest.conf') && mount.target === env.PGBACKREST_CONFIG), `${name} reads the configuration`);
        assert.equal(env.PGBACKREST_REPO1_S3_BUCKET, minioInit.S3_BACKUP_BUCKET);
        assert.equal(env.PGBACKREST_REPO1_S3_KEY, 'autoclip-backup');
        assert.equal(env.PGBACKREST_REPO1_S3_KEY_SECRET, minioInit.MINIO_BACKUP_SECRET_KEY);
        assert.equal(namedVolumeAt(rawService(name), path.posix.dirname(global['repo1-storage-ca-file'] ?? '')), namedVolumeAt(rawService('internal-tls'), '/tls/public'), `${name} trusts MinIO's certificate`);
      }
    });
  }

  it("backs up Temporal's own database, the one the Temporal server runs on", () => {
    assert.equal(environmentOf(service('temporal')).POSTGRES_SEEDS, 'temporal-postgresql');
    assert.ok(clusters.some((cluster) => cluster.server === 'temporal-postgresql'));
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

describe('deploy/: metrics, dashboards and traces (Prometheus, Grafana, the OpenTelemetry collector, Jaeger)', () => {
  const prometheus = parse(read('deploy/prometheus/prometheus.yml')) as {
    scrape_configs: { job_name: string; authorization?: { credentials_file?: string }; static_configs: { targets: string[] }[] }[];
  };
  const job = (name: string) => {
    const found = prometheus.scrape_configs.find((config) => config.job_name === name);
    assert.ok(found, `Prometheus scrapes ${name}`);
    return found;
  };
  const portOf = (address: string) => address.split(':').at(-1);

  it('scrapes the api, the worker, the Temporal SDK and the Temporal server where compose serves them, with the token the app requires', () => {
    const worker = environmentOf(service('worker'));
    assert.deepEqual(job('autoclip-api').static_configs[0]?.targets, [`api:${environmentOf(service('api')).API_PORT}`]);
    assert.deepEqual(job('autoclip-worker').static_configs[0]?.targets, [`worker:${worker.WORKER_METRICS_PORT}`]);
    assert.deepEqual(job('temporal-sdk').static_configs[0]?.targets, [`worker:${portOf(worker.TEMPORAL_METRICS_ADDRESS ?? '')}`]);
    assert.deepEqual(job('temporal').static_configs[0]?.targets, [`temporal:${portOf(environmentOf(service('temporal')).PROMETHEUS_ENDPOINT ?? '')}`]);
    for (const port of [worker.WORKER_METRICS_PORT, portOf(worker.TEMPORAL_METRICS_ADDRESS ?? '')]) assert.ok(rawService('worker').expose?.map(String).includes(String(port)), `the worker exposes ${port}`);
    const token = environmentOf(service('prometheus')).METRICS_TOKEN;
    for (const name of APP_SERVICES) assert.equal(environmentOf(service(name)).METRICS_TOKEN, token, `${name} requires the token Prometheus sends`);
    const tokenFile = job('autoclip-api').authorization?.credentials_file;
    assert.ok(tokenFile && job('autoclip-worker').authorization?.credentials_file === tokenFile);
    assert.ok(commandOf(rawService('prometheus')).join(' ').includes(`"$$METRICS_TOKEN" > ${tokenFile}`), 'the token file is written from the environment at start, never kept in the repository');
  });

  it("sends the app's traces to the collector's OTLP/HTTP receiver, and the collector to Jaeger", () => {
    const collector = parse(read('deploy/otel-collector/config.yaml')) as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: Record<string, { endpoint: string }>;
      service: { pipelines: { traces: { receivers: string[]; exporters: string[] } } };
    };
    const receiverPort = portOf(collector.receivers.otlp.protocols.http.endpoint);
    for (const name of APP_SERVICES) assert.equal(environmentOf(service(name)).OTEL_EXPORTER_OTLP_ENDPOINT, `http://otel-collector:${receiverPort}`);
    assert.ok(rawService('otel-collector').expose?.map(String).includes(String(receiverPort)));
    const [exporter] = collector.service.pipelines.traces.exporters;
    const [host, port] = (collector.exporters[exporter as string]?.endpoint ?? '').split(':');
    assert.equal(host, 'jaeger');
    assert.ok(rawService('jaeger').expose?.map(String).includes(port as string), 'Jaeger takes OTLP where the collector sends it');
    assert.deepEqual(collector.service.pipelines.traces.receivers, ['otlp']);
  });

  it('provisions Grafana with both data sources and a dashboard whose every query reads a metric something exports', () => {
    const mounts = bindMounts(rawService('grafana'));
    const dashboardsMount = mounts.find((mount) => mount.source === './deploy/grafana/dashboards');
    const provider = (parse(read('deploy/grafana/provisioning/dashboards/dashboards.yml')) as { providers: { options: { path: string } }[] }).providers[0];
    assert.equal(provider?.options.path, dashboardsMount?.target, 'Grafana loads the dashboards from where compose mounts them');
    const sources = (parse(read('deploy/grafana/provisioning/datasources/datasources.yml')) as { datasources: { uid: string; url: string }[] }).datasources;
    assert.deepEqual(sources.map((s) => s.url), ['http://prometheus:9090', 'http://jaeger:16686']);
    const dashboard = JSON.parse(read('deploy/grafana/dashboards/autoclip.json')) as { panels: { title: string; datasource: { uid: string }; targets: { expr: string }[] }[] };
    for (const title of ['Productions per hour', 'Failure reasons (24 h)', 'Step latency p50 / p95', 'Cost per content (USD)', 'Queue backlog']) {
      assert.ok(dashboard.panels.some((panel) => panel.title === title), `the dashboard shows ${title}`);
    }
    const exported = new Set(
      registry.getMetricsAsArray().flatMap((metric) => {
        const { name, type } = metric as unknown as { name: string; type: string };
        return type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
      }),
    );
    for (const panel of dashboard.panels) {
      assert.ok(sources.some((s) => s.uid === panel.datasource.uid), `${panel.title} reads a provisioned data source`);
      for (const { expr } of panel.targets) {
        const names = [...expr.matchAll(/\b(autoclip_[a-z_]+|temporal_[a-z_]+|approximate_backlog_count)\b/g)].map((m) => m[1] as string);
        assert.ok(names.length > 0, `${panel.title}: ${expr} reads a metric`);
        for (const name of names.filter((n) => n.startsWith('autoclip_'))) assert.ok(exported.has(name), `${panel.title}: lib/metrics.ts exports ${name}`);
      }
    }
  });
});
