// Turns a soak run into soak.json (everything), soak.md (targets with PASS/FAIL, samples, method) and
// soak.svg (RSS and heap over time; throughput per 10 s window), beside the short scenarios' report.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const RSS_LIMIT_MB = 200;
const RSS_BAND = 0.1;
const THROUGHPUT_FLOOR = 0.9;

const fmt = (value, digits = 1) => (value === null || value === undefined ? '–' : Number(value).toLocaleString('en', { maximumFractionDigits: digits }));
const minutes = (seconds) => `${Math.floor(seconds / 60)}:${String(Math.round(seconds % 60)).padStart(2, '0')}`;

function evaluateSoakTargets(report) {
  const soak = report.soak;
  const s = soak.steady;
  const targets = [];
  const add = (name, measured, pass) => targets.push({ name, measured, result: pass === null ? 'NOT RUN' : pass ? 'PASS' : 'FAIL' });
  const enough = s.samples >= 3;
  add(
    `RSS from ${minutes(s.fromSeconds)} to the end within ±${RSS_BAND * 100}% of its median`,
    enough ? `median ${fmt(s.rssMedianMb)} MB, ${fmt(s.rssMinMb)}–${fmt(s.rssMaxMb)} MB over ${s.samples} samples: at most ${fmt(s.rssMaxDeviationPercent)}% away` : `not enough samples after ${minutes(s.fromSeconds)} (the soak ran ${soak.seconds} s)`,
    enough ? s.rssMaxDeviationPercent <= RSS_BAND * 100 : null,
  );
  add(
    `RSS from ${minutes(s.fromSeconds)} to the end under ${RSS_LIMIT_MB} MB`,
    enough ? `highest sample ${fmt(s.rssMaxMb)} MB` : 'not enough samples',
    enough ? s.rssMaxMb < RSS_LIMIT_MB : null,
  );
  for (const [key, label] of [['me', 'GET /users/me'], ['captcha', 'captchas']]) {
    const ref = soak.reference.rates[key];
    const long = s.rates[key];
    add(
      `${label} per second from ${minutes(s.fromSeconds)} to the end ≥ ${THROUGHPUT_FLOOR * 100}% of the short run of the same mix`,
      enough ? `${fmt(long)} vs ${fmt(ref)} req/s = ${fmt((long / ref) * 100)}%` : 'not enough samples',
      enough ? long >= THROUGHPUT_FLOOR * ref : null,
    );
  }
  const failures = ['me', 'captcha', 'auth'].reduce((n, key) => n + soak.totals[key].non2xx + soak.totals[key].errors, 0);
  add('no failed request in the soak (non-2xx or socket errors, all three streams)', `${failures}`, failures === 0);
  return targets;
}

