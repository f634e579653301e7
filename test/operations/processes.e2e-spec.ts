import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backend, freshMysqlDatabase, TEST_CAPTCHA } from '../helpers/test-app';
import { buildIfNeeded, ServerProcess, startServer } from '../helpers/server-process';
import { DEFAULT_PASSWORD, signUpBody } from '../factories/users';
import { uniquePhone } from '../factories/codes';

jest.setTimeout(120_000);

// Real `node dist/main.js` processes: what a deployment runs, signals and all.
beforeAll(() => buildIfNeeded(), 120_000);

describe('Graceful shutdown (SIGTERM)', () => {
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

describe('Shutdown bound (SHUTDOWN_TIMEOUT_MS)', () => {
  it('exits (code 1) when an in-flight request outlasts the bound, instead of hanging', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'uc-shutdown-'));
    const server = await startServer({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'warn', BCRYPT_COST: '15', SHUTDOWN_TIMEOUT_MS: '1000' });
    try {
      // The dummy hash plus one compare at cost 15 takes seconds: longer than the 1 s bound.
      void server.http.post('/api/v1/auth/login').send({ identifier: 'nobody_slow', password: DEFAULT_PASSWORD }).catch(() => undefined);
      await new Promise((resolve) => setTimeout(resolve, 150));
      const signalled = Date.now();
      server.child.kill('SIGTERM');
      expect(await server.exited).toEqual({ code: 1, signal: null });
      expect(Date.now() - signalled).toBeLessThan(3000);
      expect(server.output()).toContain('Shutdown did not finish within 1000 ms');
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

// Two instances share state only through MariaDB and Redis; the embedded run has neither to share.
const describeOnMysql = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;

describeOnMysql('Two instances behave as one service (MariaDB + Redis)', () => {
  let a: ServerProcess;
  let b: ServerProcess;
  let mysql: Awaited<ReturnType<typeof freshMysqlDatabase>>;
  const dataDirs: string[] = [];
  const outboxFile = join(tmpdir(), `uc-multi-outbox-${randomBytes(6).toString('hex')}.jsonl`);

  beforeAll(async () => {
    mysql = await freshMysqlDatabase(backend.mysqlUrl!);
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const shared = {
      NODE_ENV: 'test',
      LOG_LEVEL: 'warn',
      BCRYPT_COST: '4',
      CAPTCHA_FIXED_TEXT: TEST_CAPTCHA,
      DATABASE_URL: mysql.url,
      REDIS_URL: backend.redisUrl!,
      REDIS_KEY_PREFIX: `uct:${randomBytes(6).toString('hex')}:`,
      JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      REAL_NAME_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
      REAL_NAME_INDEX_KEY: randomBytes(32).toString('hex'),
      RATE_LIMIT_PER_MINUTE: '50',
      TRUSTED_PROXIES: '127.0.0.1',
      CODE_HMAC_KEY: randomBytes(32).toString('hex'),
      OUTBOX_FILE: outboxFile,
    };
    const dataDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'uc-multi-'));
      dataDirs.push(dir);
      return dir;
    };
    a = await startServer({ ...shared, DATA_DIR: dataDir(), DB_RUN_MIGRATIONS: 'true' });
    b = await startServer({ ...shared, DATA_DIR: dataDir(), DB_RUN_MIGRATIONS: 'false' });
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await mysql?.drop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  async function signUpOn(server: ServerProcess) {
    const captchaId = randomUUID();
    await server.http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
    const body = signUpBody();
    await server.http.post('/api/v1/users').send({ ...body, captchaId, captchaText: TEST_CAPTCHA }).expect(201);
    return body;
  }

  async function signInOn(server: ServerProcess, identifier: string) {
    const response = await server.http.post('/api/v1/auth/login').send({ identifier, password: DEFAULT_PASSWORD }).expect(200);
    return response.body.data as { accessToken: string; refreshToken: string };
  }

  it('verifies on B a code sent by A', async () => {
    const phone = uniquePhone();
    const captchaId = randomUUID();
    await a.http.get(`/api/v1/verification/captcha/${captchaId}`).expect(200);
    await a.http.post('/api/v1/verification/sms-codes').send({ phone, purpose: 'register', captchaId, captchaText: TEST_CAPTCHA }).expect(202);
    const smsCode = readFileSync(outboxFile, 'utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line)).filter((entry) => entry.to === phone).pop()?.code;
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

  it('adds up the global rate limit across A and B', async () => {
    const client = { 'X-Forwarded-For': '198.51.100.7' };
    for (let i = 0; i < 25; i++) await a.http.get('/.well-known/jwks.json').set(client).expect(200);
    for (let i = 0; i < 25; i++) await b.http.get('/.well-known/jwks.json').set(client).expect(200);
    const limited = await a.http.get('/.well-known/jwks.json').set(client).expect(429);
    expect(limited.body.error).toBe('TOO_MANY_REQUESTS');
    await b.http.get('/.well-known/jwks.json').set(client).expect(429);
    await b.http.get('/.well-known/jwks.json').set({ 'X-Forwarded-For': '198.51.100.8' }).expect(200);
  });
});
