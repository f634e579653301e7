import { usernameSkeleton } from '@/modules/users/username-confusables';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Response } from 'supertest';
import { lastCode, phoneUser, requestSmsCode, uniquePhone } from '../factories/codes';
import { refresh } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser, signUp, signUpBody, solvedCaptcha } from '../factories/users';
import { newestCodeIn } from '../helpers/outbox-file';
import { buildIfNeeded, ServerProcess, startServer } from '../helpers/server-process';
import { signUpOn, startTwoInstances, TwoInstances } from '../helpers/two-instances';
import { eventually, TcpProxy } from '../helpers/tcp-proxy';
import { backend, createTestApp, freshMysqlDatabase, TEST_CAPTCHA, TestApp } from '../helpers/test-app';

/**
 * SECURITY.md › Reliability. Faults need the networked services (the embedded SQLite and
 * in-process store cannot "go away"), so the database legs run in the MariaDB + Redis pass of
 * `npm test` (DATABASE_URL) and the Redis leg when REDIS_URL is set; the machine's own services are
 * never stopped — a TCP proxy in front of them is cut or stalled instead. SIGTERM runs on both passes.
 */
jest.setTimeout(120_000);

const describeOnMysql = backend.mysqlUrl ? describe : describe.skip;
const describeOnRedis = backend.redisUrl ? describe : describe.skip;
const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await run();
  return { value, ms: Date.now() - started };
}

