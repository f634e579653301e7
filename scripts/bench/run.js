#!/usr/bin/env node
// `npm run bench`: measures the built server against a bare Nest + Fastify app in the same run and
// writes docs/benchmarks.{md,json,svg}. Only 127.0.0.1 is ever loaded; every load is bounded in time.
// Flags: node scripts/bench/run.js --help
const { execFileSync, spawn } = require('node:child_process');
const { randomBytes, randomUUID } = require('node:crypto');
const { mkdirSync, mkdtempSync, readdirSync, rmSync } = require('node:fs');
const { availableParallelism, tmpdir } = require('node:os');
const { join, resolve } = require('node:path');
const { root, startProcess } = require('./lib/servers');
const { machine } = require('./lib/proc');
const { fire, measure, summarise, windowed, settle, round, watch } = require('./lib/load');
const { openSeeder, seededName } = require('./lib/seed');
const { startCountingProxy } = require('./lib/mysql-counter');
const { writeReport } = require('./lib/report');
const { runSoak } = require('./lib/soak');
const { fromSomeClient } = require('./lib/clients');
const { writeSoakReport } = require('./lib/soak-report');

const HELP = `Usage: npm run bench -- [flags]
  --duration S          seconds per measured scenario (default 5)
  --warmup S            unrecorded warm-up before the fast scenarios (default 1)
  --slow-duration S     seconds of the measured window for sign-in and sign-up, and of each bcrypt ceiling run (default 20):
                        answers arrive in groups of the pool's size, so a 5 s window of ~45 sign-ins was off by up to ±9%
  --probe-duration S    seconds of each GET /users/me latency probe, idle and during the storm (default 15): its p99 then
                        rests on ~4,500 answers, not ~1,500
  --connections N       connections for the throughput scenarios (default 50)
  --login-connections N connections for sign-in / sign-up, and bcrypt compares in flight for the ceiling (default 16)
  --probe-rate R        fixed request rate of the GET /users/me latency probe, idle and during the storm (default 300)
  --cost N              BCRYPT_COST of the server and the ceiling (default 12)
  --users N             seeded users; above 1000 a second server on N users is compared with the 1k one (default 1000)
  --rounds N            interleaved 1k / N rounds of the scale comparison (default 2)
  --ratio-pairs N       bare / GET /users/me pairs, interleaved, for the ratio target (its median; default 5)
  --mysql [URL]         MariaDB/MySQL (default mysql://root@127.0.0.1:3306); a fresh uc_bench_* database, dropped afterwards
  --redis [URL]         Redis (default redis://127.0.0.1:6379) with a fresh key prefix, deleted afterwards
  --only a,b            run only these scenarios: bare, users-me, probe, login, storm, refresh, signup, captcha, ceiling, soak, outbox
  --soak                add the soak to the run (by default it runs only with --only soak)
  --soak-duration S     seconds of the soak's mixed load (default 360; shorten for trials; the targets need > 140)
  --soak-cost N         BCRYPT_COST of the soak's server (default 10)
  --heap-snapshots a,b  seconds into the soak at which the server writes a heap snapshot to .tmp/heap-snapshots (diagnostics only)
  --profile SCENARIO    CPU-profile the server during one scenario (e.g. users-me) and print its top frames
  --signing-keys N      N RSA signing keys in JWT_PRIVATE_KEYS (the first signs, all verify and are published; default 1: the generated development key)
  --revoke-all          an emergency sign-out (POST /admin/sessions/revoke-all) before the token pool is signed in, so every request checks a live cut-off
  --env KEY=VALUE       extra server setting (repeatable)
  --note TEXT           a sentence for the report (e.g. what else was running)
  --out DIR             where benchmarks.{md,json,svg} and soak.{md,json,svg} go (default docs)`;

function parseArgs(argv) {
  const options = {
    duration: 5, slowDuration: 20, probeDuration: 15, warmup: 1, connections: 50, loginConnections: 16, probeRate: 300, cost: 12, users: 1000, rounds: 2, ratioPairs: 5,
    mysql: null, redis: null, only: null, signingKeys: 1, revokeAll: false, profile: null, env: {}, note: '', out: join(root, 'docs'),
    soak: false, soakDuration: 360, soakCost: 10, heapSnapshots: [],
  };
  const numeric = { '--duration': 'duration', '--slow-duration': 'slowDuration', '--probe-duration': 'probeDuration', '--warmup': 'warmup', '--connections': 'connections', '--login-connections': 'loginConnections', '--probe-rate': 'probeRate', '--cost': 'cost', '--users': 'users', '--rounds': 'rounds', '--ratio-pairs': 'ratioPairs', '--soak-duration': 'soakDuration', '--soak-cost': 'soakCost', '--signing-keys': 'signingKeys' };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const next = () => {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      return argv[++i];
    };
    const optionalUrl = (fallback) => (argv[i + 1] && !argv[i + 1].startsWith('--') ? next() : fallback);
    if (flag === '--help' || flag === '-h') {
      process.stdout.write(`${HELP}\n`);
      process.exit(0);
    } else if (numeric[flag]) {
      const value = Number(next());
      if (!Number.isFinite(value) || value < 0) throw new Error(`${flag} must be a number`);
      options[numeric[flag]] = value;
    } else if (flag === '--mysql') options.mysql = optionalUrl('mysql://root@127.0.0.1:3306');
    else if (flag === '--redis') options.redis = optionalUrl('redis://127.0.0.1:6379');
    else if (flag === '--only') options.only = new Set(next().split(',').map((s) => s.trim()));
    else if (flag === '--profile') options.profile = next();
    else if (flag === '--revoke-all') options.revokeAll = true;
    else if (flag === '--soak') options.soak = true;
    else if (flag === '--heap-snapshots') options.heapSnapshots = next().split(',').map(Number).filter((n) => Number.isFinite(n) && n >= 0);
    else if (flag === '--env') {
      const [key, ...rest] = next().split('=');
      options.env[key] = rest.join('=');
    } else if (flag === '--note') options.note = next();
    else if (flag === '--out') options.out = resolve(next());
    else throw new Error(`unknown flag ${flag} (see --help)`);
  }
  for (const url of [options.mysql, options.redis]) {
    if (url && !['127.0.0.1', 'localhost', '[::1]'].includes(new URL(url).hostname)) throw new Error(`the bench only talks to this machine: ${url}`);
  }
  options.users = Math.max(10, Math.floor(options.users));
  return options;
}

