import { randomUUID } from 'node:crypto';
import { lastCode, outbox, requestEmailCode, requestSmsCode, uniquePhone, userWithEmailAndPhone } from '../factories/codes';
import { bearer, refresh } from '../factories/sessions';
import { signIn } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

/**
 * Contract §13: replacing a contact needs a recent authentication (⏱) and is never silent — the OLD
 * address or number hears about it. (That ⏱ holds, that a refresh does not renew it and that the
 * password path works is proven in tokens-and-sessions.e2e-spec.ts.)
 */
describe('Contact changes notify the old contact', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const noticesTo = (to: string, since: number) => outbox(t).slice(since).filter((entry) => entry.to === to && entry.purpose === 'notice' && entry.code === null);

  it('replacing the email sends a notice to the OLD address (a fresh sign-in, no password), in the caller language', async () => {
    const account = await userWithEmailAndPhone(t);
    const session = await signIn(t, account.username, account.password);
    const to = `moved_${randomUUID()}@example.com`;
    await requestEmailCode(t, to, 'change_email');
    const before = outbox(t).length;
    await t.http
      .put('/api/v1/users/me/email')
      .set({ ...bearer(session), 'Accept-Language': 'zh-CN' })
      .send({ email: to, code: lastCode(t, to, 'change_email') })
      .expect(200);
    const notices = noticesTo(account.email.toLowerCase(), before);
    expect(notices).toHaveLength(1);
    expect(notices[0].channel).toBe('email');
    expect(notices[0].text).toContain('邮箱刚刚被更换');
    // The new address got its code, not a notice; the phone was not touched.
    expect(noticesTo(to, before)).toHaveLength(0);
    expect(noticesTo(account.phone, before)).toHaveLength(0);
  });

  it('replacing the phone sends an SMS notice to the OLD number', async () => {
    const account = await userWithEmailAndPhone(t);
    const session = await signIn(t, account.username, account.password);
    await t.passTime(61 * 60_000);
    const refreshed = (await refresh(t, session.refreshToken).expect(200)).body.data;
    const to = uniquePhone();
    await requestSmsCode(t, to, 'change_phone');
    const before = outbox(t).length;
    // An hour after the sign-in a refreshed token is not recent: the password path is the way.
    const stale = await t.http.put('/api/v1/users/me/phone').set(bearer(refreshed)).send({ phone: to, code: lastCode(t, to, 'change_phone') });
    expect([stale.status, stale.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
    expect(noticesTo(account.phone, before)).toHaveLength(0);
    await t.http.put('/api/v1/users/me/phone').set(bearer(refreshed)).send({ phone: to, code: lastCode(t, to, 'change_phone'), password: account.password }).expect(200);
    const notices = noticesTo(account.phone, before);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ channel: 'sms', text: expect.stringContaining('phone number of your account was just replaced') });
    expect(noticesTo(to, before)).toHaveLength(0);
  });
});