describeOnMysql('Database down: /health/ready 503, /health/live 200, the API answers 503 and authenticates nobody, no half-written rows, recovery without a restart', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  const connectTimeoutMs = 1000;
  const queryTimeoutMs = 1000;
  beforeAll(async () => {
    const target = new URL(backend.mysqlUrl!);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 3306));
    t = await createTestApp({ DB_CONNECT_TIMEOUT_MS: String(connectTimeoutMs), DB_QUERY_TIMEOUT_MS: String(queryTimeoutMs), HEALTH_TIMEOUT_MS: '1000' }, { databaseAddress: proxy.address });
  });
  afterAll(async () => {
    await proxy.restore();
    await t.close();
    await proxy.close();
  });

  it('answers 503 (never hangs, never 500), readiness 503, liveness 200, and recovers without a restart', async () => {
    const user = await signedInUser(t);
    const apiKey = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data.apiKey;
    const { phone } = await phoneUser(t);
    await requestSmsCode(t, phone, 'login');
    await proxy.cut();

    const login = await timed(() => t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }));
    expect(login.value.status).toBe(503);
    expect(login.value.body).toEqual({ code: 503, msg: expect.any(String), error: 'SERVICE_UNAVAILABLE', requestId: expect.any(String) });
    expect(login.value.headers['retry-after']).toBe('5');
    expect(login.ms).toBeLessThan(connectTimeoutMs + 3000);

    // Nobody is authenticated: no new session, no rotated refresh token.
    const refreshed = await t.http.post('/api/v1/auth/refresh').send({ refreshToken: user.refreshToken });
    expect(refreshed.status).toBe(503);
    expect((await t.http.get('/api/v1/users/me').set(user.auth)).status).toBe(503);
    expect((await t.http.get('/api/v1/users/me').set('X-API-Key', apiKey)).status).toBe(503);
    const bySms = await t.http.post('/api/v1/auth/login/sms').send({ phone, smsCode: lastCode(t, phone, 'login') });
    expect([bySms.status, bySms.body.error]).toEqual([503, 'SERVICE_UNAVAILABLE']);

    const signUp = await t.http.post('/api/v1/users').send({ username: 'nobody_db_down', email: 'nobody@example.com', password: DEFAULT_PASSWORD });
    expect([503, 400]).toContain(signUp.status); // 400 only when the captcha check (in the store) refuses first
    expect(signUp.status).not.toBe(500);

    const ready = await timed(() => t.http.get('/health/ready'));
    expect(ready.value.status).toBe(503);
    expect(ready.value.body.details).toEqual([{ field: 'database', message: 'down' }]);
    expect(ready.ms).toBeLessThan(3000);
    await t.http.get('/health/live').expect(200);

    await proxy.restore();
    expect(await eventually(async () => (await t.http.get('/health/ready')).status === 200, 10_000)).toBe(true);
    await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200);
  });

  it('a database that hangs: queries are bounded by DB_QUERY_TIMEOUT_MS, and it recovers', async () => {
    const user = await signedInUser(t);
    proxy.stall();
    const login = await timed(() => t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }));
    expect(login.value.status).toBe(503);
    expect(login.value.body.error).toBe('SERVICE_UNAVAILABLE');
    expect(login.ms).toBeLessThan(queryTimeoutMs + connectTimeoutMs + 2000);
    await t.http.get('/health/ready').expect(503);
    await t.http.get('/health/live').expect(200);
    await proxy.restore();
    expect(await eventually(async () => (await t.http.get('/health/ready')).status === 200, 10_000)).toBe(true);
    await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200);
  });

  describe('no half-written rows: the database killed between two statements of one transaction', () => {
    /**
     * Sends `request` with the database set to die the moment the app sends `statement` (inside a
     * transaction, after its first writes): the answer must be a prompt 503, and the database must
     * come back without a restart before the caller looks at what it holds.
     */
    async function dyingAt(statement: string, request: () => Promise<Response>): Promise<void> {
      const cut = proxy.cutWhen(statement);
      const { value: response, ms } = await timed(request);
      const fired = await Promise.race([cut.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1000))]);
      expect([statement, fired]).toEqual([statement, true]);
      expect(response.status).toBe(503);
      expect(response.body).toEqual({ code: 503, msg: expect.any(String), error: 'SERVICE_UNAVAILABLE', requestId: expect.any(String) });
      expect(response.text).not.toMatch(/INSERT|refresh_tokens|audit_events|ECONNRESET|PROTOCOL_|at .+\.(ts|js):\d+/);
      expect(ms).toBeLessThan(connectTimeoutMs + 3000);
      await proxy.restore();
      expect(await eventually(async () => (await t.http.get('/health/ready')).status === 200, 10_000)).toBe(true);
    }

    const count = async (sql: string, ...params: unknown[]) => Number((await t.db.query(sql, params))[0].n);
    const sessionsOf = (userId: string) => count('SELECT COUNT(*) AS n FROM sessions WHERE user_id = ?', userId);
    const sessionsWithoutRefreshToken = () => count('SELECT COUNT(*) AS n FROM sessions s WHERE NOT EXISTS (SELECT 1 FROM refresh_tokens r WHERE r.session_id = s.id)');
    const eventsOf = (userId: string, type: string) => count(`SELECT COUNT(*) AS n FROM audit_events WHERE user_id = ? AND type = ? AND outcome = 'success'`, userId, type);

    it('a sign-in cut between its session and its refresh token leaves neither, and the next sign-in works', async () => {
      const user = await signedInUser(t);
      const before = { sessions: await sessionsOf(user.user.id), signIns: await eventsOf(user.user.id, 'sign_in') };
      await dyingAt('INSERT INTO `refresh_tokens`', () => t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }));
      expect(await sessionsWithoutRefreshToken()).toBe(0);
      expect({ sessions: await sessionsOf(user.user.id), signIns: await eventsOf(user.user.id, 'sign_in') }).toEqual(before);
      await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200);
      expect(await sessionsOf(user.user.id)).toBe(before.sessions + 1);
    });

    it('a sign-in cut at its audit event leaves no session the client never received', async () => {
      const user = await signedInUser(t);
      const before = { sessions: await sessionsOf(user.user.id), signIns: await eventsOf(user.user.id, 'sign_in') };
      await dyingAt('INSERT INTO `audit_events`', () => t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }));
      expect({ sessions: await sessionsOf(user.user.id), signIns: await eventsOf(user.user.id, 'sign_in') }).toEqual(before);
      expect(await sessionsWithoutRefreshToken()).toBe(0);
      await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200);
    });

    it('a refresh cut between spending the old token and issuing its successor spends nothing: the old token still works once', async () => {
      const user = await signedInUser(t);
      await dyingAt('INSERT INTO `refresh_tokens`', () => refresh(t, user.refreshToken));
      expect(await count('SELECT COUNT(*) AS n FROM refresh_tokens WHERE spent_at IS NOT NULL AND session_id IN (SELECT id FROM sessions WHERE user_id = ?)', user.user.id)).toBe(0);
      const rotated = (await refresh(t, user.refreshToken).expect(200)).body.data;
      await refresh(t, rotated.refreshToken).expect(200);
    });

    it('a sign-up cut at its audit event leaves no account, so the same sign-up succeeds next time', async () => {
      const body = signUpBody();
      await dyingAt('INSERT INTO `audit_events`', async () => t.http.post('/api/v1/users').send({ ...body, ...(await solvedCaptcha(t)) }));
      expect(await count('SELECT COUNT(*) AS n FROM users WHERE username_key = ?', usernameSkeleton(body.username))).toBe(0);
      const created = await signUp(t, body);
      expect(await eventsOf(created.user.id, 'sign_up')).toBe(1);
    });

    it('an account deletion cut at its audit event keeps the account and every session, and the deletion works next time', async () => {
      const user = await signedInUser(t);
      const before = await sessionsOf(user.user.id);
      await dyingAt('INSERT INTO `audit_events`', () => t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }));
      expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', user.user.id)).toBe(1);
      expect(await sessionsOf(user.user.id)).toBe(before);
      // Its sessions were not marked revoked either: the access token and the refresh token still work.
      await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
      const rotated = (await refresh(t, user.refreshToken).expect(200)).body.data;
      await t.http.delete('/api/v1/users/me').set({ Authorization: `Bearer ${rotated.accessToken}` }).send({ password: DEFAULT_PASSWORD }).expect(200);
      expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', user.user.id)).toBe(0);
      expect(await eventsOf(user.user.id, 'account_deleted')).toBe(1);
    });

    it('a phone change cut at its audit event keeps the old number, and the next change works', async () => {
      const user = await signedInUser(t);
      const codeFor = async (phone: string) => {
        expect((await requestSmsCode(t, phone, 'change_phone', user.auth)).status).toBe(202);
        return lastCode(t, phone, 'change_phone');
      };
      const changeTo = (phone: string, code: string | undefined) => t.http.put('/api/v1/users/me/phone').set(user.auth).send({ phone, code, password: DEFAULT_PASSWORD });
      const phone = uniquePhone();
      const code = await codeFor(phone);
      await dyingAt('INSERT INTO `audit_events`', () => changeTo(phone, code));
      expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ? AND phone IS NOT NULL', user.user.id)).toBe(0);
      expect(await eventsOf(user.user.id, 'phone_changed')).toBe(0);
      // The cut spent that code; a fresh number has no resend cooldown to wait out.
      const next = uniquePhone();
      expect((await changeTo(next, await codeFor(next))).status).toBe(200);
      expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ? AND phone = ?', user.user.id, next)).toBe(1);
      expect(await eventsOf(user.user.id, 'phone_changed')).toBe(1);
    });

    it('an event and its change commit together: a profile change cut at its outbox event changes nothing and reports nothing, the next one both', async () => {
      const user = await signedInUser(t, { displayName: 'Before Cut' });
      const updated = () => count(`SELECT COUNT(*) AS n FROM events WHERE user_id = ? AND type = 'user.updated'`, user.user.id);
      await dyingAt('INSERT INTO `events`', () => t.http.patch('/api/v1/users/me').set(user.auth).send({ displayName: 'After Cut' }));
      expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ? AND display_name = ?', user.user.id, 'Before Cut')).toBe(1);
      expect(await updated()).toBe(0);
      await t.http.patch('/api/v1/users/me').set(user.auth).send({ displayName: 'After Cut' }).expect(200);
      expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ? AND display_name = ?', user.user.id, 'After Cut')).toBe(1);
      expect(await updated()).toBe(1);
    });

    it('an account deletion cut after its user.deleted event was written keeps the account and loses the event with it', async () => {
      const user = await signedInUser(t);
      const deleted = () => count(`SELECT COUNT(*) AS n FROM events WHERE user_id = ? AND type = 'user.deleted'`, user.user.id);
      await dyingAt('DELETE FROM `users`', () => t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }));
      expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', user.user.id)).toBe(1);
      expect(await deleted()).toBe(0);
      await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
      expect(await count('SELECT COUNT(*) AS n FROM users WHERE id = ?', user.user.id)).toBe(0);
      expect(await deleted()).toBe(1);
    });

    it('a password change cut while revoking the other sessions keeps the old password and every session', async () => {
      const user = await signedInUser(t);
      const second = (await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }).expect(200)).body.data;
      const newPassword = 'amber meadow 77';
      await dyingAt('UPDATE `sessions`', () => t.http.put('/api/v1/users/me/password').set(user.auth).send({ oldPassword: DEFAULT_PASSWORD, newPassword }));
      // Either the whole change happened or none of it: never a new password with the old sessions alive.
      const signsInWithOld = (await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD })).status === 200;
      const secondAlive = (await refresh(t, second.refreshToken)).status === 200;
      expect({ signsInWithOld, secondAlive }).toEqual({ signsInWithOld: true, secondAlive: true });
      await t.http.put('/api/v1/users/me/password').set(user.auth).send({ oldPassword: DEFAULT_PASSWORD, newPassword }).expect(200);
    });
  });
});