const log = (line) => process.stdout.write(`[bench] ${line}\n`);
const API = '/api/v1';
const PASSWORD = 'violet sunrise 42';
const CAPTCHA_TEXT = 'abcde';
// The first admin (ADMIN_*): the outbox scenario registers a webhook endpoint with it.
const BENCH_ADMIN = { username: 'bench_admin', email: 'bench.admin@bench.example', password: 'granite harbour 19' };
const BASELINE_USERS = 1000;
const SHORT_SCENARIOS = ['users-me', 'probe', 'login', 'storm', 'refresh', 'signup', 'captcha', 'ceiling', 'outbox'];
// main.ts sizes the libuv pool this way unless UV_THREADPOOL_SIZE is set; the ceiling uses the same.
const threadpool = Number(process.env.UV_THREADPOOL_SIZE) || Math.max(4, availableParallelism());

async function api(server, method, path, body, headers = {}) {
  const response = await fetch(`${server.url}${API}${path}`, {
    method,
    headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  const json = text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : null;
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return json?.data;
}

async function inParallel(count, width, task) {
  const results = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      while (next < count) {
        const index = next++;
        results[index] = await task(index);
      }
    }),
  );
  return results;
}

/** Resources for one server instance: data dir, database (via the counting proxy) and key prefix. */
async function provision(options, tmp, label, cleanups) {
  const dataDir = join(tmp, `data-${label}`);
  mkdirSync(dataDir, { recursive: true });
  const env = { DATA_DIR: dataDir };
  let seedTarget = { driver: 'sqlite', file: join(dataDir, 'user-centre.sqlite') };
  let counter = null;
  if (options.mysql) {
    const mysql = require('mysql2/promise');
    const base = new URL(options.mysql);
    const name = `uc_bench_${randomBytes(5).toString('hex')}_${label}`;
    const connect = () => mysql.createConnection({ host: base.hostname, port: Number(base.port || 3306), user: decodeURIComponent(base.username), password: decodeURIComponent(base.password) });
    const admin = await connect();
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    await admin.end();
    cleanups.push(async () => {
      const conn = await connect();
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await conn.end();
      log(`dropped database ${name}`);
    });
    const proxy = await startCountingProxy(base.hostname, Number(base.port || 3306));
    cleanups.push(() => proxy.close());
    counter = proxy.counter;
    const direct = new URL(base);
    direct.pathname = `/${name}`;
    const proxied = new URL(direct);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    env.DATABASE_URL = proxied.toString();
    seedTarget = { driver: 'mysql', url: direct.toString() };
  }
  if (options.redis) {
    const prefix = `uc_bench:${randomBytes(5).toString('hex')}:${label}:`;
    env.REDIS_URL = options.redis;
    env.REDIS_KEY_PREFIX = prefix;
    cleanups.push(() => deleteRedisPrefix(options.redis, prefix));
  }
  return { env, seedTarget, counter, dataDir };
}

async function deleteRedisPrefix(url, prefix) {
  const Redis = require('ioredis');
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  redis.disconnect();
  log(`deleted ${deleted} Redis keys under ${prefix}`);
}

