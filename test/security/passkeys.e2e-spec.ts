import { generateKeyPairSync } from 'node:crypto';
import { adminUpdate, auditEvents, createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { outbox } from '../factories/codes';
import { outboxEvents } from '../factories/events';
import { claimsOf } from '../factories/mfa';
import { loginOptions, mfaPasskeyOptions, passkeyLogin, passkeySignIn, passkeyUser, passwordChallenge, registerPasskey, TEST_ORIGIN } from '../factories/passkeys';
import { bearer } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser, signIn } from '../factories/users';
import { SoftAuthenticator } from '../helpers/soft-authenticator';
import { createTestApp, TestApp } from '../helpers/test-app';

jest.setTimeout(60_000);

const SERVICE_KEY = 'svc-passkeys-introspection-key-0123456789ab';

/** SECURITY.md › Second factors: passkeys (WebAuthn) over HTTP on the real app, answered by a software authenticator (test/helpers/soft-authenticator.ts). */
describe('SECURITY: Passkeys (WebAuthn)', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin({ INTERNAL_API_KEYS: SERVICE_KEY }));
  });
  afterAll(() => t.close());

  describe('Registration, list, rename, delete', () => {
    it('registers a discoverable, user-verified passkey; lists, renames and removes it; the first one brings recovery codes', async () => {
      const user = await signedInUser(t);
      const options = (await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(user)).expect(200)).body.data;
      expect(options).toMatchObject({
        rp: { id: 'localhost', name: 'User Centre' },
        user: { id: Buffer.from(user.user.id).toString('base64url'), name: user.username },
        attestation: 'none',
        excludeCredentials: [],
        authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
        timeout: 300_000,
      });
      expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const authenticator = new SoftAuthenticator(TEST_ORIGIN);
      const added = await t.http.post('/api/v1/users/me/passkeys').set(bearer(user)).send({ response: authenticator.register(options).json, name: 'Laptop' }).expect(201);
      expect(added.body.data).toEqual({ id: expect.any(String), name: 'Laptop', createdAt: expect.any(String), lastUsedAt: null, recoveryCodes: expect.any(Array) });
      expect(added.body.data.recoveryCodes).toHaveLength(10);
      // The stored row: credential id, public key, counter, transports, flags, aaguid.
      const [row] = await t.db.query('SELECT credential_id, public_key, counter, transports, backup_eligible, backed_up, aaguid FROM passkeys WHERE user_id = ?', [user.user.id]);
      expect(row).toMatchObject({ credential_id: authenticator.credentials[0].id.toString('base64url'), transports: 'internal' });
      expect(Number(row.counter)).toBe(0);
      expect(Boolean(Number(row.backup_eligible))).toBe(true);
      expect(row.aaguid).toBe([...authenticator.aaguid.toString('hex').match(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/)!.slice(1)].join('-'));
      // A second one: the first is excluded, and no new recovery codes.
      const second = await registerPasskey(t, user, new SoftAuthenticator(TEST_ORIGIN));
      expect(second.passkey.recoveryCodes).toBeUndefined();
      const status = (await t.http.get('/api/v1/users/me/mfa').set(bearer(user)).expect(200)).body.data;
      expect(status.passkeys.map((p: { name: string }) => p.name)).toEqual(['Laptop', 'Passkey']);
      expect(status.recoveryCodesLeft).toBe(10);
      const third = (await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(user)).expect(200)).body.data;
      expect(third.excludeCredentials.map((c: { id: string }) => c.id).sort()).toEqual([authenticator.credentials[0].id.toString('base64url'), second.credential.id.toString('base64url')].sort());
      const renamed = await t.http.patch(`/api/v1/users/me/passkeys/${added.body.data.id}`).set(bearer(user)).send({ name: 'Work laptop' }).expect(200);
      expect(renamed.body.data).toMatchObject({ id: added.body.data.id, name: 'Work laptop' });
      await t.http.delete(`/api/v1/users/me/passkeys/${second.passkey.id}`).set(bearer(user)).expect(200);
      await t.http.delete(`/api/v1/users/me/passkeys/${added.body.data.id}`).set(bearer(user)).expect(200);
      const after = (await t.http.get('/api/v1/users/me/mfa').set(bearer(user)).expect(200)).body.data;
      expect(after).toMatchObject({ passkeys: [], recoveryCodesLeft: 0 });
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200)).body.data.mfaRequired).toBe(false);
      const missing = await t.http.delete(`/api/v1/users/me/passkeys/${added.body.data.id}`).set(bearer(user));
      expect(missing.status).toBe(404);
      expect(missing.body.error).toBe('PASSKEY_NOT_FOUND');
    });

    it('refuses a registration from another origin, for another RP ID, without user verification, or with a challenge of another account (400 PASSKEY_INVALID)', async () => {
      const user = await signedInUser(t);
      const other = await signedInUser(t);
      const attempt = async (overrides: Parameters<SoftAuthenticator['register']>[1], challengeOf = user) => {
        const options = (await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(challengeOf)).expect(200)).body.data;
        return t.http.post('/api/v1/users/me/passkeys').set(bearer(user)).send({ response: new SoftAuthenticator(TEST_ORIGIN).register(options, overrides).json });
      };
      for (const answer of [await attempt({ origin: 'http://localhost:4000' }), await attempt({ origin: 'https://evil.example' }), await attempt({ rpId: 'evil.example' }), await attempt({ userVerified: false }), await attempt({ type: 'webauthn.get' }), await attempt({}, other)]) {
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('PASSKEY_INVALID');
      }
      expect((await t.http.get('/api/v1/users/me/mfa').set(bearer(user)).expect(200)).body.data.passkeys).toEqual([]);
    });

    it('an account whose email is unproven adds no passkey (403 EMAIL_NOT_VERIFIED)', async () => {
      const user = await signedInUser(t, {}, { verified: false });
      const answer = await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(user));
      expect(answer.status).toBe(403);
      expect(answer.body.error).toBe('EMAIL_NOT_VERIFIED');
    });

    it('the last passkey of an account that has no password, phone or identity cannot be removed (409 LAST_SIGN_IN_METHOD)', async () => {
      const user = await passkeyUser(t);
      // As an account made by another identity provider and later unlinked: the passkey is all it has.
      await t.db.query('UPDATE users SET password_hash = NULL, phone = NULL WHERE id = ?', [user.user.id]);
      const answer = await t.http.delete(`/api/v1/users/me/passkeys/${user.passkey.id}`).set(bearer(user));
      expect(answer.status).toBe(409);
      expect(answer.body.error).toBe('LAST_SIGN_IN_METHOD');
      await passkeySignIn(t, user.authenticator);
    });

    it('notifies the owner and audits when a passkey is added or removed; user.mfa_changed is written for every factor change', async () => {
      const user = await passkeyUser(t);
      await t.http.delete(`/api/v1/users/me/passkeys/${user.passkey.id}`).set(bearer(user)).expect(200);
      const notices = outbox(t).filter((entry) => entry.to === user.email && entry.purpose === 'notice').map((entry) => entry.text);
      expect(notices.filter((text) => text.includes('second sign-in factor was added'))).toHaveLength(1);
      expect(notices.filter((text) => text.includes('second sign-in factor was removed'))).toHaveLength(1);
      const audit = await auditEvents(t, admin.auth, { userId: user.user.id });
      expect(audit.filter((event) => ['mfa_enabled', 'mfa_disabled'].includes(event.type)).map((event) => [event.type, event.detail])).toEqual(
        expect.arrayContaining([
          ['mfa_enabled', expect.objectContaining({ method: 'passkey' })],
          ['mfa_disabled', expect.objectContaining({ method: 'passkey' })],
        ]),
      );
      const events = (await outboxEvents(t, user.user.id)).filter((event) => event.type === 'user.mfa_changed');
      expect(events.map((event) => event.data)).toEqual([
        { userId: user.user.id, factor: 'passkey', change: 'added' },
        { userId: user.user.id, factor: 'passkey', change: 'removed' },
      ]);
    });
  });

  describe('The fields a registration and an assertion share (one definition, checked on both)', () => {
    const broken: [string, (json: Record<string, unknown>) => void][] = [
      ['id', (json) => (json.id = 'not base64url!')],
      ['rawId', (json) => (json.rawId = 'x'.repeat(1401))],
      ['type', (json) => (json.type = 'password')],
      ['authenticatorAttachment', (json) => (json.authenticatorAttachment = 'usb')],
      ['clientExtensionResults', (json) => delete json.clientExtensionResults],
    ];

    it.each(broken)('refuses a registration whose %s is wrong (400 VALIDATION_FAILED naming it)', async (field, breakIt) => {
      const user = await signedInUser(t);
      const options = (await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(user)).expect(200)).body.data;
      const json = { ...new SoftAuthenticator(TEST_ORIGIN).register(options).json } as Record<string, unknown>;
      breakIt(json);
      const answer = await t.http.post('/api/v1/users/me/passkeys').set(bearer(user)).send({ response: json }).expect(400);
      expect(answer.body.error).toBe('VALIDATION_FAILED');
      expect(answer.body.details.map((detail: { field: string }) => detail.field)).toEqual([`response.${field}`]);
    });

    it.each(broken)('refuses an assertion whose %s is wrong (400 VALIDATION_FAILED naming it)', async (field, breakIt) => {
      const user = await passkeyUser(t);
      const { challengeId, options } = await loginOptions(t);
      const json = { ...user.authenticator.assert(options) } as Record<string, unknown>;
      breakIt(json);
      const answer = await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: json }).expect(400);
      expect(answer.body.error).toBe('VALIDATION_FAILED');
      expect(answer.body.details.map((detail: { field: string }) => detail.field)).toEqual([`response.${field}`]);
    });
  });

  describe('Username-less sign-in (POST /auth/passkeys/options, /auth/login/passkey)', () => {
    it('signs in without a username: empty allowCredentials, user verification required; the pair carries amr hwk+mfa', async () => {
      const user = await passkeyUser(t);
      const { challengeId, options } = await loginOptions(t);
      expect(options).toMatchObject({ allowCredentials: [], userVerification: 'required', rpId: 'localhost' });
      const signedIn = await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: user.authenticator.assert(options) }).expect(200);
      expect(signedIn.body.data).toMatchObject({ mfaRequired: false, tokenType: 'Bearer', user: { id: user.user.id } });
      const claims = claimsOf(signedIn.body.data.accessToken);
      expect(claims).toMatchObject({ sub: user.user.id, amr: ['hwk', 'mfa'], mfa_enabled: true });
      const introspected = await t.http.post('/api/v1/auth/introspect').set('X-API-Key', SERVICE_KEY).send({ token: signedIn.body.data.accessToken }).expect(200);
      expect(introspected.body.data).toMatchObject({ active: true, amr: ['hwk', 'mfa'] });
      // lastUsedAt moves; the pair refreshes like any other.
      const status = (await t.http.get('/api/v1/users/me/mfa').set(bearer(signedIn.body.data)).expect(200)).body.data;
      expect(status.passkeys[0].lastUsedAt).not.toBeNull();
      await t.http.post('/api/v1/auth/refresh').send({ refreshToken: signedIn.body.data.refreshToken }).expect(200);
    });

    it('refuses an assertion for another origin (400 PASSKEY_INVALID)', async () => {
      const user = await passkeyUser(t);
      for (const origin of ['http://localhost:3001', 'https://localhost:3000', 'https://evil.example']) {
        const { challengeId, options } = await loginOptions(t);
        const answer = await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: user.authenticator.assert(options, undefined, { origin }) });
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('PASSKEY_INVALID');
      }
    });

    it('refuses an assertion for another RP ID (400 PASSKEY_INVALID)', async () => {
      const user = await passkeyUser(t);
      const { challengeId, options } = await loginOptions(t);
      const answer = await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: user.authenticator.assert(options, undefined, { rpId: 'evil.example' }) });
      expect(answer.status).toBe(400);
      expect(answer.body.error).toBe('PASSKEY_INVALID');
    });

    it('refuses an assertion without user verification, or signed by another key, or of another ceremony type', async () => {
      const user = await passkeyUser(t);
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      for (const overrides of [{ userVerified: false }, { signWith: privateKey }, { type: 'webauthn.create' }, { userPresent: false }]) {
        const { challengeId, options } = await loginOptions(t);
        const answer = await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: user.authenticator.assert(options, undefined, overrides) });
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('PASSKEY_INVALID');
      }
    });

    it('a challenge is single-use: a replayed answer is refused, and of two parallel uses exactly one succeeds', async () => {
      // An authenticator that keeps no counter (always 0, as synced passkeys do): only the challenge stops a replay.
      const user = await passkeyUser(t);
      const noCounter = { counter: 0 };
      const { challengeId, options } = await loginOptions(t);
      const response = user.authenticator.assert(options, undefined, noCounter);
      await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response }).expect(200);
      const replayed = await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response });
      expect(replayed.status).toBe(400);
      expect(replayed.body.error).toBe('PASSKEY_INVALID');
      // The same answer sent twice at once.
      const next = await loginOptions(t);
      const once = user.authenticator.assert(next.options, undefined, noCounter);
      const answers = await Promise.all([0, 1].map(() => t.http.post('/api/v1/auth/login/passkey').send({ challengeId: next.challengeId, response: once })));
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400]);
      // Another challenge's id with this answer: the signed challenge is not the one issued.
      const third = await loginOptions(t);
      const wrongId = await t.http.post('/api/v1/auth/login/passkey').send({ challengeId: third.challengeId, response: user.authenticator.assert(next.options, undefined, noCounter) });
      expect(wrongId.body.error).toBe('PASSKEY_INVALID');
    });

    it('refuses a signature counter that does not move forward (a cloned authenticator)', async () => {
      const user = await passkeyUser(t);
      await passkeySignIn(t, user.authenticator); // counter 1
      await passkeySignIn(t, user.authenticator); // counter 2
      for (const counter of [2, 1]) {
        const { challengeId, options } = await loginOptions(t);
        const answer = await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: user.authenticator.assert(options, undefined, { counter }) });
        expect(answer.status).toBe(400);
        expect(answer.body.error).toBe('PASSKEY_INVALID');
      }
      const [row] = await t.db.query('SELECT counter FROM passkeys WHERE user_id = ?', [user.user.id]);
      expect(Number(row.counter)).toBe(2);
      await passkeySignIn(t, user.authenticator); // 3 moves forward again
    });

    it('a challenge expires after 5 minutes', async () => {
      const user = await passkeyUser(t);
      const { challengeId, options } = await loginOptions(t);
      await t.passTime(5 * 60_000 + 1000);
      const late = await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: user.authenticator.assert(options) });
      expect(late.status).toBe(400);
      expect(late.body.error).toBe('PASSKEY_INVALID');
    });

    it('refuses a disabled account, an unknown credential and a user handle of another account', async () => {
      const user = await passkeyUser(t);
      const other = await passkeyUser(t);
      const { challengeId, options } = await loginOptions(t);
      const foreignHandle = user.authenticator.assert(options);
      foreignHandle.response.userHandle = other.credential.userHandle;
      expect((await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: foreignHandle })).body.error).toBe('PASSKEY_INVALID');
      const stranger = new SoftAuthenticator(TEST_ORIGIN);
      stranger.register({ challenge: 'x', rp: {}, user: { id: 'eA' } });
      expect((await passkeyLogin(t, stranger)).body.error).toBe('PASSKEY_INVALID');
      await adminUpdate(t, admin.auth, user.user.id, { status: 'disabled' }).expect(200);
      const disabled = await passkeyLogin(t, user.authenticator);
      expect(disabled.status).toBe(400);
      expect(disabled.body.error).toBe('PASSKEY_INVALID');
    });
  });

  describe('A passkey as the second factor (POST /auth/mfa/passkey-options, /auth/mfa/verify method passkey)', () => {
    it("after a password the challenge offers passkey; its options name only the account's passkeys; verify gives amr pwd+hwk+mfa", async () => {
      const user = await passkeyUser(t);
      const challenge = await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200);
      expect(challenge.body.data).toMatchObject({ mfaRequired: true, methods: ['passkey', 'recovery_code'] });
      const options = await mfaPasskeyOptions(t, challenge.body.data.mfaToken);
      expect(options.allowCredentials.map((c) => c.id)).toEqual([user.credential.id.toString('base64url')]);
      expect(options.userVerification).toBe('preferred');
      const signedIn = await t.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: challenge.body.data.mfaToken, method: 'passkey', response: user.authenticator.assert(options) }).expect(200);
      expect(claimsOf(signedIn.body.data.accessToken).amr).toEqual(['pwd', 'hwk', 'mfa']);
    });

    it('refuses a credential of another account, and a challenge issued for another mfaToken or for sign-in', async () => {
      const user = await passkeyUser(t);
      const other = await passkeyUser(t);
      const token = await passwordChallenge(t, user.username);
      const otherToken = await passwordChallenge(t, other.username);
      const verify = (response: unknown, mfaToken = token) => t.http.post('/api/v1/auth/mfa/verify').send({ mfaToken, method: 'passkey', response });
      // The other account's own passkey, on a challenge issued to this mfaToken.
      const foreign = await verify(other.authenticator.assert(await mfaPasskeyOptions(t, token)));
      expect(foreign.body.error).toBe('PASSKEY_INVALID');
      // This account's passkey on a challenge issued to another mfaToken (the other account's).
      const crossed = await verify(user.authenticator.assert(await mfaPasskeyOptions(t, otherToken)));
      expect(crossed.body.error).toBe('PASSKEY_INVALID');
      // A username-less sign-in challenge is not a second-factor challenge.
      const loginChallenge = await verify(user.authenticator.assert((await loginOptions(t)).options));
      expect(loginChallenge.body.error).toBe('PASSKEY_INVALID');
      // The mfaToken still has tries left (3 used): the right answer passes.
      await verify(user.authenticator.assert(await mfaPasskeyOptions(t, token))).expect(200);
    });

    it('20 parallel wrong passkey answers and one right one cannot get past the limit: at most 5 answers are checked, at most one succeeds', async () => {
      const user = await passkeyUser(t);
      const token = await passwordChallenge(t, user.username);
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const bodies = await Promise.all(
        Array.from({ length: 21 }, async (_, i) => ({ mfaToken: token, method: 'passkey', response: user.authenticator.assert(await mfaPasskeyOptions(t, token), undefined, i < 20 ? { signWith: privateKey } : {}) })),
      );
      const answers = await Promise.all(bodies.map((body) => t.http.post('/api/v1/auth/mfa/verify').send(body)));
      const checked = answers.filter((answer) => answer.status === 200 || answer.body.error === 'PASSKEY_INVALID');
      expect(checked.length).toBeLessThanOrEqual(5);
      expect(answers.filter((answer) => answer.status === 200).length).toBeLessThanOrEqual(1);
      expect(answers.every((answer) => [200, 400, 401].includes(answer.status))).toBe(true);
      expect(answers.filter((answer) => answer.status === 401).every((answer) => answer.body.error === 'MFA_TOKEN_INVALID')).toBe(true);
      // Spent: not even a right answer now.
      const after = await t.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: token, method: 'passkey', response: user.authenticator.assert({ challenge: 'AAAA' }) });
      expect(after.body.error).toBe('MFA_TOKEN_INVALID');
    });

    it('wrong passkey answers count towards the account lock (10, across mfaTokens): then 429', async () => {
      const user = await passkeyUser(t);
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      for (let round = 0; round < 2; round++) {
        const token = await passwordChallenge(t, user.username);
        for (let i = 0; i < 5; i++) {
          const options = await mfaPasskeyOptions(t, token);
          const wrong = await t.http.post('/api/v1/auth/mfa/verify').send({ mfaToken: token, method: 'passkey', response: user.authenticator.assert(options, undefined, { signWith: privateKey }) });
          expect(wrong.body.error).toBe('PASSKEY_INVALID');
        }
      }
      // The account is locked now: the password answers as a wrong one, and a passkey sign-in meets the lock.
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD })).status).toBe(401);
      const locked = await passkeyLogin(t, user.authenticator);
      expect(locked.status).toBe(429);
    });
  });

  describe('Step-up and policy', () => {
    it('a passkey step-up (POST /auth/reauthenticate method passkey) renews auth_time with amr hwk+mfa, enough for ⏱ routes', async () => {
      const user = await passkeyUser(t);
      const pair = await passkeySignIn(t, user.authenticator);
      await t.passTime(3601_000);
      const stale = await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(pair));
      expect(stale.body.error).toBe('RECENT_AUTH_REQUIRED');
      const options = (await t.http.post('/api/v1/auth/reauthenticate/passkey-options').set(bearer(pair)).expect(200)).body.data;
      expect(options.userVerification).toBe('required');
      const wrong = await t.http.post('/api/v1/auth/reauthenticate').set(bearer(pair)).send({ method: 'passkey', response: user.authenticator.assert(options, undefined, { userVerified: false }) });
      expect(wrong.body.error).toBe('PASSKEY_INVALID');
      const again = (await t.http.post('/api/v1/auth/reauthenticate/passkey-options').set(bearer(pair)).expect(200)).body.data;
      const renewed = await t.http.post('/api/v1/auth/reauthenticate').set(bearer(pair)).send({ method: 'passkey', response: user.authenticator.assert(again) }).expect(200);
      const claims = claimsOf(renewed.body.data.accessToken);
      expect(claims.amr).toEqual(['hwk', 'mfa']);
      await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(renewed.body.data)).expect(200);
    });

    it('admin reset removes the passkeys too, and writes user.mfa_changed', async () => {
      const user = await passkeyUser(t);
      await t.http.delete(`/api/v1/admin/users/${user.user.id}/mfa`).set(admin.auth).expect(200);
      const [{ n }] = await t.db.query('SELECT COUNT(*) AS n FROM passkeys WHERE user_id = ?', [user.user.id]);
      expect(Number(n)).toBe(0);
      expect((await passkeyLogin(t, user.authenticator)).body.error).toBe('PASSKEY_INVALID');
      const events = (await outboxEvents(t, user.user.id)).filter((event) => event.type === 'user.mfa_changed').map((event) => event.data);
      expect(events).toEqual([
        { userId: user.user.id, factor: 'passkey', change: 'added' },
        { userId: user.user.id, factor: 'all', change: 'reset' },
      ]);
    });
  });
});

