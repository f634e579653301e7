import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { buildIfNeeded, freePort } from '../helpers/server-process';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The processes whose parent is `pid` (Linux /proc). */
function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

describe('npm start', () => {
  beforeAll(() => buildIfNeeded(), 120_000);

  it('stopped with SIGTERM, leaves no `node dist/main.js` behind (the server gets the signal and exits)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'uc-npm-start-'));
    const port = await freePort();
    // Its own process group, so that whatever happens the cleanup below reaches every process it made.
    const npm = spawn('npm', ['start'], { cwd: ROOT, detached: true, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dataDir, NODE_ENV: 'test', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    npm.stdout!.on('data', (data) => (output += data));
    npm.stderr!.on('data', (data) => (output += data));
    const npmExited = new Promise<number | null>((resolve) => npm.once('exit', (code) => resolve(code)));
    let servers: number[] = [];
    try {
      const deadline = Date.now() + 60_000;
      while ((await request(`http://127.0.0.1:${port}`).get('/health/live').then((r) => r.status, () => 0)) !== 200) {
        if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not serve:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      // npm's descendants: the server (and, before the fix, the shell between them).
      const descendants = (pid: number): number[] => childrenOf(pid).flatMap((child) => [child, ...descendants(child)]);
      servers = descendants(npm.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes('dist/main.js'));
      expect(servers).toHaveLength(1);
      // Started with a small young generation (4 MB semi-spaces): ~20 MB less RSS on Node 20, ~40 MB on Node 24 (docs/performance.md).
      expect(readFileSync(`/proc/${servers[0]}/cmdline`, 'utf8').split('\0')).toContain('--max-semi-space-size=4');
      // ... without Maglev, Node 24's mid-tier JIT (off by default on Node 20): its compile jobs' malloc stayed resident (docs/performance.md).
      expect(readFileSync(`/proc/${servers[0]}/cmdline`, 'utf8').split('\0')).toContain('--no-maglev');
      // ... and with two malloc arenas, read by glibc when the process starts (docs/performance.md).
      expect(readFileSync(`/proc/${servers[0]}/environ`, 'utf8').split('\0')).toContain('MALLOC_ARENA_MAX=2');

      npm.kill('SIGTERM');
      await npmExited;
      const deadlineGone = Date.now() + 15_000;
      while (alive(servers[0]) && Date.now() < deadlineGone) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(alive(servers[0])).toBe(false);
      // It shut down as on any SIGTERM (it did not just lose its parent).
      expect(await request(`http://127.0.0.1:${port}`).get('/health/live').then((r) => r.status, () => 0)).toBe(0);
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      for (const pid of servers) if (alive(pid)) process.kill(pid, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the image starts the server with the same Node flags and malloc setting as npm start', () => {
    const start = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start as string;
    const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
    const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)![1];
    const [, env, command] = /^((?:[A-Z_]+=\S+ )*)(exec .*)$/.exec(start)!;
    expect(['exec', ...JSON.parse(cmd)].join(' ')).toBe(command);
    const runtimeEnv = /^ENV (.*)$/gm;
    const imageEnv = [...dockerfile.matchAll(runtimeEnv)].pop()![1].split(' ');
    expect(env.trim().split(' ')).toEqual(['MALLOC_ARENA_MAX=2']);
    expect(imageEnv).toContain('MALLOC_ARENA_MAX=2');
  });
});
