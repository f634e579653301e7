// REFRESH_TOKEN_COOKIE in a real browser (Debian's Chromium through playwright-core). The API runs at
// http://localhost:A; the SPA is served from http://localhost:B (same site, another origin: the one in
// CORS_ORIGINS). The SPA signs in with fetch(…, {credentials: 'include'}), cannot read the cookie,
// refreshes with it and signs out. Pages on another site (http://127.0.0.1:B) and on an origin of the
// same site that is not allowed (http://localhost:C) cannot use it. Chromium treats http://localhost as
// a secure context, so it keeps the Secure, __Secure- cookie there, as it would on https.
// Skipped with a notice without Chromium, except in CI, where it fails.
import { existsSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { chromium, Browser, BrowserContext, Page } from 'playwright-core';
import { DEFAULT_PASSWORD, signUp } from '../factories/users';
import { freePort } from '../helpers/server-process';
import { createTestApp, TestApp } from '../helpers/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const available = existsSync(CHROMIUM);
if (!available && !inCi) process.stdout.write(`NOTE: refresh-cookie browser test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium)\n`);
const describeBrowser = available || inCi ? describe : describe.skip;

/** A page with a `call` helper as an SPA would write it: credentials included, X-Requested-With sent. */
const page = (api: string) => `<!doctype html><meta charset="utf-8"><title>SPA</title>
<script>
const API = ${JSON.stringify(api)};
window.call = async (method, path, { body, token, headers } = {}) => {
  const response = await fetch(API + path, {
    method,
    credentials: 'include',
    headers: { 'X-Requested-With': 'XMLHttpRequest', ...(body ? { 'Content-Type': 'application/json' } : {}), ...(token ? { Authorization: 'Bearer ' + token } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json() };
};
</script>`;

type Call = { status: number; body: { data?: Record<string, unknown>; error?: string } };

describeBrowser('REFRESH_TOKEN_COOKIE in a real browser', () => {
  let t: TestApp;
  let spa: Server;
  let other: Server;
  let api: string;
  let spaPort: number;
  let otherPort: number;
  let browser: Browser;
  let context: BrowserContext;

  const serve = async (handler: Parameters<typeof createServer>[1]) => {
    const server = createServer(handler);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, port: (server.address() as AddressInfo).port };
  };

  beforeAll(async () => {
    const apiPort = await freePort();
    api = `http://localhost:${apiPort}/api/v1`;
    // The SPA's page sits under /api/v1/auth on its own origin: cookies ignore ports, so were the cookie
    // not HttpOnly, document.cookie here would show it (a page at / would not see it for its Path alone).
    ({ server: spa, port: spaPort } = await serve((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(api))));
    ({ server: other, port: otherPort } = await serve((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(page(api))));
    t = await createTestApp({ REFRESH_TOKEN_COOKIE: 'true', CORS_ORIGINS: `http://localhost:${spaPort}` });
    await t.app.listen({ port: apiPort, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    context = await browser.newContext();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await new Promise((resolve) => spa?.close(resolve));
    await new Promise((resolve) => other?.close(resolve));
  });

  const call = (on: Page, method: string, path: string, options: { body?: unknown; token?: string; headers?: Record<string, string> } = {}) =>
    on.evaluate(([m, p, o]) => (window as unknown as { call: (...args: unknown[]) => Promise<unknown> }).call(m, p, o), [method, path, options] as const) as Promise<Call>;

  /**
   * A request another page sends without CORS (no custom headers allowed). The page never sees the
   * answer (Cross-Origin-Resource-Policy: same-origin blocks even the opaque response, and Playwright
   * reports no response), so its status is read off the DevTools protocol's network events.
   */
  async function simplePost(on: Page, path: string): Promise<number> {
    const cdp = await context.newCDPSession(on);
    await cdp.send('Network.enable');
    const url = `${api}${path}`;
    const ids = new Set<string>();
    cdp.on('Network.requestWillBeSent', (event) => {
      if (event.request.url === url) ids.add(event.requestId);
    });
    const status = new Promise<number>((resolve) => cdp.on('Network.responseReceivedExtraInfo', (event) => ids.has(event.requestId) && resolve(event.statusCode)));
    const inPage = await on.evaluate(([target]) => fetch(target, { method: 'POST', mode: 'no-cors', credentials: 'include' }).then(() => 'opaque answer', (error: Error) => error.name), [url] as const);
    expect(inPage).toBe('TypeError');
    return status;
  }

  it('an SPA signs in, cannot read the cookie, refreshes with it and signs out; other pages cannot use it', async () => {
    const account = await signUp(t);
    const app = await context.newPage();
    await app.goto(`http://localhost:${spaPort}/api/v1/auth/app`);

    const signIn = await call(app, 'POST', '/auth/login', { body: { identifier: account.username, password: DEFAULT_PASSWORD } });
    expect(signIn.status).toBe(200);
    expect(signIn.body.data).not.toHaveProperty('refreshToken');
    const [cookie] = await context.cookies(`http://localhost:${spaPort}/api/v1/auth/refresh`);
    expect(cookie).toMatchObject({ name: '__Secure-uc_refresh', path: '/api/v1/auth', httpOnly: true, secure: true, sameSite: 'Strict' });
    expect(await app.evaluate(() => document.cookie)).not.toContain('uc_refresh');

    const refreshed = await call(app, 'POST', '/auth/refresh');
    expect(refreshed.status).toBe(200);
    expect(refreshed.body.data).not.toHaveProperty('refreshToken');
    const [rotated] = await context.cookies(`http://localhost:${spaPort}/api/v1/auth/refresh`);
    expect(rotated.value).not.toBe(cookie.value);

    // Another site: the preflight for X-Requested-With is refused, so fetch fails in the page ...
    const elsewhere = await context.newPage();
    await elsewhere.goto(`http://127.0.0.1:${spaPort}/evil`);
    const blocked = await elsewhere.evaluate(([url]) => fetch(url, { method: 'POST', credentials: 'include', headers: { 'X-Requested-With': 'XMLHttpRequest' } }).then(() => 'answered', (error: Error) => error.name), [`${api}/auth/refresh`] as const);
    expect(blocked).toBe('TypeError');
    // ... and a request without preflight arrives without the cookie (SameSite=Strict): nothing to refresh.
    expect(await simplePost(elsewhere, '/auth/refresh')).toBe(401);
    // An origin of the same site that is not allowed: the browser sends the cookie, the server refuses it.
    const sibling = await context.newPage();
    await sibling.goto(`http://localhost:${otherPort}/`);
    expect(await simplePost(sibling, '/auth/refresh')).toBe(403);

    // None of them spent the cookie: the SPA still refreshes (a spent one would be a replay, 401).
    const again = await call(app, 'POST', '/auth/refresh');
    expect(again.status).toBe(200);
    const signOut = await call(app, 'DELETE', '/auth/session', { token: again.body.data!.accessToken as string });
    expect(signOut.status).toBe(200);
    expect(await context.cookies(`http://localhost:${spaPort}/api/v1/auth/refresh`)).toEqual([]);
    expect((await call(app, 'POST', '/auth/refresh')).body.error).toBe('REFRESH_TOKEN_INVALID');
  }, 60_000);
});
