// Passkeys in a real browser: Debian's Chromium through playwright-core, with Chrome's virtual WebAuthn
// authenticator (CDP WebAuthn.addVirtualAuthenticator: ctap2, internal transport, resident keys, user
// verification). A small page, served from the API's own origin (http://localhost:PORT, the RP ID
// localhost), registers a passkey, signs out, signs in with it without a username, and answers the MFA
// challenge of a password sign-in with it. Skipped with a notice without Chromium, except in CI, where it fails.
import { existsSync } from 'node:fs';
import { chromium, Browser, CDPSession, Page } from 'playwright-core';
import { DEFAULT_PASSWORD, signedInUser } from '../factories/users';
import { freePort } from '../helpers/server-process';
import { createTestApp, TestApp } from '../helpers/test-app';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const available = existsSync(CHROMIUM);
if (!available && !inCi) process.stdout.write(`NOTE: passkeys browser test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium)\n`);
const describeBrowser = available || inCi ? describe : describe.skip;

/** The page: what an SPA does with the WebAuthn API and our routes, base64url conversions by hand (no library). */
const PAGE = `<!doctype html><meta charset="utf-8"><title>Passkeys</title>
<p id="status">signed out</p>
<input id="identifier" placeholder="username"><input id="password" type="password" placeholder="password">
<button id="password-sign-in">Sign in with password</button>
<button id="passkey-sign-in">Sign in with a passkey</button>
<button id="register">Add a passkey</button>
<button id="sign-out">Sign out</button>
<script>
const API = '/api/v1';
let tokens = null;
const b64 = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (c) => c.charCodeAt(0));
const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\\+/g, '-').replace(/\\//g, '_').replace(/=+$/, '');
const call = async (method, path, body, auth) => {
  const headers = { ...(body ? { 'Content-Type': 'application/json' } : {}), ...(auth ? { Authorization: 'Bearer ' + tokens.accessToken } : {}) };
  const answer = await (await fetch(API + path, { method, headers, body: body ? JSON.stringify(body) : undefined })).json();
  if (answer.code >= 300) throw new Error(method + ' ' + path + ': ' + answer.code + ' ' + answer.error);
  return answer;
};
const status = (text) => (document.getElementById('status').textContent = text);
const signedIn = (pair) => {
  tokens = pair;
  const amr = JSON.parse(atob(pair.accessToken.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).amr;
  status('signed in as ' + pair.user.username + ' amr=' + amr.join(','));
};
const assertionJson = (cred) => ({
  id: cred.id, rawId: enc(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(),
  response: { clientDataJSON: enc(cred.response.clientDataJSON), authenticatorData: enc(cred.response.authenticatorData), signature: enc(cred.response.signature), userHandle: cred.response.userHandle ? enc(cred.response.userHandle) : undefined },
});
const getPasskey = async (options) => assertionJson(await navigator.credentials.get({ publicKey: {
  ...options, challenge: b64(options.challenge), allowCredentials: (options.allowCredentials || []).map((c) => ({ ...c, id: b64(c.id) })),
} }));
window.useTokens = (pair) => (tokens = pair);
// Every button: a failure shows in the status line (the test reads it) instead of vanishing as an unhandled rejection.
const button = (id, action) => (document.getElementById(id).onclick = () => action().catch((error) => status('error ' + error.name + ': ' + error.message)));
button('register', async () => {
  const options = (await call('POST', '/users/me/passkeys/options', undefined, true)).data;
  const cred = await navigator.credentials.create({ publicKey: {
    ...options, challenge: b64(options.challenge), user: { ...options.user, id: b64(options.user.id) },
    excludeCredentials: options.excludeCredentials.map((c) => ({ ...c, id: b64(c.id) })),
  } });
  const response = {
    id: cred.id, rawId: enc(cred.rawId), type: cred.type, clientExtensionResults: cred.getClientExtensionResults(),
    response: { clientDataJSON: enc(cred.response.clientDataJSON), attestationObject: enc(cred.response.attestationObject), transports: cred.response.getTransports() },
  };
  const added = await call('POST', '/users/me/passkeys', { response, name: 'Chromium' }, true);
  status(added.code === 201 ? 'passkey added: ' + added.data.name : 'error ' + added.error);
});
button('sign-out', async () => {
  const answer = await call('DELETE', '/auth/session', undefined, true);
  tokens = null;
  status(answer.code === 200 ? 'signed out' : 'error ' + answer.error);
});
button('passkey-sign-in', async () => {
  const { challengeId, options } = (await call('POST', '/auth/passkeys/options')).data;
  const answer = await call('POST', '/auth/login/passkey', { challengeId, response: await getPasskey(options) });
  answer.code === 200 ? signedIn(answer.data) : status('error ' + answer.error);
});
button('password-sign-in', async () => {
  const identifier = document.getElementById('identifier').value;
  const password = document.getElementById('password').value;
  const first = await call('POST', '/auth/login', { identifier, password });
  if (first.code !== 200) return status('error ' + first.error);
  if (!first.data.mfaRequired) return signedIn(first.data);
  status('second factor: ' + first.data.methods.join(','));
  const options = (await call('POST', '/auth/mfa/passkey-options', { mfaToken: first.data.mfaToken })).data;
  const answer = await call('POST', '/auth/mfa/verify', { mfaToken: first.data.mfaToken, method: 'passkey', response: await getPasskey(options) });
  answer.code === 200 ? signedIn(answer.data) : status('error ' + answer.error);
});
</script>`;

