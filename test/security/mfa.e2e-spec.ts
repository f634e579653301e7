import { adminUpdate, auditEvents, createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { lastCode, outbox, phoneUser, requestSmsCode } from '../factories/codes';
import { claimsOf, currentCode, enrolTotp, mfaToken, mfaUser, nearNow, verifyMfa } from '../factories/mfa';
import { bearer, meStatus, refresh } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser, signIn } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

jest.setTimeout(60_000);

const SERVICE_KEY = 'svc-mfa-introspection-key-0123456789abcdef';

/** SECURITY.md › Second factors: TOTP, recovery codes, the MFA challenge and step-up, over HTTP on the real app. */
describe('SECURITY: Second factors (TOTP, recovery codes, MFA challenge, step-up)', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin({ INTERNAL_API_KEYS: SERVICE_KEY }));
  });
  afterAll(() => t.close());

  describe('TOTP enrolment', () => {
    it('gives a secret, an otpauth:// URL and an SVG QR code, pending until confirmed with a first code; then 10 recovery codes', async () => {
      const user = await signedInUser(t);
      const started = await t.http.post('/api/v1/users/me/mfa/totp').set(bearer(user)).expect(200);
      const { secret, otpauthUrl, qrCodeSvg } = started.body.data;
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(otpauthUrl).toMatch(/^otpauth:\/\/totp\/.+secret=[A-Z2-7]+.*/);
      expect(otpauthUrl).toContain('algorithm=SHA1');
      expect(otpauthUrl).toContain('digits=6');
      expect(otpauthUrl).toContain('period=30');
      expect(qrCodeSvg).toMatch(/^<svg[\s\S]*<\/svg>\s*$/);
      // Pending: sign-in still needs nothing more.
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200)).body.data.mfaRequired).toBe(false);
      const wrong = await t.http.post('/api/v1/users/me/mfa/totp/confirm').set(bearer(user)).send({ code: currentCode(t, secret, 5) });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toBe('MFA_INVALID');
      const confirmed = await t.http.post('/api/v1/users/me/mfa/totp/confirm').set(bearer(user)).send({ code: currentCode(t, secret) }).expect(200);
      const codes = confirmed.body.data.recoveryCodes as string[];
      expect(codes).toHaveLength(10);
      expect(new Set(codes).size).toBe(10);
      for (const code of codes) expect(code).toMatch(/^[a-z2-9]{5}-[a-z2-9]{5}$/);
      const status = await t.http.get('/api/v1/users/me/mfa').set(bearer(user)).expect(200);
      expect(status.body.data).toMatchObject({ totp: { enabled: true }, passkeys: [], recoveryCodesLeft: 10, required: false });
      const again = await t.http.post('/api/v1/users/me/mfa/totp').set(bearer(user));
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('MFA_ALREADY_ENABLED');
    });

    it('a pending secret dies after 10 minutes', async () => {
      const user = await signedInUser(t);
      const { secret } = (await t.http.post('/api/v1/users/me/mfa/totp').set(bearer(user)).expect(200)).body.data;
      await t.passTime(10 * 60_000 + 1000);
      const late = await t.http.post('/api/v1/users/me/mfa/totp/confirm').set(bearer(user)).send({ code: currentCode(t, secret) });
      expect(late.status).toBe(403);
      expect(late.body.error).toBe('MFA_NOT_ENROLLED');
    });

    it('stores the secret sealed (AES-GCM, key id kept) and the recovery codes as keyed digests, never in clear', async () => {
      const user = await mfaUser(t);
      const [row] = await t.db.query('SELECT key_id, secret_enc FROM mfa_totp WHERE user_id = ?', [user.user.id]);
      expect(row.key_id).toBe('dev');
      expect(row.secret_enc).not.toContain(user.secret);
      expect(Buffer.from(row.secret_enc, 'base64').toString('latin1')).not.toContain(user.secret);
      const codes = await t.db.query('SELECT code_hash FROM mfa_recovery_codes WHERE user_id = ?', [user.user.id]);
      expect(codes).toHaveLength(10);
      for (const { code_hash } of codes) {
        expect(code_hash).toMatch(/^[0-9a-f]{64}$/);
        for (const code of user.recoveryCodes) expect(code_hash).not.toContain(code.replace('-', ''));
      }
    });

    it('notifies the owner (email) when a factor is added or removed, and audits both', async () => {
      const user = await mfaUser(t);
      const notices = () => outbox(t).filter((entry) => entry.to === user.email && entry.purpose === 'notice').map((entry) => entry.text);
      expect(notices().some((text) => text.includes('second sign-in factor was added'))).toBe(true);
      // The enrolling session proved the second factor: it may remove it while recent.
      await t.http.delete('/api/v1/users/me/mfa/totp').set(bearer(user)).expect(200);
      expect(notices().some((text) => text.includes('second sign-in factor was removed'))).toBe(true);
      const events = await auditEvents(t, admin.auth, { userId: user.user.id });
      expect(events.map((event) => event.type)).toEqual(expect.arrayContaining(['mfa_enabled', 'mfa_disabled']));
      // Gone: sign-in answers tokens again and the recovery codes went with the last factor.
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200)).body.data.mfaRequired).toBe(false);
      const [{ n }] = await t.db.query('SELECT COUNT(*) AS n FROM mfa_recovery_codes WHERE user_id = ?', [user.user.id]);
      expect(Number(n)).toBe(0);
    });
  });

  describe('Every first factor answers the MFA challenge when the account has a second factor; POST /auth/mfa/verify completes it', () => {
    it('password sign-in: {mfaRequired: true, mfaToken, methods, expiresAt} and no token; verify gives the pair with amr pwd+otp+mfa and auth_time', async () => {
      const user = await mfaUser(t);
      const challenge = await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200);
      expect(challenge.body.data).toEqual({ mfaRequired: true, mfaToken: expect.stringMatching(/^mfa_/), methods: ['totp', 'recovery_code'], expiresAt: expect.any(String) });
      expect(Math.abs(Date.parse(challenge.body.data.expiresAt) - (t.clock.now() + 300_000))).toBeLessThan(1000);
      expect(challenge.body.data.accessToken).toBeUndefined();
      const signedIn = await verifyMfa(t, challenge.body.data.mfaToken, 'totp', currentCode(t, user.secret)).expect(200);
      expect(signedIn.body.data.mfaRequired).toBe(false);
      const claims = claimsOf(signedIn.body.data.accessToken);
      expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
      expect(Math.abs((claims.auth_time as number) - nearNow(t))).toBeLessThanOrEqual(1);
      expect(claims.mfa_enabled).toBe(true);
      const introspected = await t.http.post('/api/v1/auth/introspect').set('X-API-Key', SERVICE_KEY).send({ token: signedIn.body.data.accessToken }).expect(200);
      expect(introspected.body.data).toMatchObject({ active: true, amr: ['pwd', 'otp', 'mfa'], auth_time: claims.auth_time });
      // Single-use: the spent mfaToken is refused.
      const reused = await verifyMfa(t, challenge.body.data.mfaToken, 'totp', currentCode(t, user.secret, 1));
      expect(reused.status).toBe(401);
      expect(reused.body.error).toBe('MFA_TOKEN_INVALID');
    });

    it('SMS sign-in answers the challenge too (amr sms+otp+mfa)', async () => {
      const { phone } = await phoneUser(t, { password: DEFAULT_PASSWORD });
      const pair = await signIn(t, phone);
      const { secret } = await enrolTotp(t, pair);
      await requestSmsCode(t, phone, 'login');
      const challenge = await t.http.post('/api/v1/auth/login/sms').send({ phone, smsCode: lastCode(t, phone, 'login') }).expect(200);
      expect(challenge.body.data.mfaRequired).toBe(true);
      const signedIn = await verifyMfa(t, challenge.body.data.mfaToken, 'totp', currentCode(t, secret)).expect(200);
      expect(claimsOf(signedIn.body.data.accessToken).amr).toEqual(['sms', 'otp', 'mfa']);
    });

    it('an account without MFA gets its token pair at once (mfaRequired: false, amr pwd) — the same single sign-in as before', async () => {
      const user = await signedInUser(t);
      const answer = await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200);
      expect(answer.body.data.mfaRequired).toBe(false);
      expect(claimsOf(answer.body.data.accessToken)).toMatchObject({ amr: ['pwd'] });
      expect(claimsOf(answer.body.data.accessToken).mfa_enabled).toBeUndefined();
    });

    it('an mfaToken lives 5 minutes', async () => {
      const user = await mfaUser(t);
      const token = await mfaToken(t, user.username);
      await t.passTime(5 * 60_000 + 1000);
      const late = await verifyMfa(t, token, 'totp', currentCode(t, user.secret));
      expect(late.status).toBe(401);
      expect(late.body.error).toBe('MFA_TOKEN_INVALID');
    });

    it('the 5th wrong answer spends the mfaToken: a right 6th answer is refused', async () => {
      const user = await mfaUser(t);
      const token = await mfaToken(t, user.username);
      for (let i = 0; i < 5; i++) {
        const wrong = await verifyMfa(t, token, 'totp', currentCode(t, user.secret, 10 + i));
        expect([wrong.status, wrong.body.error]).toEqual([400, 'MFA_INVALID']);
      }
      const right = await verifyMfa(t, token, 'totp', currentCode(t, user.secret));
      expect([right.status, right.body.error]).toEqual([401, 'MFA_TOKEN_INVALID']);
    });

    it('20 parallel wrong answers and one right one cannot get past the limit: at most 5 answers are checked, at most one succeeds', async () => {
      const user = await mfaUser(t);
      const token = await mfaToken(t, user.username);
      const answers = [...Array.from({ length: 20 }, (_, i) => currentCode(t, user.secret, 10 + i)), currentCode(t, user.secret)];
      const responses = await Promise.all(answers.map((code) => verifyMfa(t, token, 'totp', code)));
      const checked = responses.filter((r) => r.status === 200 || r.body.error === 'MFA_INVALID');
      expect(checked.length).toBeLessThanOrEqual(5);
      expect(responses.filter((r) => r.status === 200).length).toBeLessThanOrEqual(1);
      expect(responses.filter((r) => r.body.error === 'MFA_TOKEN_INVALID').length).toBeGreaterThanOrEqual(16);
      // Spent either way: nothing more gets through on it.
      const after = await verifyMfa(t, token, 'totp', currentCode(t, user.secret, 1));
      expect(after.body.error).toBe('MFA_TOKEN_INVALID');
    });

    it('the same TOTP code sent twice in parallel (two sign-ins) succeeds once; a replay later is refused', async () => {
      const user = await mfaUser(t);
      const tokens = await Promise.all([mfaToken(t, user.username), mfaToken(t, user.username)]);
      const code = currentCode(t, user.secret);
      const responses = await Promise.all(tokens.map((token) => verifyMfa(t, token, 'totp', code)));
      expect(responses.map((r) => r.status).sort()).toEqual([200, 400]);
      const replay = await verifyMfa(t, await mfaToken(t, user.username), 'totp', code);
      expect([replay.status, replay.body.error]).toEqual([400, 'MFA_INVALID']);
    });

    it('accepts a code of the previous or next 30-second step, not two steps away', async () => {
      const user = await mfaUser(t);
      // (the step before now was the enrolment's)
      await t.passTime(30_000);
      await verifyMfa(t, await mfaToken(t, user.username), 'totp', currentCode(t, user.secret, -1)).expect(200);
      await verifyMfa(t, await mfaToken(t, user.username), 'totp', currentCode(t, user.secret, 1)).expect(200);
      const far = await verifyMfa(t, await mfaToken(t, user.username), 'totp', currentCode(t, user.secret, 2));
      expect(far.body.error).toBe('MFA_INVALID');
    });

    it('wrong second-factor answers count towards the account lock (10, across mfaTokens; re-entering the password does not reset them): then 429, and the password answers as a wrong one', async () => {
      const user = await mfaUser(t);
      const spare = await mfaToken(t, user.username);
      for (let round = 0; round < 2; round++) {
        const token = await mfaToken(t, user.username);
        for (let i = 0; i < 5; i++) expect((await verifyMfa(t, token, 'totp', currentCode(t, user.secret, 10 + i))).body.error).toBe('MFA_INVALID');
      }
      const locked = await verifyMfa(t, spare, 'totp', currentCode(t, user.secret));
      expect(locked.status).toBe(429);
      expect(locked.headers['retry-after']).toBeDefined();
      // At sign-in the account's lock answers exactly as a wrong password does (LoginThrottle).
      const password = await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD });
      expect([password.status, password.body.error]).toEqual([401, 'INVALID_CREDENTIALS']);
    });

    it('a recovery code signs in once (any case, with or without the dash); the count goes down; a regenerated set replaces the old one', async () => {
      const user = await mfaUser(t);
      const [first, second] = user.recoveryCodes;
      const signedIn = await verifyMfa(t, await mfaToken(t, user.username), 'recovery_code', first.toUpperCase().replace('-', '')).expect(200);
      expect(claimsOf(signedIn.body.data.accessToken).amr).toEqual(['pwd', 'otp', 'mfa']);
      const again = await verifyMfa(t, await mfaToken(t, user.username), 'recovery_code', first);
      expect(again.body.error).toBe('MFA_INVALID');
      expect((await t.http.get('/api/v1/users/me/mfa').set(bearer(signedIn.body.data)).expect(200)).body.data.recoveryCodesLeft).toBe(9);
      const fresh = await t.http.post('/api/v1/users/me/mfa/recovery-codes').set(bearer(signedIn.body.data)).expect(200);
      expect(fresh.body.data.recoveryCodes).toHaveLength(10);
      expect((await verifyMfa(t, await mfaToken(t, user.username), 'recovery_code', second)).body.error).toBe('MFA_INVALID');
      await verifyMfa(t, await mfaToken(t, user.username), 'recovery_code', fresh.body.data.recoveryCodes[0]).expect(200);
    });

    it('the same recovery code twice in parallel succeeds once', async () => {
      const user = await mfaUser(t);
      const tokens = await Promise.all([mfaToken(t, user.username), mfaToken(t, user.username), mfaToken(t, user.username)]);
      const responses = await Promise.all(tokens.map((token) => verifyMfa(t, token, 'recovery_code', user.recoveryCodes[0])));
      expect(responses.filter((r) => r.status === 200)).toHaveLength(1);
    });
  });

  describe('Step-up: ⏱ routes need a recent authentication, with the second factor when the account has one', () => {
    it('an old session is refused (403 RECENT_AUTH_REQUIRED); a password step-up is not enough with MFA; a TOTP step-up is', async () => {
      const user = await mfaUser(t);
      const pair = (await verifyMfa(t, await mfaToken(t, user.username), 'totp', currentCode(t, user.secret)).expect(200)).body.data;
      await t.http.post('/api/v1/users/me/mfa/recovery-codes').set(bearer(pair)).expect(200);
      await t.passTime(3600_000 + 1000);
      const stale = await t.http.post('/api/v1/users/me/mfa/recovery-codes').set(bearer(pair));
      expect([stale.status, stale.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
      // The existing password-or-recent check follows the same rule: with MFA the password alone does not do.
      const email = await t.http.put('/api/v1/users/me/email').set(bearer(pair)).send({ email: 'new.address@example.com', code: '123456', password: DEFAULT_PASSWORD });
      expect([email.status, email.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
      const byPassword = await t.http.post('/api/v1/auth/reauthenticate').set(bearer(pair)).send({ password: DEFAULT_PASSWORD }).expect(200);
      expect(claimsOf(byPassword.body.data.accessToken).amr).toEqual(['pwd']);
      expect(Math.abs((claimsOf(byPassword.body.data.accessToken).auth_time as number) - nearNow(t))).toBeLessThanOrEqual(1);
      expect(claimsOf(byPassword.body.data.accessToken).auth_time).toBeGreaterThan(claimsOf(pair.accessToken).auth_time as number);
      expect((await t.http.post('/api/v1/users/me/mfa/recovery-codes').set(bearer(byPassword.body.data))).body.error).toBe('RECENT_AUTH_REQUIRED');
      const byTotp = await t.http.post('/api/v1/auth/reauthenticate').set(bearer(byPassword.body.data)).send({ method: 'totp', code: currentCode(t, user.secret) }).expect(200);
      expect(claimsOf(byTotp.body.data.accessToken).amr).toEqual(['pwd', 'otp', 'mfa']);
      await t.http.post('/api/v1/users/me/mfa/recovery-codes').set(bearer(byTotp.body.data)).expect(200);
      // The earlier refresh tokens of the session are spent by the step-up.
      expect((await refresh(t, pair.refreshToken)).status).toBe(401);
    });

    it('without MFA a password step-up renews auth_time for ⏱ routes; a wrong password counts towards the lock', async () => {
      const user = await signedInUser(t);
      await t.passTime(3600_000 + 1000);
      expect((await t.http.post('/api/v1/users/me/mfa/totp').set(bearer(user))).body.error).toBe('RECENT_AUTH_REQUIRED');
      const wrong = await t.http.post('/api/v1/auth/reauthenticate').set(bearer(user)).send({ password: 'not my password 1' });
      expect([wrong.status, wrong.body.error]).toEqual([400, 'PASSWORD_INCORRECT']);
      const renewed = await t.http.post('/api/v1/auth/reauthenticate').set(bearer(user)).send({ password: DEFAULT_PASSWORD }).expect(200);
      await t.http.post('/api/v1/users/me/mfa/totp').set(bearer(renewed.body.data)).expect(200);
      const noFactor = await t.http.post('/api/v1/auth/reauthenticate').set(bearer(renewed.body.data)).send({ method: 'totp', code: '123456' });
      expect([noFactor.status, noFactor.body.error]).toEqual([403, 'MFA_NOT_ENROLLED']);
    });

    it('a session of an account that enrolled later (another device) is not recent enough for ⏱ once it refreshes', async () => {
      const user = await signedInUser(t);
      const other = await signIn(t, user.username);
      await enrolTotp(t, user);
      const refreshed = (await refresh(t, other.refreshToken).expect(200)).body.data;
      expect(claimsOf(refreshed.accessToken)).toMatchObject({ amr: ['pwd'], mfa_enabled: true });
      expect((await t.http.post('/api/v1/users/me/mfa/recovery-codes').set(bearer(refreshed))).body.error).toBe('RECENT_AUTH_REQUIRED');
    });
  });

  describe('Admin reset', () => {
    it('removes every factor and recovery code, revokes every session, notifies the owner, and is audited', async () => {
      const user = await mfaUser(t);
      const pair = (await verifyMfa(t, await mfaToken(t, user.username), 'totp', currentCode(t, user.secret)).expect(200)).body.data;
      const notFound = await t.http.delete('/api/v1/admin/users/00000000-0000-4000-8000-000000000000/mfa').set(admin.auth);
      expect(notFound.status).toBe(404);
      const forbidden = await t.http.delete(`/api/v1/admin/users/${user.user.id}/mfa`).set(bearer(pair));
      expect(forbidden.status).toBe(403);
      await t.http.delete(`/api/v1/admin/users/${user.user.id}/mfa`).set(admin.auth).expect(200);
      expect(await meStatus(t, pair)).toBe(401);
      expect(await meStatus(t, user)).toBe(401);
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200)).body.data.mfaRequired).toBe(false);
      expect(outbox(t).some((entry) => entry.to === user.email && entry.purpose === 'notice' && entry.text.includes('administrator removed'))).toBe(true);
      const events = await auditEvents(t, admin.auth, { userId: user.user.id, type: 'mfa_reset' });
      expect(events).toHaveLength(1);
      expect(events[0].actorId).not.toBe(user.user.id);
      expect(adminUpdate).toBeDefined();
    });
  });
});

