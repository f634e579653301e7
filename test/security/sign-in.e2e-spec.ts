import { randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import { lastCode, outbox, phoneUser, requestEmailCode, requestSmsCode, uniquePhone } from '../factories/codes';
import { DEFAULT_PASSWORD, signedInUser, signIn, signUp, signUpBody, solvedCaptcha, verifyEmail } from '../factories/users';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { httpGateway } from '../helpers/http-gateway';
import { createTestApp, TestApp } from '../helpers/test-app';

/** An answer as a client sees it, minus the request id; whether a Retry-After came with it. */
const seen = (response: Response) => ({ status: response.status, body: { ...response.body, requestId: undefined }, retryAfter: response.headers['retry-after'] !== undefined });

/** Waits (a few seconds at most) for something a background delivery does. */
async function until(condition: () => boolean): Promise<void> {
  for (let waited = 0; waited < 5000 && !condition(); waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
}

/** SECURITY.md, "Sign-in throttling and enumeration": each requirement proven over HTTP against the real app. */
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

    it('locks the account for 15 minutes after 10 failures (429 + Retry-After on the identifier used; its other identifiers answer as a wrong password would), and locks again after 10 more', async () => {
      const account = await signUp(t);
      const right = async (identifier: string) => t.http.post('/api/v1/auth/login').send({ identifier, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(t)) });
      for (let cycle = 0; cycle < 2; cycle++) {
        for (let i = 0; i < 10; i++) expect([cycle, i, (await fail(account.username, await solvedCaptcha(t))).status]).toEqual([cycle, i, 401]);
        const locked = await right(account.username);
        expect([locked.status, locked.body.error]).toEqual([429, 'TOO_MANY_REQUESTS']);
        expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
        // The account is locked for every identifier, but the email does not say so: it answers as a wrong password.
        const byEmail = await right(account.email);
        expect([byEmail.status, byEmail.body.error, byEmail.headers['retry-after']]).toEqual([401, 'INVALID_CREDENTIALS', undefined]);
        await t.passTime(15 * 60_000 + 1000);
        // The first lock expired: still a captcha, and 10 more failures lock it again.
        if (cycle === 0) expect((await fail(account.username)).body.error).toBe('CAPTCHA_REQUIRED');
      }
      expect((await right(account.username)).status).toBe(200);
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

    it('At most 100 failures per account per hour, over all its identifiers; past them even the right password answers as a wrong one, uncompared, until the hour is over', async () => {
      const capped = await createTestApp({ LOGIN_CAPTCHA_AFTER: '1000', LOGIN_LOCK_AFTER: '1000' });
      try {
        const account = await signUp(capped);
        const fail = (i: number) => capped.http.post('/api/v1/auth/login').send({ identifier: i % 2 ? account.username : account.email, password: 'wrong password!' });
        for (let i = 0; i < 100; i++) expect((await fail(i)).status).toBe(401);
        const blocked = await capped.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD });
        expect([blocked.status, blocked.body.error, blocked.headers['retry-after']]).toEqual([401, 'INVALID_CREDENTIALS', undefined]);
        const audited = await capped.db.query(`SELECT detail FROM audit_events WHERE user_id = ? AND type = 'sign_in' ORDER BY created_at DESC LIMIT 1`, [account.user.id]);
        expect(JSON.parse(audited[0].detail)).toEqual({ reason: 'account_locked' });
        await capped.passTime(3600_000);
        await capped.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(200);
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
      // Locked now: even the right password is refused, here (429) and at sign-in (as a wrong password, so no identifier tells).
      const change = await t.http.put('/api/v1/users/me/password').set(user.auth).send({ oldPassword: user.password, newPassword: 'amber meadow 77' });
      expect([change.status, change.body.error, change.headers['retry-after'] !== undefined]).toEqual([429, 'TOO_MANY_REQUESTS', true]);
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: user.password, ...(await solvedCaptcha(t)) })).body.error).toBe('INVALID_CREDENTIALS');
      const locks = await t.db.query(`SELECT actor_id FROM audit_events WHERE user_id = ? AND type = 'account_locked'`, [user.user.id]);
      expect(locks).toEqual([{ actor_id: user.user.id }]);
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

  describe('Count before compare at sign-in: each attempt is counted as a failure before the password is compared (and given back on success), so a parallel burst is judged as if its requests had come one by one', () => {
    const login = (app: TestApp, body: Record<string, unknown>, ip?: string) => {
      const request = app.http.post('/api/v1/auth/login');
      if (ip) request.set('X-Forwarded-For', ip);
      return request.send(body);
    };
    /** Compared answers are 401 INVALID_CREDENTIALS or 200; everything else was refused before bcrypt. */
    const tally = (answers: Response[]) => {
      const counts: Record<string, number> = {};
      for (const answer of answers) counts[answer.status === 200 ? 'ok' : answer.body.error] = (counts[answer.status === 200 ? 'ok' : answer.body.error] ?? 0) + 1;
      return counts;
    };
    /** How many of this account's sign-in failures were real password comparisons (audited as wrong_password). */
    const comparedFailures = async (app: TestApp, userId: string) =>
      Number((await app.db.query(`SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = 'sign_in' AND outcome = 'failure' AND detail LIKE '%wrong_password%'`, [userId]))[0].n);

    it('40 parallel sign-ins (39 wrong, the right one last) without a captcha: at most 3 are compared, the rest answer CAPTCHA_REQUIRED', async () => {
      const account = await signUp(t);
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => login(t, { identifier: account.username, password: i === 39 ? DEFAULT_PASSWORD : `wrong password ${i}` })));
      const counts = tally(answers);
      expect((counts.INVALID_CREDENTIALS ?? 0) + (counts.ok ?? 0)).toBeLessThanOrEqual(3);
      expect(counts.CAPTCHA_REQUIRED).toBeGreaterThanOrEqual(37);
      expect(answers[39].status).not.toBe(200);
      expect(await comparedFailures(t, account.user.id)).toBeLessThanOrEqual(3);
    });

    it('40 parallel sign-ins with solved captchas (39 wrong, the right one last): at most 10 are compared, the rest answer 429, and the right password does not sign in', async () => {
      const account = await signUp(t);
      const captchas = await Promise.all(Array.from({ length: 40 }, () => solvedCaptcha(t)));
      const answers = await Promise.all(captchas.map((captcha, i) => login(t, { identifier: account.username, password: i === 39 ? DEFAULT_PASSWORD : `wrong password ${i}`, ...captcha })));
      const counts = tally(answers);
      expect((counts.INVALID_CREDENTIALS ?? 0) + (counts.ok ?? 0)).toBeLessThanOrEqual(10);
      expect(counts.TOO_MANY_REQUESTS).toBeGreaterThanOrEqual(30);
      expect(answers[39].status).not.toBe(200);
      expect(await comparedFailures(t, account.user.id)).toBeLessThanOrEqual(10);
      // Locked now, as 10 failures one by one would have locked it.
      const after = await login(t, { identifier: account.username, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(t)) });
      expect([after.status, after.headers['retry-after'] !== undefined]).toEqual([429, true]);
    });

    it('120 parallel sign-ins from three source IPs, past the hourly cap of 100: at most 100 are compared, and the right password sent last does not sign in', async () => {
      const capped = await createTestApp({ LOGIN_CAPTCHA_AFTER: '1000', LOGIN_LOCK_AFTER: '1000', TRUSTED_PROXIES: 'loopback' });
      try {
        const account = await signUp(capped);
        const ips = ['198.51.100.21', '198.51.100.22', '198.51.100.23'];
        const answers = await Promise.all(
          Array.from({ length: 120 }, (_, i) => login(capped, { identifier: account.username, password: i === 119 ? DEFAULT_PASSWORD : `wrong password ${i}` }, ips[i % 3])),
        );
        expect(answers.filter((answer) => answer.status !== 401)).toEqual([]);
        expect(await comparedFailures(capped, account.user.id)).toBeLessThanOrEqual(100);
        expect(answers[119].status).toBe(401);
      } finally {
        await capped.close();
      }
    });

    it('40 parallel wrong current passwords: at most 10 are compared, then 429; the lock is audited once as account_locked', async () => {
      const user = await signedInUser(t);
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => t.http.put('/api/v1/users/me/password').set(user.auth).send({ oldPassword: i === 39 ? user.password : `wrong password ${i}`, newPassword: 'amber meadow 77' })),
      );
      const counts = tally(answers);
      expect(counts.PASSWORD_INCORRECT ?? 0).toBeLessThanOrEqual(10);
      expect(counts.TOO_MANY_REQUESTS).toBeGreaterThanOrEqual(29);
      expect(answers[39].status).not.toBe(200);
      const locks = await t.db.query(`SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = 'account_locked'`, [user.user.id]);
      expect(Number(locks[0].n)).toBe(1);
    });
  });

  describe('Failures on side paths are audited: a wrong SMS code at SMS sign-in, and a lock caused by wrong current passwords', () => {
    it('audits a wrong SMS code at SMS sign-in as a failed sign-in of the number’s account (and of nobody for an unknown number)', async () => {
      const { phone, user } = await phoneUser(t);
      await requestSmsCode(t, phone, 'login');
      const code = lastCode(t, phone, 'login')!;
      const wrong = code === '000000' ? '111111' : '000000';
      expect((await t.http.post('/api/v1/auth/login/sms').send({ phone, smsCode: wrong })).body.error).toBe('CODE_INVALID');
      const failures = await t.db.query(`SELECT detail FROM audit_events WHERE user_id = ? AND type = 'sign_in' AND outcome = 'failure'`, [user.id]);
      expect(failures.map((event: { detail: string }) => JSON.parse(event.detail))).toEqual([{ method: 'sms_code', reason: 'code_invalid' }]);
      const before = Number((await t.db.query(`SELECT COUNT(*) AS n FROM audit_events WHERE user_id IS NULL AND type = 'sign_in' AND detail LIKE '%code_expired%'`))[0].n);
      expect((await t.http.post('/api/v1/auth/login/sms').send({ phone: uniquePhone(), smsCode: '123456' })).body.error).toBe('CODE_EXPIRED');
      expect(Number((await t.db.query(`SELECT COUNT(*) AS n FROM audit_events WHERE user_id IS NULL AND type = 'sign_in' AND detail LIKE '%code_expired%'`))[0].n)).toBe(before + 1);
    });
  });

  describe("One identifier's state never shows through another: captcha and lock counters are kept per identifier as typed (normalised), for known and unknown identifiers alike; a per-account bound answers like a wrong password", () => {
    const attempt = (identifier: string, password = 'wrong password!', extra: Record<string, unknown> = {}) => t.http.post('/api/v1/auth/login').send({ identifier, password, ...extra });

    it('after 3 wrong passwords on a public username, the account’s own email answers like any other email', async () => {
      const account = await signUp(t);
      const stranger = await signUp(t);
      for (let i = 0; i < 3; i++) expect((await attempt(account.username)).status).toBe(401);
      expect((await attempt(account.username)).body.error).toBe('CAPTCHA_REQUIRED');
      const candidates = [`nobody_${randomUUID()}@example.com`, stranger.email, account.email, `other_${randomUUID()}@example.com`];
      const answers = [];
      for (const email of candidates) answers.push(seen(await attempt(email)));
      expect(answers[0]).toEqual({ status: 401, body: expect.objectContaining({ error: 'INVALID_CREDENTIALS' }), retryAfter: false });
      expect(answers).toEqual([answers[0], answers[0], answers[0], answers[0]]);
    });

    it('a lock on the username does not show through the email: it answers as an unknown email does, and no password is compared there', async () => {
      const account = await signUp(t);
      for (let i = 0; i < 10; i++) expect((await attempt(account.username, 'wrong password!', await solvedCaptcha(t))).status).toBe(401);
      expect((await attempt(account.username, DEFAULT_PASSWORD, await solvedCaptcha(t))).status).toBe(429);
      const unknown = `nobody_${randomUUID()}@example.com`;
      const answers = [seen(await attempt(unknown)), seen(await attempt(account.email)), seen(await attempt(account.email, DEFAULT_PASSWORD))];
      expect(answers[0]).toEqual({ status: 401, body: expect.objectContaining({ error: 'INVALID_CREDENTIALS' }), retryAfter: false });
      // The account's bound (10 failures) holds, but answers as a wrong password would: the right one does not sign in.
      expect(answers).toEqual([answers[0], answers[0], answers[0]]);
      await t.passTime(15 * 60_000 + 1000);
      await attempt(account.email, DEFAULT_PASSWORD).expect(200);
    });

    it('variants (case, width) of one identifier share one counter, for unknown and known identifiers alike', async () => {
      const account = await signUp(t);
      const fullwidth = (text: string) => text.replace(/[!-~]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
      const ghost = `ghost_${randomUUID().slice(0, 8)}`;
      const ghostEmail = `${ghost}@example.com`;
      for (const identifier of [account.username, ghost, account.email, ghostEmail]) {
        const variants = [identifier.toUpperCase(), fullwidth(identifier), identifier.replace(/^./, (c) => c.toUpperCase())];
        const answers = [];
        for (const variant of variants) answers.push(seen(await attempt(variant)));
        answers.push(seen(await attempt(fullwidth(identifier.toUpperCase()))));
        expect([identifier, answers.map((answer) => answer.body.error)]).toEqual([identifier, ['INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'INVALID_CREDENTIALS', 'CAPTCHA_REQUIRED']]);
      }
    });
  });

  describe('Answers reveal nothing: every code request (sign-up and contact changes too) is answered before any delivery, the same way whatever the address', () => {
    it('answers sign-up and change code requests for known and free destinations alike while the gateway still holds the message', async () => {
      // An SMS gateway and a mail server that, once told to hang, take the message and never answer.
      let mode: 'ok' | 'hang' = 'ok';
      const gateway = await httpGateway(() => (mode === 'ok' ? { status: 200, body: '{}' } : null));
      const heldMails: string[] = [];
      const mailServer = new SMTPServer({
        disabledCommands: ['STARTTLS', 'AUTH'],
        closeTimeout: 100,
        onData(stream, session, callback) {
          stream.resume();
          if (mode === 'ok') stream.on('end', () => callback());
          else heldMails.push(session.envelope.rcptTo.map((rcpt) => rcpt.address).join());
        },
      });
      await new Promise<void>((resolve) => mailServer.listen(0, '127.0.0.1', resolve));
      // Bounds far beyond any request here: an answer that waited for delivery would be a 502 after them.
      const slow = await createTestApp({
        SMS_TRANSPORT: 'http', SMS_HTTP_URL: gateway.url, SMS_TIMEOUT_MS: '8000',
        MAIL_TRANSPORT: 'smtp', SMTP_HOST: '127.0.0.1', SMTP_PORT: String((mailServer.server.address() as AddressInfo).port), MAIL_FROM: 'no-reply@example.com', SMTP_TIMEOUT_MS: '8000',
      });
      const ask = async (channel: 'sms' | 'email', destination: string, purpose: string) =>
        slow.http.post(`/api/v1/verification/${channel}-codes`).send({ [channel === 'sms' ? 'phone' : 'email']: destination, purpose, ...(await solvedCaptcha(slow)) });
      try {
        const known = await signUp(slow);
        const knownPhone = uniquePhone();
        expect((await ask('sms', knownPhone, 'register')).status).toBe(202);
        await until(() => gateway.received.length === 1);
        await slow.http.post('/api/v1/users/phone').send({ phone: knownPhone, smsCode: JSON.parse(gateway.received[0].body).code }).expect(201);
        await slow.passTime(61_000); // past the sign-up code's resend cooldown
        mode = 'hang';
        const cases: ['sms' | 'email', string, string, string][] = [
          ['email', 'register', known.email, `free_${randomUUID()}@example.com`],
          ['email', 'change_email', known.email, `free_${randomUUID()}@example.com`],
          ['sms', 'register', knownPhone, uniquePhone()],
          ['sms', 'change_phone', knownPhone, uniquePhone()],
        ];
        // Known and free destinations in parallel: every answer arrives while the gateway still holds the free one's message.
        const answers = await Promise.all(cases.flatMap(([channel, purpose, taken, free]) => [ask(channel, taken, purpose), ask(channel, free, purpose)]));
        for (let i = 0; i < cases.length; i++) {
          const [taken, free] = [seen(answers[2 * i]), seen(answers[2 * i + 1])];
          expect([cases[i][1], taken]).toEqual([cases[i][1], expect.objectContaining({ status: 202 })]);
          expect([cases[i][1], free]).toEqual([cases[i][1], taken]);
        }
        // The free destinations' messages did go out (and are still held): 2 SMS beyond the first, 2 mails.
        await until(() => gateway.received.length >= 3 && heldMails.length >= 2);
        expect(gateway.received.slice(1).map((request) => JSON.parse(request.body).phone).sort()).toEqual([cases[2][3], cases[3][3]].sort());
        expect(heldMails.sort()).toEqual([cases[0][3], cases[1][3]].sort());
      } finally {
        await slow.close();
        await gateway.close();
        await new Promise<void>((resolve) => mailServer.close(() => resolve()));
      }
    }, 30_000);
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
        await verifyEmail(t, { Authorization: `Bearer ${accessToken}` }, caller.email);
        const change = (field: 'email' | 'phone', value: string) => t.http.put(`/api/v1/users/me/${field}`).set('Authorization', `Bearer ${accessToken}`).send({ [field]: value, code: '123456' });
        const email = [seen(await change('email', other.email)), seen(await change('email', `free_${Date.now()}@example.com`))];
        expect(email).toEqual([expect.objectContaining({ status: 400, body: expect.objectContaining({ error: 'CODE_EXPIRED' }) }), email[0]]);
        const phone = [seen(await change('phone', owner.phone)), seen(await change('phone', uniquePhone()))];
        expect(phone).toEqual([email[0], email[0]]);
      });
    });
  });
});
