import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { lastCode, outbox, phoneUser, requestEmailCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { DEFAULT_PASSWORD, signedInUser, signIn, signUp, signUpBody, solvedCaptcha } from '../factories/users';
import { httpGateway } from '../helpers/http-gateway';
import { createTestApp, TestApp } from '../helpers/test-app';

/** An answer as a client sees it, minus the request id; whether a Retry-After came with it. */
const seen = (response: Response) => ({ status: response.status, body: { ...response.body, requestId: undefined }, retryAfter: response.headers['retry-after'] !== undefined });

/** shared/SECURITY.md, "Sign-in throttling and enumeration": each requirement proven over HTTP against the real app. */
describe('SECURITY: Sign-in throttling and enumeration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('Failures are counted per account (not only per IP): captcha after 3, a 15-minute lock after 10 (429 with Retry-After), at most 100 failures per account per hour. A locked account can still reset its password. X-Forwarded-For is trusted only from configured proxies', () => {
    const fail = (identifier: string, extra: Record<string, unknown> = {}, ip = '10.0.0.1') =>
      t.http.post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ identifier, password: 'wrong password!', ...extra });

    it('requires a captcha after 3 failures, and a success resets the count', async () => {
      const account = await signUp(t);
      for (let i = 0; i < 3; i++) expect((await fail(account.username)).status).toBe(401);
      const blocked = await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(400);
      expect(blocked.body.error).toBe('CAPTCHA_REQUIRED');
      await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(t)) }).expect(200);
      expect((await fail(account.username)).status).toBe(401);
    });

    it('locks the account for 15 minutes after 10 failures (429 + Retry-After), across identifiers', async () => {
      const account = await signUp(t);
      for (let i = 0; i < 10; i++) {
        const identifier = i % 2 ? account.username : account.email;
        const response = await fail(identifier, await solvedCaptcha(t));
        expect(response.status).toBe(401);
      }
      const locked = await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(t)) }).expect(429);
      expect(locked.body.error).toBe('TOO_MANY_REQUESTS');
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
      await t.passTime(15 * 60_000 + 1000);
      await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(t)) }).expect(200);
    });

    it('locks again after the first lock runs out: ten more failures lock it for another 15 minutes', async () => {
      const account = await signUp(t);
      const attempt = async (password: string) => t.http.post('/api/v1/auth/login').send({ identifier: account.username, password, ...(await solvedCaptcha(t)) });
      for (let cycle = 1; cycle <= 2; cycle++) {
        for (let i = 0; i < 10; i++) expect([cycle, i, (await attempt('wrong password!')).status]).toEqual([cycle, i, 401]);
        const locked = await attempt(DEFAULT_PASSWORD);
        expect([cycle, locked.status, locked.body.error]).toEqual([cycle, 429, 'TOO_MANY_REQUESTS']);
        await t.passTime(15 * 60_000 + 1000);
      }
      await attempt(DEFAULT_PASSWORD).then((response) => expect(response.status).toBe(200));
    });

    it('treats unknown identifiers the same way (captcha after 3)', async () => {
      for (let i = 0; i < 3; i++) expect((await fail('ghost_account_1')).status).toBe(401);
      expect((await fail('ghost_account_1')).body.error).toBe('CAPTCHA_REQUIRED');
    });

    it('Lock after 10 failures holds across rotating X-Forwarded-For values (counted per account, not per IP)', async () => {
      const behindProxy = await createTestApp({ TRUSTED_PROXIES: 'loopback' });
      try {
        const account = await signUp(behindProxy);
        for (let i = 0; i < 10; i++) {
          const response = await behindProxy.http
            .post('/api/v1/auth/login')
            .set('X-Forwarded-For', `198.51.100.${i + 1}`)
            .send({ identifier: account.username, password: 'wrong password!', ...(await solvedCaptcha(behindProxy)) });
          expect(response.status).toBe(401);
        }
        const locked = await behindProxy.http
          .post('/api/v1/auth/login')
          .set('X-Forwarded-For', '203.0.113.99')
          .send({ identifier: account.username, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(behindProxy)) });
        expect(locked.status).toBe(429);
        expect(locked.headers['retry-after']).toBeDefined();
      } finally {
        await behindProxy.close();
      }
    });

    it('X-Forwarded-For is trusted only from configured proxies', async () => {
      const attempt = (app: TestApp, i: number) =>
        app.http.post('/api/v1/auth/login').set('X-Forwarded-For', `198.51.100.${i}`).send({ identifier: `nobody_${i}_x`, password: 'wrong password!' });
      const direct = await createTestApp({ LOGIN_PER_IP_PER_MINUTE: '3' });
      const proxied = await createTestApp({ LOGIN_PER_IP_PER_MINUTE: '3', TRUSTED_PROXIES: 'loopback' });
      try {
        // Not trusted: every request counts against the connecting address, whatever the header says.
        const directStatuses = [];
        for (let i = 1; i <= 4; i++) directStatuses.push((await attempt(direct, i)).status);
        expect(directStatuses).toEqual([401, 401, 401, 429]);
        // Trusted: each forwarded client has its own budget.
        const proxiedStatuses = [];
        for (let i = 1; i <= 4; i++) proxiedStatuses.push((await attempt(proxied, i)).status);
        expect(proxiedStatuses).toEqual([401, 401, 401, 401]);
      } finally {
        await direct.close();
        await proxied.close();
      }
    });

    it('At most 100 failures per account per hour', async () => {
      const capped = await createTestApp({ LOGIN_CAPTCHA_AFTER: '1000', LOGIN_LOCK_AFTER: '1000' });
      try {
        const account = await signUp(capped);
        const fail = () => capped.http.post('/api/v1/auth/login').send({ identifier: account.username, password: 'wrong password!' });
        for (let i = 0; i < 100; i++) expect((await fail()).status).toBe(401);
        const blocked = await capped.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD });
        expect(blocked.status).toBe(429);
        expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(15 * 60);
      } finally {
        await capped.close();
      }
    });

    it('Counted per IP too: 429 with Retry-After past LOGIN_PER_IP_PER_MINUTE attempts from one IP, for a minute', async () => {
      const perIp = await createTestApp({ LOGIN_PER_IP_PER_MINUTE: '5', TRUSTED_PROXIES: '127.0.0.1,::1' });
      try {
        const attempt = (ip: string, identifier: string, password = 'wrong password!') =>
          perIp.http.post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ identifier, password });
        const accounts = await Promise.all(Array.from({ length: 6 }, () => signUp(perIp)));
        // Different identifiers, so the per-account counters stay low: only the IP limit can trip.
        for (let i = 0; i < 5; i++) expect((await attempt('198.51.100.7', accounts[i].username)).status).toBe(401);
        const limited = await attempt('198.51.100.7', accounts[5].username, DEFAULT_PASSWORD).expect(429);
        expect(limited.body.error).toBe('TOO_MANY_REQUESTS');
        const retryAfter = Number(limited.headers['retry-after']);
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
        // Another client IP is not affected.
        await attempt('198.51.100.8', accounts[5].username, DEFAULT_PASSWORD).expect(200);
        await perIp.passTime(61_000);
        await attempt('198.51.100.7', accounts[5].username, DEFAULT_PASSWORD).expect(200);
      } finally {
        await perIp.close();
      }
    });

    it('Wrong current passwords count towards the same lock: password change, deletion and contact changes cannot be used to guess', async () => {
      const user = await signedInUser(t);
      const wrong = 'wrong password!';
      const guesses = [
        () => t.http.put('/api/v1/users/me/password').set(user.auth).send({ oldPassword: wrong, newPassword: 'amber meadow 77' }),
        () => t.http.delete('/api/v1/users/me').set(user.auth).send({ password: wrong }),
        () => t.http.put('/api/v1/users/me/email').set(user.auth).send({ email: `guess_${randomUUID()}@example.com`, code: '123456', password: wrong }),
      ];
      for (let i = 0; i < 10; i++) expect([i, (await guesses[i % 3]()).body.error]).toEqual([i, 'PASSWORD_INCORRECT']);
      // Locked now: even the right password is refused, here and at sign-in.
      const change = await t.http.put('/api/v1/users/me/password').set(user.auth).send({ oldPassword: user.password, newPassword: 'amber meadow 77' });
      expect([change.status, change.body.error, change.headers['retry-after'] !== undefined]).toEqual([429, 'TOO_MANY_REQUESTS', true]);
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: user.password, ...(await solvedCaptcha(t)) })).status).toBe(429);
    });

    it('A locked account can still reset its password (by SMS here), and the reset lifts the lock', async () => {
      const { phone } = await phoneUser(t, { password: DEFAULT_PASSWORD });
      for (let i = 0; i < 10; i++) {
        await t.http.post('/api/v1/auth/login').send({ identifier: phone, password: 'wrong password!', ...(await solvedCaptcha(t)) });
      }
      await t.http.post('/api/v1/auth/login').send({ identifier: phone, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(t)) }).expect(429);
      expect((await requestSmsCode(t, phone, 'reset_password')).status).toBe(202);
      await t.http.post('/api/v1/auth/password-reset').send({ channel: 'sms', phone, code: lastCode(t, phone, 'reset_password'), newPassword: 'fresh start phrase 3' }).expect(200);
      await t.http.post('/api/v1/auth/login').send({ identifier: phone, password: 'fresh start phrase 3' }).expect(200);
    });
  });

  describe('Unknown user, wrong password, locked and disabled answer alike (same status, body and about the same time — hash a dummy password for unknown users). Reset-code requests answer alike for known and unknown addresses, including their cooldowns. Public usernames cannot hide existence: sign-up is protected by captcha and rate limits instead', () => {
    it('Unknown user, wrong password and disabled answer alike: same status, same body, about the same time', async () => {
      // bcrypt dominates each answer; a cost of 8 makes it large against scheduling noise.
      const timed = await createTestApp({ BCRYPT_COST: '8', LOGIN_CAPTCHA_AFTER: '1000', LOGIN_LOCK_AFTER: '1000', LOGIN_MAX_FAILURES_PER_HOUR: '100000' });
      try {
        const known = await signUp(timed);
        const disabled = await signUp(timed);
        await timed.db.query("UPDATE users SET status = 'disabled' WHERE id = ?", [disabled.user.id]);
        const cases = {
          unknown: { identifier: 'no_such_account_here', password: 'wrong password!' },
          wrong: { identifier: known.username, password: 'wrong password!' },
          disabled: { identifier: disabled.username, password: disabled.password },
        };
        const samples: Record<string, number[]> = { unknown: [], wrong: [], disabled: [] };
        const bodies = new Set<string>();
        for (let round = 0; round < 50; round++) {
          for (const [name, body] of Object.entries(cases)) {
            // The faster of two tries: a pre-empted request measures the machine, not the service.
            let fastest = Infinity;
            for (let attempt = 0; attempt < 2; attempt++) {
              const started = process.hrtime.bigint();
              const response = await timed.http.post('/api/v1/auth/login').send(body);
              fastest = Math.min(fastest, Number(process.hrtime.bigint() - started) / 1e6);
              expect(response.status).toBe(401);
              bodies.add(JSON.stringify({ ...response.body, requestId: undefined }));
            }
            samples[name].push(fastest);
          }
        }
        expect(bodies.size).toBe(1);
        // Each round's three answers are compared with that round's mean, so load that drifts during the
        // run (other test files, other processes) cancels out; the median ratio per case is then compared.
        const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
        const names = Object.keys(samples);
        const ratios = names.map((name) =>
          median(samples[name].map((value, round) => value / (names.reduce((sum, other) => sum + samples[other][round], 0) / names.length))),
        );
        const spread = (Math.max(...ratios) - Math.min(...ratios)) / Math.min(...ratios);
        expect(spread).toBeLessThan(0.1);
      } finally {
        await timed.close();
      }
    }, 60_000);

    it('Locked answers do not tell known accounts from unknown ones, nor a right password from a wrong one', async () => {
      const account = await signUp(t);
      const answers = [];
      for (const identifier of [account.username, 'ghost_for_lock_1']) {
        for (let i = 0; i < 10; i++) {
          await t.http.post('/api/v1/auth/login').send({ identifier, password: 'wrong password!', ...(await solvedCaptcha(t)) });
        }
        for (const password of ['wrong password!', DEFAULT_PASSWORD]) {
          answers.push(seen(await t.http.post('/api/v1/auth/login').send({ identifier, password, ...(await solvedCaptcha(t)) })));
        }
      }
      expect(answers[0]).toMatchObject({ status: 429, body: { error: 'TOO_MANY_REQUESTS' }, retryAfter: true });
      expect(answers).toEqual([answers[0], answers[0], answers[0], answers[0]]);
    });

    describe('Reset-code requests answer alike for known and unknown addresses, including their cooldowns', () => {
      it('answers alike by email and by SMS: the first request 202, the next one 429 within the cooldown', async () => {
        const known = await signUp(t);
        const { phone } = await phoneUser(t);
        const channels = [
          { send: requestEmailCode, known: known.email, unknown: `nobody_${Date.now()}@example.com` },
          { send: requestSmsCode, known: phone, unknown: uniquePhone() },
        ];
        for (const channel of channels) {
          const first = [seen(await channel.send(t, channel.known, 'reset_password')), seen(await channel.send(t, channel.unknown, 'reset_password'))];
          const again = [seen(await channel.send(t, channel.known, 'reset_password')), seen(await channel.send(t, channel.unknown, 'reset_password'))];
          expect(first[0]).toMatchObject({ status: 202 });
          expect(first[1]).toEqual(first[0]);
          expect(again[0]).toMatchObject({ status: 429, retryAfter: true });
          expect(again[1]).toEqual(again[0]);
          // Only the real account received a code.
          expect(lastCode(t, channel.known, 'reset_password')).toBeDefined();
          expect(lastCode(t, channel.unknown, 'reset_password')).toBeUndefined();
        }
      });

      it('keeps the cooldown of a known address whose delivery failed, as an unknown one keeps it', async () => {
        const failing = await createTestApp({ OUTBOX_FILE: '/' }); // the log transport cannot write: every delivery fails
        try {
          const known = await signUp(failing);
          const unknown = `nobody_${Date.now()}@example.com`;
          const first = [seen(await requestEmailCode(failing, known.email, 'reset_password')), seen(await requestEmailCode(failing, unknown, 'reset_password'))];
          expect(first).toEqual([expect.objectContaining({ status: 202 }), first[0]]);
          const again = [seen(await requestEmailCode(failing, known.email, 'reset_password')), seen(await requestEmailCode(failing, unknown, 'reset_password'))];
          expect(again).toEqual([expect.objectContaining({ status: 429 }), again[0]]);
          const metrics = await failing.http.get('/metrics').expect(200);
          expect(metrics.text).toMatch(/user_centre_codes_sent_total\{channel="email",purpose="reset_password",outcome="failed"\} 1/);
        } finally {
          await failing.close();
        }
      });

      it('answers reset and sign-in code requests before delivery, so a slow gateway reveals no account', async () => {
        let mode: 'ok' | 'hang' = 'ok';
        const gateway = await httpGateway(() => (mode === 'ok' ? { status: 200, body: '{}' } : null));
        const slow = await createTestApp({ SMS_TRANSPORT: 'http', SMS_HTTP_URL: gateway.url, SMS_TIMEOUT_MS: '2000' });
        try {
          const phone = uniquePhone();
          await requestSmsCode(slow, phone, 'register');
          const smsCode = JSON.parse(gateway.received[0].body).code;
          await slow.http.post('/api/v1/users/phone').send({ phone, smsCode }).expect(201);
          mode = 'hang';
          for (const purpose of ['reset_password', 'login']) {
            const started = Date.now();
            const known = await requestSmsCode(slow, phone, purpose);
            expect([purpose, known.status]).toEqual([purpose, 202]);
            expect(Date.now() - started).toBeLessThan(1500); // the hanging gateway (2 s bound) was not waited for
            expect(seen(await requestSmsCode(slow, uniquePhone(), purpose))).toEqual(seen(known));
          }
          expect(gateway.received).toHaveLength(3); // but both codes did go out
        } finally {
          await slow.close();
          await gateway.close();
        }
      });
    });

    describe('Public usernames cannot hide existence: sign-up is protected by captcha and rate limits instead', () => {
      it('tells a taken username or email only to a solved captcha', async () => {
        const taken = await signUp(t);
        for (const body of [signUpBody({ username: taken.username }), signUpBody({ email: taken.email })]) {
          expect((await t.http.post('/api/v1/users').send(body).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
          const { captchaId } = await solvedCaptcha(t);
          expect((await t.http.post('/api/v1/users').send({ ...body, captchaId, captchaText: 'wrong' }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
          expect((await t.http.post('/api/v1/users').send({ ...body, ...(await solvedCaptcha(t)) }).expect(409)).body.error).toMatch(/^(USERNAME|EMAIL)_TAKEN$/);
        }
      });

      it('limits sign-up attempts per client IP (REGISTRATION_PER_IP_PER_HOUR, 30 by default): then 429 with Retry-After, for the hour', async () => {
        const limited = await createTestApp({ REGISTRATION_PER_IP_PER_HOUR: '' });
        try {
          const attempt = async (body = signUpBody()) => limited.http.post('/api/v1/users').send({ ...body, ...(await solvedCaptcha(limited)) });
          const taken = await signUp(limited);
          // Every attempt counts, conflicts and wrong captchas too, on both sign-up routes.
          for (let i = 0; i < 25; i++) expect((await attempt()).status).toBe(201);
          expect((await attempt(signUpBody({ username: taken.username }))).status).toBe(409);
          expect((await limited.http.post('/api/v1/users').send({ ...signUpBody(), captchaId: (await solvedCaptcha(limited)).captchaId, captchaText: 'wrong' })).status).toBe(400);
          expect((await limited.http.post('/api/v1/users/phone').send({ phone: uniquePhone(), smsCode: '123456' })).status).toBe(400);
          expect((await attempt()).status).toBe(201);
          const over = await attempt();
          expect([over.status, over.body.error]).toEqual([429, 'TOO_MANY_REQUESTS']);
          expect(Number(over.headers['retry-after'])).toBeGreaterThan(3000);
          expect((await limited.http.post('/api/v1/users/phone').send({ phone: uniquePhone(), smsCode: '123456' })).status).toBe(429);
          await limited.passTime(3600_000);
          expect((await attempt()).status).toBe(201);
        } finally {
          await limited.close();
        }
      });

      it('phone sign-up does not tell a taken number from a free one: the code is checked first', async () => {
        const { phone } = await phoneUser(t);
        const free = uniquePhone();
        const signUpWith = (number: string, smsCode: string) => t.http.post('/api/v1/users/phone').send({ phone: number, smsCode });
        // No code pending for either.
        const idle = [seen(await signUpWith(phone, '123456')), seen(await signUpWith(free, '123456'))];
        expect(idle).toEqual([expect.objectContaining({ status: 400, body: expect.objectContaining({ error: 'CODE_EXPIRED' }) }), idle[0]]);
        // A code requested for both: only the free number receives one; a guess fails alike.
        await t.passTime(61_000);
        const sentBefore = outbox(t).length;
        expect([(await requestSmsCode(t, phone, 'register')).status, (await requestSmsCode(t, free, 'register')).status]).toEqual([202, 202]);
        expect(outbox(t).slice(sentBefore).map((entry) => entry.to)).toEqual([free]);
        const guess = lastCode(t, free, 'register') === '000000' ? '111111' : '000000';
        const guessed = [seen(await signUpWith(phone, guess)), seen(await signUpWith(free, guess))];
        expect(guessed).toEqual([expect.objectContaining({ status: 400, body: expect.objectContaining({ error: 'CODE_INVALID' }) }), guessed[0]]);
      });

      it('email and phone changes do not tell a taken address from a free one: the code is checked first', async () => {
        const owner = await phoneUser(t);
        const other = await signUp(t);
        const caller = await signUp(t);
        const { accessToken } = await signIn(t, caller.username);
        const change = (field: 'email' | 'phone', value: string) => t.http.put(`/api/v1/users/me/${field}`).set('Authorization', `Bearer ${accessToken}`).send({ [field]: value, code: '123456' });
        const email = [seen(await change('email', other.email)), seen(await change('email', `free_${Date.now()}@example.com`))];
        expect(email).toEqual([expect.objectContaining({ status: 400, body: expect.objectContaining({ error: 'CODE_EXPIRED' }) }), email[0]]);
        const phone = [seen(await change('phone', owner.phone)), seen(await change('phone', uniquePhone()))];
        expect(phone).toEqual([email[0], email[0]]);
      });
    });
  });
});
