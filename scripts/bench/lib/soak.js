// The soak: one server under a sustained mixed load for minutes, its memory sampled every 10 s.
// Three streams at once, as in issue 21: authenticated GET /users/me, fresh captchas, and a closed
// loop of sign-in → refresh → sign-out. A short run of the same mix first is the throughput
// reference the long run is held to.
const { randomUUID } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { fire, loop, settle, round } = require('./load');
const { fromSomeClient } = require('./clients');

const SAMPLE_MS = 10_000;
/** Samples before this many seconds are the warm-up: the targets look at the rest. */
const STEADY_FROM_S = 120;

function rssMb(pid) {
  try {
    const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
    return match ? Number(match[1]) / 1024 : null;
  } catch {
    return null; // the server is gone: the streams fail and the report says so
  }
}

/** The process's own heap figures, from prom-client's default metrics on GET /metrics (open outside production). */
async function heapMb(url) {
  try {
    const text = await (await fetch(`${url}/metrics`)).text();
    const read = (name) => {
      const match = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
      return match ? round(Number(match[1]) / 1048576, 1) : null;
    };
    return { heapUsedMb: read('nodejs_heap_size_used_bytes'), heapTotalMb: read('nodejs_heap_size_total_bytes'), externalMb: read('nodejs_external_memory_bytes') };
  } catch {
    return { heapUsedMb: null, heapTotalMb: null, externalMb: null };
  }
}

/**
 * Starts the three streams for `seconds`: `meConnections` on GET /users/me over the sessions'
 * tokens, `captchaConnections` each fetching a captcha for a fresh UUID, and `authConnections`
 * closed loops of sign-in → refresh → sign-out of random seeded users.
 */
function startMix({ url, api, sessions, seconds, userCount, seededName, password, connections }) {
  const me = fire({
    url, connections: connections.me, duration: seconds,
    requests: sessions.map((s) => ({ method: 'GET', path: `${api}/users/me`, headers: { authorization: `Bearer ${s.accessToken}` } })),
  });
  const captcha = fire({
    url, connections: connections.captcha, duration: seconds,
    requests: [{ method: 'GET', setupRequest: (request) => ({ ...request, path: `${api}/verification/captcha/${randomUUID()}`, headers: fromSomeClient(request.headers) }) }],
  });
  const json = { 'content-type': 'application/json' };
  const auth = loop({
    url, connections: connections.auth, duration: seconds,
    start: () => ({ step: 'login', pair: null }),
    next: (state) => {
      if (state.step === 'refresh') return { method: 'POST', path: `${api}/auth/refresh`, headers: json, body: JSON.stringify({ refreshToken: state.pair.refreshToken }) };
      if (state.step === 'logout') return { method: 'DELETE', path: `${api}/auth/session`, headers: { authorization: `Bearer ${state.pair.accessToken}` } };
      return { method: 'POST', path: `${api}/auth/login`, headers: json, body: JSON.stringify({ identifier: seededName(1 + Math.floor(Math.random() * userCount)), password }) };
    },
    onAnswer: (state, status, body) => {
      const ok = status >= 200 && status < 300;
      if (state.step === 'login' && ok) {
        state.pair = JSON.parse(body).data;
        state.step = 'refresh';
      } else if (state.step === 'refresh' && ok) {
        state.pair = JSON.parse(body).data;
        state.step = 'logout';
      } else state.step = 'login'; // after a sign-out, or any failure: start a new cycle
    },
  });
  return { me, captcha, auth };
}

/** 2xx answers of one stream per window, from its flat (status, ms, completedAt) triples. */
function perWindow(responses, startedAt, windowMs, windows) {
  const counts = new Array(windows).fill(0);
  for (let i = 0; i < responses.length; i += 3) {
    const status = responses[i];
    if (status < 200 || status >= 300) continue;
    const index = Math.floor((responses[i + 2] - startedAt) / windowMs);
    if (index >= 0 && index < windows) counts[index] += 1;
  }
  return counts;
}

