import { createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { avatarFileName } from '../factories/avatars';
import { testImage } from '../factories/images';
import { bearer } from '../factories/sessions';
import { auditEvents, createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { outbox } from '../factories/codes';
import { outboxEvents } from '../factories/events';
import {
  callbackPath,
  deliverCallback,
  federatedSignIn,
  federationEnv,
  idpClients,
  idpPerson,
  providerCallback,
  signInUrl,
  SPA_PROFILE,
  SPA_RETURN,
} from '../factories/federation';
import { DEFAULT_PASSWORD, signedInUser, signIn, signUp } from '../factories/users';
import { claimsOf, currentCode, enrolTotp, verifyMfa } from '../factories/mfa';
import { OidcIdp } from '../helpers/oidc-idp';
import { createTestApp, TestApp } from '../helpers/test-app';
import { AuthService } from '@/modules/auth/auth.service';

const PROVIDERS = ['corp', 'corp2'];

describe('Sign-in with other identity providers (contract §11) against a real OpenID Connect provider', () => {
  let idp: OidcIdp;
  let t: TestApp;
  let admin: SignedInAdmin;

  beforeAll(async () => {
    idp = await OidcIdp.start(idpClients(PROVIDERS));
    ({ t, admin } = await createAppWithAdmin(federationEnv(idp, PROVIDERS)));
  });
  afterAll(async () => {
    await t?.close();
    await idp?.stop();
  });
  afterEach(() => idp.setIdTokenMode('normal'));

  it('lists the enabled providers for the sign-in page (no secrets)', async () => {
    const response = await t.http.get('/api/v1/auth/providers').expect(200);
    expect(response.body.data.items).toEqual([
      { id: 'corp', name: 'corp sign-in', kind: 'oidc' },
      { id: 'corp2', name: 'corp2 sign-in', kind: 'oidc' },
    ]);
    expect(JSON.stringify(response.body)).not.toContain('federation-test-client-secret');
  });

  it('the URL carries PKCE S256, state, nonce and the callback URL built from PUBLIC_BASE_URL', async () => {
    const url = new URL(await signInUrl(t, 'corp'));
    expect(url.origin).toBe(idp.issuer);
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(url.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(url.searchParams.get('redirect_uri')).toBe('http://uc.test/api/v1/auth/oauth/corp/callback');
    // The Host header never decides it.
    const spoofed = await t.http.post('/api/v1/auth/oauth/corp/url').set('Host', 'evil.example').set('X-Forwarded-Host', 'evil.example').send({ redirectUri: SPA_RETURN }).expect(200);
    expect(new URL(spoofed.body.data.url).searchParams.get('redirect_uri')).toBe('http://uc.test/api/v1/auth/oauth/corp/callback');
  });

  it('an unknown identity creates an account (generated username, the provider email verified as it says); the same identity signs in to it again', async () => {
    const person = await idpPerson(idp, { name: 'Ada Lovelace' });
    const auth = t.app.get(AuthService);
    const spy = jest.spyOn(auth, 'afterFirstFactor');
    const first = await federatedSignIn(t, idp, 'corp', person.id);
    expect(first.user).toMatchObject({ username: expect.stringMatching(/^u_[a-z0-9]{10}$/), email: person.claims.email, emailVerified: true, displayName: 'Ada Lovelace' });
    // The one path every first-factor sign-in ends in (where the MFA challenge goes in), amr "fed".
    expect(spy).toHaveBeenCalledWith(expect.objectContaining({ id: first.user.id }), expect.anything(), 'federated', ['fed']);
    spy.mockRestore();
    const me = await t.http.get('/api/v1/users/me').set(bearer(first)).expect(200);
    expect(me.body.data.id).toBe(first.user.id);
    const again = await federatedSignIn(t, idp, 'corp', person.id);
    expect(again.user.id).toBe(first.user.id);
    const identities = await t.http.get('/api/v1/users/me/identities').set(bearer(again)).expect(200);
    expect(identities.body.data.items).toEqual([{ provider: 'corp', subject: person.id, email: person.claims.email, linkedAt: expect.any(String) }]);
    const events = await auditEvents(t, admin.auth, { userId: first.user.id });
    expect(events.filter((event) => event.type === 'sign_up').map((event) => event.detail)).toEqual([{ method: 'federated:corp' }]);
    expect(events.filter((event) => event.type === 'sign_in' && event.outcome === 'success')).toHaveLength(2);
  });

  it('an account with a second factor gets the MFA challenge from the exchange too (amr fed+otp+mfa)', async () => {
    const person = await idpPerson(idp, { name: 'Grace Hopper' });
    const first = await federatedSignIn(t, idp, 'corp', person.id);
    const { secret } = await enrolTotp(t, first);
    const back = await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id));
    const challenge = await t.http.post('/api/v1/auth/oauth/exchange').send({ result: back.searchParams.get('result') }).expect(200);
    expect(challenge.body.data).toMatchObject({ mfaRequired: true, methods: ['totp', 'recovery_code'] });
    expect(challenge.body.data.accessToken).toBeUndefined();
    const signedIn = await verifyMfa(t, challenge.body.data.mfaToken, 'totp', currentCode(t, secret)).expect(200);
    expect(claimsOf(signedIn.body.data.accessToken).amr).toEqual(['fed', 'otp', 'mfa']);
  });

  it("the provider's name and picture seed the new profile: the picture re-encoded and stored as ours, never hot-linked; an unusable one is skipped", async () => {
    const png = await testImage('png', 64, 64);
    const pictures = createServer((req, res) => {
      if (req.url === '/pic.png') res.writeHead(200, { 'Content-Type': 'image/png' }).end(png);
      else res.writeHead(200, { 'Content-Type': 'image/png' }).end('not really a picture');
    });
    await new Promise<void>((resolve) => pictures.listen(0, '127.0.0.1', resolve));
    const origin = `http://127.0.0.1:${(pictures.address() as AddressInfo).port}`;
    try {
      const person = await idpPerson(idp, { name: 'Grace Hopper', picture: `${origin}/pic.png` });
      const signedIn = await federatedSignIn(t, idp, 'corp', person.id);
      const me = (await t.http.get('/api/v1/users/me').set(bearer(signedIn)).expect(200)).body.data;
      expect(me.displayName).toBe('Grace Hopper');
      expect(me.avatarUrl).toEqual(expect.any(String));
      expect(me.avatarUrl).not.toContain(origin);
      const served = await t.http.get(`/api/v1/avatars/${avatarFileName(me.avatarUrl)}`).buffer(true).expect(200);
      expect(served.headers['content-type']).toBe('image/webp');
      expect(Buffer.from(served.body).subarray(8, 12).toString()).toBe('WEBP');

      const broken = await idpPerson(idp, { picture: `${origin}/broken.png` });
      const without = await federatedSignIn(t, idp, 'corp', broken.id);
      expect((await t.http.get('/api/v1/users/me').set(bearer(without)).expect(200)).body.data.avatarUrl).toBeNull();
    } finally {
      await new Promise((resolve) => pictures.close(resolve));
    }
  });

  describe('PKCE, state and nonce: single-use and bound to the request', () => {
    it('an unknown, forged or missing state is 400 OAUTH_STATE_INVALID (no redirect: there is no trusted target)', async () => {
      const person = await idpPerson(idp);
      const callback = await providerCallback(t, idp, 'corp', person.id);
      const forged = new URL(callback);
      forged.searchParams.set('state', 'A'.repeat(43));
      for (const path of [callbackPath(forged), `${callback.pathname}?code=${callback.searchParams.get('code')}`, callback.pathname]) {
        const response = await t.http.get(path);
        expect([response.status, response.body.error, response.headers.location]).toEqual([400, 'OAUTH_STATE_INVALID', undefined]);
      }
      // The genuine state still works once.
      expect((await deliverCallback(t, callback)).searchParams.get('result')).toBeTruthy();
    });

    it('a state is single-use: 20 parallel deliveries of one callback give one result, the rest 400', async () => {
      const person = await idpPerson(idp);
      const callback = await providerCallback(t, idp, 'corp', person.id);
      const answers = await Promise.all(Array.from({ length: 20 }, () => t.http.get(callbackPath(callback))));
      const redirected = answers.filter((answer) => answer.status === 302);
      expect(redirected).toHaveLength(1);
      expect(new URL(redirected[0].headers.location).searchParams.get('result')).toBeTruthy();
      expect(answers.filter((answer) => answer.status === 400 && answer.body.error === 'OAUTH_STATE_INVALID')).toHaveLength(19);
    });

    it("a state made for one provider is refused at another provider's callback (and is burned)", async () => {
      const person = await idpPerson(idp);
      const callback = await providerCallback(t, idp, 'corp', person.id);
      const elsewhere = callbackPath(callback).replace('/oauth/corp/', '/oauth/corp2/');
      expect((await t.http.get(elsewhere)).body.error).toBe('OAUTH_STATE_INVALID');
      expect((await t.http.get(callbackPath(callback))).body.error).toBe('OAUTH_STATE_INVALID');
    });

    it('a started sign-in lives 10 minutes', async () => {
      const person = await idpPerson(idp);
      const callback = await providerCallback(t, idp, 'corp', person.id);
      await t.passTime(10 * 60_000 + 1000);
      expect((await t.http.get(callbackPath(callback))).body.error).toBe('OAUTH_STATE_INVALID');
    });

    it('the one-time result is single-use under 20 parallel exchanges, and lives 60 seconds', async () => {
      const person = await idpPerson(idp);
      const back = await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id));
      const result = back.searchParams.get('result');
      const answers = await Promise.all(Array.from({ length: 20 }, () => t.http.post('/api/v1/auth/oauth/exchange').send({ result })));
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
      expect(answers.filter((answer) => answer.status === 400 && answer.body.error === 'OAUTH_STATE_INVALID')).toHaveLength(19);
      expect(answers.find((answer) => answer.status === 200)!.headers['cache-control']).toBe('no-store');

      const late = (await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id))).searchParams.get('result');
      await t.passTime(61_000);
      expect((await t.http.post('/api/v1/auth/oauth/exchange').send({ result: late })).body.error).toBe('OAUTH_STATE_INVALID');
      const fresh = (await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id))).searchParams.get('result');
      await t.passTime(59_000);
      expect((await t.http.post('/api/v1/auth/oauth/exchange').send({ result: fresh })).status).toBe(200);
    });

    it.each([
      ['signed by another key', 'wrong-key'],
      ['carrying another nonce', 'wrong-nonce'],
    ] as const)('an ID token from the token endpoint %s is refused: back to the SPA with error=OAUTH_PROVIDER_ERROR, no account', async (_what, mode) => {
      const person = await idpPerson(idp);
      await idp.setIdTokenMode(mode);
      const back = await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id));
      expect(`${back.origin}${back.pathname}`).toBe(SPA_RETURN);
      expect([...back.searchParams]).toEqual([['error', 'OAUTH_PROVIDER_ERROR']]);
      // The same person, with an honest ID token, is a new account: the refused attempt created nothing.
      await idp.setIdTokenMode('normal');
      const signedIn = await federatedSignIn(t, idp, 'corp', person.id);
      const identities = await t.http.get('/api/v1/users/me/identities').set(bearer(signedIn)).expect(200);
      expect(identities.body.data.items).toHaveLength(1);
      expect(await auditEvents(t, admin.auth, { userId: signedIn.user.id, type: 'sign_up' })).toHaveLength(1);
    });

    it('an expired authorization code is refused (error=OAUTH_PROVIDER_ERROR)', async () => {
      const person = await idpPerson(idp);
      const callback = await providerCallback(t, idp, 'corp', person.id);
      await idp.expireCodes();
      expect((await deliverCallback(t, callback)).searchParams.get('error')).toBe('OAUTH_PROVIDER_ERROR');
    });

    it('a provider error (the person declined) comes back as error=OAUTH_PROVIDER_ERROR', async () => {
      const url = new URL(await signInUrl(t, 'corp'));
      const declined = `/api/v1/auth/oauth/corp/callback?error=access_denied&state=${url.searchParams.get('state')}`;
      const response = await t.http.get(declined).expect(302);
      expect(response.headers.location).toBe(`${SPA_RETURN}?error=OAUTH_PROVIDER_ERROR`);
    });

    it('the code verifier is the one the challenge was made from: a callback with a code from another attempt fails', async () => {
      const person = await idpPerson(idp);
      const first = await providerCallback(t, idp, 'corp', person.id);
      const second = await providerCallback(t, idp, 'corp', person.id);
      // The second attempt's state with the first attempt's code: PKCE (and the state check) refuse it.
      const mixed = new URL(second);
      mixed.searchParams.set('code', first.searchParams.get('code')!);
      expect((await deliverCallback(t, mixed)).searchParams.get('error')).toBe('OAUTH_PROVIDER_ERROR');
    });
  });

  describe('Redirect URIs are matched exactly against OAUTH_REDIRECT_URIS', () => {
    it.each([
      'https://evil.example/oauth/done',
      `${SPA_RETURN}/`,
      `${SPA_RETURN}?next=https://evil.example`,
      SPA_RETURN.toUpperCase(),
      'https://spa.test.evil.example/oauth/done',
      'javascript:alert(1)',
    ])('%s → 400 REDIRECT_URI_NOT_ALLOWED', async (redirectUri) => {
      const response = await t.http.post('/api/v1/auth/oauth/corp/url').send({ redirectUri });
      expect([response.status, response.body.error]).toEqual([400, 'REDIRECT_URI_NOT_ALLOWED']);
    });

    it('an unknown provider is 404 OAUTH_PROVIDER_UNKNOWN', async () => {
      const response = await t.http.post('/api/v1/auth/oauth/nope/url').send({ redirectUri: SPA_RETURN });
      expect([response.status, response.body.error]).toEqual([404, 'OAUTH_PROVIDER_UNKNOWN']);
    });
  });

  describe('Linking rules', () => {
    it('an identity whose email belongs to an account is never linked silently: error=ACCOUNT_EXISTS_LINK_REQUIRED, nothing created', async () => {
      const existing = await signUp(t);
      const person = await idpPerson(idp, { email: existing.email.toUpperCase(), email_verified: true });
      const back = await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id));
      expect(back.href).toBe(`${SPA_RETURN}?error=ACCOUNT_EXISTS_LINK_REQUIRED`);
      const tokens = await signIn(t, existing.username, existing.password);
      expect((await t.http.get('/api/v1/users/me/identities').set(bearer(tokens)).expect(200)).body.data.items).toEqual([]);
      const found = await t.http.get('/api/v1/admin/users').set(admin.auth).query({ q: existing.email }).expect(200);
      expect(found.body.data.total).toBe(1);
    });

    it("an email the provider does not call verified is kept unverified", async () => {
      const person = await idpPerson(idp, { email_verified: false });
      const signedIn = await federatedSignIn(t, idp, 'corp', person.id);
      expect(signedIn.user).toMatchObject({ email: person.claims.email, emailVerified: false });
    });

    it('a signed-in user links a provider from the profile (recent sign-in needed), then signs in with it; the owner is told and it is audited', async () => {
      const user = await signedInUser(t);
      const person = await idpPerson(idp, { email: `other-${user.email}` });
      const started = await t.http.post('/api/v1/users/me/identities/corp/url').set(user.auth).send({ redirectUri: SPA_PROFILE }).expect(200);
      const back = await deliverCallback(t, await idp.signIn(started.body.data.url, person.id));
      expect(back.href).toBe(`${SPA_PROFILE}?linked=corp`);
      const list = await t.http.get('/api/v1/users/me/identities').set(user.auth).expect(200);
      expect(list.body.data.items).toEqual([{ provider: 'corp', subject: person.id, email: person.claims.email, linkedAt: expect.any(String) }]);
      expect((await federatedSignIn(t, idp, 'corp', person.id)).user.id).toBe(user.user.id);
      expect((await auditEvents(t, admin.auth, { userId: user.user.id, type: 'identity_linked' })).map((event) => event.detail)).toEqual([{ provider: 'corp' }]);
      expect(outbox(t).filter((entry) => entry.to === user.email.toLowerCase() && entry.purpose === 'notice').pop()?.text).toMatch(/linked to your account/);
      // The admin view shows it.
      const view = await t.http.get(`/api/v1/admin/users/${user.user.id}`).set(admin.auth).expect(200);
      expect(view.body.data.identities).toEqual([{ provider: 'corp', subject: person.id, email: person.claims.email, linkedAt: expect.any(String) }]);
    });

    it('linking needs a recent sign-in (403 RECENT_AUTH_REQUIRED) and a session (not a personal API key)', async () => {
      const user = await signedInUser(t);
      const { apiKey } = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data;
      const viaKey = await t.http.post('/api/v1/users/me/identities/corp/url').set('X-API-Key', apiKey).send({ redirectUri: SPA_PROFILE });
      expect([viaKey.status, viaKey.body.error]).toEqual([403, 'API_KEY_SCOPE']);
      await t.passTime(61 * 60_000);
      const refreshed = (await t.http.post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken }).expect(200)).body.data;
      const stale = await t.http.post('/api/v1/users/me/identities/corp/url').set(bearer(refreshed)).send({ redirectUri: SPA_PROFILE });
      expect([stale.status, stale.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
      const unlink = await t.http.delete('/api/v1/users/me/identities/corp').set(bearer(refreshed));
      expect([unlink.status, unlink.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
    });

    it('an identity linked to another account cannot be linked again (error=IDENTITY_ALREADY_LINKED)', async () => {
      const person = await idpPerson(idp);
      await federatedSignIn(t, idp, 'corp', person.id);
      const user = await signedInUser(t);
      const started = await t.http.post('/api/v1/users/me/identities/corp/url').set(user.auth).send({ redirectUri: SPA_PROFILE }).expect(200);
      const back = await deliverCallback(t, await idp.signIn(started.body.data.url, person.id));
      expect(back.href).toBe(`${SPA_PROFILE}?error=IDENTITY_ALREADY_LINKED`);
      expect((await t.http.get('/api/v1/users/me/identities').set(user.auth).expect(200)).body.data.items).toEqual([]);
    });

    it('a link started by a session that has since signed out does not link', async () => {
      const user = await signedInUser(t);
      const person = await idpPerson(idp);
      const started = await t.http.post('/api/v1/users/me/identities/corp/url').set(user.auth).send({ redirectUri: SPA_PROFILE }).expect(200);
      await t.http.delete('/api/v1/auth/session').set(user.auth).expect(200);
      const back = await deliverCallback(t, await idp.signIn(started.body.data.url, person.id));
      expect(back.searchParams.get('error')).toBe('OAUTH_STATE_INVALID');
    });

    it('unlinking is audited and told; the last way to sign in cannot be removed (409 LAST_SIGN_IN_METHOD)', async () => {
      const user = await signedInUser(t);
      const person = await idpPerson(idp);
      const started = await t.http.post('/api/v1/users/me/identities/corp/url').set(user.auth).send({ redirectUri: SPA_PROFILE }).expect(200);
      await deliverCallback(t, await idp.signIn(started.body.data.url, person.id));
      await t.http.delete('/api/v1/users/me/identities/corp').set(user.auth).expect(200);
      expect((await t.http.delete('/api/v1/users/me/identities/corp').set(user.auth)).body.error).toBe('IDENTITY_NOT_FOUND');
      expect(await auditEvents(t, admin.auth, { userId: user.user.id, type: 'identity_unlinked' })).toHaveLength(1);
      // Contract §12: linking and unlinking are events for other services too, naming the provider only.
      expect((await outboxEvents(t, user.user.id)).map(({ type, data }) => ({ type, data }))).toEqual([
        { type: 'user.created', data: { userId: user.user.id } },
        { type: 'user.identity_linked', data: { userId: user.user.id, provider: 'corp' } },
        { type: 'user.identity_unlinked', data: { userId: user.user.id, provider: 'corp' } },
      ]);
      expect(outbox(t).filter((entry) => entry.to === user.email.toLowerCase() && entry.purpose === 'notice').pop()?.text).toMatch(/removed from your account/);

      // An account made by the provider has no password and no phone: its only identity stays.
      const federated = await federatedSignIn(t, idp, 'corp', (await idpPerson(idp)).id);
      const last = await t.http.delete('/api/v1/users/me/identities/corp').set(bearer(federated));
      expect([last.status, last.body.error]).toEqual([409, 'LAST_SIGN_IN_METHOD']);
    });

    it('two identities, no password: 20 parallel unlinks of both leave exactly one', async () => {
      const first = await idpPerson(idp);
      const second = await idpPerson(idp);
      const session = await federatedSignIn(t, idp, 'corp', first.id);
      const started = await t.http.post('/api/v1/users/me/identities/corp2/url').set(bearer(session)).send({ redirectUri: SPA_PROFILE }).expect(200);
      expect((await deliverCallback(t, await idp.signIn(started.body.data.url, second.id))).searchParams.get('linked')).toBe('corp2');
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => t.http.delete(`/api/v1/users/me/identities/${PROVIDERS[i % 2]}`).set(bearer(session))));
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(1);
      expect(answers.every((answer) => [200, 404, 409].includes(answer.status))).toBe(true);
      expect((await t.http.get('/api/v1/users/me/identities').set(bearer(session)).expect(200)).body.data.items).toHaveLength(1);
      const me = (await t.http.get('/api/v1/users/me').set(bearer(session)).expect(200)).body.data;
      expect((await outboxEvents(t, me.id)).filter(({ type }) => type === 'user.identity_unlinked')).toHaveLength(1);
    });

    it('deleting the account frees its identities: the same person then gets a new account', async () => {
      const user = await signedInUser(t);
      const person = await idpPerson(idp);
      const started = await t.http.post('/api/v1/users/me/identities/corp/url').set(user.auth).send({ redirectUri: SPA_PROFILE }).expect(200);
      await deliverCallback(t, await idp.signIn(started.body.data.url, person.id));
      await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
      const again = await federatedSignIn(t, idp, 'corp', person.id);
      expect(again.user.id).not.toBe(user.user.id);
    });

    it('an account made by a provider (no password, no phone) deletes itself with a recent sign-in, which frees its identity', async () => {
      const person = await idpPerson(idp);
      const session = await federatedSignIn(t, idp, 'corp', person.id);
      await t.passTime(61 * 60_000);
      const refreshed = (await t.http.post('/api/v1/auth/refresh').send({ refreshToken: session.refreshToken }).expect(200)).body.data;
      const stale = await t.http.delete('/api/v1/users/me').set(bearer(refreshed)).send({});
      expect([stale.status, stale.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
      const fresh = await federatedSignIn(t, idp, 'corp', person.id);
      expect(fresh.user.id).toBe(session.user.id);
      await t.http.delete('/api/v1/users/me').set(bearer(fresh)).send({}).expect(200);
      expect((await federatedSignIn(t, idp, 'corp', person.id)).user.id).not.toBe(session.user.id);
    });

    it('a disabled account cannot sign in with its identity (error=INVALID_CREDENTIALS)', async () => {
      const person = await idpPerson(idp);
      const signedIn = await federatedSignIn(t, idp, 'corp', person.id);
      await t.http.patch(`/api/v1/admin/users/${signedIn.user.id}`).set(admin.auth).send({ status: 'disabled' }).expect(200);
      const back = await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id));
      expect(back.searchParams.get('error')).toBe('INVALID_CREDENTIALS');
    });
  });
});

