import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import express from 'express';
import { Client as PgClient, Pool as PgPool } from 'pg';
import { issueAccessToken } from '../api/auth/tokens';
import { startApi } from '../api/server';
import { migrateUp } from '../db/migrate';
import { CONTENT_WITH_CALLER_ROLE_SQL } from '../db/repositories/content-reads';
import { ensureDemoTenant } from '../db/seeds/demo';
import { seedReferenceData } from '../db/seeds/reference-data';
import { createAppContext } from '../control/app-context';
import { loadConfig } from '../lib/config';
import { startStack } from './local-stack';

/**
 * API benchmark (not a test). Drives authenticated reads of the API over loopback with autocannon,
 * at a fixed rate and at full speed, beside two baselines measured back to back in the same run:
 * a bare Express handler answering the same JSON body, and (for a read that has one) a bare
 * Express handler that first runs the route's SQL through `pg` and then answers the same body,
 * the physical limit of a route that reads PostgreSQL. Prints medians of the repetitions and the
 * API/bare and API/bare+SQL ratios. The API and each baseline run in a process of their own, so
 * the load generator (this process) shares no event loop with them. The test stack is started
 * unless its services are running.
 *
 *   npx tsx scripts/bench-api.ts [--seconds 10] [--runs 3] [--rate 500] [--connections 10] [--contents 200] [--log-level info]
 */

const REPO_ROOT = resolve(__dirname, '..');

function arg(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1]! : fallback;
}
const numberArg = (name: string, fallback: number) => Number(arg(name, String(fallback)));

interface Target {
  label: string;
  path: string;
  /** Sent without a token (the framework floor is a public route). */
  public?: true;
  /** The SQL the route runs, with its parameters: the bare+SQL baseline runs it on every request. */
  sql?: { text: string; params: unknown[] };
}

/**
 * The reads measured, and `GET /healthz` as the floor: every global middleware (request id,
 * headers, log line, CORS, the per-IP Redis counter) and no route work.
 */
function targetsFor(contentId: string, userId: string): Target[] {
  return [
    { label: 'GET /contents/:id', path: `/contents/${contentId}`, sql: { text: CONTENT_WITH_CALLER_ROLE_SQL, params: [contentId, userId] } },
    { label: 'GET /contents?limit=20', path: '/contents?limit=20' },
    { label: 'GET /healthz (floor)', path: '/healthz', public: true },
  ];
}

// ---- child processes: the API, and the bare handler -------------------------------------------

async function serveApi(): Promise<void> {
  const ctx = await createAppContext(loadConfig());
  const { server } = await startApi(ctx, 0, '127.0.0.1');
  const address = server.address();
  process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  process.once('disconnect', () => server.close(() => void ctx.close().then(() => process.exit(0))));
}

/** Express with nothing but a handler per path answering a fixed JSON body (ETag off, like the API). */
function serveBare(bodiesFile: string): void {
  const bodies = JSON.parse(readFileSync(bodiesFile, 'utf8')) as Record<string, unknown>;
  const app = express();
  app.disable('etag');
  for (const [path, body] of Object.entries(bodies)) app.get(path, (_req, res) => res.json(body));
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.once('disconnect', () => server.close(() => process.exit(0)));
}

/**
 * Express with a handler per path that runs its SQL through a `pg` pool (as large as the API's)
 * and answers the same fixed JSON body, or 404 when the SQL finds no row.
 */
function serveBareSql(specFile: string): void {
  const specs = JSON.parse(readFileSync(specFile, 'utf8')) as Record<string, { body: unknown; sql: string; params: unknown[] }>;
  const config = loadConfig();
  const pool = new PgPool({ connectionString: config.databaseUrl, max: config.databasePoolMax });
  const app = express();
  app.disable('etag');
  for (const [path, { body, sql, params }] of Object.entries(specs)) {
    app.get(path, (_req, res, next) => {
      pool.query(sql, params).then(({ rows }) => (rows.length > 0 ? res.json(body) : res.status(404).end()), next);
    });
  }
  const server = app.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send?.({ port: typeof address === 'object' && address ? address.port : 0 });
  });
  process.once('disconnect', () => server.close(() => void pool.end().then(() => process.exit(0))));
}