function errorsOf(result) {
  return { requests: result.total, ok: result.ok, non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

/**
 * Runs the reference (the mix for `referenceSeconds` after `warmupSeconds`) and the soak
 * (`soakSeconds`), sampling RSS (/proc) and the heap (/metrics) every 10 s. `snapshotsAt` lists
 * seconds into the soak at which SIGUSR2 asks the server for a heap snapshot (started with
 * --heapsnapshot-signal). Resolves with everything the report needs.
 */
async function runSoak({ server, log, snapshotsAt = [], referenceSeconds, warmupSeconds, soakSeconds, ...mix }) {
  await settle(server.pid);
  if (warmupSeconds > 0) {
    const warm = startMix({ ...mix, url: server.url, seconds: warmupSeconds });
    await Promise.all([warm.me.promise, warm.captcha.promise, warm.auth]);
  }
  const reference = startMix({ ...mix, url: server.url, seconds: referenceSeconds });
  const [refMe, refCaptcha, refAuth] = await Promise.all([reference.me.promise, reference.captcha.promise, reference.auth]);
  const refRates = {
    me: round(refMe.ok / refMe.duration, 1),
    captcha: round(refCaptcha.ok / refCaptcha.duration, 1),
    auth: round(refAuth.ok / refAuth.duration, 2),
  };
  log(`  soak reference (${referenceSeconds} s of the same mix): ${refRates.me} /users/me/s, ${refRates.captcha} captchas/s, ${refRates.auth} auth answers/s`);

  await settle(server.pid);
  const samples = [];
  const startedAt = performance.now();
  const sample = async () => {
    const at = (performance.now() - startedAt) / 1000;
    const heap = await heapMb(server.url);
    const rss = rssMb(server.pid);
    const entry = { t: round(at, 1), rssMb: rss === null ? null : round(rss, 1), ...heap };
    samples.push(entry);
    log(`  soak ${entry.t.toFixed(0).padStart(4)} s: RSS ${entry.rssMb} MB, heap used ${entry.heapUsedMb} / ${entry.heapTotalMb} MB, external ${entry.externalMb} MB`);
  };
  await sample();
  const run = startMix({ ...mix, url: server.url, seconds: soakSeconds });
  const timer = setInterval(() => void sample(), SAMPLE_MS);
  const snapshotTimers = snapshotsAt.map((s) =>
    setTimeout(() => {
      log(`  soak ${s} s: asking the server for a heap snapshot (SIGUSR2)`);
      process.kill(server.pid, 'SIGUSR2');
    }, s * 1000),
  );
  const [me, captcha, auth] = await Promise.all([run.me.promise, run.captcha.promise, run.auth]);
  clearInterval(timer);
  snapshotTimers.forEach(clearTimeout);
  await sample();

  const windows = Math.ceil(soakSeconds / (SAMPLE_MS / 1000));
  const rates = {
    me: perWindow(me.responses, startedAt, SAMPLE_MS, windows).map((n) => round(n / (SAMPLE_MS / 1000), 1)),
    captcha: perWindow(captcha.responses, startedAt, SAMPLE_MS, windows).map((n) => round(n / (SAMPLE_MS / 1000), 1)),
    auth: perWindow(auth.responses, startedAt, SAMPLE_MS, windows).map((n) => round(n / (SAMPLE_MS / 1000), 2)),
  };
  const steadyWindows = (series) => series.filter((_, i) => (i * SAMPLE_MS) / 1000 >= STEADY_FROM_S && ((i + 1) * SAMPLE_MS) / 1000 <= soakSeconds);
  const mean = (values) => (values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0);
  const steadySamples = samples.filter((s) => s.t >= STEADY_FROM_S);
  const rssValues = steadySamples.map((s) => s.rssMb);
  const rssMedian = rssValues.length ? median(rssValues) : null;
  const steady = {
    fromSeconds: STEADY_FROM_S,
    samples: steadySamples.length,
    rssMedianMb: rssMedian === null ? null : round(rssMedian, 1),
    rssMinMb: rssValues.length ? Math.min(...rssValues) : null,
    rssMaxMb: rssValues.length ? Math.max(...rssValues) : null,
    rssMaxDeviationPercent: rssMedian ? round(Math.max(...rssValues.map((v) => Math.abs(v - rssMedian) / rssMedian)) * 100, 1) : null,
    rates: { me: round(mean(steadyWindows(rates.me)), 1), captcha: round(mean(steadyWindows(rates.captcha)), 1), auth: round(mean(steadyWindows(rates.auth)), 2) },
  };
  // Sign-ins: the auth loop's answers are sign-in, refresh and sign-out in turn.
  return {
    seconds: soakSeconds,
    referenceSeconds,
    sampleSeconds: SAMPLE_MS / 1000,
    connections: mix.connections,
    reference: { rates: refRates, me: errorsOf(refMe), captcha: errorsOf(refCaptcha), auth: errorsOf(refAuth) },
    totals: { me: errorsOf(me), captcha: errorsOf(captcha), auth: errorsOf(auth), signInsApprox: Math.round(auth.ok / 3) },
    samples,
    rates,
    steady,
    snapshotsAt,
  };
}

module.exports = { runSoak, STEADY_FROM_S };