/** The server is started the way `npm start` starts it: the same environment prefix and Node flags, read from package.json. */
function startCommand() {
  const start = require(join(root, 'package.json')).scripts.start;
  const match = /^((?:[A-Z_]+=\S+\s+)*)exec node((?:\s+--\S+)*)\s+dist\/main\.js$/.exec(start);
  if (!match) throw new Error(`package.json's start script is not "[VAR=value ...] exec node [flags] dist/main.js": ${start}`);
  const env = Object.fromEntries(match[1].trim().split(/\s+/).filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
  return { env, flags: match[2].trim().split(/\s+/).filter(Boolean) };
}

async function startServer(options, tmp, label, resources, nodeArgs = []) {
  return startProcess({
    name: `server-${label}`,
    args: ['dist/main.js'],
    nodeArgs: [...startCommand().flags, ...nodeArgs],
    logFile: join(tmp, `server-${label}.log`),
    readyPath: '/.well-known/jwks.json',
    env: {
      ...startCommand().env,
      NODE_ENV: 'development',
      HOST: '127.0.0.1',
      BCRYPT_COST: String(options.cost),
      CAPTCHA_FIXED_TEXT: CAPTCHA_TEXT,
      // One client IP sends every request here: the per-IP limits go to their maximum (they still
      // run and are measured); the per-account limits still apply.
      LOGIN_PER_IP_PER_MINUTE: '100000',
      RATE_LIMIT_PER_MINUTE: '1000000',
      REGISTRATION_PER_IP_PER_HOUR: '1000000',
      // Captchas come from many clients (lib/clients.js) through a trusted proxy: CAPTCHA_PER_IP stays at its default.
      TRUSTED_PROXIES: '127.0.0.1',
      // The production log format: one JSON access line per request.
      LOG_FORMAT: 'json',
      ADMIN_USERNAME: BENCH_ADMIN.username,
      ADMIN_EMAIL: BENCH_ADMIN.email,
      ADMIN_PASSWORD: BENCH_ADMIN.password,
      // The outbox scenario's receiver listens on 127.0.0.1.
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      ...resources.env,
      ...options.env,
      ...options.secretEnv,
    },
  });
}

/** A few accounts through the API (captcha + sign-up), then `count` more in bulk SQL. */
async function seed(server, resources, from, to, passwordHash) {
  const viaApi = [];
  for (let i = 0; i < 3; i += 1) {
    const captchaId = randomUUID();
    await api(server, 'GET', `/verification/captcha/${captchaId}`, undefined, fromSomeClient());
    const username = `api_user_${i}_${randomBytes(3).toString('hex')}`;
    viaApi.push(await api(server, 'POST', '/users', { username, email: `${username}@bench.example`, password: PASSWORD, captchaId, captchaText: CAPTCHA_TEXT }));
  }
  const seeder = await openSeeder(resources.seedTarget);
  try {
    const template = await seeder.templateOf(viaApi[0].id);
    const started = Date.now();
    let lastLog = 0;
    await seeder.insert(template, from, to, passwordHash, (done) => {
      if (Date.now() - lastLog > 10_000) {
        lastLog = Date.now();
        log(`  seeded ${done.toLocaleString('en')} / ${(to - from).toLocaleString('en')} users`);
      }
    });
    const seconds = (Date.now() - started) / 1000;
    const total = await seeder.count();
    log(`seeded ${(to - from).toLocaleString('en')} users in bulk in ${seconds.toFixed(1)} s (${total.toLocaleString('en')} in the table)`);
    return { seconds, total, apiUser: viaApi[0] };
  } finally {
    await seeder.close();
  }
}

/** --signing-keys N: N fresh RSA keys for JWT_PRIVATE_KEYS (kept out of the report). */
function signingKeys(count) {
  const { generateKeyPairSync } = require('node:crypto');
  return JSON.stringify(Array.from({ length: count }, (_, i) => ({
    kid: `bench-${i + 1}`,
    privateKey: generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } }).privateKey,
  })));
}

/**
 * --revoke-all: an account made through the API becomes an admin (straight in the database, as the
 * CLI's create-admin would) and signs everyone out, so every measured request checks a live cut-off.
 */
async function revokeAll(server, resources, apiUser) {
  const seeder = await openSeeder(resources.seedTarget);
  try {
    await seeder.setRole(apiUser.id, 'admin');
  } finally {
    await seeder.close();
  }
  const pair = await api(server, 'POST', '/auth/login', { identifier: apiUser.username, password: PASSWORD });
  const cut = await api(server, 'POST', '/admin/sessions/revoke-all', {}, { authorization: `Bearer ${pair.accessToken}` });
  // The token pool is signed in after the cut-off (sessions start in whole milliseconds).
  await new Promise((r) => setTimeout(r, 1100));
  log(`revoke-all: sessions started before ${cut.before} are signed out`);
}

/** Seeds users 1..userCount, sets the revoke-all marker when asked, and signs in the token pool. */
async function prepare(server, resources, options, userCount, passwordHash) {
  const { apiUser, ...seeding } = await seed(server, resources, 1, userCount + 1, passwordHash);
  if (options.revokeAll) await revokeAll(server, resources, apiUser);
  return seeding;
}

/**
 * Signs in as `count` random seeded users (1..userCount) and fetches each one's /users/me once, so
 * the measured loads see the cached view (the first read of an account is a database query).
 */
async function openSessions(server, count, userCount) {
  const sessions = await inParallel(count, 8, async () => {
    const identifier = seededName(1 + Math.floor(Math.random() * userCount));
    const pair = await api(server, 'POST', '/auth/login', { identifier, password: PASSWORD });
    return { accessToken: pair.accessToken, refreshToken: pair.refreshToken };
  });
  for (const session of sessions) await api(server, 'GET', '/users/me', undefined, { authorization: `Bearer ${session.accessToken}` });
  return sessions;
}

/**
 * Sign-ins as random seeded users, a fresh pick for every request. (A fixed list would be walked in
 * step by every autocannon connection, so all of them would sign in as one account at once, and
 * that account's attempts in flight meet the captcha: sign-in counts attempts before the compare.)
 */
