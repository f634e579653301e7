// One measured load: autocannon (its API, in the bench process, separate from the server) plus
// what the server process spent meanwhile (CPU and peak RSS from /proc) and, with the MySQL
// counting proxy, how many SQL statements it sent. Latencies are recorded per response with
// sub-millisecond precision (autocannon's own histogram rounds to whole milliseconds).
const http = require('node:http');
const autocannon = require('autocannon');
const { watch } = require('./proc');

function round(value, digits = 2) {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

function percentile(sorted, p) {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs autocannon; resolves with { duration, connections, total, ok, non2xx, errors, timeouts, latencies, responses }. */
function fire(options) {
  let instance;
  const latencies = [];
  const responses = []; // flat triples: status, latency ms, completion time (performance.now())
  const promise = new Promise((resolve, reject) => {
    instance = autocannon(
      {
        timeout: 30,
        ...options,
        setupClient: (client) => {
          client.on('response', (status, _bytes, ms) => {
            if (status >= 200 && status < 300) latencies.push(ms);
            responses.push(status, ms, performance.now());
          });
        },
      },
      (error, result) =>
        error
          ? reject(error)
          : resolve({ duration: result.duration, connections: result.connections, total: result.requests.total, ok: result['2xx'], non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts, latencies, responses }),
    );
  });
  return { promise, instance };
}

/**
 * A bounded closed loop for loads that autocannon cannot express: `connections` workers on
 * keep-alive sockets, each sending `next(state)` and feeding the answer back through
 * `onAnswer(state, status, body)`, until `duration` seconds have passed.
 */
async function loop({ url, connections, duration, start, next, onAnswer }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const latencies = [];
  const responses = [];
  const counts = { total: 0, ok: 0, non2xx: 0, errors: 0, timeouts: 0 };
  const started = process.hrtime.bigint();
  const deadline = Date.now() + duration * 1000;
  const send = (request) =>
    new Promise((resolve) => {
      const t0 = process.hrtime.bigint();
      const req = http.request(`${url}${request.path}`, { method: request.method, headers: request.headers, agent, timeout: 30_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode, body, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
      });
      req.on('timeout', () => {
        counts.timeouts += 1;
        req.destroy(new Error('timeout'));
      });
      req.on('error', () => resolve({ status: 0, body: '', ms: 0 }));
      req.end(request.body);
    });
  await Promise.all(
    Array.from({ length: connections }, async (_, index) => {
      const state = start(index);
      while (Date.now() < deadline) {
        const answer = await send(next(state));
        counts.total += 1;
        responses.push(answer.status, answer.ms, performance.now());
        if (answer.status === 0) counts.errors += 1;
        else if (answer.status >= 200 && answer.status < 300) {
          counts.ok += 1;
          latencies.push(answer.ms);
        } else counts.non2xx += 1;
        onAnswer(state, answer.status, answer.body);
      }
    }),
  );
  agent.destroy();
  return { duration: Number(process.hrtime.bigint() - started) / 1e9, connections, ...counts, latencies, responses };
}

/** How many answers had each status that is not 2xx ({ "401": 3 }), so a failing scenario says why. */
function otherStatuses(responses) {
  const counts = {};
  for (let i = 0; i < responses.length; i += 3) {
    const status = responses[i];
    if (status < 200 || status >= 300) counts[status] = (counts[status] ?? 0) + 1;
  }
  return counts;
}

function summarise(name, result, usage, statements, extra = {}) {
  const sorted = Float64Array.from(result.latencies).sort();
  const mean = sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0;
  return {
    name,
    ...extra,
    connections: result.connections,
    seconds: round(result.duration, 2),
    requests: result.total,
    ok: result.ok,
    non2xx: result.non2xx,
    otherStatuses: result.responses ? otherStatuses(result.responses) : {},
    errors: result.errors,
    timeouts: result.timeouts,
    rps: round(result.ok / result.duration, 1),
    latencyMs: {
      mean: round(mean, 3),
      p50: round(percentile(sorted, 50), 3),
      p90: round(percentile(sorted, 90), 3),
      p99: round(percentile(sorted, 99), 3),
      max: round(sorted.length ? sorted[sorted.length - 1] : 0, 3),
    },
    serverCpuMsPerRequest: usage && result.total ? round((usage.cpuSeconds * 1000) / result.total, 3) : null,
    serverCpuPercent: usage ? round((usage.cpuSeconds / result.duration) * 100, 1) : null,
    peakRssMb: usage ? round(usage.peakRssMb, 1) : null,
    dbStatementsPerRequest: statements === null || !result.total ? null : round(statements / result.total, 3),
  };
}

/** Only the answers completed after `from` (performance.now()), over the time from `from` to `to`. */
function windowed(result, from, to) {
  const latencies = [];
  let total = 0;
  let ok = 0;
  let non2xx = 0;
  for (let i = 0; i < result.responses.length; i += 3) {
    if (result.responses[i + 2] < from) continue;
    const status = result.responses[i];
    total += 1;
    if (status >= 200 && status < 300) {
      ok += 1;
      latencies.push(result.responses[i + 1]);
    } else if (status !== 0) non2xx += 1;
  }
  return { ...result, duration: (to - from) / 1000, total, ok, non2xx, latencies };
}

/** Waits until the server has finished earlier work (below 10% of a core for 300 ms; at most 30 s). */
async function settle(pid) {
  const { cpuSeconds } = require('./proc');
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const before = cpuSeconds(pid);
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (cpuSeconds(pid) - before < 0.03) return;
  }
}

/**
 * Measures one scenario with autocannon (or with `loop` when `custom` is given). `warmup` seconds of
 * the same load run first and are not recorded. `pid` is the server process to watch; `counter`
 * the MySQL statement counter (or null).
 */
async function measure({ name, pid, counter = null, warmup = 0, ramp = 0, settleFirst = true, extra, custom, ...options }) {
  if (pid && settleFirst) await settle(pid);
  if (warmup > 0 && !custom) await fire({ ...options, duration: warmup }).promise;
  if (ramp > 0) return measureAfterRamp({ name, pid, counter, ramp, extra, custom, ...options });
  const watcher = pid ? watch(pid) : null;
  const before = counter ? counter.statements : null;
  counter?.sample.clear();
  const result = custom ? await loop({ ...options, ...custom }) : await fire(options).promise;
  const usage = watcher?.stop();
  const statements = counter ? counter.statements - before : null;
  const summary = summarise(name, result, usage, statements, extra);
  if (statements) summary.dbStatementSample = Object.fromEntries(counter.sample);
  return summary;
}

/**
 * For slow requests (bcrypt): the load runs `ramp` seconds before the measured window opens, so
 * every connection already has a request in flight; only answers completed inside the window
 * count, and the window's length is the divisor (no ramp-up or cut-off tail in the rate).
 */
async function measureAfterRamp({ name, pid, counter, ramp, extra, custom, duration, ...options }) {
  const run = custom ? { promise: loop({ ...options, ...custom, duration: ramp + duration }) } : fire({ ...options, duration: ramp + duration });
  await new Promise((resolve) => setTimeout(resolve, ramp * 1000));
  const from = performance.now();
  const watcher = pid ? watch(pid) : null;
  const before = counter ? counter.statements : null;
  counter?.sample.clear();
  await new Promise((resolve) => setTimeout(resolve, duration * 1000));
  const to = performance.now();
  const usage = watcher?.stop();
  const statements = counter ? counter.statements - before : null;
  const result = windowed(await run.promise, from, to);
  const summary = summarise(name, result, usage, statements, { ...extra, ramp });
  if (statements) summary.dbStatementSample = Object.fromEntries(counter.sample);
  return summary;
}

module.exports = { fire, loop, measure, summarise, windowed, settle, round, watch };
