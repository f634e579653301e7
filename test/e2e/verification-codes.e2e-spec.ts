import { lastCode, phoneUser, requestEmailCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { DEFAULT_PASSWORD, signIn, signUp, solvedCaptcha } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

describe('Verification codes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const smsLogin = (phone: string, smsCode: string | undefined) => t.http.post('/api/v1/auth/login/sms').send({ phone, smsCode });

  it('counts codes sent and withheld in /metrics', async () => {
    await requestSmsCode(t, uniquePhone(), 'register');
    await requestEmailCode(t, `metric_${Date.now()}@example.com`, 'reset_password');
    const metrics = await t.http.get('/metrics').expect(200);
    expect(metrics.text).toMatch(/user_centre_codes_sent_total\{channel="sms",purpose="register",outcome="sent"\} [1-9]/);
    expect(metrics.text).toMatch(/user_centre_codes_sent_total\{channel="email",purpose="reset_password",outcome="withheld"\} [1-9]/);
  });

  it('needs a solved captcha: none is CAPTCHA_REQUIRED (as on every route with a human check), a wrong one CAPTCHA_INVALID', async () => {
    const response = await t.http.post('/api/v1/verification/sms-codes').send({ phone: uniquePhone(), purpose: 'register' }).expect(400);
    expect(response.body.error).toBe('CAPTCHA_REQUIRED');
    const wrong = await t.http.post('/api/v1/verification/sms-codes').send({ phone: uniquePhone(), purpose: 'register', captchaId: (await solvedCaptcha(t)).captchaId, captchaText: 'nope' }).expect(400);
    expect(wrong.body.error).toBe('CAPTCHA_INVALID');
  });

  it('refuses a number that is neither E.164 nor a bare Chinese mobile number: 400 VALIDATION_FAILED naming phone', async () => {
    const response = await t.http.post('/api/v1/verification/sms-codes').send({ phone: '12345', purpose: 'register', ...(await solvedCaptcha(t)) }).expect(400);
    expect(response.body).toMatchObject({ error: 'VALIDATION_FAILED', details: [{ field: 'phone', message: 'phone must be an E.164 number or an 11-digit Chinese mobile number' }] });
  });

  it('accepts a bare 11-digit Chinese mobile number', async () => {
    const bare = `139${String(Date.now()).slice(-8)}`;
    await requestSmsCode(t, bare, 'register').then((r) => expect(r.status).toBe(202));
    expect(lastCode(t, `+86${bare}`, 'register')).toBeDefined();
  });

  it('signs a phone account up, then in by SMS code; each code works once', async () => {
    const { phone, user } = await phoneUser(t);
    expect(user).toMatchObject({ phone, role: 'normal_user' });
    expect(user.username).toMatch(/^u_[a-z0-9]{10}$/);
    await requestSmsCode(t, phone, 'login');
    const code = lastCode(t, phone, 'login');
    const signedIn = await smsLogin(phone, code).expect(200);
    expect(signedIn.body.data.user.id).toBe(user.id);
    const again = await smsLogin(phone, code).expect(400);
    expect(again.body.error).toBe('CODE_EXPIRED');
  });

  it('lets a phone account with a password sign in by phone + password', async () => {
    const { phone } = await phoneUser(t, { password: DEFAULT_PASSWORD });
    await signIn(t, phone, DEFAULT_PASSWORD);
    await signIn(t, phone.replace('+86', ''), DEFAULT_PASSWORD);
  });

  describe('password reset', () => {
    it('applies the password rules and answers a wrong code with 400 CODE_INVALID', async () => {
      const account = await signUp(t);
      await requestEmailCode(t, account.email, 'reset_password');
      const weak = await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code: lastCode(t, account.email, 'reset_password'), newPassword: 'password1' }).expect(400);
      expect(weak.body.error).toBe('PASSWORD_TOO_COMMON');
      const wrong = await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code: '000001', newPassword: 'good long phrase 11' });
      expect(wrong.status).toBe(400);
    });
  });

  describe('email and phone change', () => {
    it('changes the email with a code sent to the new address; it becomes verified', async () => {
      const account = await signUp(t);
      const { accessToken } = await signIn(t, account.username);
      const email = `changed_${Date.now()}@example.com`;
      await requestEmailCode(t, email, 'change_email');
      const response = await t.http.put('/api/v1/users/me/email').set('Authorization', `Bearer ${accessToken}`).send({ email, code: lastCode(t, email, 'change_email') }).expect(200);
      expect(response.body.data).toMatchObject({ email, emailVerified: true });
    });

    it('refuses an address taken after its code was sent with 409 EMAIL_TAKEN', async () => {
      const account = await signUp(t);
      const { accessToken } = await signIn(t, account.username);
      const email = `contested_${Date.now()}@example.com`;
      await requestEmailCode(t, email, 'change_email');
      await signUp(t, { email });
      const response = await t.http.put('/api/v1/users/me/email').set('Authorization', `Bearer ${accessToken}`).send({ email, code: lastCode(t, email, 'change_email') }).expect(409);
      expect(response.body.error).toBe('EMAIL_TAKEN');
    });

  });

  it('deletes a password-less phone account with an SMS code', async () => {
    const { phone } = await phoneUser(t);
    await requestSmsCode(t, phone, 'login');
    const { accessToken } = (await smsLogin(phone, lastCode(t, phone, 'login')).expect(200)).body.data;
    await t.passTime(61_000);
    await requestSmsCode(t, phone, 'login');
    await t.http.delete('/api/v1/users/me').set('Authorization', `Bearer ${accessToken}`).send({ code: lastCode(t, phone, 'login') }).expect(200);
    await t.http.get('/api/v1/users/me').set('Authorization', `Bearer ${accessToken}`).expect(401);
  });
});

describe('Verification code switches', () => {
  it('requires an email code at sign-up when REGISTRATION_EMAIL_CODE is on', async () => {
    const t = await createTestApp({ REGISTRATION_EMAIL_CODE: 'true' });
    try {
      const username = `mailer_${Date.now()}`;
      const email = `${username}@example.com`;
      const body = { username, email, password: DEFAULT_PASSWORD };
      const missing = await t.http.post('/api/v1/users').send({ ...body, ...(await solvedCaptcha(t)) }).expect(400);
      expect(missing.body.error).toBe('CODE_INVALID');
      await requestEmailCode(t, email, 'register');
      const created = await t.http.post('/api/v1/users').send({ ...body, emailCode: lastCode(t, email, 'register'), ...(await solvedCaptcha(t)) }).expect(201);
      expect(created.body.data.emailVerified).toBe(true);
    } finally {
      await t.close();
    }
  });

  it('answers 403 PASSWORD_RESET_DISABLED when reset is off', async () => {
    const t = await createTestApp({ PASSWORD_RESET_ENABLED: 'false' });
    try {
      const response = await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: 'a@example.com', code: '123456', newPassword: 'good long phrase 11' }).expect(403);
      expect(response.body.error).toBe('PASSWORD_RESET_DISABLED');
    } finally {
      await t.close();
    }
  });
});
