// Sign-in with another identity provider in a real browser (Debian's Chromium through playwright-core):
// an SPA page on its own origin → the provider's sign-in form (a real oidc-provider) → back to the SPA,
// which exchanges the one-time result and shows who is signed in. Skipped with a notice without Chromium,
// except in CI, where it fails.
import { existsSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { chromium, Browser } from 'playwright-core';
import { federationEnv, idpClients, idpPerson } from '../factories/federation';
import { OidcIdp } from '../helpers/oidc-idp';
import { freePort } from '../helpers/server-process';
import { createTestApp, TestApp } from '../helpers/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const available = existsSync(CHROMIUM);
if (!available && !inCi) process.stdout.write(`NOTE: federation browser test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium)\n`);
const describeBrowser = available || inCi ? describe : describe.skip;

/** The SPA: a button that starts the sign-in, and the return page that exchanges the result. */
const spaPage = (api: string) => `<!doctype html><meta charset="utf-8"><title>SPA</title>
<p id="status">signed out</p><button id="sign-in-corp">Sign in with corp</button>
<script>
const API = ${JSON.stringify(api)};
const post = (path, body) => fetch(API + path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) }).then((r) => r.json());
const status = (text) => (document.getElementById('status').textContent = text);
document.getElementById('sign-in-corp').onclick = async () => {
  location.href = (await post('/auth/oauth/corp/url', { redirectUri: location.origin + '/oauth/done' })).data.url;
};
const params = new URLSearchParams(location.search);
if (params.get('error')) status('error ' + params.get('error'));
if (params.get('result')) {
  history.replaceState(null, '', location.pathname); // the one-time code leaves the address bar at once
  post('/auth/oauth/exchange', { result: params.get('result') }).then(async (answer) => {
    if (answer.code !== 200) return status('error ' + answer.error);
    const me = await fetch(API + '/users/me', { headers: { Authorization: 'Bearer ' + answer.data.accessToken } }).then((r) => r.json());
    status('signed in as ' + me.data.displayName + ' <' + me.data.email + '>');
  });
}
</script>`;

describeBrowser('Sign-in with an identity provider in a real browser', () => {
  let t: TestApp;
  let idp: OidcIdp;
  let spa: Server;
  let spaOrigin: string;
  let browser: Browser;

  beforeAll(async () => {
    const apiPort = await freePort();
    const apiOrigin = `http://127.0.0.1:${apiPort}`;
    spa = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(spaPage(`${apiOrigin}/api/v1`)));
    await new Promise<void>((resolve) => spa.listen(0, '127.0.0.1', resolve));
    spaOrigin = `http://127.0.0.1:${(spa.address() as AddressInfo).port}`;
    idp = await OidcIdp.start(idpClients(['corp'], apiOrigin));
    t = await createTestApp({ ...federationEnv(idp, ['corp'], apiOrigin), OAUTH_REDIRECT_URIS: `${spaOrigin}/oauth/done`, CORS_ORIGINS: spaOrigin });
    await t.app.listen({ port: apiPort, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
    await idp?.stop();
    await new Promise((resolve) => spa?.close(resolve));
  });

  it('SPA page → the provider sign-in form → back to the SPA, signed in', async () => {
    const person = await idpPerson(idp, { name: 'Browser Barbara' });
    const page = await browser.newPage();
    await page.goto(`${spaOrigin}/`);
    await page.click('#sign-in-corp');
    await page.waitForURL((url) => url.href.startsWith(idp.issuer));
    await page.fill('#login', person.id);
    await page.fill('#password', 'any password');
    await page.click('#submit');
    await page.waitForURL((url) => url.href.startsWith(`${spaOrigin}/oauth/done`));
    await page.locator('#status', { hasText: 'signed in as' }).waitFor({ timeout: 15_000 });
    expect(await page.locator('#status').innerText()).toBe(`signed in as Browser Barbara <${person.claims.email}>`);
    expect(page.url()).toBe(`${spaOrigin}/oauth/done`);
    await page.close();
  }, 60_000);
});