describe('SECURITY: at most PASSKEYS_PER_USER passkeys per account', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ PASSKEYS_PER_USER: '2' });
  });
  afterAll(() => t.close());

  /**
   * `count` registrations prepared while there is room (creation options fetched one by one, each
   * answered by a new authenticator), then sent all at once: the answers, in order.
   */
  async function registerAtOnce(user: { accessToken: string }, count: number) {
    const prepared = [];
    for (let i = 0; i < count; i++) prepared.push((await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(user)).expect(200)).body.data);
    const bodies = prepared.map((options, i) => ({ response: new SoftAuthenticator(TEST_ORIGIN).register(options).json, name: `burst ${i}` }));
    return Promise.all(bodies.map((body) => t.http.post('/api/v1/users/me/passkeys').set(bearer(user)).send(body)));
  }

  const passkeyRows = async (userId: string) => Number((await t.db.query('SELECT COUNT(*) AS n FROM passkeys WHERE user_id = ?', [userId]))[0].n);

  it('8 registrations prepared first and answered all at once store exactly the room left (2), the rest 409 PASSKEY_LIMIT_REACHED; then no more options', async () => {
    const user = await signedInUser(t);
    const answers = await registerAtOnce(user, 8);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 201, 409, 409, 409, 409, 409, 409]);
    for (const answer of answers.filter((a) => a.status === 409)) expect(answer.body.error).toBe('PASSKEY_LIMIT_REACHED');
    // The first factor of the account brings recovery codes: exactly one of the two stored did.
    expect(answers.filter((answer) => answer.status === 201 && answer.body.data.recoveryCodes).length).toBe(1);
    expect(await passkeyRows(user.user.id)).toBe(2);
    expect((await t.http.get('/api/v1/users/me/mfa').set(bearer(user)).expect(200)).body.data.passkeys).toHaveLength(2);
    // Refused registrations wrote nothing: no audit event, no user.mfa_changed.
    expect(Number((await t.db.query("SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = 'mfa_enabled'", [user.user.id]))[0].n)).toBe(2);
    expect((await outboxEvents(t, user.user.id)).filter((event) => event.type === 'user.mfa_changed')).toHaveLength(2);
    // At the cap no challenge is issued at all.
    const options = await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(user));
    expect(options.status).toBe(409);
    expect(options.body.error).toBe('PASSKEY_LIMIT_REACHED');
  });

  it('with one passkey, 6 prepared registrations answered at once store exactly one; removing one makes room for exactly one again', async () => {
    const user = await passkeyUser(t);
    const answers = await registerAtOnce(user, 6);
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    expect(await passkeyRows(user.user.id)).toBe(2);
    await t.http.delete(`/api/v1/users/me/passkeys/${user.passkey.id}`).set(bearer(user)).expect(200);
    const again = await registerAtOnce(user, 4);
    expect(again.map((answer) => answer.status).sort()).toEqual([201, 409, 409, 409]);
    expect(await passkeyRows(user.user.id)).toBe(2);
  });
});

