// The sign-in ceiling: how many bcrypt compares per second this machine does at a given cost,
// with the same libuv pool size as the server (set by the parent through UV_THREADPOOL_SIZE) and
// as many compares in flight as the sign-in load has connections. Prints one JSON line.
const bcrypt = require('bcrypt');

const cost = Number(process.env.BENCH_COST);
const concurrency = Number(process.env.BENCH_CONCURRENCY);
const durationMs = Number(process.env.BENCH_DURATION_MS);
// The server compares a 44-character base64 HMAC pre-hash; compare the same shape here.
const password = 'x'.repeat(43) + '=';

(async () => {
  const hash = await bcrypt.hash(password, cost);
  await bcrypt.compare(password, hash); // warm the pool threads
  const started = process.hrtime.bigint();
  const deadline = Date.now() + durationMs;
  let done = 0;
  async function worker() {
    while (Date.now() < deadline) {
      if (!(await bcrypt.compare(password, hash))) throw new Error('compare failed');
      done += 1;
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ compares: done, seconds, perSecond: done / seconds, threadpool: Number(process.env.UV_THREADPOOL_SIZE) })}\n`);
})();
