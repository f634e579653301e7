import { DEFAULT_PASSWORD, signUp, solvedCaptcha } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

/** SECURITY.md, "Sign-in throttling and enumeration". */
describe('SECURITY: Sign-in throttling and enumeration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('Failures are counted per account: captcha after 3, a 15-minute lock after 10 (429 with Retry-After)', () => {
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

    it('treats unknown identifiers the same way (captcha after 3)', async () => {
      for (let i = 0; i < 3; i++) expect((await fail('ghost_account_1')).status).toBe(401);
      expect((await fail('ghost_account_1')).body.error).toBe('CAPTCHA_REQUIRED');
    });
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

  it('Locked answers do not tell known accounts from unknown ones (both lock, both 429)', async () => {
    const account = await signUp(t);
    for (const identifier of [account.username, 'ghost_for_lock_1']) {
      for (let i = 0; i < 10; i++) {
        await t.http.post('/api/v1/auth/login').send({ identifier, password: 'wrong password!', ...(await solvedCaptcha(t)) });
      }
      const response = await t.http.post('/api/v1/auth/login').send({ identifier, password: 'wrong password!', ...(await solvedCaptcha(t)) });
      expect([identifier, response.status, response.body.error]).toEqual([identifier, 429, 'TOO_MANY_REQUESTS']);
    }
  });
});