function loginRequests(userCount) {
  return [{
    method: 'POST',
    path: `${API}/auth/login`,
    headers: { 'content-type': 'application/json' },
    setupRequest: (request) => ({ ...request, body: JSON.stringify({ identifier: seededName(1 + Math.floor(Math.random() * userCount)), password: PASSWORD }) }),
  }];
}

function meRequests(sessions) {
  return sessions.map((s) => ({ method: 'GET', path: `${API}/users/me`, headers: { authorization: `Bearer ${s.accessToken}` } }));
}

function ceiling(options) {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(__dirname, 'bcrypt-ceiling.js')], {
      cwd: root,
      env: { ...process.env, UV_THREADPOOL_SIZE: String(threadpool), BENCH_COST: String(options.cost), BENCH_CONCURRENCY: String(options.loginConnections), BENCH_DURATION_MS: String(options.slowDuration * 1000) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) => (code === 0 ? resolvePromise(JSON.parse(out.trim())) : reject(new Error(`bcrypt ceiling exited with ${code}`))));
  });
}

/** Runs GET /users/me at a fixed rate (the latency probe) while `background` (if any) loads the server. */
async function probe(name, server, counter, sessions, options, extra, settleFirst = true) {
  return measure({
    name, pid: server.pid, counter, settleFirst, url: server.url, connections: 10, overallRate: options.probeRate,
    duration: options.probeDuration, requests: meRequests(sessions), extra,
  });
}