/** Two panels over time: memory (RSS, heap used, heap total) and throughput per 10 s window. */
function soakChart(report) {
  const soak = report.soak;
  const width = 900;
  const panelHeight = 230;
  const left = 60;
  const right = 170;
  const plotWidth = width - left - right;
  const top = 60;
  const gap = 60;
  const height = top + panelHeight * 2 + gap + 50;
  const maxT = Math.max(soak.seconds, ...soak.samples.map((s) => s.t));
  const x = (t) => left + (t / maxT) * plotWidth;
  const esc = (text) => String(text).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    `<text x="12" y="20" font-size="15" font-weight="bold">User Centre soak — ${esc(report.date.slice(0, 10))}, ${esc(report.settings.backend)}, ${fmt(soak.seconds / 60)} min, bcrypt cost ${soak.cost}</text>`,
    `<text x="12" y="38" fill="#555">${esc(`${soak.connections.me} conn. GET /users/me + ${soak.connections.captcha} conn. fresh captchas + ${soak.connections.auth} sign-in → refresh → sign-out loops; samples every ${soak.sampleSeconds} s; grey: the first ${soak.steady.fromSeconds / 60} minutes (warm-up)`)}</text>`,
  ];
  const axes = (y0, maxY, unit, title) => {
    parts.push(`<rect x="${left}" y="${y0}" width="${(x(soak.steady.fromSeconds) - left).toFixed(1)}" height="${panelHeight}" fill="#f1f1f1"/>`);
    parts.push(`<text x="${left}" y="${y0 - 8}" font-weight="bold">${esc(title)}</text>`);
    const step = niceStep(maxY);
    for (let v = 0; v <= maxY + 1e-9; v += step) {
      const y = y0 + panelHeight - (v / maxY) * panelHeight;
      parts.push(`<line x1="${left}" y1="${y.toFixed(1)}" x2="${left + plotWidth}" y2="${y.toFixed(1)}" stroke="#e3e3e3"/>`);
      parts.push(`<text x="${left - 6}" y="${(y + 4).toFixed(1)}" text-anchor="end" fill="#777" font-size="10">${fmt(v, 0)}${unit}</text>`);
    }
    for (let m = 0; m * 60 <= maxT; m += 1) {
      parts.push(`<text x="${x(m * 60).toFixed(1)}" y="${y0 + panelHeight + 14}" text-anchor="middle" fill="#777" font-size="10">${m} min</text>`);
    }
    return (v) => y0 + panelHeight - (Math.min(v, maxY) / maxY) * panelHeight;
  };
  const line = (points, colour, label, labelIndex, dash = '') => {
    if (!points.length) return;
    parts.push(`<polyline fill="none" stroke="${colour}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${points.map(([px, py]) => `${px.toFixed(1)},${py.toFixed(1)}`).join(' ')}"/>`);
    parts.push(`<text x="${left + plotWidth + 8}" y="${labelIndex}" fill="${colour}">${esc(label)}</text>`);
  };

  // Memory panel.
  const memMax = Math.ceil(Math.max(RSS_LIMIT_MB * 1.1, ...soak.samples.map((s) => (s.rssMb ?? 0) * (1 + RSS_BAND))) / 50) * 50;
  const yMem = axes(top, memMax, '', 'MB: RSS (blue), heap used (green), heap total (dashed)');
  const limit = yMem(RSS_LIMIT_MB);
  parts.push(`<line x1="${left}" y1="${limit.toFixed(1)}" x2="${left + plotWidth}" y2="${limit.toFixed(1)}" stroke="#d33" stroke-dasharray="6 4"/>`);
  parts.push(`<text x="${left + 6}" y="${(limit - 5).toFixed(1)}" fill="#d33">${RSS_LIMIT_MB} MB limit</text>`);
  if (soak.steady.rssMedianMb) {
    const hi = yMem(soak.steady.rssMedianMb * (1 + RSS_BAND));
    const lo = yMem(soak.steady.rssMedianMb * (1 - RSS_BAND));
    parts.push(`<rect x="${x(soak.steady.fromSeconds).toFixed(1)}" y="${hi.toFixed(1)}" width="${(x(maxT) - x(soak.steady.fromSeconds)).toFixed(1)}" height="${(lo - hi).toFixed(1)}" fill="#2f7ed8" fill-opacity="0.08"/>`);
  }
  const memSeries = (key) => soak.samples.filter((s) => s[key] !== null).map((s) => [x(s.t), yMem(s[key])]);
  line(memSeries('rssMb'), '#2f7ed8', `RSS (±${RSS_BAND * 100}% band)`, top + 30);
  line(memSeries('heapUsedMb'), '#2a9d5c', 'heap used', top + 48);
  line(memSeries('heapTotalMb'), '#2a9d5c', 'heap total', top + 66, '4 3');

  // Throughput panel: per window, drawn at the window's middle.
  const y1 = top + panelHeight + gap;
  const mid = (i) => x((i + 0.5) * soak.sampleSeconds);
  const rateMax = Math.max(10, ...soak.rates.me, ...soak.rates.captcha, soak.reference.rates.me) * 1.1;
  const yRate = axes(y1, rateMax, '', 'requests per second per 10 s window (dotted: the short run of the same mix)');
  line(soak.rates.me.map((v, i) => [mid(i), yRate(v)]), '#2f7ed8', 'GET /users/me', y1 + 30);
  line(soak.rates.captcha.map((v, i) => [mid(i), yRate(v)]), '#e07b39', 'captchas', y1 + 48);
  line(soak.rates.auth.map((v, i) => [mid(i), yRate(v)]), '#7b61c9', 'sign-in/refresh/out', y1 + 66);
  for (const [key, colour] of [['me', '#2f7ed8'], ['captcha', '#e07b39']]) {
    const y = yRate(soak.reference.rates[key]);
    parts.push(`<line x1="${left}" y1="${y.toFixed(1)}" x2="${left + plotWidth}" y2="${y.toFixed(1)}" stroke="${colour}" stroke-dasharray="2 3"/>`);
  }
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function niceStep(max) {
  const raw = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * magnitude).find((step) => step >= raw);
}

