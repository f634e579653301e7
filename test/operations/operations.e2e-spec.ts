import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { loadConfig } from '@/config/app-config';
import { createTestApp, TestApp } from '../helpers/test-app';
import { CaptureLogger } from '../helpers/capture-logger';
import { DEFAULT_PASSWORD, signedInUser, signUp } from '../factories/users';

describe('Health probes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('answers liveness at the root, outside /api/v1', async () => {
    const response = await t.http.get('/health/live').expect(200);
    expect(response.body).toEqual({ code: 200, data: { status: 'ok' }, msg: 'OK' });
    await t.http.get('/api/v1/health/live').expect(404);
  });

  it('answers readiness with each dependency checked', async () => {
    const response = await t.http.get('/health/ready').expect(200);
    expect(response.body.data).toEqual({ status: 'ok', checks: { database: 'up', cache: 'up' } });
  });

  it('answers readiness 503 naming the dependency that is down', async () => {
    const ping = jest.spyOn(t.kv, 'ping').mockRejectedValueOnce(new Error('down'));
    const response = await t.http.get('/health/ready').expect(503);
    expect(response.body).toMatchObject({ code: 503, error: 'SERVICE_UNAVAILABLE', details: [{ field: 'cache', message: 'down' }] });
    ping.mockRestore();
  });

  it('bounds a readiness probe that hangs by HEALTH_TIMEOUT_MS', async () => {
    const ping = jest.spyOn(t.kv, 'ping').mockImplementationOnce(() => new Promise(() => undefined));
    const started = Date.now();
    const response = await t.http.get('/health/ready').expect(503);
    expect(Date.now() - started).toBeLessThan(t.config.operations.healthTimeoutMs + 1500);
    expect(response.body.details).toEqual([{ field: 'cache', message: 'down' }]);
    ping.mockRestore();
  });

  it('documents the probes and metrics under the Operations tag', async () => {
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    for (const [path, id] of [['/health/live', 'getLiveness'], ['/health/ready', 'getReadiness'], ['/metrics', 'getMetrics']]) {
      expect(doc.paths[path].get).toMatchObject({ operationId: id, tags: ['Operations'] });
    }
  });
});

describe('Readiness during shutdown', () => {
  it('turns 503 as soon as shutdown begins', async () => {
    const t = await createTestApp();
    const { ReadinessService } = await import('@/modules/operations/readiness.service');
    const readiness = t.app.get(ReadinessService);
    await readiness.beforeApplicationShutdown();
    const response = await t.http.get('/health/ready').expect(503);
    expect(response.body.details).toEqual([{ field: 'shutdown', message: 'the instance is shutting down' }]);
    await t.close();
  });
});

describe('Prometheus metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('counts requests by route template (never the raw URL), status and sign-ins by outcome', async () => {
    const account = await signUp(t);
    await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: 'wrong password 1' }).expect(401);
    await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(200);
    await t.http.get(`/api/v1/users/${account.user.id}/profile?secret=zzz`);
    const response = await t.http.get('/metrics').expect(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.text;
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/api\/v1\/auth\/login",status="401"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/api\/v1\/auth\/login",status="200"\} 1/);
    expect(text).toMatch(/http_request_duration_seconds_bucket\{le="0.005",method="POST",route="\/api\/v1\/auth\/login",status="200"\}/);
    expect(text).toContain('user_centre_sign_ins_total{outcome="failure",method="password"} 1');
    expect(text).toContain('user_centre_sign_ins_total{outcome="success",method="password"} 1');
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).not.toContain(account.user.id);
    expect(text).not.toContain('zzz');
  });

  it('labels a request no route answered as "unmatched"', async () => {
    await t.http.get('/api/v1/no-such-route-7f3a').expect(404);
    const text = (await t.http.get('/metrics').expect(200)).text;
    expect(text).toMatch(/http_requests_total\{method="GET",route="unmatched",status="404"\} \d+/);
    expect(text).not.toContain('no-such-route-7f3a');
  });
});

/** What production refuses to start without, and no test-only captcha. */
function productionEnv(): Record<string, string> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    NODE_ENV: 'production',
    CAPTCHA_FIXED_TEXT: '',
    BCRYPT_COST: '10',
    JWT_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    REAL_NAME_ENCRYPTION_KEY: randomBytes(32).toString('hex'),
    REAL_NAME_INDEX_KEY: randomBytes(32).toString('hex'),
    CODE_HMAC_KEY: randomBytes(32).toString('hex'),
    OUTBOX_FILE: '',
    SMS_TRANSPORT: 'http',
    SMS_HTTP_URL: 'http://127.0.0.1:9/sms',
    MAIL_TRANSPORT: 'smtp',
    SMTP_HOST: '127.0.0.1',
    MAIL_FROM: 'no-reply@example.com',
  };
}