describeOnRedis('Redis down: every call bounded by a timeout; revocation checks, counters, codes and captchas fail closed (503); recovery without a restart', () => {
  let t: TestApp;
  let proxy: TcpProxy;
  const redisTimeoutMs = 500;
  beforeAll(async () => {
    const target = new URL(backend.redisUrl!);
    proxy = await TcpProxy.start(target.hostname, Number(target.port || 6379));
    t = await createTestApp({ REDIS_URL: `redis://${proxy.address}`, REDIS_TIMEOUT_MS: String(redisTimeoutMs), HEALTH_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => {
    await proxy.restore();
    await t.close();
    await proxy.close();
  });

  async function expectUnavailableQuickly(run: () => Promise<{ status: number; body: { error?: string } }>) {
    const { value, ms } = await timed(run);
    expect(value.status).toBe(503);
    expect(value.body.error).toBe('SERVICE_UNAVAILABLE');
    expect(ms).toBeLessThan(redisTimeoutMs + 1500);
  }

  async function expectFailsClosed(user: { auth: Record<string, string>; username: string }) {
    // Revocation check: an authenticated request is refused, not let through.
    await expectUnavailableQuickly(() => t.http.get('/api/v1/users/me').set(user.auth));
    // Captchas and sign-in counters.
    await expectUnavailableQuickly(() => t.http.get(`/api/v1/verification/captcha/${randomUUID()}`));
    await expectUnavailableQuickly(() => t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: DEFAULT_PASSWORD }));
    // Codes: neither sent nor checked.
    await expectUnavailableQuickly(() => t.http.post('/api/v1/verification/sms-codes').send({ phone: uniquePhone(), purpose: 'register', captchaId: randomUUID(), captchaText: TEST_CAPTCHA }));
    await expectUnavailableQuickly(() => t.http.post('/api/v1/auth/login/sms').send({ phone: uniquePhone(), smsCode: '123456' }));
    const ready = await t.http.get('/health/ready').expect(503);
    expect(ready.body.details).toEqual([{ field: 'cache', message: 'down' }]);
    await t.http.get('/health/live').expect(200);
  }

  async function expectRecovered(user: { auth: Record<string, string> }) {
    expect(await eventually(async () => (await t.http.get('/health/ready')).status === 200, 10_000)).toBe(true);
    await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
    await t.http.get(`/api/v1/verification/captcha/${randomUUID()}`).expect(200);
  }

  it('refused connections: fails closed with 503 within REDIS_TIMEOUT_MS and recovers without a restart', async () => {
    const user = await signedInUser(t);
    await proxy.cut();
    await expectFailsClosed(user);
    await proxy.restore();
    await expectRecovered(user);
  });

  it('a Redis that hangs: every command is bounded by REDIS_TIMEOUT_MS', async () => {
    const user = await signedInUser(t);
    proxy.stall();
    await expectFailsClosed(user);
    await proxy.restore();
    await expectRecovered(user);
  });
});

describe('SIGTERM: readiness turns 503, in-flight requests finish, exit 0 within 30 s', () => {
  // Real `node dist/main.js` processes: what a deployment runs, signals and all.
  beforeAll(() => buildIfNeeded(), 120_000);

  let dataDir: string;
  let mysql: Awaited<ReturnType<typeof freshMysqlDatabase>> | null = null;
  let server: ServerProcess | null = null;
  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'uc-shutdown-'));
    mysql = backend.mysqlUrl ? await freshMysqlDatabase(backend.mysqlUrl) : null;
  });
  afterAll(async () => {
    await server?.stop();
    await mysql?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('turns readiness 503 at once, finishes the in-flight request, closes the pools and exits 0 within 30 s', async () => {
    server = await startServer({
      NODE_ENV: 'test',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'info',
      // A slow sign-in (the dummy hash plus one compare at cost 14) is the in-flight request.
      BCRYPT_COST: '14',
      SHUTDOWN_DELAY_MS: '500',
      ...(mysql ? { DATABASE_URL: mysql.url } : {}),
      ...(backend.redisUrl ? { REDIS_URL: backend.redisUrl, REDIS_KEY_PREFIX: `uct:${randomBytes(6).toString('hex')}:` } : {}),
    });
    await server.http.get('/health/ready').expect(200);
    const started = Date.now();
    const inFlight = server.http.post('/api/v1/auth/login').send({ identifier: 'nobody_in_flight', password: DEFAULT_PASSWORD }).then((r) => r);
    await new Promise((resolve) => setTimeout(resolve, 150));
    server.child.kill('SIGTERM');
    const signalled = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 150));

    const ready = await server.http.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.details).toEqual([{ field: 'shutdown', message: 'the instance is shutting down' }]);
    await server.http.get('/health/live').expect(200);

    const answered = await inFlight;
    // Still running when the listener closed (after SHUTDOWN_DELAY_MS), and answered in full all the same.
    expect(Date.now() - signalled).toBeGreaterThan(500);
    expect(answered.status).toBe(401);
    expect(answered.body.error).toBe('INVALID_CREDENTIALS');
    const exit = await server.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(server.output()).toContain('SIGTERM: draining in-flight requests');
  });
});

