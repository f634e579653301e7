// Turns one bench run into docs/benchmarks.json (everything), benchmarks.md (tables, targets with
// PASS/FAIL, method) and benchmarks.svg (bars per scenario, log scales).
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const fmt = (value, digits = 1) => (value === null || value === undefined ? '–' : Number(value).toLocaleString('en', { maximumFractionDigits: digits }));

function evaluateTargets(report) {
  const find = (name) => report.scenarios.find((s) => s.name === name);
  const targets = [];
  const add = (name, measured, pass) => targets.push({ name, measured, result: pass === null ? 'NOT RUN' : pass ? 'PASS' : 'FAIL' });

  const bare = find('bare');
  const me = find('users-me');
  const pairs = report.ratioPairs?.length ? report.ratioPairs : bare && me ? [{ bareRps: bare.rps, meRps: me.rps, meNon2xx: me.non2xx }] : [];
  const ratio = (pair) => pair.meRps / pair.bareRps;
  const median = pairs.length ? [...pairs].sort((a, b) => ratio(a) - ratio(b))[Math.floor((pairs.length - 1) / 2)] : null;
  add(
    `GET /users/me ≥ 25% of the bare Nest + Fastify endpoint (same run${pairs.length > 1 ? `, median of ${pairs.length} interleaved pairs` : ''})`,
    median
      ? `${fmt(median.meRps, 0)} vs ${fmt(median.bareRps, 0)} req/s = ${fmt(ratio(median) * 100)}%${pairs.length > 1 ? ` (pairs: ${pairs.map((p) => `${fmt(ratio(p) * 100)}%`).join(', ')})` : ''}`
      : 'not run',
    median ? ratio(median) >= 0.25 && pairs.every((p) => p.meNon2xx === 0) : null,
  );
  const sql = me?.dbStatementsPerRequest;
  add(
    'no database query on the GET /users/me hot path (revocation check included)',
    me ? (sql === null ? 'not measurable on SQLite (in-process); run with --mysql, where SQL statements are counted on the wire' : `${sql} SQL statements per request (${me.requests} requests)`) : 'not run',
    me && sql !== null ? sql === 0 : null,
  );
  const login = find('login');
  const ceiling = report.ceiling;
  add(
    `sign-in ≥ 90% of the bcrypt compare ceiling at cost ${report.settings.bcryptCost}`,
    login && ceiling ? `${fmt(login.rps)} sign-ins/s vs ${fmt(ceiling.perSecond)} compares/s = ${fmt((login.rps / ceiling.perSecond) * 100)}%` : 'not run',
    login && ceiling ? login.rps >= 0.9 * ceiling.perSecond && login.non2xx === 0 : null,
  );
  const idle = find('users-me probe (idle)');
  const storm = find('users-me probe (sign-in storm)');
  add(
    'GET /users/me p99 during a sign-in storm ≤ 3× its idle p99',
    idle && storm ? `${fmt(storm.latencyMs.p99, 2)} ms vs ${fmt(idle.latencyMs.p99, 2)} ms idle = ${fmt(storm.latencyMs.p99 / idle.latencyMs.p99, 2)}×` : 'not run',
    idle && storm ? storm.latencyMs.p99 <= 3 * idle.latencyMs.p99 && storm.non2xx === 0 : null,
  );
  const serverRuns = report.scenarios.filter((s) => s.name !== 'bare' && s.peakRssMb !== null);
  const peak = serverRuns.length ? Math.max(...serverRuns.map((s) => s.peakRssMb)) : null;
  add('peak RSS under load ≤ 200 MB', peak === null ? 'not run' : `${fmt(peak)} MB (highest over the server scenarios)`, peak === null ? null : peak <= 200);
  const scale = report.scale;
  const scaleName = scale ? `${fmt(scale.bigUsers, 0)} users` : '1,000,000 users';
  for (const [label, key] of [['GET /users/me', 'meP50'], ['sign-in', 'loginP50']]) {
    const small = scale?.summary[scale.small];
    const big = scale?.summary[scale.big];
    add(
      `${label} median latency at ${scaleName} within 1.2× of 1,000 users${scale && scale.bigUsers < 1e6 ? ' (run with --users 1000000 for the real target)' : ''}`,
      scale ? `${fmt(big[key], 2)} ms vs ${fmt(small[key], 2)} ms = ${fmt(big[key] / small[key], 2)}×` : 'not run (npm run bench -- --mysql --users 1000000)',
      scale ? big[key] <= 1.2 * small[key] : null,
    );
  }
  return targets;
}