describe('SECURITY: at most WEBAUTHN_PENDING_CHALLENGES pending passkey challenges per account, and per client network for sign-in', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ WEBAUTHN_PENDING_CHALLENGES: '3' });
  });
  afterAll(() => t.close());

  it('of 8 registration options fetched at once by one account, exactly 3 can still be answered (a newer challenge drops the oldest)', async () => {
    const user = await signedInUser(t);
    const options = await Promise.all(Array.from({ length: 8 }, () => t.http.post('/api/v1/users/me/passkeys/options').set(bearer(user)).expect(200)));
    const answers = await Promise.all(options.map((answer) => t.http.post('/api/v1/users/me/passkeys').set(bearer(user)).send({ response: new SoftAuthenticator(TEST_ORIGIN).register(answer.body.data).json })));
    expect(answers.map((answer) => answer.status).sort()).toEqual([201, 201, 201, 400, 400, 400, 400, 400]);
    for (const answer of answers.filter((a) => a.status === 400)) expect(answer.body.error).toBe('PASSKEY_INVALID');
  });

  it("second-factor challenges are held by their mfaToken: 20 fetched with the password alone leave the owner's pending registration answerable", async () => {
    const owner = await passkeyUser(t);
    const pending = (await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(owner)).expect(200)).body.data;
    const mfaToken = await passwordChallenge(t, owner.username);
    await Promise.all(Array.from({ length: 20 }, () => mfaPasskeyOptions(t, mfaToken)));
    await t.http.post('/api/v1/users/me/passkeys').set(bearer(owner)).send({ response: new SoftAuthenticator(TEST_ORIGIN).register(pending).json }).expect(201);
  });

  it('of 8 username-less sign-in challenges fetched at once from one address, exactly 3 still sign in', async () => {
    const user = await passkeyUser(t);
    const fetched = await Promise.all(Array.from({ length: 8 }, () => loginOptions(t)));
    const statuses: number[] = [];
    // Answered one by one: each assertion moves the authenticator's counter, which must reach the server in order.
    for (const { challengeId, options } of fetched) statuses.push((await t.http.post('/api/v1/auth/login/passkey').send({ challengeId, response: user.authenticator.assert(options) })).status);
    expect(statuses.sort()).toEqual([200, 200, 200, 400, 400, 400, 400, 400]);
  });
});