// Two instances share state only through MariaDB and Redis; the embedded run has neither to share.
describeOnBoth('Limits and revocations hold across two instances sharing MySQL and Redis', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let instances: TwoInstances | undefined;
  const outboxFile = join(tmpdir(), `uc-multi-outbox-${randomBytes(6).toString('hex')}.jsonl`);

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    instances = await startTwoInstances({ RATE_LIMIT_PER_MINUTE: '50', TRUSTED_PROXIES: '127.0.0.1', OUTBOX_FILE: outboxFile });
    ({ a, b } = instances);
  });
  afterAll(() => instances?.stop());

  async function signInOn(server: ServerProcess, identifier: string) {
    const response = await server.http.post('/api/v1/auth/login').send({ identifier, password: DEFAULT_PASSWORD }).expect(200);
    return response.body.data as { accessToken: string; refreshToken: string };
  }

  it('verifies on B a code sent by A', async () => {
    const phone = uniquePhone();
    const captchaId = randomUUID();
    await a.http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
    await a.http.post('/api/v1/verification/sms-codes').send({ phone, purpose: 'register', captchaId, captchaText: TEST_CAPTCHA }).expect(202);
    // Answered before delivery: wait for the outbox line.
    const sent = () => newestCodeIn(outboxFile, phone);
    for (let waited = 0; waited < 5000 && !sent(); waited += 25) await new Promise((resolve) => setTimeout(resolve, 25));
    const smsCode = sent();
    expect(smsCode).toMatch(/^\d{6}$/);
    await b.http.post('/api/v1/users/phone').send({ phone, smsCode }).expect(201);
  });

  it('answers on B a captcha fetched from A', async () => {
    const captchaId = randomUUID();
    await a.http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
    await b.http.post('/api/v1/users').send({ ...signUpBody(), captchaId, captchaText: TEST_CAPTCHA }).expect(201);
    // Single-use across instances: the answer spent on B is gone on A too.
    const again = await a.http.post('/api/v1/users').send({ ...signUpBody(), captchaId, captchaText: TEST_CAPTCHA });
    expect(again.status).toBe(400);
  });

  it('fails on B, on the very next request, a token signed out on A', async () => {
    const account = await signUpOn(a);
    const tokens = await signInOn(a, account.username);
    const auth = { Authorization: `Bearer ${tokens.accessToken}` };
    await b.http.get('/api/v1/users/me').set(auth).expect(200);
    await a.http.delete('/api/v1/auth/session').set(auth).expect(200);
    await b.http.get('/api/v1/users/me').set(auth).expect(401);
  });

  it('refuses on B a refresh token spent on A', async () => {
    const account = await signUpOn(b);
    const tokens = await signInOn(b, account.username);
    await a.http.post('/api/v1/auth/refresh').send({ refreshToken: tokens.refreshToken }).expect(200);
    const reused = await b.http.post('/api/v1/auth/refresh').send({ refreshToken: tokens.refreshToken });
    expect(reused.status).toBe(401);
    expect(reused.body.error).toBe('REFRESH_TOKEN_INVALID');
  });

  it('adds up sign-in failures spread over A and B (captcha required after 3)', async () => {
    const account = await signUpOn(a);
    const wrong = { identifier: account.username, password: 'not the password 1' };
    await a.http.post('/api/v1/auth/login').send(wrong).expect(401);
    await b.http.post('/api/v1/auth/login').send(wrong).expect(401);
    await a.http.post('/api/v1/auth/login').send(wrong).expect(401);
    const fourth = await b.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD });
    expect(fourth.status).toBe(400);
    expect(fourth.body.error).toBe('CAPTCHA_REQUIRED');
  });

  /** The newest code the shared outbox holds for `to` and `purpose`. */
  const sharedOutboxCode = (to: string, purpose: string) =>
    newestCodeIn(outboxFile, to, purpose);

  it('count before compare: of 300 password-reset guesses spread over A and B at once, at most 5 are compared', async () => {
    const account = await signUpOn(a);
    const captchaId = randomUUID();
    await a.http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
    await a.http.post('/api/v1/verification/email-codes').send({ email: account.email, purpose: 'reset_password', captchaId, captchaText: TEST_CAPTCHA }).expect(202);
    let code: string | undefined;
    expect(await eventually(async () => !!(code = sharedOutboxCode(account.email, 'reset_password')), 5000)).toBe(true);
    const guesses = Array.from({ length: 300 }, (_, i) => (i === 150 ? code! : String((Number(code) + 1 + i) % 1_000_000).padStart(6, '0')));
    const answers = await Promise.all(
      // From many source addresses, as a spread-out attacker would (each stays under the global rate limit).
      guesses.map((guess, i) => (i % 2 ? b : a).http.post('/api/v1/auth/password-reset').set('X-Forwarded-For', `203.0.113.${i % 200}`).send({ channel: 'email', email: account.email, code: guess, newPassword: 'taken over phrase 9' })),
    );
    const compared = answers.filter((answer) => answer.status === 200 || answer.body.error === 'CODE_INVALID').length;
    expect(answers.filter((answer) => answer.status !== 200 && !['CODE_INVALID', 'CODE_EXPIRED'].includes(answer.body.error))).toEqual([]);
    expect(compared).toBeLessThanOrEqual(5);
    expect(answers[150].status).not.toBe(200);
    await signInOn(b, account.username);
  });

  it('count before compare: 40 sign-ins spread over A and B at once (39 wrong, the right one last) get at most 3 comparisons, then CAPTCHA_REQUIRED', async () => {
    const account = await signUpOn(a);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        (i % 2 ? b : a).http
          .post('/api/v1/auth/login')
          .set('X-Forwarded-For', `203.0.113.${200 + (i % 50)}`)
          .send({ identifier: account.username, password: i === 39 ? DEFAULT_PASSWORD : `wrong password ${i}` }),
      ),
    );
    const compared = answers.filter((answer) => answer.status === 200 || answer.body.error === 'INVALID_CREDENTIALS').length;
    expect(compared).toBeLessThanOrEqual(3);
    expect(answers.filter((answer) => answer.body.error === 'CAPTCHA_REQUIRED').length).toBeGreaterThanOrEqual(37);
    expect(answers[39].status).not.toBe(200);
  });

  it('count before compare: 40 sign-ins with solved captchas spread over A and B at once get at most 10 comparisons, and the lock holds on both', async () => {
    const account = await signUpOn(b);
    const captchaIds = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const captchaId = randomUUID();
        await a.http.get(`/api/v1/verification/captcha/${captchaId}`).set('X-Forwarded-For', '203.0.113.250').expect(200);
        return captchaId;
      }),
    );
    const answers = await Promise.all(
      captchaIds.map((captchaId, i) =>
        (i % 2 ? b : a).http
          .post('/api/v1/auth/login')
          .set('X-Forwarded-For', `203.0.113.${100 + (i % 50)}`)
          .send({ identifier: account.username, password: i === 39 ? DEFAULT_PASSWORD : `wrong password ${i}`, captchaId, captchaText: TEST_CAPTCHA }),
      ),
    );
    const compared = answers.filter((answer) => answer.status === 200 || answer.body.error === 'INVALID_CREDENTIALS').length;
    expect(compared).toBeLessThanOrEqual(10);
    expect(answers.filter((answer) => answer.status === 429).length).toBeGreaterThanOrEqual(30);
    expect(answers[39].status).not.toBe(200);
  });

  it('adds up the global rate limit across A and B', async () => {
    const client = { 'X-Forwarded-For': '198.51.100.7' };
    for (let i = 0; i < 25; i++) await a.http.get('/.well-known/jwks.json').set(client).expect(200);
    for (let i = 0; i < 25; i++) await b.http.get('/.well-known/jwks.json').set(client).expect(200);
    const limited = await a.http.get('/.well-known/jwks.json').set(client).expect(429);
    expect(limited.body.error).toBe('TOO_MANY_REQUESTS');
    await b.http.get('/.well-known/jwks.json').set(client).expect(429);
    await b.http.get('/.well-known/jwks.json').set({ 'X-Forwarded-For': '198.51.100.8' }).expect(200);
  });

  it('lets exactly the global rate limit through a parallel burst split across A and B', async () => {
    const client = { 'X-Forwarded-For': '198.51.100.9' };
    const answers = await Promise.all(Array.from({ length: 80 }, (_, i) => (i % 2 ? b : a).http.get('/.well-known/jwks.json').set(client)));
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(50);
    expect(answers.filter((answer) => answer.status === 429)).toHaveLength(30);
  });
});