function scenarioTable(scenarios) {
  const head = '| scenario | what | conn. | req/s | p50 ms | p90 ms | p99 ms | non-2xx / errors | server CPU ms/req | server CPU % | peak RSS MB | SQL/req |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|';
  const rows = scenarios.map((s) => {
    const l = s.latencyMs;
    return `| ${s.name} | ${s.target ?? ''} | ${s.connections} | ${fmt(s.rps)} | ${fmt(l.p50, 2)} | ${fmt(l.p90, 2)} | ${fmt(l.p99, 2)} | ${s.non2xx} / ${s.errors} | ${fmt(s.serverCpuMsPerRequest, 3)} | ${fmt(s.serverCpuPercent)} | ${fmt(s.peakRssMb)} | ${s.dbStatementsPerRequest ?? '–'} |`;
  });
  return [head, ...rows].join('\n');
}

function scaleSection(scale) {
  if (!scale) return 'Not run: `npm run bench -- --mysql --redis --users 1000000` adds it.';
  const s = scale.summary[scale.small];
  const b = scale.summary[scale.big];
  const ratio = (x, y) => fmt(x / y, 2);
  return [
    `Two servers on two databases, one seeded with 1,000 users and one with ${fmt(scale.bigUsers, 0)} (bulk seeding took ${fmt(scale.seedSeconds)} s), measured in ${Math.max(...scale.runs.map((r) => r.round))} interleaved rounds. GET /users/me runs at the fixed probe rate; sign-in runs with ${scale.loginConnections} connections, so its latency is one request's service time (mostly one bcrypt compare), not queueing. Means over the rounds:`,
    '',
    `| | 1,000 users | ${fmt(scale.bigUsers, 0)} users | ratio |`,
    '|---|--:|--:|--:|',
    `| GET /users/me p50 ms | ${fmt(s.meP50, 2)} | ${fmt(b.meP50, 2)} | ${ratio(b.meP50, s.meP50)}× |`,
    `| GET /users/me p99 ms | ${fmt(s.meP99, 2)} | ${fmt(b.meP99, 2)} | ${ratio(b.meP99, s.meP99)}× |`,
    `| sign-in p50 ms | ${fmt(s.loginP50, 2)} | ${fmt(b.loginP50, 2)} | ${ratio(b.loginP50, s.loginP50)}× |`,
    `| sign-in p99 ms | ${fmt(s.loginP99, 2)} | ${fmt(b.loginP99, 2)} | ${ratio(b.loginP99, s.loginP99)}× |`,
    `| sign-ins/s (${scale.loginConnections} connections) | ${fmt(s.loginRps)} | ${fmt(b.loginRps)} | ${ratio(b.loginRps, s.loginRps)}× |`,
    `| SQL statements per GET /users/me | ${s.meSqlPerRequest ?? '–'} | ${b.meSqlPerRequest ?? '–'} | |`,
    `| SQL statements per sign-in | ${s.loginSqlPerRequest ?? '–'} | ${b.loginSqlPerRequest ?? '–'} | |`,
    '',
    'Every round:',
    '',
    '| round | users | /users/me p50 | p99 | sign-in p50 | p99 | sign-ins/s |',
    '|--:|--:|--:|--:|--:|--:|--:|',
    ...scale.runs.map((r) => `| ${r.round} | ${fmt(r.users, 0)} | ${fmt(r.me.latencyMs.p50, 2)} | ${fmt(r.me.latencyMs.p99, 2)} | ${fmt(r.login.latencyMs.p50, 2)} | ${fmt(r.login.latencyMs.p99, 2)} | ${fmt(r.login.rps)} |`),
  ].join('\n');
}

function escapeXml(text) {
  return String(text).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
}

