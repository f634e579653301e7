import { createHash, createHmac, randomUUID } from 'node:crypto';
import sharp from 'sharp';
import { ConfigError, loadConfig } from '@/config/app-config';
import { codeOutcomes, lastCode, outbox, phoneUser, requestEmailCode, requestSmsCode, uniquePhone, userWithEmailAndPhone } from '../factories/codes';
import { DEFAULT_PASSWORD, signedInUser, signUp, signUpBody, solvedCaptcha } from '../factories/users';
import { CaptureLogger } from '../helpers/capture-logger';
import { createTestApp, TEST_CAPTCHA, TestApp } from '../helpers/test-app';

/** SECURITY.md, "Captcha and one-time codes": each requirement proven over HTTP against the real app. */
describe('SECURITY: Captcha and one-time codes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  const signUpWith = (captcha: { captchaId?: string; captchaText?: string }, body: Record<string, unknown> = signUpBody()) => t.http.post('/api/v1/users').send({ ...body, ...captcha });
  const smsLogin = (phone: string, smsCode: string | undefined, app = t) => app.http.post('/api/v1/auth/login/sms').send({ phone, smsCode });

  describe('Captcha: checked server-side, bound to its id, burned by any attempt, TTL ≤ 5 min', () => {
    it('is checked server-side: the image carries no answer, no cookie, and the store keeps only a hash', async () => {
      const captchaId = randomUUID();
      const image = await t.http.get(`/api/v1/verification/captcha/${captchaId}`).responseType('blob').expect(200);
      expect(image.headers['content-type']).toBe('image/png');
      expect(image.headers['set-cookie']).toBeUndefined();
      // Pixels only (a PNG sharp can decode), with neither the answer nor any outline in it.
      const png = image.body as Buffer;
      expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 200, height: 70 });
      expect(png.toString('latin1')).not.toMatch(/<svg|<path|abcde/i);
      const stored = await t.kv.get(`captcha:${captchaId}`);
      expect(stored).toMatch(/^[0-9a-f]{64}$/);
      expect(stored).not.toContain(TEST_CAPTCHA);
    });

    it('requires a captcha, and a wrong answer burns it', async () => {
      expect((await signUpWith({}).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
      const { captchaId } = await solvedCaptcha(t);
      expect((await signUpWith({ captchaId, captchaText: 'wrong' }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
      expect((await signUpWith({ captchaId, captchaText: TEST_CAPTCHA }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
    });

    it('accepts the captcha answer case-insensitively, once', async () => {
      const { captchaId } = await solvedCaptcha(t);
      await signUpWith({ captchaId, captchaText: TEST_CAPTCHA.toUpperCase() }).expect(201);
      expect((await signUpWith({ captchaId, captchaText: TEST_CAPTCHA }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
    });

    it('is bound to its id: an id never fetched does not pass, and burning one captcha leaves another alone', async () => {
      expect((await signUpWith({ captchaId: randomUUID(), captchaText: TEST_CAPTCHA }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
      const first = await solvedCaptcha(t);
      const second = await solvedCaptcha(t);
      await signUpWith({ captchaId: first.captchaId, captchaText: 'wrong' }).expect(400);
      await signUpWith(second).expect(201);
      expect((await signUpWith(first).expect(400)).body.error).toBe('CAPTCHA_INVALID');
    });

    describe('is burned by any attempt', () => {
      let locked: string;
      beforeAll(async () => {
        // An account past 3 failures, so that its sign-ins check a captcha.
        locked = (await signUp(t)).username;
        for (let i = 0; i < 3; i++) await t.http.post('/api/v1/auth/login').send({ identifier: locked, password: 'wrong password!' }).expect(401);
      });
      const attempts: [string, (captchaId: string) => Promise<{ status: number }>, number][] = [
        ['an id without an answer, at sign-up', (captchaId) => signUpWith({ captchaId }), 400],
        ['an id without an answer, at sign-in', (captchaId) => t.http.post('/api/v1/auth/login').send({ identifier: locked, password: DEFAULT_PASSWORD, captchaId }), 400],
        ['a wrong answer, at a code request', (captchaId) => t.http.post('/api/v1/verification/sms-codes').send({ phone: uniquePhone(), purpose: 'register', captchaId, captchaText: 'wrong' }), 400],
        ['a right answer, at a code request', (captchaId) => t.http.post('/api/v1/verification/email-codes').send({ email: `burn_${randomUUID()}@example.com`, purpose: 'register', captchaId, captchaText: TEST_CAPTCHA }), 202],
        ['a right answer whose sign-up then fails (a taken name)', async (captchaId) => signUpWith({ captchaId, captchaText: TEST_CAPTCHA }, signUpBody({ username: locked })), 409],
      ];
      it.each(attempts)('%s', async (_name, attempt, status) => {
        const { captchaId } = await solvedCaptcha(t);
        expect((await attempt(captchaId)).status).toBe(status);
        expect((await signUpWith({ captchaId, captchaText: TEST_CAPTCHA }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
      });
    });

    it('expires a captcha after its 5-minute TTL, and CAPTCHA_TTL cannot be set longer', async () => {
      const kept = await solvedCaptcha(t);
      const expired = await solvedCaptcha(t);
      await t.passTime(5 * 60_000 - 10_000);
      await signUpWith(kept).expect(201);
      await t.passTime(10_001);
      expect((await signUpWith(expired).expect(400)).body.error).toBe('CAPTCHA_INVALID');
      expect(() => loadConfig({ NODE_ENV: 'test', CAPTCHA_TTL: '301' })).toThrow(ConfigError);
    });
  });

  describe('Captcha: a pending captcha keeps only a hash, and one client IP holds at most CAPTCHA_PER_IP of them (oldest first out)', () => {
    let capped: TestApp;
    beforeAll(async () => {
      capped = await createTestApp({ CAPTCHA_PER_IP: '5', TRUSTED_PROXIES: '127.0.0.1' });
    });
    afterAll(() => capped.close());

    const fetchAs = (ip: string, captchaId: string) => capped.http.get(`/api/v1/verification/captcha/${captchaId}`).set('X-Forwarded-For', ip).expect(200);
    const live = async (ids: string[]) => (await Promise.all(ids.map((id) => capped.kv.get(`captcha:${id}`)))).filter((value) => value !== null).length;

    it('40 parallel captchas from one IP leave at most 5 pending, the newest; another IP keeps its own', async () => {
      const other = randomUUID();
      await fetchAs('198.51.100.7', other);
      const ids = Array.from({ length: 40 }, () => randomUUID());
      await Promise.all(ids.map((id) => fetchAs('203.0.113.9', id)));
      expect(await live(ids)).toBe(5);
      expect(await capped.kv.get(`captcha:${other}`)).toMatch(/^[0-9a-f]{64}$/);
      // What a pending captcha keeps: the answer's hash under its id (64 hex characters), nothing else.
      const values = (await Promise.all(ids.map((id) => capped.kv.get(`captcha:${id}`)))).filter((value) => value !== null);
      expect(values.every((value) => /^[0-9a-f]{64}$/.test(value!))).toBe(true);
    });

    it('the oldest of an IP goes first: fetched one by one, the first 3 of 8 no longer pass, the last 5 do', async () => {
      const ids = Array.from({ length: 8 }, () => randomUUID());
      for (const id of ids) await fetchAs('203.0.113.50', id);
      const answers = [];
      for (const captchaId of ids) answers.push((await capped.http.post('/api/v1/users').set('X-Forwarded-For', '203.0.113.50').send({ ...signUpBody(), captchaId, captchaText: TEST_CAPTCHA })).status);
      expect(answers).toEqual([400, 400, 400, 201, 201, 201, 201, 201]);
    });

    it('fetching the same id again does not take a second place', async () => {
      const first = randomUUID();
      await fetchAs('203.0.113.77', first);
      const others = Array.from({ length: 4 }, () => randomUUID());
      for (const id of others) await fetchAs('203.0.113.77', id);
      await fetchAs('203.0.113.77', first); // moves to the newest place: five ids, five places
      expect(await live([first, ...others])).toBe(5);
    });

    it('CAPTCHA_PER_IP is read and bounded at start-up', () => {
      expect(loadConfig({ NODE_ENV: 'test' }).captcha.perIp).toBe(20);
      expect(() => loadConfig({ NODE_ENV: 'test', CAPTCHA_PER_IP: '0' })).toThrow(ConfigError);
    });
  });

  describe('Codes: 6 digits from a CSPRNG, stored hashed (HMAC), TTL 10 min, single use even under 20 parallel correct submissions, bound to purpose + channel + recipient, dead after 5 wrong tries', () => {
    it('sends 6-digit codes, answering 202 {expiresIn: 600, resendAfter: 60}; they neither repeat nor count up', async () => {
      const codes: string[] = [];
      for (let i = 0; i < 30; i++) {
        const phone = uniquePhone();
        const response = await requestSmsCode(t, phone, 'register');
        expect(response.body).toMatchObject({ code: 202, data: { expiresIn: 600, resendAfter: 60 } });
        codes.push(lastCode(t, phone, 'register')!);
      }
      // A CSPRNG cannot be seen from outside; this catches a constant, a counter or a clock-derived code.
      expect(codes.every((code) => /^\d{6}$/.test(code))).toBe(true);
      expect(new Set(codes).size).toBeGreaterThanOrEqual(29);
      expect([...codes].sort()).not.toEqual(codes);
    });

    it('stores the code only as an HMAC keyed by CODE_HMAC_KEY, over channel, purpose, recipient and code', async () => {
      const key = 'code-hmac-key-for-this-test-0123456789';
      const keyed = await createTestApp({ CODE_HMAC_KEY: key });
      try {
        const phone = uniquePhone();
        await requestSmsCode(keyed, phone, 'register');
        const code = lastCode(keyed, phone, 'register')!;
        const stored = await keyed.kv.get(`code:sms:register:${phone}`);
        const expected = createHmac('sha256', createHash('sha256').update(key).digest()).update(`sms:register:${phone}:${code}`).digest('hex');
        expect(stored).toBe(expected);
        expect(stored).not.toBe(createHash('sha256').update(code).digest('hex'));
      } finally {
        await keyed.close();
      }
    });

    it('expires a code after 10 minutes: it works just before, not after', async () => {
      const early = await phoneUser(t);
      const late = await phoneUser(t);
      for (const { phone } of [early, late]) await requestSmsCode(t, phone, 'login');
      await t.passTime(10 * 60_000 - 10_000);
      await smsLogin(early.phone, lastCode(t, early.phone, 'login')).expect(200);
      await t.passTime(11_000);
      expect((await smsLogin(late.phone, lastCode(t, late.phone, 'login')).expect(400)).body.error).toBe('CODE_EXPIRED');
    });

    it('keeps a code single-use under 20 parallel correct submissions', async () => {
      const { phone } = await phoneUser(t);
      await requestSmsCode(t, phone, 'login');
      const code = lastCode(t, phone, 'login');
      const statuses = (await Promise.all(Array.from({ length: 20 }, () => smsLogin(phone, code)))).map((r) => r.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(1);
      expect(statuses.filter((s) => s === 400)).toHaveLength(19);
    });

    it('binds a code to its channel, destination and purpose', async () => {
      const { phone } = await phoneUser(t);
      const other = await phoneUser(t);
      await requestSmsCode(t, other.phone, 'login');
      const otherCode = lastCode(t, other.phone, 'login');
      // Another recipient's code.
      expect((await smsLogin(phone, otherCode)).status).toBe(400);
      // Another purpose's code for the same registered number and channel: a reset code does not sign in,
      // and a sign-in code does not reset (exact errors: no sign-in code is pending; the pending reset code differs).
      const holder = await phoneUser(t);
      await requestSmsCode(t, holder.phone, 'reset_password');
      const resetCode = lastCode(t, holder.phone, 'reset_password')!;
      const signInWithReset = await smsLogin(holder.phone, resetCode);
      expect([signInWithReset.status, signInWithReset.body.error]).toEqual([400, 'CODE_EXPIRED']);
      await requestSmsCode(t, holder.phone, 'login');
      const loginCode = lastCode(t, holder.phone, 'login')!;
      const resetBySms = (code: string) => t.http.post('/api/v1/auth/password-reset').send({ channel: 'sms', phone: holder.phone, code, newPassword: 'another new phrase 5' });
      if (loginCode !== resetCode) {
        const resetWithLogin = await resetBySms(loginCode);
        expect([resetWithLogin.status, resetWithLogin.body.error]).toEqual([400, 'CODE_INVALID']);
      }
      await resetBySms(resetCode).expect(200);
      // Another purpose's code (register) for an unregistered number.
      const registerPhone = uniquePhone();
      await requestSmsCode(t, registerPhone, 'register');
      expect((await smsLogin(registerPhone, lastCode(t, registerPhone, 'register'))).status).toBe(400);
      // Another channel's code: with reset codes pending on both of an account's channels, the emailed one does not pass by SMS.
      const account = await userWithEmailAndPhone(t);
      await requestEmailCode(t, account.email, 'reset_password');
      await requestSmsCode(t, account.phone, 'reset_password');
      const emailCode = lastCode(t, account.email, 'reset_password');
      const reset = (via: Record<string, string>) => t.http.post('/api/v1/auth/password-reset').send({ ...via, code: emailCode, newPassword: 'some new phrase 4' });
      expect((await reset({ channel: 'sms', phone: account.phone }).expect(400)).body.error).toBe('CODE_INVALID');
      await reset({ channel: 'email', email: account.email }).expect(200);
      await smsLogin(other.phone, otherCode).expect(200);
    });

    it('burns a code after 5 wrong tries; 4 wrong tries still leave it usable', async () => {
      const first = await phoneUser(t);
      await requestSmsCode(t, first.phone, 'login');
      const code = lastCode(t, first.phone, 'login')!;
      const wrong = code === '000000' ? '111111' : '000000';
      for (let i = 0; i < 4; i++) expect((await smsLogin(first.phone, wrong)).body.error).toBe('CODE_INVALID');
      await smsLogin(first.phone, code).expect(200);

      const second = await phoneUser(t);
      await requestSmsCode(t, second.phone, 'login');
      const secondCode = lastCode(t, second.phone, 'login')!;
      const secondWrong = secondCode === '000000' ? '111111' : '000000';
      for (let i = 0; i < 5; i++) expect((await smsLogin(second.phone, secondWrong)).body.error).toBe('CODE_INVALID');
      expect((await smsLogin(second.phone, secondCode)).body.error).toBe('CODE_EXPIRED');
    });
  });

  describe('Codes: count before compare — each try is counted atomically before the code is compared, so of any parallel burst at most CODE_MAX_ATTEMPTS (5) are ever compared, on every code-checking route', () => {
    /**
     * Fires `size` guesses at once (distinct wrong codes, the right one at `rightAt`) and sorts the
     * answers: a compared guess answers CODE_INVALID (wrong) or 2xx (right); a refused one CODE_EXPIRED.
     */
    async function guessBurst(send: (code: string) => Promise<{ status: number; body: { error?: string } }>, code: string, size: number, rightAt: number) {
      const guesses = Array.from({ length: size }, (_, i) => (i === rightAt ? code : String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0')));
      const answers = await Promise.all(guesses.map((guess) => send(guess)));
      const compared = answers.filter((answer) => answer.body.error === 'CODE_INVALID' || answer.status < 300);
      const refused = answers.filter((answer) => answer.body.error === 'CODE_EXPIRED');
      return { compared: compared.length, refused: refused.length, succeeded: answers[rightAt].status < 300, other: answers.filter((a) => !compared.includes(a) && !refused.includes(a)).map((a) => [a.status, a.body.error]) };
    }

    it('compares at most 5 of 300 parallel password-reset guesses for one email; the right code at position 150 does not reset the password', async () => {
      const account = await signUp(t);
      await requestEmailCode(t, account.email, 'reset_password');
      const code = lastCode(t, account.email, 'reset_password')!;
      const burst = await guessBurst((guess) => t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code: guess, newPassword: 'taken over phrase 9' }), code, 300, 150);
      expect(burst.other).toEqual([]);
      expect(burst.compared).toBeLessThanOrEqual(5);
      expect(burst.compared + burst.refused).toBe(300);
      // The right guess could only have won inside one of the 5 slots; sent 150th, it did not get one.
      expect(burst.succeeded).toBe(false);
      await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(200);
      // And the code is dead now: 5 wrong tries were compared.
      expect((await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code, newPassword: 'taken over phrase 9' })).body.error).toBe('CODE_EXPIRED');
    });

    it.each([
      ['SMS sign-in', async () => {
        const { phone } = await phoneUser(t);
        await requestSmsCode(t, phone, 'login');
        return { code: lastCode(t, phone, 'login')!, send: (code: string) => smsLogin(phone, code) };
      }],
      ['phone sign-up', async () => {
        const phone = uniquePhone();
        await requestSmsCode(t, phone, 'register');
        return { code: lastCode(t, phone, 'register')!, send: (smsCode: string) => t.http.post('/api/v1/users/phone').send({ phone, smsCode }) };
      }],
      ['email change', async () => {
        const { auth } = await signedInUser(t);
        const email = `burst_${randomUUID()}@example.com`;
        await requestEmailCode(t, email, 'change_email');
        return { code: lastCode(t, email, 'change_email')!, send: (code: string) => t.http.put('/api/v1/users/me/email').set(auth).send({ email, code }) };
      }],
      ['phone change', async () => {
        const { auth } = await signedInUser(t);
        const phone = uniquePhone();
        await requestSmsCode(t, phone, 'change_phone');
        return { code: lastCode(t, phone, 'change_phone')!, send: (code: string) => t.http.put('/api/v1/users/me/phone').set(auth).send({ phone, code }) };
      }],
      ['deletion by code', async () => {
        const { phone } = await phoneUser(t);
        await requestSmsCode(t, phone, 'login');
        const { accessToken } = (await smsLogin(phone, lastCode(t, phone, 'login')).expect(200)).body.data;
        await t.passTime(61_000);
        await requestSmsCode(t, phone, 'login');
        return { code: lastCode(t, phone, 'login')!, send: (code: string) => t.http.delete('/api/v1/users/me').set('Authorization', `Bearer ${accessToken}`).send({ code }) };
      }],
      ['password reset by SMS', async () => {
        const { phone } = await phoneUser(t, { password: DEFAULT_PASSWORD });
        await requestSmsCode(t, phone, 'reset_password');
        return { code: lastCode(t, phone, 'reset_password')!, send: (code: string) => t.http.post('/api/v1/auth/password-reset').send({ channel: 'sms', phone, code, newPassword: 'taken over phrase 9' }) };
      }],
    ])('%s: of 60 parallel guesses at most 5 are compared, and the right one sent last does not pass', async (_route, prepare) => {
      const { code, send } = await prepare();
      const burst = await guessBurst(send, code, 60, 59);
      expect(burst.other).toEqual([]);
      expect(burst.compared).toBeLessThanOrEqual(5);
      expect(burst.succeeded).toBe(false);
      expect((await send(code)).body.error).toBe('CODE_EXPIRED');
    });

    it('still lets the right code through among 4 parallel wrong ones (the 5 allowed tries), once', async () => {
      const { phone } = await phoneUser(t);
      await requestSmsCode(t, phone, 'login');
      const code = lastCode(t, phone, 'login')!;
      const wrong = code === '000000' ? '111111' : '000000';
      const answers = await Promise.all([code, wrong, wrong, wrong, wrong].map((guess) => smsLogin(phone, guess)));
      expect(answers.map((answer) => answer.status).sort()).toEqual([200, 400, 400, 400, 400]);
      expect((await smsLogin(phone, code)).body.error).toBe('CODE_EXPIRED');
    });
  });

  describe('Codes: resend cooldown 60 s per recipient and purpose; 10 per recipient per day, 20 per IP per hour; SMS only to allowed country codes (default +86 and configurable), and a global daily SMS budget', () => {
    it('refuses a resend within 60 s (429 + Retry-After) for the same recipient and purpose only, then allows it', async () => {
      const phone = uniquePhone();
      expect((await requestSmsCode(t, phone, 'register')).status).toBe(202);
      const early = await requestSmsCode(t, phone, 'register');
      expect([early.status, early.body.error]).toEqual([429, 'TOO_MANY_REQUESTS']);
      expect(Number(early.headers['retry-after'])).toBeGreaterThan(50);
      expect(Number(early.headers['retry-after'])).toBeLessThanOrEqual(60);
      // Another purpose for the same number, and another number, are not held back.
      expect((await requestSmsCode(t, phone, 'change_phone')).status).toBe(202);
      expect((await requestSmsCode(t, uniquePhone(), 'register')).status).toBe(202);
      await t.passTime(61_000);
      expect((await requestSmsCode(t, phone, 'register')).status).toBe(202);
    });

    it('answers 202 before delivery even when the transport fails: the failure is logged and counted, the code dropped, the cooldown kept', async () => {
      const logger = new CaptureLogger();
      const failing = await createTestApp({ OUTBOX_FILE: '/' }, { logger }); // the log transport cannot write: every delivery fails
      try {
        const phone = uniquePhone();
        const first = await requestSmsCode(failing, phone, 'register');
        expect(first.status).toBe(202);
        expect(await codeOutcomes(failing, 'sms', 'register', 'failed')).toBe(1);
        expect(logger.text()).toMatch(/Delivery of sms purpose=register to .* failed/);
        expect(logger.text()).not.toContain(phone.slice(3));
        // The code that never went out is gone: nothing is pending for this number.
        expect((await failing.http.post('/api/v1/users/phone').send({ phone, smsCode: '123456' })).body.error).toBe('CODE_EXPIRED');
        const second = await requestSmsCode(failing, phone, 'register');
        expect([second.status, second.body.error]).toEqual([429, 'TOO_MANY_REQUESTS']);
        await failing.passTime(61_000);
        expect((await requestSmsCode(failing, phone, 'register')).status).toBe(202);
      } finally {
        await failing.close();
      }
    });

    it('caps codes at 10 per recipient per day and 20 per client IP per hour (the defaults); refused requests do not count', async () => {
      const limited = await createTestApp({ CODE_PER_IP_PER_HOUR: '', CODE_PER_IP_PER_DAY: '' });
      try {
        const phone = uniquePhone();
        for (let i = 0; i < 10; i++) {
          expect([i, (await requestSmsCode(limited, phone, i % 2 ? 'register' : 'change_phone')).status]).toEqual([i, 202]);
          await limited.passTime(61_000);
        }
        const perRecipient = await requestSmsCode(limited, phone, 'register');
        expect([perRecipient.status, perRecipient.body.error]).toEqual([429, 'TOO_MANY_REQUESTS']);
        expect(Number(perRecipient.headers['retry-after'])).toBeGreaterThan(23 * 3600);
        // 10 codes this hour from this IP: 10 more recipients reach the hourly cap of 20.
        for (let i = 0; i < 10; i++) expect((await requestEmailCode(limited, `cap_${i}_${randomUUID()}@example.com`, 'register')).status).toBe(202);
        const perIp = await requestEmailCode(limited, `cap_over_${randomUUID()}@example.com`, 'register');
        expect([perIp.status, perIp.body.error]).toEqual([429, 'TOO_MANY_REQUESTS']);
        expect(Number(perIp.headers['retry-after'])).toBeLessThanOrEqual(3600);
        // A new hour: the IP may send again, the recipient still not until its day is over.
        await limited.passTime(3600_000);
        expect((await requestSmsCode(limited, uniquePhone(), 'register')).status).toBe(202);
        expect((await requestSmsCode(limited, phone, 'register')).status).toBe(429);
        await limited.passTime(24 * 3600_000);
        expect((await requestSmsCode(limited, phone, 'register')).status).toBe(202);
      } finally {
        await limited.close();
      }
    });

    it('sends SMS only to +86 by default: other countries get 400 PHONE_NOT_ALLOWED and nothing is sent', async () => {
      const sentBefore = outbox(t).length;
      for (const phone of ['+14155552671', '+447911123456', '+85291234567']) {
        const response = await requestSmsCode(t, phone, 'register');
        expect([phone, response.status, response.body.error]).toEqual([phone, 400, 'PHONE_NOT_ALLOWED']);
      }
      expect(outbox(t).slice(sentBefore)).toEqual([]);
      expect((await requestSmsCode(t, uniquePhone(), 'register')).status).toBe(202);
    });

    it('sends SMS to the countries SMS_ALLOWED_COUNTRY_CODES names, and only those', async () => {
      const abroad = await createTestApp({ SMS_ALLOWED_COUNTRY_CODES: '+852,1' });
      try {
        for (const phone of ['+85291234567', '+14155552671']) {
          expect((await requestSmsCode(abroad, phone, 'register')).status).toBe(202);
          expect(lastCode(abroad, phone, 'register')).toMatch(/^\d{6}$/);
        }
        expect((await requestSmsCode(abroad, uniquePhone(), 'register')).body.error).toBe('PHONE_NOT_ALLOWED');
      } finally {
        await abroad.close();
      }
    });

    it('stops SMS for the day once the global SMS budget is spent (mail still goes), and sends again the next day', async () => {
      const budget = await createTestApp({ SMS_DAILY_BUDGET: '1' });
      try {
        expect((await requestSmsCode(budget, uniquePhone(), 'register')).status).toBe(202);
        const over = await requestSmsCode(budget, uniquePhone(), 'register');
        expect([over.status, over.body.error]).toEqual([429, 'TOO_MANY_REQUESTS']);
        expect((await requestEmailCode(budget, `budget_${Date.now()}@example.com`, 'register')).status).toBe(202);
        await budget.passTime(24 * 3600_000);
        expect((await requestSmsCode(budget, uniquePhone(), 'register')).status).toBe(202);
      } finally {
        await budget.close();
      }
    });
  });

  describe('A switched-off feature sends nothing: reset and sign-up codes answer 403 PASSWORD_RESET_DISABLED / REGISTRATION_DISABLED while the switch is off', () => {
    it('sends no reset code, by email or SMS, when PASSWORD_RESET_ENABLED=false (and other codes still go)', async () => {
      const off = await createTestApp({ PASSWORD_RESET_ENABLED: 'false' });
      try {
        const account = await userWithEmailAndPhone(off);
        const before = outbox(off).length;
        for (const response of [await requestEmailCode(off, account.email, 'reset_password'), await requestSmsCode(off, account.phone, 'reset_password'), await requestEmailCode(off, 'nobody@example.com', 'reset_password')]) {
          expect([response.status, response.body.error]).toEqual([403, 'PASSWORD_RESET_DISABLED']);
        }
        expect(outbox(off).length).toBe(before);
        // The refusal comes before the captcha, which stays usable; other purposes are untouched.
        const captcha = await solvedCaptcha(off);
        await off.http.post('/api/v1/verification/email-codes').send({ email: account.email, purpose: 'reset_password', ...captcha }).expect(403);
        expect((await off.http.post('/api/v1/verification/sms-codes').send({ phone: account.phone, purpose: 'login', ...captcha })).status).toBe(202);
      } finally {
        await off.close();
      }
    });

    it('sends no sign-up code, by SMS or email, when REGISTRATION_ENABLED=false (and sign-in codes still go)', async () => {
      const off = await createTestApp({ REGISTRATION_ENABLED: 'false' });
      try {
        const phone = uniquePhone();
        for (const response of [await requestSmsCode(off, phone, 'register'), await requestEmailCode(off, `closed_${randomUUID()}@example.com`, 'register')]) {
          expect([response.status, response.body.error]).toEqual([403, 'REGISTRATION_DISABLED']);
        }
        expect(outbox(off)).toEqual([]);
        expect((await off.http.post('/api/v1/users/phone').send({ phone, smsCode: '123456' })).body.error).toBe('REGISTRATION_DISABLED');
        expect((await requestSmsCode(off, uniquePhone(), 'login')).status).toBe(202);
      } finally {
        await off.close();
      }
    });
  });
});
