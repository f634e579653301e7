// Swagger UI served over plain http at an address that is NOT loopback, as an admin on the office
// network would open it. Chromium treats localhost and 127.0.0.0/8 as trustworthy, so a test on
// 127.0.0.1 could not see the bug this guards against: a CSP with `upgrade-insecure-requests` made
// the browser fetch /docs's scripts as https://<host>/docs/… and the page stayed blank.
//
// The test makes its own network namespace with a veth pair (10.213.7.1 and .2, which exist only
// inside that namespace), runs `node dist/main.js` and Chromium in it, and removes it afterwards.
// It needs root (ip netns); elsewhere it maps a made-up host name to 127.0.0.1 with Chromium's
// --host-resolver-rules, which Chromium also treats as an untrustworthy origin.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, Browser } from 'playwright-core';
import { buildIfNeeded, freePort } from '../helpers/server-process';
import { createTestApp, TestApp } from '../helpers/test-app';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const available = existsSync(CHROMIUM);
if (!available && !inCi) process.stdout.write(`NOTE: Swagger UI off-localhost browser test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium)\n`);
const describeBrowser = available || inCi ? describe : describe.skip;
const artifacts = join(ROOT, 'test-artifacts');

const ip = (...args: string[]) => spawnSync('ip', args, { encoding: 'utf8' });

/** A network namespace of our own with two addresses on a veth pair; null when this machine cannot make one. */
function makeNamespace(): { name: string; address: string; remove(): void } | null {
  if (process.getuid?.() !== 0 || ip('-V').status !== 0) return null;
  const name = `uc-docs-${process.pid}`;
  const steps = [
    ['netns', 'add', name],
    ['-n', name, 'link', 'set', 'lo', 'up'],
    ['-n', name, 'link', 'add', 'uca', 'type', 'veth', 'peer', 'name', 'ucb'],
    ['-n', name, 'addr', 'add', '10.213.7.1/24', 'dev', 'uca'],
    ['-n', name, 'addr', 'add', '10.213.7.2/24', 'dev', 'ucb'],
    ['-n', name, 'link', 'set', 'uca', 'up'],
    ['-n', name, 'link', 'set', 'ucb', 'up'],
  ];
  for (const step of steps) {
    const result = ip(...step);
    if (result.status !== 0) {
      ip('netns', 'del', name);
      if (step[0] === 'netns') return null; // not allowed here: fall back
      throw new Error(`ip ${step.join(' ')} failed: ${result.stderr}`);
    }
  }
  return { name, address: '10.213.7.1', remove: () => void ip('netns', 'del', name) };
}

describeBrowser('Swagger UI over plain http at an address that is not loopback', () => {
  let browser: Browser;
  let server: ChildProcess;
  let output = '';
  let baseUrl: string;
  let namespace: ReturnType<typeof makeNamespace>;
  const workDir = mkdtempSync(join(tmpdir(), 'uc-docs-ns-'));

  beforeAll(async () => {
    buildIfNeeded();
    namespace = makeNamespace();
    const port = await freePort();
    const inNamespace = (command: string, args: string[]) => (namespace ? { command: 'ip', args: ['netns', 'exec', namespace.name, command, ...args] } : { command, args });
    const host = namespace ? namespace.address : '127.0.0.1';
    const run = inNamespace(process.execPath, [join(ROOT, 'dist', 'main.js')]);
    server = spawn(run.command, run.args, {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', DATA_DIR: join(workDir, 'data'), PORT: String(port), HOST: host, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (data) => (output += data));
    server.stderr!.on('data', (data) => (output += data));
    // The server is only reachable from inside the namespace, so wait for its "listening" line.
    const deadline = Date.now() + 60_000;
    while (!output.includes('listening on')) {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`the server did not start:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // Chromium runs in the same namespace (playwright talks to it over a pipe, not the network).
    let executablePath = CHROMIUM;
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
    if (namespace) {
      executablePath = join(workDir, 'chromium-in-namespace.sh');
      writeFileSync(executablePath, `#!/bin/sh\nexec ip netns exec ${namespace.name} ${CHROMIUM} "$@"\n`);
      chmodSync(executablePath, 0o755);
      baseUrl = `http://${namespace.address}:${port}`;
    } else {
      args.push('--host-resolver-rules=MAP docs.example.test 127.0.0.1');
      baseUrl = `http://docs.example.test:${port}`;
    }
    browser = await chromium.launch({ executablePath, args });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    if (server && server.exitCode === null) {
      server.kill('SIGKILL');
      await new Promise((resolve) => server.once('exit', resolve));
    }
    namespace?.remove();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('really is an untrustworthy origin (Chromium says so about the page)', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/health/live`);
    expect(await page.evaluate(() => window.isSecureContext)).toBe(false);
    expect(await page.evaluate(() => location.protocol)).toBe('http:');
    await page.close();
  });

  it('renders the operations (no blank page), with the first operation near the top and no CSP refusals', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('requestfailed', (req) => problems.push(`${req.url()} ${req.failure()?.errorText}`));
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
    await page.goto(`${baseUrl}/docs`);
    await page.locator('.swagger-ui .info .title').waitFor({ timeout: 15_000 });
    const first = page.locator('.opblock').first();
    await first.waitFor();
    mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: join(artifacts, 'swagger-ui-off-localhost.png') });
    // The error-code table used to sit above the first operation, 2,571 px down.
    const box = await first.boundingBox();
    expect(box?.y).toBeLessThan(900);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('"Try it out" leaves the admin list\'s optional filters empty', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/docs`);
    const op = page.locator('#operations-Admin-adminListUsers');
    await op.waitFor({ timeout: 15_000 });
    await op.locator('.opblock-summary').click();
    await op.locator('button.try-out__btn').click();
    for (const name of ['q', 'role', 'status']) {
      const row = op.locator(`tr[data-param-name="${name}"]`);
      await row.waitFor();
      const field = row.locator('input, select').first();
      expect([name, await field.inputValue()]).toEqual([name, '']);
    }
    await page.close();
  });
});

describe('The CSP upgrades to https only for requests that came over https', () => {
  let t: TestApp;
  beforeAll(async () => {
    // supertest connects from 127.0.0.1, which this app trusts as its proxy.
    t = await createTestApp({ TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(() => t.close());

  const csp = async (headers: Record<string, string>) => String((await t.http.get('/docs').set(headers).expect(200)).headers['content-security-policy']);

  it('plain http: no upgrade-insecure-requests (the docs load their own http assets)', async () => {
    expect(await csp({})).not.toContain('upgrade-insecure-requests');
    expect(await csp({})).toContain("script-src 'self'");
  });

  it('https at a trusted proxy (X-Forwarded-Proto: https): upgrade-insecure-requests', async () => {
    expect(await csp({ 'X-Forwarded-Proto': 'https' })).toContain('upgrade-insecure-requests');
    expect(await csp({ 'X-Forwarded-Proto': 'http' })).not.toContain('upgrade-insecure-requests');
  });
});

describe('X-Forwarded-Proto from a client that is not a trusted proxy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('is ignored: the request is plain http', async () => {
    const answer = await t.http.get('/docs').set('X-Forwarded-Proto', 'https').expect(200);
    expect(String(answer.headers['content-security-policy'])).not.toContain('upgrade-insecure-requests');
  });
});