describeBrowser('Passkeys in a real browser (Chromium with a virtual authenticator)', () => {
  let t: TestApp;
  let browser: Browser;
  let origin: string;
  beforeAll(async () => {
    const port = await freePort();
    origin = `http://localhost:${port}`;
    t = await createTestApp({ WEBAUTHN_ORIGINS: origin });
    await t.app.listen({ port, host: '127.0.0.1' });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
  }, 60000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  async function statusIs(page: Page, pattern: RegExp): Promise<string> {
    await page.waitForFunction((source) => new RegExp(source).test(document.getElementById('status')!.textContent ?? ''), pattern.source, { timeout: 15000 });
    return (await page.locator('#status').textContent()) ?? '';
  }

  it('registers a passkey, signs out, signs in with it without a username, and uses it as the second factor after a password', async () => {
    const user = await signedInUser(t);
    const page = await browser.newPage();
    // The page is served at the API's own origin: the test answers its address, the API answers /api/v1.
    await page.route(`${origin}/passkeys-demo`, (route) => route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: PAGE }));
    const cdp: CDPSession = await page.context().newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
    });
    await page.goto(`${origin}/passkeys-demo`);

    // Register, with the session the account signed in with.
    await page.evaluate((pair) => (window as unknown as { useTokens(p: unknown): void }).useTokens(pair), { accessToken: user.accessToken, refreshToken: user.refreshToken });
    await page.click('#register');
    expect(await statusIs(page, /^(passkey added|error)/)).toBe('passkey added: Chromium');
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0]).toMatchObject({ isResidentCredential: true, rpId: 'localhost', userHandle: Buffer.from(user.user.id).toString('base64') });

    // Sign out, then sign in with the passkey alone: no username typed.
    await page.click('#sign-out');
    expect(await statusIs(page, /^(signed out|error)/)).toBe('signed out');
    await page.click('#passkey-sign-in');
    expect(await statusIs(page, /^(signed in|error)/)).toBe(`signed in as ${user.username} amr=hwk,mfa`);

    // A password sign-in now meets the MFA challenge, answered by the same passkey.
    await page.click('#sign-out');
    await statusIs(page, /^signed out/);
    await page.fill('#identifier', user.username);
    await page.fill('#password', DEFAULT_PASSWORD);
    await page.click('#password-sign-in');
    expect(await statusIs(page, /^(signed in|error)/)).toBe(`signed in as ${user.username} amr=pwd,hwk,mfa`);

    // The authenticator's counter moved with each assertion, and the server kept up.
    const after = (await cdp.send('WebAuthn.getCredentials', { authenticatorId })).credentials[0];
    const [row] = await t.db.query('SELECT counter, last_used_at, name FROM passkeys WHERE user_id = ?', [user.user.id]);
    expect(Number(row.counter)).toBe(after.signCount);
    expect(row.last_used_at).not.toBeNull();
    expect(row.name).toBe('Chromium');
    await page.close();
  }, 90000);
});