describe('SECURITY: MFA_REQUIRED_ROLES — such an account without a factor gets tokens that work only on /users/me/mfa* and /users/me/passkeys*', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ MFA_REQUIRED_ROLES: 'admin', ADMIN_USERNAME: 'mfa_root', ADMIN_EMAIL: 'mfa.root@example.com', ADMIN_PASSWORD: 'granite harbour 19' });
  });
  afterAll(() => t.close());

  it('limits the admin to enrolment until a factor is confirmed; after a refresh the tokens work everywhere', async () => {
    const pair = await signIn(t, 'mfa_root', 'granite harbour 19');
    expect(claimsOf(pair.accessToken).mfa_enrolment).toBe(true);
    const blocked = await t.http.get('/api/v1/users/me').set(bearer(pair));
    expect([blocked.status, blocked.body.error]).toEqual([403, 'MFA_NOT_ENROLLED']);
    expect((await t.http.get('/api/v1/admin/users').set(bearer(pair))).status).toBe(403);
    const status = await t.http.get('/api/v1/users/me/mfa').set(bearer(pair)).expect(200);
    expect(status.body.data.required).toBe(true);
    await enrolTotp(t, pair);
    const refreshed = (await refresh(t, pair.refreshToken).expect(200)).body.data;
    expect(claimsOf(refreshed.accessToken).mfa_enrolment).toBeUndefined();
    await t.http.get('/api/v1/users/me').set(bearer(refreshed)).expect(200);
    // A normal user is not concerned.
    const user = await signedInUser(t);
    await t.http.get('/api/v1/users/me').set(bearer(user)).expect(200);
  });

  it('refuses an unknown role in MFA_REQUIRED_ROLES at start-up, naming the setting', async () => {
    await expect(createTestApp({ MFA_REQUIRED_ROLES: 'admin,superuser' })).rejects.toThrow(/MFA_REQUIRED_ROLES/);
  });
});