function soakMarkdown(report, targets) {
  const soak = report.soak;
  const m = report.machine;
  const st = report.settings;
  const c = soak.connections;
  const s = soak.steady;
  const rows = soak.samples.map((sample, i) => {
    const w = i > 0 ? i - 1 : null; // the window that ended at this sample
    const rate = (key) => (w !== null && w < soak.rates[key].length ? fmt(soak.rates[key][w]) : '–');
    return `| ${minutes(sample.t)} | ${fmt(sample.rssMb)} | ${fmt(sample.heapUsedMb)} | ${fmt(sample.heapTotalMb)} | ${fmt(sample.externalMb)} | ${rate('me')} | ${rate('captcha')} | ${rate('auth')} |`;
  });
  const totals = (t) => `${fmt(t.ok, 0)} ok, ${t.non2xx} non-2xx, ${t.errors} errors`;
  return `# Soak

Generated by \`npm run bench${st.argv ? ` -- ${st.argv}` : ''}\` (\`scripts/bench/run.js\`, \`scripts/bench/lib/soak.js\`) on **${report.date}**.
${report.note ? `\n> ${report.note}\n` : ''}
One server under a sustained mixed load for ${fmt(soak.seconds / 60)} minutes, its memory sampled every ${soak.sampleSeconds} s. The raw
data is in [soak.json](soak.json).

## Machine

| cores (nproc) | CPU | memory | node | kernel | load average at start (1/5/15 min) |
|--:|---|--:|---|---|---|
| ${m.nproc} | ${m.cpuModel} | ${m.memoryGiB} GiB | ${m.node} | ${m.kernel} | ${m.loadAverage.join(' / ')} |

Backend: **${st.backend}**; \`BCRYPT_COST=${soak.cost}\`; ${fmt(soak.users, 0)} seeded users.

## Targets

| target | measured | result |
|---|---|---|
${targets.map((t) => `| ${t.name} | ${t.measured} | **${t.result}** |`).join('\n')}

## Over time

![RSS, heap and throughput over the soak](soak.svg)

| time | RSS MB | heap used MB | heap total MB | external MB | /users/me per s | captchas per s | auth answers per s |
|--:|--:|--:|--:|--:|--:|--:|--:|
${rows.join('\n')}

The rates in a row are those of the ${soak.sampleSeconds} s window that ended at that sample.

| | short run (${soak.referenceSeconds} s) | soak from ${minutes(s.fromSeconds)} to the end | whole soak |
|---|--:|--:|--:|
| GET /users/me per s | ${fmt(soak.reference.rates.me)} | ${fmt(s.rates.me)} | ${totals(soak.totals.me)} |
| captchas per s | ${fmt(soak.reference.rates.captcha)} | ${fmt(s.rates.captcha)} | ${totals(soak.totals.captcha)} |
| sign-in / refresh / sign-out answers per s | ${fmt(soak.reference.rates.auth, 2)} | ${fmt(s.rates.auth, 2)} | ${totals(soak.totals.auth)} (about ${fmt(soak.totals.signInsApprox, 0)} sign-ins) |

## How it is measured

- A server of its own (\`node dist/main.js\`, \`NODE_ENV=development\`, \`LOG_FORMAT=json\`, \`BCRYPT_COST=${soak.cost}\`), with a fresh
  \`DATA_DIR\` (and with \`--mysql\`/\`--redis\` a fresh database and key prefix), ${fmt(soak.users, 0)} seeded users and ${soak.sessions} signed-in
  sessions. Every request comes from 127.0.0.1, so the per-IP limits on sign-in, sign-up and the general rate are raised as in
  the short scenarios. The captchas come from 5,000 clients through a trusted proxy (\`X-Forwarded-For\`, \`TRUSTED_PROXIES=127.0.0.1\`),
  each holding at most \`CAPTCHA_PER_IP\` (its default, 20) pending: what all of them hold together is bounded by the store's own
  limits (\`KV_MEMORY_MAX_KEYS\` / \`KV_MEMORY_MAX_MB\`), and by the captchas' 300 s lifetime.
- The mix, all at once: ${c.me} connections on \`GET /users/me\` cycling over the sessions' access tokens; ${c.captcha} connections each
  fetching \`GET /verification/captcha/<fresh UUID>\` (a new pending captcha every time); ${c.auth} closed loops of \`POST /auth/login\`
  (a random seeded user) → \`POST /auth/refresh\` → \`DELETE /auth/session\` (a revocation marker per cycle).
- **The short run** is the same mix on the same server for ${soak.referenceSeconds} s (after a ${soak.warmupSeconds} s unrecorded warm-up),
  right before the soak: the throughput reference, so both sides share the machine, the server and the mix.
- **RSS** is \`VmRSS\` from \`/proc/<pid>/status\`; **heap used / total** and **external** are the server's own
  \`nodejs_heap_size_used_bytes\`, \`nodejs_heap_size_total_bytes\` and \`nodejs_external_memory_bytes\` (GET /metrics), every ${soak.sampleSeconds} s.
- **Targets**: the samples from ${minutes(s.fromSeconds)} to the end (the first ${s.fromSeconds / 60} minutes fill the caches and let V8 size its heap) each
  within ±${RSS_BAND * 100}% of their median and under ${RSS_LIMIT_MB} MB; the mean rate of \`GET /users/me\` and of captchas over the
  ${soak.sampleSeconds} s windows from ${minutes(s.fromSeconds)} to the end at least ${THROUGHPUT_FLOOR * 100}% of the short run's (the auth loop is bcrypt-bound with
  ${c.auth} connections and is shown, not targeted).
`;
}

function writeSoakReport(report, outDir) {
  const targets = evaluateSoakTargets(report);
  report.targets = targets;
  mkdirSync(outDir, { recursive: true });
  const files = [join(outDir, 'soak.json'), join(outDir, 'soak.md'), join(outDir, 'soak.svg')];
  writeFileSync(files[0], `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(files[1], soakMarkdown(report, targets));
  writeFileSync(files[2], soakChart(report));
  const targetsText = targets.map((t) => `${t.result.padEnd(7)} ${t.name}: ${t.measured}`).join('\n');
  return { files, targetsText };
}

module.exports = { writeSoakReport, evaluateSoakTargets };

// `node scripts/bench/lib/soak-report.js docs/embedded/soak.json` renders the Markdown and the chart again from the JSON.
if (require.main === module) {
  const { dirname, resolve } = require('node:path');
  const file = resolve(process.argv[2] ?? 'docs/soak.json');
  const report = JSON.parse(require('node:fs').readFileSync(file, 'utf8'));
  process.stdout.write(`${writeSoakReport(report, dirname(file)).targetsText}\n`);
}