describe('Federated sign-up honours the registration switches', () => {
  let idp: OidcIdp;
  beforeAll(async () => {
    idp = await OidcIdp.start(idpClients(['corp']));
  });
  afterAll(() => idp?.stop());

  it('registration off: an unknown identity gets error=REGISTRATION_DISABLED', async () => {
    const t = await createTestApp({ ...federationEnv(idp, ['corp']), REGISTRATION_ENABLED: 'false' });
    try {
      const back = await deliverCallback(t, await providerCallback(t, idp, 'corp', (await idpPerson(idp)).id));
      expect(back.searchParams.get('error')).toBe('REGISTRATION_DISABLED');
    } finally {
      await t.close();
    }
  });

  it('federated sign-ups share the per-IP sign-up budget: 8 parallel new identities with REGISTRATION_PER_IP_PER_HOUR=3 make 3 accounts', async () => {
    const t = await createTestApp({ ...federationEnv(idp, ['corp']), REGISTRATION_PER_IP_PER_HOUR: '3' });
    try {
      const callbacks = await Promise.all(Array.from({ length: 8 }, async () => providerCallback(t, idp, 'corp', (await idpPerson(idp)).id)));
      const back = await Promise.all(callbacks.map((callback) => deliverCallback(t, callback)));
      expect(back.filter((url) => url.searchParams.get('result'))).toHaveLength(3);
      expect(back.filter((url) => url.searchParams.get('error') === 'TOO_MANY_REQUESTS')).toHaveLength(5);
    } finally {
      await t.close();
    }
  });

  it('a registration key: needed when the flow starts (a wrong one is 403 at once)', async () => {
    const t = await createTestApp({ ...federationEnv(idp, ['corp']), REGISTRATION_KEY: 'invite-only-key' });
    try {
      const person = await idpPerson(idp);
      const without = await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id));
      expect(without.searchParams.get('error')).toBe('REGISTRATION_KEY_INVALID');
      const wrong = await t.http.post('/api/v1/auth/oauth/corp/url').send({ redirectUri: SPA_RETURN, registrationKey: 'guess' });
      expect([wrong.status, wrong.body.error]).toEqual([403, 'REGISTRATION_KEY_INVALID']);
      const withKey = await deliverCallback(t, await providerCallback(t, idp, 'corp', person.id, { registrationKey: 'invite-only-key' }));
      expect(withKey.searchParams.get('result')).toBeTruthy();
    } finally {
      await t.close();
    }
  });
});
