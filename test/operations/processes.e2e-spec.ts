import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIfNeeded, startServer } from '../helpers/server-process';
import { DEFAULT_PASSWORD } from '../factories/users';

jest.setTimeout(120_000);

// A real `node dist/main.js` process. SIGTERM's promise and the two-instance proof live in test/security/reliability.
beforeAll(() => buildIfNeeded(), 120_000);

describe('Shutdown bound (SHUTDOWN_TIMEOUT_MS)', () => {
  it('exits (code 1) when an in-flight request outlasts the bound, instead of hanging', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'uc-shutdown-'));
    const server = await startServer({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'warn', BCRYPT_COST: '15', SHUTDOWN_TIMEOUT_MS: '1000' });
    try {
      // The dummy hash plus one compare at cost 15 takes seconds: longer than the 1 s bound.
      void server.http.post('/api/v1/auth/login').send({ identifier: 'nobody_slow', password: DEFAULT_PASSWORD }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 1, signal: null });
      expect(Date.now() - signalled).toBeLessThan(3000);
      expect(server.output()).toContain('Shutdown did not finish within 1000 ms');
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
