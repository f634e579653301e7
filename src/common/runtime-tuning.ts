import { readdirSync } from 'node:fs';
import { access } from 'node:fs/promises';
import { setPriority } from 'node:os';
import { setFlagsFromString } from 'node:v8';

export interface RuntimeTuning {
  /** V8 grows the heap to (1 + percent/100) × what survived the last full collection; 0 leaves V8's own factor (up to 4×). */
  heapGrowingPercent: number;
  /** Niceness of the libuv pool threads (bcrypt's); 0 leaves them at the event loop's priority. */
  threadPoolNiceness: number;
}

/**
 * Process-wide settings the server applies once, first thing in main.ts (not in tests or the CLI).
 * Both trade a little of something plentiful for the figures users feel (docs/benchmarks.md):
 * - V8's default heap growth let a 45 MB live heap sit at 150 MB of mostly dead objects under
 *   load (235 MB RSS); at 30% the same runs peak at ~165 MB RSS for ~5% more CPU on GET /users/me.
 * - The pool threads run bcrypt; at a lower priority they take only the CPU the event loop
 *   leaves, so during a sign-in storm other requests keep their latency and bcrypt still gets
 *   every idle cycle (the storm's /users/me p99 went from 3.9× to 1.6× its idle p99).
 */
export async function tuneRuntime(tuning: RuntimeTuning): Promise<{ poolThreads: number[] }> {
  // Read at every full collection, so it takes effect although the heap already exists.
  if (tuning.heapGrowingPercent > 0) setFlagsFromString(`--heap-growing-percent=${tuning.heapGrowingPercent}`);
  return { poolThreads: await lowerThreadPoolPriority(tuning.threadPoolNiceness) };
}

function threadIds(): Set<number> {
  try {
    return new Set(readdirSync('/proc/self/task').map(Number));
  } catch {
    return new Set(); // not Linux: nothing to find, nothing to change
  }
}

/**
 * Node 20 cannot name the pool threads, so they are found as the threads that appear when the
 * pool starts, which libuv does all at once on its first job: this must run before anything else
 * touches the pool. Returns the threads it changed (none off Linux, or if the pool was running).
 */
async function lowerThreadPoolPriority(niceness: number): Promise<number[]> {
  if (niceness <= 0) return [];
  const before = threadIds();
  if (!before.size) return [];
  await access('/'); // the pool's first job
  const pool = [...threadIds()].filter((id) => !before.has(id));
  for (const id of pool) {
    try {
      setPriority(id, niceness); // on Linux a thread id names just that thread
    } catch {
      /* a thread that ended, or a platform that refuses: the pool keeps its priority */
    }
  }
  return pool;
}
