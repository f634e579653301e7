import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildIfNeeded, startServer } from '../helpers/server-process';

jest.setTimeout(120_000);

/** What `node dist/main.js` prints from start to SIGTERM, with these settings. */
async function startUpOutput(env: Record<string, string>): Promise<string[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'uc-start-up-'));
  const server = await startServer({ DATA_DIR: dataDir, ...env });
  try {
    await server.http.get('/health/live').expect(200);
    server.child.kill('SIGTERM');
    await server.exited;
    return server.output().split('\n').filter((line) => line.trim());
  } finally {
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

describe('Start-up output', () => {
  beforeAll(() => buildIfNeeded(), 120_000);

  it('a default run prints a few lines (no route table), the last saying where it listens', async () => {
    const lines = await startUpOutput({ NODE_ENV: 'development' });
    expect(lines.join('\n')).not.toMatch(/Mapped \{|RoutesResolver|dependencies initialized/);
    expect(lines.length).toBeLessThanOrEqual(10);
    expect(lines.join('\n')).toContain('User Centre listening on http://127.0.0.1:');
    expect(lines.join('\n')).not.toContain('TEST-ONLY');
  });

  it('as JSON lines (LOG_FORMAT=json, the production format), just as few', async () => {
    const lines = await startUpOutput({ NODE_ENV: 'development', LOG_FORMAT: 'json' });
    expect(lines.length).toBeLessThanOrEqual(10);
    for (const line of lines) expect(JSON.parse(line)).toEqual(expect.objectContaining({ level: expect.any(String), time: expect.any(Number) }));
  });

  it('LOG_LEVEL=debug still shows the route table', async () => {
    const lines = await startUpOutput({ NODE_ENV: 'development', LOG_LEVEL: 'debug' });
    expect(lines.join('\n')).toContain('Mapped {/api/v1/users/me, GET} route');
  });

  it('says loudly when CAPTCHA_FIXED_TEXT or OUTBOX_FILE is set', async () => {
    const lines = await startUpOutput({ NODE_ENV: 'development', CAPTCHA_FIXED_TEXT: 'abcd', OUTBOX_FILE: join(tmpdir(), `uc-outbox-${process.pid}.jsonl`) });
    const warnings = lines.filter((line) => line.includes('TEST-ONLY SETTING'));
    expect(warnings).toEqual([expect.stringMatching(/WARN .*CAPTCHA_FIXED_TEXT is set, so every captcha's answer is "abcd"/), expect.stringMatching(/WARN .*OUTBOX_FILE is set/)]);
  });
});