async function main() {
  const options = parseArgs(process.argv.slice(2));
  options.secretEnv = options.signingKeys > 1 && !options.env.JWT_PRIVATE_KEYS ? { JWT_PRIVATE_KEYS: signingKeys(options.signingKeys) } : {};
  // The soak runs only when asked for (--soak, or --only soak): it takes minutes, the rest about two.
  const wants = (scenario) => (scenario === 'soak' ? options.soak || Boolean(options.only?.has('soak')) : !options.only || options.only.has(scenario));
  const shortWanted = SHORT_SCENARIOS.some(wants);
  execFileSync(process.execPath, [join(root, 'scripts', 'build-if-needed.js')], { stdio: 'inherit' });

  const startedAt = new Date();
  const report = {
    date: startedAt.toISOString(),
    machine: machine(),
    note: options.note,
    settings: {
      backend: `${options.mysql ? 'MariaDB/MySQL' : 'SQLite (embedded)'} + ${options.redis ? 'Redis' : 'in-process store'}`,
      startCommand: require(join(root, 'package.json')).scripts.start.replace(/\bexec /, ''),
      bcryptCost: options.cost, threadpool, duration: options.duration, slowDuration: options.slowDuration, probeDuration: options.probeDuration, warmup: options.warmup, connections: options.connections,
      loginConnections: options.loginConnections, probeRate: options.probeRate, users: options.users, signingKeys: options.signingKeys, revokeAll: options.revokeAll, extraEnv: options.env, argv: process.argv.slice(2).map((arg, i, all) => (all[i - 1] === '--note' ? '"…"' : /\s/.test(arg) ? JSON.stringify(arg) : arg)).join(' '),
    },
    scenarios: [],
    ceiling: null,
    scale: null,
    seeding: [],
  };
  log(`machine: ${report.machine.nproc} cores, ${report.machine.cpuModel}, ${report.machine.memoryGiB} GiB, node ${report.machine.node}, load ${report.machine.loadAverage.join(' ')}`);
  log(`backend: ${report.settings.backend}, BCRYPT_COST=${options.cost}, UV_THREADPOOL_SIZE=${threadpool}, ${options.duration}s per scenario`);

  const tmp = mkdtempSync(join(tmpdir(), 'uc-bench-'));
  const cleanups = [];
  const servers = [];
  // Ctrl-C still stops the servers and drops the database and keys this run created.
  const tidy = async () => {
    for (const s of servers) await s.stop().catch(() => undefined);
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => log(`cleanup failed: ${error.message}`));
    cleanups.length = 0;
    rmSync(tmp, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      log(`${signal}: cleaning up`);
      tidy().finally(() => process.exit(130));
    });
  }
  const push = (result) => {
    report.scenarios.push(result);
    const l = result.latencyMs;
    log(`  ${result.name}: ${result.rps} req/s, p50 ${l.p50} ms, p99 ${l.p99} ms, non-2xx ${result.non2xx}${result.non2xx ? ` ${JSON.stringify(result.otherStatuses)}` : ''}, errors ${result.errors}, CPU ${result.serverCpuMsPerRequest ?? '-'} ms/req, peak RSS ${result.peakRssMb ?? '-'} MB${result.dbStatementsPerRequest !== null && result.dbStatementsPerRequest !== undefined ? `, ${result.dbStatementsPerRequest} SQL/req` : ''}`);
    return result;
  };

  try {

    // The bare app stays up until the ratio's pairs are done: on a shared or virtualised host the same
    // bare endpoint has measured anywhere from 9k to 57k req/s within an hour, so one bare run set
    // against one /users/me run minutes later compares two moments of the host, not two servers.
    let bare = null;
    const measureBare = (name = 'bare') => measure({ name, pid: bare.pid, url: `${bare.url}/bare`, connections: options.connections, duration: options.duration, warmup: options.warmup, extra: { target: 'bare Nest + Fastify GET' } });
    if (wants('bare')) {
      bare = await startProcess({ name: 'bare', args: [join('scripts', 'bench', 'bare-app.js')], logFile: join(tmp, 'bare.log'), readyPath: '/bare', env: {} });
      servers.push(bare);
      push(await measureBare());
    }

    const profileDir = join(root, '.tmp', 'bench-profiles');
    if (shortWanted) {
      const hasher = require(join(root, 'dist', 'modules', 'users', 'password', 'password-hasher.js'));
      const passwordHash = await new hasher.PasswordHasher({ passwords: { bcryptCost: options.cost } }).hash(PASSWORD);

      const resources = await provision(options, tmp, '1k', cleanups);
      const nodeArgs = options.profile ? ['-r', join(__dirname, 'profile-on-signal.js')] : [];
      const server = await startServer(options, tmp, '1k', { ...resources, env: { ...resources.env, BENCH_PROFILE_DIR: profileDir } }, nodeArgs);
      servers.push(server);
      const baseUsers = Math.min(options.users, BASELINE_USERS);
      report.seeding.push({ server: '1k', ...(await prepare(server, resources, options, baseUsers, passwordHash)) });
      const { counter } = resources;
      // With --profile NAME, SIGWINCH toggles the preloaded profiler around that scenario only.
      const profiled = async (name, run) => {
        if (options.profile !== name) return run();
        process.kill(server.pid, 'SIGWINCH');
        const result = await run();
        process.kill(server.pid, 'SIGWINCH');
        await new Promise((r) => setTimeout(r, 2000));
        return result;
      };
      const sessionCount = Math.max(options.connections, 10);
      log(`signing in ${sessionCount} sessions for the token pool`);
      const sessions = await openSessions(server, sessionCount, baseUsers);

      const measureMe = (name = 'users-me') => measure({ name, pid: server.pid, counter, url: server.url, connections: options.connections, duration: options.duration, warmup: options.warmup, requests: meRequests(sessions), extra: { target: 'GET /users/me (bearer, revocation check, cached view)' } });
      if (wants('users-me')) {
        const first = push(await profiled('users-me', () => measureMe()));
        if (bare) {
          // The ratio target is the median of interleaved pairs (bare, then /users/me, right after each other).
          const pairs = [{ bareRps: report.scenarios.find((s) => s.name === 'bare').rps, meRps: first.rps, meNon2xx: first.non2xx }];
          for (let pair = 2; pair <= Math.max(1, options.ratioPairs); pair += 1) {
            const bareAgain = await measureBare(`bare (pair ${pair})`);
            const meAgain = await measureMe(`users-me (pair ${pair})`);
            pairs.push({ bareRps: bareAgain.rps, meRps: meAgain.rps, meNon2xx: meAgain.non2xx });
            log(`  ratio pair ${pair}: ${meAgain.rps} vs ${bareAgain.rps} req/s = ${((meAgain.rps / bareAgain.rps) * 100).toFixed(1)}%`);
          }
          report.ratioPairs = pairs;
        }
      }
      if (bare) {
        await bare.stop();
        bare = null;
      }
      let idleProbe = null;
      if (wants('probe') || wants('storm')) {
        await fire({ url: server.url, connections: 10, overallRate: options.probeRate, duration: options.warmup, requests: meRequests(sessions) }).promise;
        idleProbe = push(await probe('users-me probe (idle)', server, counter, sessions, options, { target: `GET /users/me at a fixed ${options.probeRate} req/s` }));
      }
      if (wants('ceiling') || wants('login')) {
        // Measured right before and right after the sign-in load (the server idle), so a shared
        // machine's changing load hits both alike; the target uses the higher of the two.
        await settle(server.pid);
        const first = await ceiling(options);
        report.ceiling = { ...first, runs: [first.perSecond] };
        log(`bcrypt ceiling: ${first.perSecond.toFixed(1)} compares/s (${options.loginConnections} in flight, cost ${options.cost}, pool ${threadpool})`);
      }
      if (wants('login')) {
        push(await profiled('login', () => measure({ name: 'login', pid: server.pid, counter, url: server.url, connections: options.loginConnections, duration: options.slowDuration, ramp: 2, requests: loginRequests(baseUsers), extra: { target: `POST /auth/login, random seeded users, bcrypt cost ${options.cost}` } })));
        if (report.ceiling) {
          await settle(server.pid);
          const again = await ceiling(options);
          report.ceiling.runs.push(again.perSecond);
          report.ceiling.perSecond = Math.max(...report.ceiling.runs);
          log(`bcrypt ceiling after sign-in: ${again.perSecond.toFixed(1)} compares/s`);
        }
      }
      if (wants('storm')) {
        // Saturate bcrypt with sign-ins, let the queue fill for two seconds, then probe /users/me at the
        // same fixed rate as idle; the storm's own figures cover the probe's window only.
        await settle(server.pid);
        const storm = fire({ url: server.url, connections: options.loginConnections, duration: options.probeDuration + 30, requests: loginRequests(baseUsers) });
        await new Promise((r) => setTimeout(r, 2000));
        const from = performance.now();
        const watcher = watch(server.pid);
        const before = counter?.statements ?? null;
        const during = await probe('users-me probe (sign-in storm)', server, null, sessions, options, { target: `GET /users/me at ${options.probeRate} req/s while ${options.loginConnections} connections sign in` }, false);
        const to = performance.now();
        const usage = watcher.stop();
        const statements = counter ? counter.statements - before : null;
        storm.instance.stop();
        const stormResult = windowed(await storm.promise, from, to);
        push(during);
        push(summarise('login (storm)', stormResult, usage, statements, { target: 'the sign-in storm itself, over the probe window (CPU and RSS cover storm + probe)' }));
      }
      if (wants('refresh')) {
        // autocannon resets its per-connection context on every loop of its request list, so it cannot
        // chain answers into requests: a bounded closed loop does it instead. Each connection owns one
        // session and presents the refresh token the previous answer returned, so every request spends
        // a fresh, unspent token.
        const pool = sessions.map((s) => s.refreshToken);
        push(await profiled('refresh', () => measure({
          name: 'refresh', pid: server.pid, counter, url: server.url, connections: Math.min(options.connections, pool.length), duration: options.duration,
          custom: {
            start: (index) => ({ token: pool[index] }),
            next: (state) => ({ method: 'POST', path: `${API}/auth/refresh`, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refreshToken: state.token }) }),
            onAnswer: (state, status, body) => {
              if (status === 200) state.token = JSON.parse(body).data.refreshToken;
            },
          },
          extra: { target: 'POST /auth/refresh, each connection chaining its own session (closed loop, node:http)' },
        })));
      }
      if (wants('signup')) {
        // Captchas are fetched beforehand (the fixed test answer), one per sign-up, so the load is sign-ups only.
        const rate = report.ceiling?.perSecond ?? 50;
        const poolSize = Math.min(20_000, Math.ceil(rate * (options.slowDuration + 2) * 1.5) + 50);
        const captchas = await inParallel(poolSize, 8, async () => {
          const id = randomUUID();
          await api(server, 'GET', `/verification/captcha/${id}`, undefined, fromSomeClient());
          return id;
        });
        push(await profiled('signup', () => measure({
          name: 'signup', pid: server.pid, counter, url: server.url, connections: options.loginConnections, duration: options.slowDuration, ramp: 2,
          requests: [{
            method: 'POST', path: `${API}/users`, headers: { 'content-type': 'application/json' },
            setupRequest: (request) => {
              const username = `su_${randomBytes(6).toString('hex')}`;
              return { ...request, body: JSON.stringify({ username, email: `${username}@bench.example`, password: PASSWORD, captchaId: captchas.pop() ?? randomUUID(), captchaText: CAPTCHA_TEXT }) };
            },
          }],
          extra: { target: `POST /users with a solved captcha, bcrypt cost ${options.cost}` },
        })));
      }
      if (wants('captcha')) {
        push(await profiled('captcha', () => measure({
          name: 'captcha', pid: server.pid, counter, url: server.url, connections: options.connections, duration: options.duration, warmup: options.warmup,
          requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `${API}/verification/captcha/${randomUUID()}`, headers: fromSomeClient(request.headers) }) }],
          extra: { target: 'GET /verification/captcha/:id (a fresh PNG each time, from 5,000 clients)' },
        })));
      }

      if (wants('outbox')) {
        for (const result of await outboxScenarios(options, server, counter, sessions)) push(result);
      }

      if (options.users > BASELINE_USERS && (wants('probe') || wants('login'))) {
        report.scale = await compareScale(options, tmp, cleanups, servers, server, resources, sessions, passwordHash);
      }
      // The soak wants a fresh process of its own: stop this one so its garbage and its load are not counted.
      for (const s of servers.splice(0)) await s.stop();
    }

    if (wants('soak')) report.soak = await soak(options, tmp, cleanups, servers);

    if (options.profile) {
      const { topFrames } = require('./profile-top');
      for (const file of readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))) {
        log(`CPU profile of ${options.profile}: ${join(profileDir, file)}; top self-time frames:`);
        process.stdout.write(`${topFrames(join(profileDir, file), 30)}\n`);
      }
    }
  } finally {
    await tidy();
  }

  report.finishedAt = new Date().toISOString();
  // The soak has its own report beside the short scenarios' one, so `--only soak` leaves benchmarks.* as they are.
  const { soak: soakResult, ...short } = report;
  if (shortWanted || wants('bare')) {
    const written = writeReport(short, options.out);
    process.stdout.write(`\n${written.targetsText}\n`);
    log(`wrote ${written.files.join(', ')}`);
  }
  if (soakResult) {
    const written = writeSoakReport({ ...short, scenarios: undefined, ceiling: undefined, scale: undefined, soak: soakResult }, options.out);
    process.stdout.write(`\n${written.targetsText}\n`);
    log(`wrote ${written.files.join(', ')}`);
  }
}