describeOnBoth('Pending captchas per client IP hold across two instances sharing Redis (CAPTCHA_PER_IP)', () => {
  let instances: TwoInstances | undefined;

  beforeAll(() => buildIfNeeded(), 120_000);
  beforeAll(async () => {
    // 40 captchas drawn at once can stall a loaded machine's event loop past the 1 s production bound (as in test-app).
    instances = await startTwoInstances({ CAPTCHA_PER_IP: '5', REGISTRATION_PER_IP_PER_HOUR: '1000', REDIS_TIMEOUT_MS: '5000' });
  });
  afterAll(() => instances?.stop());

  it('40 parallel captchas from one IP spread over A and B leave exactly 5 answerable, on either instance', async () => {
    const { a, b } = instances!;
    const ids = Array.from({ length: 40 }, () => randomUUID());
    await Promise.all(ids.map((id, i) => (i % 2 ? a : b).http.get(`/api/v1/verification/captcha/${id}`).expect(200)));
    const answers: number[] = [];
    for (const [i, captchaId] of ids.entries()) {
      const response = await (i % 2 ? b : a).http.post('/api/v1/users').send({ ...signUpBody(), captchaId, captchaText: TEST_CAPTCHA });
      answers.push(response.status);
      if (response.status !== 201) expect(response.body.error).toBe('CAPTCHA_INVALID');
    }
    expect(answers.filter((status) => status === 201)).toHaveLength(5);
  });
});
