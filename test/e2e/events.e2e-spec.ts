import { adminUpdate, createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { outboxEvents, outboxTypes } from '../factories/events';
import { idCardNumber } from '../factories/id-cards';
import { enrolTotp } from '../factories/mfa';
import { registerPasskey } from '../factories/passkeys';
import { lastCode, requestEmailCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { bearer, signInFrom } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser, signUp } from '../factories/users';
import { TestApp } from '../helpers/test-app';

/**
 * Contract §12, the outbox: every change of the catalogue writes its event in its own transaction
 * (the fault half — both or neither — is in test/security/reliability.e2e-spec), with the ids and
 * the names of changed fields only. Runs on the embedded default and on MariaDB + Redis.
 */
describe('Events outbox (contract §12)', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin());
  });
  afterAll(() => t.close());

  const sessionsOf = async (auth: Record<string, string>): Promise<{ id: string; current: boolean }[]> => {
    const data = (await t.http.get('/api/v1/auth/sessions').set(auth).expect(200)).body.data;
    return Array.isArray(data) ? data : data.items;
  };

  it('a sign-up writes user.created with the new id only', async () => {
    const account = await signUp(t);
    const events = await outboxEvents(t, account.user.id);
    expect(events).toEqual([{ id: expect.stringMatching(/^[0-9a-f-]{36}$/), type: 'user.created', data: { userId: account.user.id }, createdAt: expect.any(String) }]);
  });

  it('the first admin (created at start-up) has its user.created too', async () => {
    const me = (await t.http.get('/api/v1/users/me').set(admin.auth).expect(200)).body.data;
    expect(await outboxTypes(t, me.id)).toEqual(['user.created']);
  });

  it('PATCH /users/me writes user.updated naming the changed fields, never their values; an unchanged value reports nothing', async () => {
    const user = await signedInUser(t, { displayName: 'Before' });
    await t.http.patch('/api/v1/users/me').set(user.auth).send({ displayName: 'Secretly Renamed', school: 'Hidden U' }).expect(200);
    await t.http.patch('/api/v1/users/me').set(user.auth).send({ displayName: 'Secretly Renamed' }).expect(200);
    await t.http.patch('/api/v1/users/me').set(user.auth).send({ displayName: 'Secretly Renamed', website: 'https://hidden.example.com' }).expect(200);
    const events = await outboxEvents(t, user.user.id);
    expect(events.map(({ type, data }) => ({ type, data }))).toEqual([
      { type: 'user.created', data: { userId: user.user.id } },
      { type: 'user.updated', data: { userId: user.user.id, fields: ['displayName', 'school'] } },
      { type: 'user.updated', data: { userId: user.user.id, fields: ['website'] } },
    ]);
    expect(JSON.stringify(events)).not.toMatch(/Secretly|Hidden|hidden\.example/);
  });

  it('20 parallel profile changes: each committed change has exactly its one event', async () => {
    const user = await signedInUser(t);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => t.http.patch('/api/v1/users/me').set(user.auth).send({ intro: `intro number ${i}` })));
    expect(answers.map((answer) => answer.status)).toEqual(Array(20).fill(200));
    expect((await outboxTypes(t, user.user.id)).filter((type) => type === 'user.updated')).toHaveLength(20);
  });

  it('email, phone, password change and reset, session revocation and sign-out, real name: one event each, in order, with no secret in any', async () => {
    const user = await signedInUser(t);
    const email = `moved.${user.username}@example.com`;
    await requestEmailCode(t, email, 'change_email', user.auth);
    await t.http.put('/api/v1/users/me/email').set(user.auth).send({ email, code: lastCode(t, email, 'change_email'), password: DEFAULT_PASSWORD }).expect(200);
    const phone = uniquePhone();
    await requestSmsCode(t, phone, 'change_phone', user.auth);
    const phoneCode = lastCode(t, phone, 'change_phone')!;
    await t.http.put('/api/v1/users/me/phone').set(user.auth).send({ phone, code: phoneCode, password: DEFAULT_PASSWORD }).expect(200);

    const other = await signInFrom(t, user.username, 'Other/1.0');
    const otherId = (await sessionsOf(user.auth)).find((session) => !session.current)!.id;
    await t.http.delete(`/api/v1/auth/sessions/${otherId}`).set(user.auth).expect(200);
    await t.http.delete(`/api/v1/auth/sessions/${otherId}`).set(user.auth).expect(404); // revoked once, reported once

    const newPassword = 'copper lantern 58';
    await t.http.put('/api/v1/users/me/password').set(user.auth).send({ oldPassword: DEFAULT_PASSWORD, newPassword }).expect(200);
    await requestEmailCode(t, email, 'reset_password');
    const resetCode = lastCode(t, email, 'reset_password')!;
    const resetPassword = 'harbour willow 63';
    await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email, code: resetCode, newPassword: resetPassword }).expect(200);

    const fresh = await signInFrom(t, user.username, 'Fresh/1.0', resetPassword);
    const number = idCardNumber();
    await t.http.post('/api/v1/users/me/real-name').set(bearer(fresh)).send({ realName: '张三丰', idCardNumber: number }).expect(201);
    const freshSession = (await sessionsOf(bearer(fresh))).find((session) => session.current)!.id;
    await t.http.delete('/api/v1/auth/session').set(bearer(fresh)).expect(200);

    const events = await outboxEvents(t, user.user.id);
    expect(events.map(({ type, data }) => ({ type, data }))).toEqual([
      { type: 'user.created', data: { userId: user.user.id } },
      { type: 'user.email_changed', data: { userId: user.user.id } },
      { type: 'user.phone_changed', data: { userId: user.user.id } },
      { type: 'session.revoked', data: { userId: user.user.id, sessionId: otherId, reason: 'revoked' } },
      { type: 'user.password_changed', data: { userId: user.user.id, via: 'change' } },
      { type: 'user.password_changed', data: { userId: user.user.id, via: 'reset' } },
      { type: 'user.real_name_verified', data: { userId: user.user.id } },
      { type: 'session.revoked', data: { userId: user.user.id, sessionId: freshSession, reason: 'logout' } },
    ]);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
    const stored = JSON.stringify(events);
    for (const secret of [DEFAULT_PASSWORD, newPassword, resetPassword, email, user.email, phone, phoneCode, resetCode, '张三丰', number, other.accessToken, other.refreshToken, fresh.accessToken]) {
      expect(stored).not.toContain(secret);
    }
  });

  it('an admin demoting, disabling and enabling writes role_changed (from, to), disabled and enabled; a refused change writes nothing', async () => {
    const user = await signedInUser(t);
    await adminUpdate(t, admin.auth, user.user.id, { role: 'admin' }).expect(200);
    await adminUpdate(t, admin.auth, user.user.id, { role: 'normal_user', status: 'disabled' }).expect(200);
    await adminUpdate(t, admin.auth, user.user.id, { status: 'disabled' }).expect(200); // no change, no event
    await adminUpdate(t, admin.auth, user.user.id, { status: 'enabled' }).expect(400);
    await adminUpdate(t, admin.auth, user.user.id, { status: 'active' }).expect(200);
    expect((await outboxEvents(t, user.user.id)).map(({ type, data }) => ({ type, data }))).toEqual([
      { type: 'user.created', data: { userId: user.user.id } },
      { type: 'user.role_changed', data: { userId: user.user.id, from: 'normal_user', to: 'admin' } },
      { type: 'user.role_changed', data: { userId: user.user.id, from: 'admin', to: 'normal_user' } },
      { type: 'user.disabled', data: { userId: user.user.id } },
      { type: 'user.enabled', data: { userId: user.user.id } },
    ]);
  });

  it('every second-factor change writes user.mfa_changed naming the factor and the change, never a secret: TOTP, recovery codes, passkeys, an admin reset', async () => {
    const user = await signedInUser(t);
    const { secret, recoveryCodes } = await enrolTotp(t, user);
    await t.http.post('/api/v1/users/me/mfa/recovery-codes').set(user.auth).expect(200);
    const { passkey } = await registerPasskey(t, user);
    await t.http.delete(`/api/v1/users/me/passkeys/${passkey.id}`).set(user.auth).expect(200);
    await t.http.delete('/api/v1/users/me/mfa/totp').set(user.auth).expect(200);
    await enrolTotp(t, user);
    await t.http.delete(`/api/v1/admin/users/${user.user.id}/mfa`).set(admin.auth).expect(200);
    const events = (await outboxEvents(t, user.user.id)).filter((event) => event.type === 'user.mfa_changed');
    expect(events.map((event) => event.data)).toEqual(
      [
        ['totp', 'added'],
        ['recovery_codes', 'regenerated'],
        ['passkey', 'added'],
        ['passkey', 'removed'],
        ['totp', 'removed'],
        ['totp', 'added'],
        ['all', 'reset'],
      ].map(([factor, change]) => ({ userId: user.user.id, factor, change })),
    );
    const stored = JSON.stringify(await t.db.query("SELECT data FROM events WHERE type = 'user.mfa_changed'"));
    for (const value of [secret, ...recoveryCodes]) expect(stored).not.toContain(value);
  });

  it('deleting the account writes user.deleted, which outlives the account; a refused deletion writes nothing', async () => {
    const user = await signedInUser(t);
    await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: 'wrong password 00' }).expect(400);
    expect(await outboxTypes(t, user.user.id)).toEqual(['user.created']);
    await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
    expect(await outboxTypes(t, user.user.id)).toEqual(['user.created', 'user.deleted']);
    expect(await t.db.query('SELECT id FROM users WHERE id = ?', [user.user.id])).toEqual([]);
  });
});
