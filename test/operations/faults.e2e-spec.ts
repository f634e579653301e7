import { randomUUID } from 'node:crypto';
import { backend, createTestApp, TestApp } from '../helpers/test-app';
import { eventually, TcpProxy } from '../helpers/tcp-proxy';
import { DEFAULT_PASSWORD, signedInUser } from '../factories/users';

// These faults need the networked services: the embedded SQLite and in-process store cannot "go away".
// The database leg only runs in the MariaDB + Redis run (DATABASE_URL), the Redis leg when REDIS_URL is set.
jest.setTimeout(60_000);

const describeOnMysql = backend.mysqlUrl ? describe : describe.skip;
const describeOnRedis = backend.redisUrl ? describe : describe.skip;

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await run();
  return { value, ms: Date.now() - started };
}

describeOnMysql('The database goes away', () => {
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
});

describeOnRedis('Redis goes away', () => {
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