describe('Metrics protection', () => {
  const token = 'metrics-token-0123456789abcdef';

  it('requires the bearer METRICS_TOKEN when it is set', async () => {
    const t = await createTestApp({ METRICS_TOKEN: token });
    try {
      expect((await t.http.get('/metrics').expect(401)).body.error).toBe('UNAUTHENTICATED');
      await t.http.get('/metrics').set('Authorization', 'Bearer metrics-token-0123456789abcdeX').expect(401);
      await t.http.get('/metrics').set('Authorization', `Bearer ${token}`).expect(200);
    } finally {
      await t.close();
    }
  });

  it('is switched off (404) in production without METRICS_TOKEN', async () => {
    const t = await createTestApp(productionEnv());
    try {
      expect((await t.http.get('/metrics').expect(404)).body.error).toBe('NOT_FOUND');
    } finally {
      await t.close();
    }
  });

  it('refuses a METRICS_TOKEN shorter than 16 characters', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
  });
});

describe('Access log', () => {
  let t: TestApp;
  const logger = new CaptureLogger();
  beforeAll(async () => {
    t = await createTestApp({ LOG_FORMAT: 'json' }, { logger });
  });
  afterAll(() => t.close());

  it('writes one line per request with route template, status, duration, request id and user id, and no secrets', async () => {
    const user = await signedInUser(t);
    logger.lines.length = 0;
    await t.http.get('/api/v1/users/me').set(user.auth).set('X-Request-Id', 'req-access-1').set('Cookie', 'session=cookie-secret-1').expect(200);
    await t.http.post('/api/v1/auth/login').set('X-API-Key', 'uc_api_key_secret_value_1').send({ identifier: user.username, password: 'a password secret 9' }).expect(401);
    const lines = logger.access();
    expect(lines).toEqual([
      { method: 'GET', route: '/api/v1/users/me', status: 200, durationMs: expect.any(Number), requestId: 'req-access-1', userId: user.user.id },
      { method: 'POST', route: '/api/v1/auth/login', status: 401, durationMs: expect.any(Number), requestId: expect.any(String), userId: null },
    ]);
    const everything = logger.text();
    for (const secret of [user.accessToken, user.refreshToken, 'a password secret 9', 'cookie-secret-1', 'uc_api_key_secret_value_1', user.password]) {
      expect(everything).not.toContain(secret);
    }
  });
});

describe('Access log in text format', () => {
  it('writes one readable line per request', async () => {
    const logger = new CaptureLogger();
    const t = await createTestApp({ LOG_FORMAT: 'text' }, { logger });
    try {
      await t.http.get('/health/live').set('X-Request-Id', 'req-text-1').expect(200);
      const lines = logger.lines.filter((line) => line.context === 'Access').map((line) => line.message);
      expect(lines).toEqual([expect.stringMatching(/^GET \/health\/live 200 [\d.]+ms req=req-text-1$/)]);
    } finally {
      await t.close();
    }
  });
});

describe('Global rate limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ RATE_LIMIT_PER_MINUTE: '5' });
  });
  afterAll(() => t.close());

  it('answers 429 TOO_MANY_REQUESTS with Retry-After past the limit per IP, across routes, and resets after the window', async () => {
    for (let i = 0; i < 3; i++) await t.http.get('/.well-known/jwks.json').expect(200);
    for (let i = 0; i < 2; i++) await t.http.get('/api/v1/users/me').expect(401);
    const limited = await t.http.get('/api/v1/users/me').expect(429);
    expect(limited.body).toMatchObject({ code: 429, error: 'TOO_MANY_REQUESTS' });
    const retryAfter = Number(limited.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    await t.http.get('/.well-known/jwks.json').expect(429);
    // Probes and metrics are never limited.
    await t.http.get('/health/live').expect(200);
    await t.http.get('/health/ready').expect(200);
    await t.http.get('/metrics').expect(200);
    await t.passTime(60_001);
    await t.http.get('/api/v1/users/me').expect(401);
  });

  it('lets exactly the limit through a burst of parallel requests from one client', async () => {
    const burst = await createTestApp({ RATE_LIMIT_PER_MINUTE: '5' });
    try {
      const answers = await Promise.all(Array.from({ length: 40 }, () => burst.http.get('/.well-known/jwks.json')));
      expect(answers.filter((answer) => answer.status === 200)).toHaveLength(5);
      expect(answers.filter((answer) => answer.status === 429)).toHaveLength(35);
    } finally {
      await burst.close();
    }
  });

  it('is off with RATE_LIMIT_PER_MINUTE=0', async () => {
    const off = await createTestApp({ RATE_LIMIT_PER_MINUTE: '0' });
    try {
      for (let i = 0; i < 8; i++) await off.http.get('/.well-known/jwks.json').expect(200);
    } finally {
      await off.close();
    }
  });

  it('counts each client IP apart', async () => {
    const other = await createTestApp({ RATE_LIMIT_PER_MINUTE: '2', TRUSTED_PROXIES: '127.0.0.1' });
    try {
      await other.http.get('/.well-known/jwks.json').set('X-Forwarded-For', '203.0.113.1').expect(200);
      await other.http.get('/.well-known/jwks.json').set('X-Forwarded-For', '203.0.113.1').expect(200);
      await other.http.get('/.well-known/jwks.json').set('X-Forwarded-For', '203.0.113.1').expect(429);
      await other.http.get('/.well-known/jwks.json').set('X-Forwarded-For', '203.0.113.2').expect(200);
    } finally {
      await other.close();
    }
  });
});