async function startChild(args: string[], env: NodeJS.ProcessEnv, logFd: number | 'ignore'): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', __filename, ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'ignore', logFd, 'ipc'] });
  const exited = once(child, 'exit').then(([code]) => Promise.reject(new Error(`${args.join(' ')}: the server exited (${code})`)));
  const [reply] = (await Promise.race([once(child, 'message'), exited])) as [{ port: number }];
  return { child, url: `http://127.0.0.1:${reply.port}` };
}

// ---- the load ----------------------------------------------------------------------------------

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  other: number;
  /** CPU time of the server process per answered request. */
  cpuMs: number;
}

/** User + system CPU seconds of a process (/proc/PID/stat fields 14 and 15, in ticks of 1/100 s on Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function load(url: string, pid: number, token: string | undefined, seconds: number, connections: number, rate: number | undefined): Promise<Figures> {
  const cpuBefore = cpuSeconds(pid);
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    headers: token ? { authorization: `Bearer ${token}` } : {},
    ...(rate ? { overallRate: rate } : {}),
  });
  const answered = result['2xx'];
  return {
    rps: answered / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    other: result.non2xx + result.errors,
    cpuMs: answered > 0 ? ((cpuSeconds(pid) - cpuBefore) * 1000) / answered : 0,
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Contents with a script of realistic length, one a minute back in time, so the list page has a real order to walk. */
async function createFixtures(databaseUrl: string, contentCount: number) {
  const config = loadConfig({ ...process.env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
  await migrateUp(databaseUrl);
  const ctx = await createAppContext(config);
  try {
    await seedReferenceData(ctx.sequelize);
    const { userId, projectId } = await ensureDemoTenant(ctx.models);
    const body = ['아침 공복에 물 한 잔은 밤새 부족해진 수분을 채워 줍니다.', '위장을 부드럽게 깨워 소화를 돕습니다.', '차가운 물보다 미지근한 물이 좋아요.'];
    const now = Date.now();
    const contents = await ctx.models.Content.bulkCreate(
      Array.from({ length: contentCount }, (_, i) => ({
        project_id: projectId,
        title: `아침 물 한 잔의 효과 #${i + 1}`,
        description: 'A short about morning hydration, written by the local script writer.',
        script: { hook: '정말 건강에 좋을까요?', body, cta: '오늘부터 시작해 보세요', full_text: body.join(' ') },
        tags: ['health', 'morning', 'water'],
        source_type: 'manual',
        created_at: new Date(now - i * 60_000),
      })) as never[],
    );
    return { token: issueAccessToken(userId, config.auth.tokenSecret, 3600).token, targets: targetsFor(contents[0]!.id, userId) };
  } finally {
    await ctx.close();
  }
}

function printTable(targets: Target[], modes: { name: string; rate: number | undefined }[], results: Map<string, Figures[]>): void {
  const row = (cells: string[]) => console.log(cells.map((c, i) => (i < 2 ? c.padEnd(i === 0 ? 28 : 10) : c.padStart(i < 7 ? 10 : 13))).join(' '));
  const figures = (list: Figures[]) => {
    const m = (f: (x: Figures) => number) => median(list.map(f));
    return [m((x) => x.rps).toFixed(0), m((x) => x.p50).toFixed(1), m((x) => x.p99).toFixed(1), m((x) => x.cpuMs).toFixed(3), String(m((x) => x.other))];
  };
  const percent = (ratio: number) => (ratio * 100).toFixed(0);
  row(['route', 'load', 'req/s', 'p50 ms', 'p99 ms', 'CPU ms/req', 'non-2xx', 'API/bare', 'API/bare+SQL']);
  const verdicts: string[] = [];
  for (const mode of modes) {
    for (const [i, target] of targets.entries()) {
      const apiRuns = results.get(`${i}|${mode.name}|api`)!;
      const bareRuns = results.get(`${i}|${mode.name}|bare`)!;
      const sqlRuns = results.get(`${i}|${mode.name}|sql`);
      // The ratio of each repetition, whose sides ran back to back; then their median.
      const ratioTo = (baseline: Figures[]) => median(apiRuns.map((a, r) => a.rps / baseline[r]!.rps));
      const vsBare = ratioTo(bareRuns);
      const vsSql = sqlRuns ? ratioTo(sqlRuns) : undefined;
      row([target.label, mode.name, ...figures(apiRuns), vsBare.toFixed(2), vsSql?.toFixed(2) ?? '']);
      row(['  bare, same body', mode.name, ...figures(bareRuns), '', '']);
      if (sqlRuns) row(['  bare, same SQL + body', mode.name, ...figures(sqlRuns), '', '']);
      if (target.public) continue;
      const p99 = median(apiRuns.map((x) => x.p99));
      if (mode.rate) verdicts.push(`${target.label}: p99 ${p99.toFixed(1)} ms at ${mode.rate} req/s (target < 20 ms: ${p99 < 20 ? 'met' : 'missed'})`);
      else if (vsSql === undefined) verdicts.push(`${target.label}: ${percent(vsBare)} % of the bare handler's rate (target ≥ 70 %: ${vsBare >= 0.7 ? 'met' : 'missed'})`);
      else {
        verdicts.push(
          `${target.label}: ${percent(vsBare)} % of the bare handler's rate, ${percent(vsSql)} % of the bare handler with the same SQL (target ≥ 70 %: ${vsSql >= 0.7 ? 'met' : 'missed'})`,
        );
      }
    }
  }
  console.log(`\n${verdicts.join('\n')}`);
}

async function main(): Promise<void> {
  const seconds = numberArg('seconds', 10);
  const runs = numberArg('runs', 3);
  const rate = numberArg('rate', 500);
  const connections = numberArg('connections', 10);
  const contentCount = numberArg('contents', 200);
  const logLevel = arg('log-level', 'info');

  const stack = await startStack('test', () => undefined);
  Object.assign(process.env, stack.env);
  const admin = new PgClient({ connectionString: stack.env.MIGRATION_DATABASE_URL ?? stack.env.DATABASE_URL });
  await admin.connect();
  const database = `bench_api_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const children: ChildProcess[] = [];
  const logFile = join(tmpdir(), 'autoclip-bench-api.log');
  const bodiesFile = join(tmpdir(), `autoclip-bench-bare-${process.pid}.json`);
  const sqlSpecFile = join(tmpdir(), `autoclip-bench-bare-sql-${process.pid}.json`);
  const logFd = openSync(logFile, 'w');
  try {
    const url = new URL(stack.env.MIGRATION_DATABASE_URL ?? stack.env.DATABASE_URL!); // the owner: it migrates and seeds
    url.pathname = `/${database}`;
    const { token, targets } = await createFixtures(url.toString(), contentCount);
    // Limits raised so that nothing is refused; the two Redis counters still run on every request.
    // Production settings; the stack's Mailpit stands for the relay, which production names with its sender and links.
    const apiEnv = {
      ...process.env,
      DATABASE_URL: url.toString(),
      LOG_LEVEL: logLevel,
      NODE_ENV: 'production',
      API_RATE_LIMIT_PER_USER: '1000000000',
      API_RATE_LIMIT_PER_IP: '1000000000',
      MAIL_FROM: 'AutoClip <bench@autoclip.local>',
      APP_PUBLIC_URL: 'http://localhost:3000',
    };
    const api = await startChild(['--serve', 'api'], apiEnv, logFd);
    children.push(api.child);

    const bodies: Record<string, unknown> = {};
    const sqlSpecs: Record<string, { body: unknown; sql: string; params: unknown[] }> = {};
    for (const [i, target] of targets.entries()) {
      const res = await fetch(`${api.url}${target.path}`, { headers: { authorization: `Bearer ${token}` } });
      if (res.status !== 200) throw new Error(`${target.label} answered ${res.status}: ${await res.text()}`);
      bodies[`/bare/${i}`] = await res.json();
      if (target.sql) sqlSpecs[`/bare-sql/${i}`] = { body: bodies[`/bare/${i}`], sql: target.sql.text, params: target.sql.params };
    }
    writeFileSync(bodiesFile, JSON.stringify(bodies));
    writeFileSync(sqlSpecFile, JSON.stringify(sqlSpecs));
    const bare = await startChild(['--serve', 'bare', '--bodies', bodiesFile], process.env, 'ignore');
    children.push(bare.child);
    const bareSql = await startChild(['--serve', 'bare-sql', '--specs', sqlSpecFile], apiEnv, 'ignore');
    children.push(bareSql.child);
    for (const path of Object.keys(sqlSpecs)) {
      const res = await fetch(`${bareSql.url}${path}`);
      if (res.status !== 200) throw new Error(`the bare+SQL handler of ${path} answered ${res.status}`);
      await res.arrayBuffer();
    }

    console.log(`API benchmark: ${seconds} s per measurement, medians of ${runs} repetitions, ${connections} connections, loopback; node ${process.version}, ${cpus().length} CPUs`);
    console.log(`routes: GET /contents/:id, GET /contents; data: 1 organization, 1 project, ${contentCount} contents`);
    console.log(`API process: LOG_LEVEL=${logLevel} (to ${logFile}), per-user and per-IP counters in Redis; bare: express() + res.json of the same body`);
    console.log(`bare+SQL: express() + the route's SQL through a pg pool of ${loadConfig(apiEnv).databasePoolMax} + res.json of the same body\n`);

    const modes = [{ name: `${rate} req/s`, rate }, { name: 'max', rate: undefined }];
    const sides = (i: number, target: Target) => [
      { name: 'api', url: `${api.url}${target.path}`, pid: api.child.pid!, token: target.public ? undefined : token },
      { name: 'bare', url: `${bare.url}/bare/${i}`, pid: bare.child.pid!, token: undefined },
      ...(target.sql ? [{ name: 'sql', url: `${bareSql.url}/bare-sql/${i}`, pid: bareSql.child.pid!, token: undefined }] : []),
    ];
    for (const [i, target] of targets.entries()) for (const side of sides(i, target)) await load(side.url, side.pid, side.token, 3, connections, undefined);

    const results = new Map<string, Figures[]>();
    for (let run = 0; run < runs; run++) {
      for (const mode of modes) {
        for (const [i, target] of targets.entries()) {
          // Which side goes first alternates, so a drift in the machine does not favour one.
          const order = run % 2 === 0 ? sides(i, target) : sides(i, target).reverse();
          for (const side of order) {
            const key = `${i}|${mode.name}|${side.name}`;
            results.set(key, [...(results.get(key) ?? []), await load(side.url, side.pid, side.token, seconds, connections, mode.rate)]);
          }
        }
      }
      process.stderr.write(`repetition ${run + 1}/${runs} done\n`);
    }
    printTable(targets, modes, results);
  } finally {
    for (const child of children) if (child.connected) child.disconnect();
    await Promise.all(children.map((child) => (child.exitCode === null && child.signalCode === null ? once(child, 'exit') : undefined)));
    closeSync(logFd);
    rmSync(bodiesFile, { force: true });
    rmSync(sqlSpecFile, { force: true });
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
    await stack.stop();
  }
}

const serve = arg('serve', '');
if (serve === 'api') {
  serveApi().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else if (serve === 'bare') {
  serveBare(arg('bodies', ''));
} else if (serve === 'bare-sql') {
  serveBareSql(arg('specs', ''));
} else {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  });
}
