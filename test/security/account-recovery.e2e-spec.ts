import { AccountOwnershipService } from '@/modules/account/account-ownership.service';
import { newApiKey, withKey } from '../factories/api-keys';
import { lastCode, outbox, phoneUser, requestEmailCode, requestEmailVerificationCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { outboxEvents } from '../factories/events';
import { enrolTotp } from '../factories/mfa';
import { passkeyLogin, registerPasskey } from '../factories/passkeys';
import { bearer, meStatus, refresh } from '../factories/sessions';
import { signIn, signUp, signUpBody, solvedCaptcha, uniqueUsername } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

const NEW_PASSWORD = 'amber meadow 77';

/**
 * Issue 14 item 8, "Recovery gives a clean account": an email nobody proved is only a claim. Whoever
 * proves it gets the account without anything its earlier holder added, and until it is proven no
 * other sign-in method can be added.
 */
describe('SECURITY: Recovery gives a clean account (pre-hijacking)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const noticesTo = (to: string, since: number) => outbox(t).filter((entry, i) => i >= since && entry.to === to && entry.purpose === 'notice');

  async function addPhone(auth: Record<string, string>, phone: string) {
    await requestSmsCode(t, phone, 'change_phone');
    return t.http.put('/api/v1/users/me/phone').set(auth).send({ phone, code: lastCode(t, phone, 'change_phone') });
  }

  /** Accounts made before this rule could add methods with an unproven email: recreate that state. */
  async function asBeforeTheRule<T>(userId: string, add: () => Promise<T>): Promise<T> {
    await t.db.query(`UPDATE users SET email_verified = 1 WHERE id = ?`, [userId]);
    try {
      return await add();
    } finally {
      await t.db.query(`UPDATE users SET email_verified = 0 WHERE id = ?`, [userId]);
      await t.kv.delete(`user-view:${userId}`);
    }
  }

  async function resetByEmail(email: string, password = NEW_PASSWORD) {
    await requestEmailCode(t, email, 'reset_password');
    return t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email, code: lastCode(t, email.toLowerCase(), 'reset_password'), newPassword: password });
  }

  it('the pre-hijacking journey: the attacker cannot plant a phone or key, and once the victim resets by email nothing the attacker added works', async () => {
    const victimEmail = `victim_${uniqueUsername('v')}@example.com`;
    // The attacker signs up first with the victim's address (not verified by default) and signs in twice.
    const attacker = await signUp(t, { email: victimEmail });
    const first = await signIn(t, attacker.username, attacker.password);
    const second = await signIn(t, attacker.username, attacker.password);
    const attackerPhone = uniquePhone();

    // Today's rule: with the email unproven, no other sign-in method can be added.
    const phoneRefused = await addPhone(bearer(first), attackerPhone);
    expect([phoneRefused.status, phoneRefused.body.error]).toEqual([403, 'EMAIL_NOT_VERIFIED']);
    for (const path of ['/api/v1/users/me/api-keys', '/api/v1/users/me/api-key']) {
      const keyRefused = await t.http.post(path).set(bearer(first)).send(path.endsWith('keys') ? { name: 'planted', scopes: ['profile:read'] } : undefined);
      expect([keyRefused.status, keyRefused.body.error]).toEqual([403, 'EMAIL_NOT_VERIFIED']);
    }
    const totpRefused = await t.http.post('/api/v1/users/me/mfa/totp').set(bearer(first));
    expect([totpRefused.status, totpRefused.body.error]).toEqual([403, 'EMAIL_NOT_VERIFIED']);

    // An account from before the rule holds them anyway: a phone and a key planted by the attacker.
    const key = await asBeforeTheRule(attacker.user.id, async () => {
      await addPhone(bearer(first), attackerPhone).then((r) => expect(r.status).toBe(200));
      return newApiKey(t, bearer(first));
    });
    // ...and an authenticator app of the attacker's, which would lock the victim out after the reset.
    await asBeforeTheRule(attacker.user.id, () => enrolTotp(t, first));

    // The victim cannot sign up (EMAIL_TAKEN) and resets the password by email instead.
    const captcha = await solvedCaptcha(t);
    const signUpAttempt = await t.http.post('/api/v1/users').send({ ...signUpBody({ email: victimEmail }), ...captcha });
    expect([signUpAttempt.status, signUpAttempt.body.error]).toEqual([409, 'EMAIL_TAKEN']);
    const sent = outbox(t).length;
    await resetByEmail(victimEmail).then((r) => expect(r.status).toBe(200));

    // Nothing the attacker added works: SMS sign-in, the key, every session and refresh token.
    await requestSmsCode(t, attackerPhone, 'login');
    expect(lastCode(t, attackerPhone, 'login')).toBeUndefined(); // the number has no account any more
    const sms = await t.http.post('/api/v1/auth/login/sms').send({ phone: attackerPhone, smsCode: '123456' });
    expect(sms.status).not.toBe(200);
    expect((await t.http.get('/api/v1/users/me').set(withKey(key)).expect(401)).body.error).toBe('API_KEY_INVALID');
    for (const session of [first, second]) {
      expect(await meStatus(t, session)).toBe(401);
      expect((await refresh(t, session.refreshToken)).status).toBe(401);
    }
    expect((await t.http.post('/api/v1/auth/login').send({ identifier: attacker.username, password: attacker.password })).status).toBe(401);

    // The victim owns a clean account: email verified, no phone, no key; audited, and told so.
    const victim = await signIn(t, victimEmail, NEW_PASSWORD);
    const me = (await t.http.get('/api/v1/users/me').set(bearer(victim)).expect(200)).body.data;
    expect(me).toMatchObject({ id: attacker.user.id, emailVerified: true, phone: null });
    // signIn got a token pair, not an MFA challenge: the attacker's second factor went with the reclaim.
    expect((await t.http.get('/api/v1/users/me/mfa').set(bearer(victim)).expect(200)).body.data).toMatchObject({ totp: { enabled: false }, recoveryCodesLeft: 0 });
    expect(await t.db.query(`SELECT user_id FROM mfa_totp WHERE user_id = ?`, [attacker.user.id])).toEqual([]);
    expect(await t.db.query(`SELECT id FROM api_keys WHERE user_id = ?`, [attacker.user.id])).toEqual([]);
    const events = await t.db.query(`SELECT detail FROM audit_events WHERE user_id = ? AND type = 'account_reclaimed'`, [attacker.user.id]);
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0].detail)).toMatchObject({ proof: 'password_reset', phoneRemoved: true, apiKeysDeleted: 1, sessionsRevoked: 2 });
    expect(noticesTo(victimEmail.toLowerCase(), sent).map((entry) => entry.text)).toEqual(expect.arrayContaining([expect.stringContaining('You proved this email address')]));
    expect(noticesTo(attackerPhone, sent)).toHaveLength(1);
    // The number is free again for whoever holds it.
    await requestSmsCode(t, attackerPhone, 'register');
    expect(lastCode(t, attackerPhone, 'register')).toMatch(/^\d{6}$/);
  });

  it('a reclaim removes the passkeys an earlier holder registered: they sign in no more, and user.mfa_changed reports it', async () => {
    const victimEmail = `victim_${uniqueUsername('pk')}@example.com`;
    const attacker = await signUp(t, { email: victimEmail });
    const session = await signIn(t, attacker.username, attacker.password);
    const refused = await t.http.post('/api/v1/users/me/passkeys/options').set(bearer(session));
    expect([refused.status, refused.body.error]).toEqual([403, 'EMAIL_NOT_VERIFIED']);
    // An account from before the rule holds one anyway: a passkey that signs in without any password.
    const { authenticator } = await asBeforeTheRule(attacker.user.id, () => registerPasskey(t, session));
    expect((await passkeyLogin(t, authenticator)).status).toBe(200);
    await resetByEmail(victimEmail).then((r) => expect(r.status).toBe(200));
    const after = await passkeyLogin(t, authenticator);
    expect([after.status, after.body.error]).toEqual([400, 'PASSKEY_INVALID']);
    expect(await t.db.query(`SELECT id FROM passkeys WHERE user_id = ?`, [attacker.user.id])).toEqual([]);
    const victim = await signIn(t, victimEmail, NEW_PASSWORD);
    expect((await t.http.get('/api/v1/users/me/mfa').set(bearer(victim)).expect(200)).body.data).toMatchObject({ passkeys: [], recoveryCodesLeft: 0 });
    const changes = (await outboxEvents(t, attacker.user.id)).filter((event) => event.type === 'user.mfa_changed').map((event) => event.data);
    expect(changes).toEqual([
      { userId: attacker.user.id, factor: 'passkey', change: 'added' },
      { userId: attacker.user.id, factor: 'all', change: 'reset' },
    ]);
  });

  it('a reset by email of an account whose email was already proven does not reclaim: the phone stays', async () => {
    const account = await signUp(t);
    const session = await signIn(t, account.username, account.password);
    const phone = uniquePhone();
    await requestEmailVerificationCode(t, bearer(session)).then((r) => expect(r.status).toBe(202));
    await t.http.post('/api/v1/users/me/email/verification').set(bearer(session)).send({ code: lastCode(t, account.email.toLowerCase(), 'verify_email') }).expect(200);
    await addPhone(bearer(session), phone).then((r) => expect(r.status).toBe(200));
    await resetByEmail(account.email).then((r) => expect(r.status).toBe(200));
    const me = (await t.http.get('/api/v1/users/me').set(bearer(await signIn(t, account.username, NEW_PASSWORD))).expect(200)).body.data;
    expect(me.phone).toBe(phone);
    // One reclaim only: the verification's (the account had nothing to remove then); the reset made none.
    expect(await t.db.query(`SELECT id FROM audit_events WHERE user_id = ? AND type = 'account_reclaimed'`, [account.user.id])).toHaveLength(1);
  });

  it('a reset by SMS does not reclaim (the phone was proven when it was set); the unproven email stays unproven and its owner can still reclaim', async () => {
    const account = await signUp(t);
    const session = await signIn(t, account.username, account.password);
    const phone = uniquePhone();
    await asBeforeTheRule(account.user.id, () => addPhone(bearer(session), phone));
    await requestSmsCode(t, phone, 'reset_password');
    await t.http.post('/api/v1/auth/password-reset').send({ channel: 'sms', phone, code: lastCode(t, phone, 'reset_password'), newPassword: NEW_PASSWORD }).expect(200);
    const afterSms = (await t.http.get('/api/v1/users/me').set(bearer(await signIn(t, phone, NEW_PASSWORD))).expect(200)).body.data;
    expect(afterSms).toMatchObject({ phone, emailVerified: false });
    // The email's owner proves it later: the account is reclaimed from the phone's holder.
    await resetByEmail(account.email, 'copper lantern 58').then((r) => expect(r.status).toBe(200));
    const afterEmail = (await t.http.get('/api/v1/users/me').set(bearer(await signIn(t, account.email, 'copper lantern 58'))).expect(200)).body.data;
    expect(afterEmail).toMatchObject({ phone: null, emailVerified: true });
  });

  it('an account proves its own email with POST /users/me/email/verification: other sessions and keys go, this session stays, and sign-in methods can be added after', async () => {
    const account = await signUp(t);
    const mine = await signIn(t, account.username, account.password);
    const other = await signIn(t, account.username, account.password);
    const email = account.email.toLowerCase();
    const key = await asBeforeTheRule(account.user.id, () => newApiKey(t, bearer(mine)));

    const ticket = await requestEmailVerificationCode(t, bearer(mine));
    expect(ticket.status).toBe(202);
    expect(ticket.body.data).toEqual({ expiresIn: 600, resendAfter: 60 });
    const code = lastCode(t, email, 'verify_email');
    expect(code).toMatch(/^\d{6}$/);
    const wrong = await t.http.post('/api/v1/users/me/email/verification').set(bearer(mine)).send({ code: code === '000000' ? '111111' : '000000' });
    expect([wrong.status, wrong.body.error]).toEqual([400, 'CODE_INVALID']);
    // A key never reaches these routes.
    expect((await t.http.post('/api/v1/users/me/email/verification-code').set(withKey(key)).expect(403)).body.error).toBe('API_KEY_SCOPE');

    const verified = await t.http.post('/api/v1/users/me/email/verification').set(bearer(mine)).send({ code }).expect(200);
    expect(verified.body.data.emailVerified).toBe(true);
    expect(await meStatus(t, mine)).toBe(200);
    expect(await meStatus(t, other)).toBe(401);
    expect((await t.http.get('/api/v1/users/me').set(withKey(key)).expect(401)).body.error).toBe('API_KEY_INVALID');
    expect(await t.db.query(`SELECT type FROM audit_events WHERE user_id = ? AND type IN ('email_verified', 'account_reclaimed') ORDER BY type`, [account.user.id])).toEqual([
      { type: 'account_reclaimed' },
      { type: 'email_verified' },
    ]);

    // Proven: keys and a phone can be added now; there is nothing left to verify.
    await newApiKey(t, bearer(mine));
    await addPhone(bearer(mine), uniquePhone()).then((r) => expect(r.status).toBe(200));
    const again = await t.http.post('/api/v1/users/me/email/verification-code').set(bearer(mine));
    expect([again.status, again.body.error]).toEqual([409, 'EMAIL_VERIFICATION_NOT_NEEDED']);
    // A phone account (no email at all) has nothing to verify either, and may add methods.
    const phoneAccount = await phoneUser(t, { password: 'quiet harbour 31' });
    const phoneSession = await signIn(t, phoneAccount.phone, 'quiet harbour 31');
    expect((await t.http.post('/api/v1/users/me/email/verification-code').set(bearer(phoneSession))).body.error).toBe('EMAIL_VERIFICATION_NOT_NEEDED');
    await newApiKey(t, bearer(phoneSession));
  });

  it('runs the reclaim steps other modules register (second factors, identities) inside the reclaiming transaction', async () => {
    const ownership = t.app.get(AccountOwnershipService);
    const seen: string[] = [];
    ownership.register({
      name: 'test_factors',
      run: async (userId, tx) => {
        // Inside the transaction: the reset has not committed, yet this manager sees the new columns.
        const [row] = await tx.query(`SELECT phone, email_verified FROM users WHERE id = ?`, [userId]);
        seen.push(`${userId}:${row.phone}:${Number(row.email_verified)}`);
      },
    });
    expect(() => ownership.register({ name: 'test_factors', run: async () => undefined })).toThrow(/twice/);
    const account = await signUp(t);
    await resetByEmail(account.email).then((r) => expect(r.status).toBe(200));
    expect(seen).toEqual([`${account.user.id}:null:1`]);
    const [event] = await t.db.query(`SELECT detail FROM audit_events WHERE user_id = ? AND type = 'account_reclaimed'`, [account.user.id]);
    expect(JSON.parse(event.detail).steps.split(' ')).toEqual(expect.arrayContaining(['mfa_factors', 'identities', 'test_factors']));
  });
});
