import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIfNeeded, startServer } from '../helpers/server-process';
import { DEFAULT_PASSWORD } from '../factories/users';

jest.setTimeout(120_000);

// A real `node dist/main.js` process. SIGTERM's promise and the two-instance proof live in test/security/reliability.
beforeAll(() => buildIfNeeded(), 120_000);

type Server = Awaited<ReturnType<typeof startServer>>;

/** Runs `check` against a fresh server process on its own data directory, and cleans both up. */
async function withServer(env: Record<string, string>, check: (server: Server) => Promise<void>): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'uc-process-'));
  const server = await startServer({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'warn', ...env });
  try {
    await check(server);
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('Shutdown bound (SHUTDOWN_TIMEOUT_MS)', () => {
  it('exits (code 1) when an in-flight request outlasts the bound, instead of hanging', async () => {
    await withServer({ BCRYPT_COST: '15', SHUTDOWN_TIMEOUT_MS: '1000' }, async (server) => {
      // The dummy hash plus one compare at cost 15 takes seconds: longer than the 1 s bound.
      void server.http.post('/api/v1/auth/login').send({ identifier: 'nobody_slow', password: DEFAULT_PASSWORD }).catch(() => undefined);
      // Long enough for the request to be in the server even on a loaded machine (else nothing is in flight and close is quick).
      await new Promise((resolve) => setTimeout(resolve, 600));
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 1, signal: null });
      // The exit waits for the libuv pool's running compare, so the bound is "no hang", not the 1 s itself.
      expect(Date.now() - signalled).toBeLessThan(8000);
      expect(server.output()).toContain('Shutdown did not finish within 1000 ms');
    });
  });
});

/** niceness and CPU ticks (user + system) of each thread of a process, from /proc (fields 14, 15 and 19 of stat). */
function threadsOf(pid: number): { id: number; nice: number; ticks: number }[] {
  return readdirSync(`/proc/${pid}/task`).map((id) => {
    const fields = readFileSync(`/proc/${pid}/task/${id}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    // After "pid (comm) " the fields are numbered from 3 (state).
    return { id: Number(id), nice: Number(fields[19 - 3]), ticks: Number(fields[14 - 3]) + Number(fields[15 - 3]) };
  });
}

const describeOnLinux = existsSync('/proc/self/task') ? describe : describe.skip;

describeOnLinux('Runtime tuning (THREADPOOL_NICENESS)', () => {
  const poolSize = Math.max(4, availableParallelism()); // what main.ts sizes the pool to

  it('runs bcrypt on the pool threads at the lower priority, and the event loop at its own', async () => {
    await withServer({ BCRYPT_COST: '12' }, async (server) => {
      const pid = server.child.pid!;
      const niced = threadsOf(pid).filter((thread) => thread.nice === 10);
      expect(niced).toHaveLength(poolSize);
      expect(threadsOf(pid).find((thread) => thread.id === pid)!.nice).toBe(0);
      const before = niced.reduce((sum, thread) => sum + thread.ticks, 0);
      // An unknown account still costs a bcrypt compare (and the dummy hash behind it): pool work.
      await server.http.post('/api/v1/auth/login').send({ identifier: 'nobody_tuned', password: DEFAULT_PASSWORD });
      const after = threadsOf(pid).filter((thread) => niced.some((pooled) => pooled.id === thread.id)).reduce((sum, thread) => sum + thread.ticks, 0);
      expect(after - before).toBeGreaterThanOrEqual(10); // ≥ 100 ms of CPU at 100 ticks/s; cost 12 takes ~250 ms
    });
  });

  it('takes the niceness from THREADPOOL_NICENESS, and 0 leaves every thread alone', async () => {
    await withServer({ THREADPOOL_NICENESS: '5' }, async (server) => {
      expect(threadsOf(server.child.pid!).filter((thread) => thread.nice === 5)).toHaveLength(poolSize);
    });
    await withServer({ THREADPOOL_NICENESS: '0' }, async (server) => {
      expect(threadsOf(server.child.pid!).filter((thread) => thread.nice !== 0)).toEqual([]);
    });
  });
});