describe('SECURITY: Passkeys under MFA_REQUIRED_ROLES', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ MFA_REQUIRED_ROLES: 'admin', ADMIN_USERNAME: 'pk_root', ADMIN_EMAIL: 'pk.root@example.com', ADMIN_PASSWORD: 'granite harbour 19' });
  });
  afterAll(() => t.close());

  it('a passkey is a factor: an enrolment-only admin that registers one gets full tokens from a passkey sign-in', async () => {
    const pair = await signIn(t, 'pk_root', 'granite harbour 19');
    expect(claimsOf(pair.accessToken).mfa_enrolment).toBe(true);
    expect((await t.http.get('/api/v1/users/me').set(bearer(pair))).status).toBe(403);
    const { authenticator } = await registerPasskey(t, pair);
    const signedIn = await passkeySignIn(t, authenticator);
    expect(claimsOf(signedIn.accessToken).mfa_enrolment).toBeUndefined();
    await t.http.get('/api/v1/users/me').set(bearer(signedIn)).expect(200);
    await t.http.get('/api/v1/admin/users').set(bearer(signedIn)).expect(200);
  });
});

describe('SECURITY: the public passkey routes spend the client address sign-in budget (LOGIN_PER_IP_PER_MINUTE)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ LOGIN_PER_IP_PER_MINUTE: '6' });
  });
  afterAll(() => t.close());

  it('20 parallel passkey sign-in starts and answers from one address: at most 6 get through in the minute, the rest 429 with Retry-After, shared with password sign-in', async () => {
    const stranger = new SoftAuthenticator(TEST_ORIGIN);
    stranger.register({ challenge: 'AAAA', rp: {}, user: { id: 'eA' } });
    const answer = { challengeId: '0b8f1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d', response: stranger.assert({ challenge: 'AAAA' }) };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? t.http.post('/api/v1/auth/passkeys/options') : t.http.post('/api/v1/auth/login/passkey').send(answer))));
    const limited = answers.filter((answer) => answer.status === 429);
    expect(answers.length - limited.length).toBeLessThanOrEqual(6);
    expect(limited.length).toBeGreaterThanOrEqual(14);
    for (const answer of limited) {
      expect(answer.body.error).toBe('TOO_MANY_REQUESTS');
      expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
    }
    // The same budget as /auth/login: it is spent for a password sign-in from this address too.
    expect((await t.http.post('/api/v1/auth/login').send({ identifier: 'nobody_here', password: DEFAULT_PASSWORD })).status).toBe(429);
    await t.passTime(61_000);
    await t.http.post('/api/v1/auth/passkeys/options').expect(200);
  });
});