/** Two panels of horizontal bars on log scales: throughput and p99 latency per scenario. */
function chart(report) {
  const rows = report.scenarios.filter((s) => s.rps > 0);
  const rowHeight = 26;
  const labelWidth = 230;
  const panelWidth = 330;
  const top = 72;
  const height = top + rows.length * rowHeight + 40;
  const width = labelWidth + panelWidth * 2 + 60;
  const panels = [
    { title: 'requests per second (log scale)', value: (s) => s.rps, unit: '', x: labelWidth },
    { title: 'p99 latency, ms (log scale)', value: (s) => s.latencyMs.p99, unit: ' ms', x: labelWidth + panelWidth + 40 },
  ];
  const colour = (s) => (s.name === 'bare' ? '#8a8f98' : s.name.includes('storm') ? '#e07b39' : s.name.includes('login') || s.name === 'signup' ? '#7b61c9' : '#2f7ed8');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="12" y="20" font-size="15" font-weight="bold">User Centre benchmark — ${escapeXml(report.date.slice(0, 10))}, ${escapeXml(report.settings.backend)}, bcrypt cost ${report.settings.bcryptCost}</text>`,
    `<text x="12" y="38" fill="#555">${escapeXml(`${report.machine.nproc} cores (${report.machine.cpuModel}), node ${report.machine.node}; grey = bare Nest + Fastify, purple = bcrypt-bound, orange = during a sign-in storm`)}</text>`,
  ];
  for (const panel of panels) {
    const values = rows.map(panel.value).filter((v) => v > 0);
    const maxExp = Math.ceil(Math.log10(Math.max(...values, 10)));
    const minExp = Math.min(0, Math.floor(Math.log10(Math.min(...values, 1))));
    const scale = (v) => ((Math.log10(Math.max(v, 10 ** minExp)) - minExp) / (maxExp - minExp)) * (panelWidth - 70);
    parts.push(`<text x="${panel.x}" y="${top - 6}" font-weight="bold">${escapeXml(panel.title)}</text>`);
    for (let e = minExp; e <= maxExp; e += 1) {
      const x = panel.x + scale(10 ** e);
      parts.push(`<line x1="${x}" y1="${top}" x2="${x}" y2="${top + rows.length * rowHeight}" stroke="#e3e3e3"/>`);
      parts.push(`<text x="${x}" y="${top + rows.length * rowHeight + 14}" text-anchor="middle" fill="#777" font-size="10">${fmt(10 ** e, 2)}</text>`);
    }
    rows.forEach((s, i) => {
      const v = panel.value(s);
      const y = top + i * rowHeight + 4;
      const w = Math.max(1, scale(v));
      parts.push(`<rect x="${panel.x}" y="${y}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${colour(s)}"/>`);
      parts.push(`<text x="${(panel.x + w + 4).toFixed(1)}" y="${y + rowHeight - 12}" fill="#222">${escapeXml(fmt(v, v < 10 ? 2 : 0) + panel.unit)}</text>`);
    });
  }
  rows.forEach((s, i) => {
    parts.push(`<text x="${labelWidth - 8}" y="${top + i * rowHeight + rowHeight - 8}" text-anchor="end">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function markdown(report, targets) {
  const m = report.machine;
  const st = report.settings;
  return `# Benchmarks

Generated by \`npm run bench${st.argv ? ` -- ${st.argv}` : ''}\` (\`scripts/bench/run.js\`) on **${report.date}**.
${report.note ? `\n> ${report.note}\n` : ''}
Rerun it on your machine to compare; every figure below comes from one run, and the raw data is in
[benchmarks.json](benchmarks.json).

## Machine

| cores (nproc) | CPU | memory | node | kernel | load average at start (1/5/15 min) |
|--:|---|--:|---|---|---|
| ${m.nproc} | ${m.cpuModel} | ${m.memoryGiB} GiB | ${m.node} | ${m.kernel} | ${m.loadAverage.join(' / ')} |

Backend: **${st.backend}**; \`BCRYPT_COST=${st.bcryptCost}\`; libuv pool ${st.threadpool} threads; ${st.duration} s per scenario
(after a ${st.warmup} s unrecorded warm-up for the fast ones)${st.slowDuration ? `, ${st.slowDuration} s for sign-in, sign-up and each bcrypt ceiling run` : ''}; ${st.connections} connections for throughput, ${st.loginConnections}
for sign-in and sign-up; the /users/me latency probe runs at a fixed ${st.probeRate} req/s with 10 connections${st.probeDuration ? ` for ${st.probeDuration} s` : ''}; ${fmt(st.users, 0)} seeded users.
Signing keys: ${st.signingKeys > 1 ? `**${st.signingKeys}** in \`JWT_PRIVATE_KEYS\` (the first signs, every one verifies and is published)` : 'one'}; revoke-all marker: ${st.revokeAll ? '**set** before the token pool signed in (every request checks the cut-off)' : 'none'}.

## Targets

| target | measured | result |
|---|---|---|
${targets.map((t) => `| ${t.name} | ${t.measured} | **${t.result}** |`).join('\n')}

## Scenarios

![throughput and p99 latency per scenario](benchmarks.svg)

${scenarioTable(report.scenarios)}

bcrypt ceiling (the most sign-ins per second this machine can do at cost ${st.bcryptCost}): ${report.ceiling ? `**${fmt(report.ceiling.perSecond)} compares/s** with ${st.loginConnections} compares in flight on a pool of ${report.ceiling.threadpool} threads${report.ceiling.runs ? ` (the higher of ${report.ceiling.runs.map((r) => fmt(r)).join(' and ')}, measured right before and after the sign-in load)` : ' (measured at the start of the run)'}` : 'not run'}.

## Scale: 1,000 users vs ${report.scale ? fmt(report.scale.bigUsers, 0) : 'many'}

${scaleSection(report.scale)}

## How it is measured

- The server is the built one, started as \`npm start\` starts it (\`${st.startCommand ?? 'node dist/main.js'}\`, \`NODE_ENV=development\`, default log level, \`LOG_FORMAT=json\` as in production: one access line per request, to a file) in its own process, on a free
  port on 127.0.0.1, with a fresh temporary \`DATA_DIR\`; with \`--mysql\` a fresh \`uc_bench_*\` database (dropped afterwards),
  with \`--redis\` a fresh key prefix (deleted afterwards). \`LOGIN_PER_IP_PER_MINUTE\`, \`RATE_LIMIT_PER_MINUTE\` and \`REGISTRATION_PER_IP_PER_HOUR\` are raised to their maximum because every
  request comes from one address (the limiters still run on every request); \`CAPTCHA_FIXED_TEXT\` lets the bench answer captchas.
- Load comes from autocannon's API in the bench process (a separate process from the server). req/s counts 2xx answers only;
  non-2xx and errors are shown beside them and should be 0.
- Server CPU is the \`utime + stime\` delta of the server process (all its threads, bcrypt's pool included) from
  \`/proc/<pid>/stat\` over the scenario, divided by the requests sent. Peak RSS is the highest of \`VmRSS\` polled every
  100 ms and \`VmHWM\` after resetting it through \`/proc/<pid>/clear_refs\` at the start of the scenario.
- SQL/req (with \`--mysql\` only) counts the COM_QUERY / COM_STMT_EXECUTE packets the server sends, through a counting TCP
  proxy between the server and MariaDB.
- Users: three accounts are created through the API (captcha + sign-up); the rest are bulk-inserted copies of the first one
  (multi-row INSERTs, 50,000 rows per transaction), all sharing one bcrypt hash of the configured cost.
- The bare endpoint is a Nest + Fastify app with one GET route and nothing else, in its own process, measured the same way.
  The ratio target is the median of ${report.ratioPairs?.length || 1} pair${report.ratioPairs?.length > 1 ? 's' : ''} run back to back (bare, then \`GET /users/me\`, ${report.ratioPairs?.length > 1 ? 'repeated' : 'once'}; \`--ratio-pairs\`):
  on a shared or virtualised host the bare endpoint alone has measured 9k–57k req/s within one hour, so one pair compares two
  moments of the host as much as two servers. The scenario table shows the first pair${report.ratioPairs?.length > 1 ? `; all of them: ${report.ratioPairs.map((p) => `${fmt(p.meRps, 0)} / ${fmt(p.bareRps, 0)}`).join(', ')} req/s` : ''}.
- GET /users/me uses access tokens from ${st.connections} sign-ins of random seeded users, cycled over the connections; each
  account's view is read once before the load, so the load measures the cached hot path (the first read of an account
  after a change or after the 5-minute cache TTL is one primary-key query).
- Sign-in signs in random seeded users with the right password. The ceiling is a separate process doing bcrypt compares of the
  same shape (a 44-byte pre-hash against a cost-${st.bcryptCost} hash) with the same pool size and as many in flight.
- Refresh: each connection owns one session and presents the refresh token the previous answer returned, so every request
  spends a fresh token (a chained rotation, as a client does).
- Sign-up: one captcha per sign-up is fetched before the scenario, so the load is sign-ups only. Captcha: a fresh UUID per GET.
- Sign-in storm: ${st.loginConnections} connections sign in continuously (saturating bcrypt); after one second the /users/me probe runs at
  the same fixed rate as the idle probe, and the two p99s are compared.
`;
}

function writeReport(report, outDir) {
  const targets = evaluateTargets(report);
  report.targets = targets;
  mkdirSync(outDir, { recursive: true });
  const files = [join(outDir, 'benchmarks.json'), join(outDir, 'benchmarks.md'), join(outDir, 'benchmarks.svg')];
  writeFileSync(files[0], `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files[1], markdown(report, targets));
  writeFileSync(files[2], chart(report));
  const targetsText = targets.map((t) => `${t.result.padEnd(7)} ${t.name}: ${t.measured}`).join('\n');
  return { files, targetsText };
}

module.exports = { writeReport, evaluateTargets };

// `node scripts/bench/lib/report.js docs/benchmarks.json` renders the Markdown and the chart again from the JSON.
if (require.main === module) {
  const { dirname, resolve } = require('node:path');
  const file = resolve(process.argv[2] ?? 'docs/benchmarks.json');
  const report = JSON.parse(require('node:fs').readFileSync(file, 'utf8'));
  process.stdout.write(`${writeReport(report, dirname(file)).targetsText}\n`);
}
