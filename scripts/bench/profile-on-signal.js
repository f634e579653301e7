// Preloaded (-r) into the server only for `npm run bench -- --profile SCENARIO`: SIGWINCH starts
// the V8 CPU profiler, the next SIGWINCH stops it and writes BENCH_PROFILE_DIR/<n>.cpuprofile. So
// the profile covers one scenario's load, not start-up. (SIGWINCH is not one of Nest's shutdown signals.)
const inspector = require('node:inspector');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const session = new inspector.Session();
session.connect();
let running = false;
let written = 0;

process.on('SIGWINCH', () => {
  if (!running) {
    running = true;
    session.post('Profiler.enable', () => session.post('Profiler.setSamplingInterval', { interval: 200 }, () => session.post('Profiler.start')));
    return;
  }
  running = false;
  session.post('Profiler.stop', (error, result) => {
    if (error) return;
    const dir = process.env.BENCH_PROFILE_DIR;
    mkdirSync(dir, { recursive: true });
    written += 1;
    writeFileSync(join(dir, `profile-${written}.cpuprofile`), JSON.stringify(result.profile));
  });
});