/**
 * The soak (issue 21): a server of its own at the soak's bcrypt cost, 1,000 seeded users, 50
 * sessions, then the mix for a short reference run and for `--soak-duration` seconds.
 */
async function soak(options, tmp, cleanups, servers) {
  const cost = options.soakCost;
  const hasher = require(join(root, 'dist', 'modules', 'users', 'password', 'password-hasher.js'));
  const passwordHash = await new hasher.PasswordHasher({ passwords: { bcryptCost: cost } }).hash(PASSWORD);
  const resources = await provision(options, tmp, 'soak', cleanups);
  const nodeArgs = [];
  if (options.heapSnapshots.length) {
    const dir = join(root, '.tmp', 'heap-snapshots');
    mkdirSync(dir, { recursive: true });
    nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${dir}`);
    log(`heap snapshots at ${options.heapSnapshots.join(', ')} s go to ${dir}`);
  }
  const server = await startServer({ ...options, cost }, tmp, 'soak', resources, nodeArgs);
  servers.push(server);
  const users = BASELINE_USERS;
  const seeding = await prepare(server, resources, options, users, passwordHash);
  const sessionCount = 50;
  const sessions = await openSessions(server, sessionCount, users);
  const connections = { me: 20, captcha: 4, auth: 2 };
  log(`soak: ${options.soakDuration} s of ${connections.me} conn. GET /users/me + ${connections.captcha} conn. captchas + ${connections.auth} sign-in → refresh → sign-out loops, BCRYPT_COST=${cost}`);
  const result = await runSoak({
    server, log, snapshotsAt: options.heapSnapshots, referenceSeconds: Math.max(options.duration, 5), warmupSeconds: options.warmup, soakSeconds: options.soakDuration,
    api: API, sessions, userCount: users, seededName, password: PASSWORD, connections,
  });
  await server.stop();
  return { ...result, cost, users, sessions: sessionCount, warmupSeconds: options.warmup, seeding };
}

/** A webhook receiver on loopback that answers 204 at once and notes when each event arrived. */
async function startReceiver() {
  const http = require('node:http');
  const arrivals = new Map();
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const id = request.headers['webhook-id'];
      if (!arrivals.has(id)) arrivals.set(id, { at: Date.now(), writtenAt: Date.parse(JSON.parse(body).timestamp) });
      response.writeHead(204).end();
    });
  });
  await new Promise((resolvePromise) => server.listen(0, '127.0.0.1', resolvePromise));
  return { url: `http://127.0.0.1:${server.address().port}/hooks`, arrivals, close: () => new Promise((resolvePromise) => server.close(resolvePromise)) };
}

/**
 * The outbox (contract §12). Every write route inserts its event in its own transaction, always (it
 * cannot be switched off), so the honest comparison for "what a write pays for its event" is the same
 * route on the same server: PATCH /users/me with no webhook endpoint (the event INSERT only; the
 * worker dispatches it to nobody) against PATCH /users/me while one endpoint receives every event
 * (the worker in the same process dispatching, signing and POSTing alongside). Then the throughput:
 * events delivered per second to a fast local receiver while the PATCH load ran, and after it, with
 * the delivery lag (write to arrival) as the latency columns.
 */
async function outboxScenarios(options, server, counter, sessions) {
  // Only the first pass warms up: warm-up requests write events too, which would blur the delivery count.
  const patches = (name, target, warmup) =>
    measure({
      name, pid: server.pid, counter, url: server.url, connections: options.connections, duration: options.duration, warmup, extra: { target },
      requests: sessions.map((s) => ({
        method: 'PATCH', path: `${API}/users/me`, headers: { authorization: `Bearer ${s.accessToken}`, 'content-type': 'application/json' },
        setupRequest: (request) => ({ ...request, body: JSON.stringify({ intro: `bench ${randomBytes(6).toString('hex')}` }) }),
      })),
    });
  const results = [];
  results.push(await patches('patch-me (no endpoint)', 'PATCH /users/me: the change and its outbox event in one transaction; no endpoint registered', options.warmup));
  const receiver = await startReceiver();
  try {
    const admin = await api(server, 'POST', '/auth/login', { identifier: BENCH_ADMIN.username, password: BENCH_ADMIN.password });
    await api(server, 'POST', '/admin/webhooks', { url: receiver.url, events: ['user.updated'] }, { authorization: `Bearer ${admin.accessToken}` });
    // Events written before the endpoint existed were dispatched to nobody: only the next ones count.
    await new Promise((r) => setTimeout(r, 2000));
    receiver.arrivals.clear();
    const delivering = await patches('patch-me (delivering)', 'PATCH /users/me while one webhook endpoint receives every event (worker in the same process)', 0);
    results.push(delivering);
    // Every answered PATCH wrote one event; requests still in flight when the load stopped wrote theirs too.
    const written = delivering.ok;
    const loadEnded = Date.now();
    // Let the worker catch up: wait until nothing new has arrived for 3 s (bounded).
    const deadline = Date.now() + 60_000;
    for (let last = -1; receiver.arrivals.size !== last && Date.now() < deadline; ) {
      last = receiver.arrivals.size;
      await new Promise((r) => setTimeout(r, 3000));
    }
    const arrivals = [...receiver.arrivals.values()];
    const lags = Float64Array.from(arrivals.map((a) => a.at - a.writtenAt)).sort();
    const pct = (p) => (lags.length ? round(lags[Math.min(lags.length - 1, Math.floor((p / 100) * lags.length))], 1) : 0);
    // From the first event written under the load (measure() first waits for the server to settle).
    const from = arrivals.length ? Math.min(...arrivals.map((a) => a.writtenAt)) : loadEnded;
    const lastAt = arrivals.length ? Math.max(...arrivals.map((a) => a.at)) : from;
    const seconds = (lastAt - from) / 1000;
    // The backlog left when the writes stopped, drained by the worker alone: its pure delivery rate.
    const drained = arrivals.filter((a) => a.at > loadEnded).length;
    const drainRate = lastAt > loadEnded ? round(drained / ((lastAt - loadEnded) / 1000), 1) : null;
    log(`  outbox: ${arrivals.length} events delivered (${written} PATCHes answered in the window) in ${seconds.toFixed(1)} s; the ${drained} still queued when the load stopped drained at ${drainRate ?? '-'} events/s`);
    results.push({
      name: 'outbox delivery',
      target: `events/s delivered to a fast local receiver, from the start of the PATCH load until the last arrived (${arrivals.length} events; the backlog after the load drained at ${drainRate ?? '-'} events/s); latency = write-to-arrival lag`,
      connections: options.connections, seconds: round(seconds, 2), requests: arrivals.length, ok: arrivals.length, non2xx: 0, otherStatuses: {}, errors: 0, timeouts: 0,
      rps: seconds > 0 ? round(arrivals.length / seconds, 1) : 0,
      drainPerSecond: drainRate,
      latencyMs: { mean: lags.length ? round(lags.reduce((a, b) => a + b, 0) / lags.length, 1) : 0, p50: pct(50), p90: pct(90), p99: pct(99), max: lags.length ? round(lags[lags.length - 1], 1) : 0 },
      serverCpuMsPerRequest: null, serverCpuPercent: null, peakRssMb: null, dbStatementsPerRequest: null,
    });
  } finally {
    await receiver.close();
  }
  return results;
}

/**
 * The scale comparison: a second server on its own database seeded to N users, measured in
 * interleaved rounds with the 1k server: /users/me at a fixed rate, and sign-in at low concurrency
 * (so latency is one request's service time, not queueing behind bcrypt).
 */
async function compareScale(options, tmp, cleanups, servers, small, smallResources, smallSessions, passwordHash) {
  const label = options.users >= 1e6 ? `${options.users / 1e6}m` : `${Math.round(options.users / 1000)}k`;
  const resources = await provision(options, tmp, label, cleanups);
  const big = await startServer(options, tmp, label, resources);
  servers.push(big);
  log(`seeding ${options.users.toLocaleString('en')} users for the scale comparison`);
  const seeding = await prepare(big, resources, options, options.users, passwordHash);
  const bigSessions = await openSessions(big, smallSessions.length, options.users);
  const sides = [
    { key: '1k', users: BASELINE_USERS, server: small, counter: smallResources.counter, sessions: smallSessions },
    { key: label, users: options.users, server: big, counter: resources.counter, sessions: bigSessions },
  ];
  const runs = [];
  const loginConnections = 2;
  for (let round = 1; round <= options.rounds; round += 1) {
    for (const side of round % 2 ? sides : [...sides].reverse()) {
      await fire({ url: side.server.url, connections: 10, overallRate: options.probeRate, duration: options.warmup, requests: meRequests(side.sessions) }).promise;
      const me = await probe(`users-me probe @ ${side.key}`, side.server, side.counter, side.sessions, options, { round, users: side.users });
      const login = await measure({ name: `login @ ${side.key}`, pid: side.server.pid, counter: side.counter, url: side.server.url, connections: loginConnections, duration: options.duration, ramp: 1, requests: loginRequests(side.users), extra: { round, users: side.users } });
      runs.push({ side: side.key, users: side.users, round, me, login });
      log(`  round ${round} @ ${side.key}: /users/me p50 ${me.latencyMs.p50} ms p99 ${me.latencyMs.p99} ms; sign-in p50 ${login.latencyMs.p50} ms p99 ${login.latencyMs.p99} ms (${login.non2xx} non-2xx)`);
    }
  }
  const mean = (values) => values.reduce((a, b) => a + b, 0) / values.length;
  const summary = Object.fromEntries(
    sides.map((side) => {
      const mine = runs.filter((run) => run.side === side.key);
      return [side.key, {
        users: side.users,
        meP50: round(mean(mine.map((r) => r.me.latencyMs.p50))), meP99: round(mean(mine.map((r) => r.me.latencyMs.p99))),
        loginP50: round(mean(mine.map((r) => r.login.latencyMs.p50))), loginP99: round(mean(mine.map((r) => r.login.latencyMs.p99))),
        loginRps: round(mean(mine.map((r) => r.login.rps)), 1),
        meSqlPerRequest: mine[0].me.dbStatementsPerRequest, loginSqlPerRequest: mine[0].login.dbStatementsPerRequest,
      }];
    }),
  );
  return { small: '1k', big: label, bigUsers: options.users, seedSeconds: round(seeding.seconds, 1), loginConnections, runs, summary };
}

main().catch((error) => {
  process.stderr.write(`[bench] failed: ${error.stack ?? error}\n`);
  process.exit(1);
});
