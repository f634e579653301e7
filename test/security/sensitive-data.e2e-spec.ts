import { createDecipheriv, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { QueryFailedError } from 'typeorm';
import { UsersService } from '@/modules/users/users.service';
import { AuditEventView, auditEvents, createAppWithAdmin, FIRST_ADMIN, SignedInAdmin } from '../factories/admin';
import { AccountJourney, JOURNEY_ENV, JOURNEY_USER_AGENT, runAccountJourney } from '../factories/audit-journey';
import { uploadAvatar } from '../factories/avatars';
import { lastCode, phoneUser, requestEmailCode, requestSmsCode } from '../factories/codes';
import { idCardNumber, masked } from '../factories/id-cards';
import { testImage } from '../factories/images';
import { signedInUser, signIn, signUp, signUpBody, solvedCaptcha, verifyEmail } from '../factories/users';
import { routeTable } from '../helpers/routes';
import { CaptureLogger } from '../helpers/capture-logger';
import { httpGateway } from '../helpers/http-gateway';
import { createTestApp, TestApp } from '../helpers/test-app';

/** SECURITY.md › Sensitive data, errors, headers, audit: one describe per promise, over HTTP against the real app. */
const ROUTE = '/api/v1/users/me/real-name';

async function rows(t: TestApp, sql: string, ...params: unknown[]): Promise<Record<string, unknown>[]> {
  return t.db.query(sql, params);
}

/** Every table the app has, dumped as one string to grep. */
async function databaseText(t: TestApp): Promise<string> {
  const tables = [...t.db.entityMetadatas.map((entity) => entity.tableName), 'migrations'];
  const dumps = await Promise.all(tables.map((table) => rows(t, `SELECT * FROM ${table}`)));
  return JSON.stringify(dumps);
}

describe('ID-card numbers: AES-256-GCM with a key outside the database (a fresh IV each time), an HMAC blind index, masked, every read audited, Cache-Control: no-store', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('verifies a valid submission and answers masked values only', async () => {
    const user = await signedInUser(t);
    const number = idCardNumber();
    const response = await t.http.post(ROUTE).set(user.auth).send({ realName: '张三', idCardNumber: number }).expect(201);
    expect(response.body).toEqual({
      code: 201,
      data: { status: 'verified', realName: '张*', idCardNumber: masked(number), verifiedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/) },
      msg: 'Real-name information submitted',
    });
    expect(response.headers['cache-control']).toBe('no-store');
    expect(response.text).not.toContain(number);
    expect(response.text).not.toContain('张三');

    const me = await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
    expect(me.body.data.realNameVerified).toBe(true);
    expect(me.text).not.toContain(number);

    const read = await t.http.get(ROUTE).set(user.auth).expect(200);
    expect(read.body.data).toEqual(response.body.data);
    expect(read.headers['cache-control']).toBe('no-store');
    expect(read.text).not.toContain(number);
  });

  it('audits every read, without the number', async () => {
    const user = await signedInUser(t);
    const number = idCardNumber();
    await t.http.post(ROUTE).set(user.auth).send({ realName: '李四', idCardNumber: number }).expect(201);
    await t.http.get(ROUTE).set(user.auth).expect(200);
    await t.http.get(ROUTE).set(user.auth).expect(200);
    const events = await rows(t, 'SELECT type, outcome, ip, detail FROM audit_events WHERE user_id = ? ORDER BY created_at', user.user.id);
    expect(events.filter((event) => event.type === 'real_name_read' && event.outcome === 'success')).toHaveLength(2);
    expect(events.filter((event) => event.type === 'real_name_submitted' && event.outcome === 'success')).toHaveLength(1);
    expect(events.every((event) => typeof event.ip === 'string')).toBe(true);
    expect(JSON.stringify(events)).not.toContain(number);
    expect(JSON.stringify(events)).not.toContain('李四');
  });

  it('binds an ID number to one account: a second account gets 409 ID_CARD_ALREADY_BOUND', async () => {
    const first = await signedInUser(t);
    const second = await signedInUser(t);
    const number = idCardNumber();
    await t.http.post(ROUTE).set(first.auth).send({ realName: '张三', idCardNumber: number }).expect(201);
    const response = await t.http.post(ROUTE).set(second.auth).send({ realName: '张三', idCardNumber: number }).expect(409);
    expect(response.body.error).toBe('ID_CARD_ALREADY_BOUND');
    expect(response.text).not.toContain(number);
    await t.http.get(ROUTE).set(second.auth).expect(404);
    const me = await t.http.get('/api/v1/users/me').set(second.auth).expect(200);
    expect(me.body.data.realNameVerified).toBe(false);
  });

  it('stores the name and number encrypted (fresh IV per value) with a blind index and the key id', async () => {
    const first = await signedInUser(t);
    const second = await signedInUser(t);
    const name = '欧阳娜娜';
    const number = idCardNumber();
    await t.http.post(ROUTE).set(first.auth).send({ realName: name, idCardNumber: number }).expect(201);
    await t.http.post(ROUTE).set(second.auth).send({ realName: name, idCardNumber: idCardNumber() }).expect(201);
    const [row] = await rows(t, 'SELECT * FROM real_name_records WHERE user_id = ?', first.user.id);
    const [other] = await rows(t, 'SELECT * FROM real_name_records WHERE user_id = ?', second.user.id);
    expect(row).toMatchObject({ status: 'verified', key_id: 'dev', provider: 'local', id_card_index: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(JSON.stringify(row)).not.toContain(number);
    expect(JSON.stringify(row)).not.toContain(number.slice(6, 14));
    expect(JSON.stringify(row)).not.toContain(name);
    expect(Buffer.from(String(row.id_card_enc), 'base64')).toHaveLength(12 + 18 + 16);
    // The same name for two accounts gives unrelated ciphertexts.
    expect(row.real_name_enc).not.toBe(other.real_name_enc);
    expect(Buffer.from(String(row.real_name_enc), 'base64').subarray(0, 12).equals(Buffer.from(String(other.real_name_enc), 'base64').subarray(0, 12))).toBe(false);
    // Nowhere in the database: not in the record, the audit trail or the user row.
    const everything = await databaseText(t);
    expect(everything).not.toContain(number);
    expect(everything).not.toContain(name);
  });


  it('keeps the key outside the database: the stored value opens with AES-256-GCM under that key only, and no table holds it', async () => {
    const user = await signedInUser(t);
    const number = idCardNumber();
    await t.http.post(ROUTE).set(user.auth).send({ realName: '钱七', idCardNumber: number }).expect(201);
    // Development keys live in DATA_DIR/keys (production: REAL_NAME_ENCRYPTION_KEY, REAL_NAME_INDEX_KEY in the environment).
    const keys = JSON.parse(readFileSync(join(t.dataDir, 'keys', 'real-name-keys.json'), 'utf8'));
    const key = Buffer.from(keys.encryptionKey.key, 'base64');
    const indexKey = Buffer.from(keys.indexKey, 'base64');
    const [row] = await rows(t, 'SELECT * FROM real_name_records WHERE user_id = ?', user.user.id);
    const open = (sealed: string, withKey: Buffer) => {
      const bytes = Buffer.from(sealed, 'base64');
      const decipher = createDecipheriv('aes-256-gcm', withKey, bytes.subarray(0, 12));
      decipher.setAAD(Buffer.from(`user-centre:real-name:v1:id_card:${user.user.id}`));
      decipher.setAuthTag(bytes.subarray(bytes.length - 16));
      return Buffer.concat([decipher.update(bytes.subarray(12, bytes.length - 16)), decipher.final()]).toString('utf8');
    };
    expect(open(String(row.id_card_enc), key)).toBe(number);
    expect(() => open(String(row.id_card_enc), Buffer.alloc(32, 7))).toThrow();
    expect(row.id_card_index).toBe(createHmac('sha256', indexKey).update(`id-card:${number}`).digest('hex'));
    const everything = await databaseText(t);
    for (const secret of [key.toString('base64'), key.toString('hex'), indexKey.toString('base64'), indexKey.toString('hex')]) expect(everything).not.toContain(secret);
  });
});

describe('ID-card numbers cannot be tested: real-name submissions are limited per account (5 a day) and per ID number (3 a day), counted before the provider is called, every submission and refusal audited', () => {
  let gateway: Awaited<ReturnType<typeof httpGateway>>;
  let t: TestApp;
  beforeAll(async () => {
    // A paid identity service that rejects every claim: each call is a miss someone pays for.
    gateway = await httpGateway(() => ({ status: 200, body: JSON.stringify({ status: 'rejected' }) }));
    t = await createTestApp({ REAL_NAME_PROVIDER: 'http', REAL_NAME_HTTP_URL: `${gateway.url}/check` });
  });
  afterAll(async () => {
    await t.close();
    await gateway.close();
  });
  const submissions = async (userId: string) =>
    (await rows(t, `SELECT outcome, detail FROM audit_events WHERE user_id = ? AND type = 'real_name_submitted'`, userId)).map((event) => ({ outcome: event.outcome, ...JSON.parse(String(event.detail)) }));

  it('one account submitting 15 numbers at once reaches the provider at most 5 times; the rest answer 429 and are audited as refused', async () => {
    const user = await signedInUser(t);
    const before = gateway.received.length;
    const answers = await Promise.all(Array.from({ length: 15 }, () => t.http.post(ROUTE).set(user.auth).send({ realName: '张三', idCardNumber: idCardNumber() })));
    expect(gateway.received.length - before).toBeLessThanOrEqual(5);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    expect(refused.every((answer) => answer.body.error === 'TOO_MANY_REQUESTS' && Number(answer.headers['retry-after']) > 23 * 3600)).toBe(true);
    const events = await submissions(user.user.id);
    expect(events).toHaveLength(15);
    expect(events.filter((event) => event.reason === 'limit_per_account')).toHaveLength(refused.length);
    // A new day, a new allowance.
    await t.passTime(24 * 3600_000);
    await t.http.post(ROUTE).set(user.auth).send({ realName: '张三', idCardNumber: idCardNumber() }).expect(201);
  });

  it('one ID number submitted by 6 accounts at once reaches the provider at most 3 times, and the others answer 429', async () => {
    const users = await Promise.all(Array.from({ length: 6 }, () => signedInUser(t)));
    const number = idCardNumber();
    const before = gateway.received.filter((request) => request.body.includes(number)).length;
    const answers = await Promise.all(users.map((user) => t.http.post(ROUTE).set(user.auth).send({ realName: '李四', idCardNumber: number })));
    expect(gateway.received.filter((request) => request.body.includes(number)).length - before).toBeLessThanOrEqual(3);
    expect(answers.filter((answer) => answer.status === 429).length).toBeGreaterThanOrEqual(3);
    const reasons = (await Promise.all(users.map((user) => submissions(user.user.id)))).flat().map((event) => event.reason ?? event.status);
    expect(reasons.filter((reason) => reason === 'limit_per_id_number').length).toBe(answers.filter((answer) => answer.status === 429).length);
    // The refused accounts did not spend their own allowance on it.
    const refusedUser = users[answers.findIndex((answer) => answer.status === 429)];
    await t.http.post(ROUTE).set(refusedUser.auth).send({ realName: '李四', idCardNumber: idCardNumber() }).expect(201);
  });

  it('counts submissions that end in 409 ID_CARD_ALREADY_BOUND too, so bound numbers cannot be tested for free', async () => {
    const local = await createTestApp();
    try {
      const numbers = Array.from({ length: 6 }, () => idCardNumber());
      for (const number of numbers) await local.http.post(ROUTE).set((await signedInUser(local)).auth).send({ realName: '王五', idCardNumber: number }).expect(201);
      const prober = await signedInUser(local);
      const answers = [];
      for (const number of numbers) answers.push((await local.http.post(ROUTE).set(prober.auth).send({ realName: '王五', idCardNumber: number })).status);
      expect(answers).toEqual([409, 409, 409, 409, 409, 429]);
      // Per number too: the owner's submission and two more are all that number gets today.
      const [first, second] = [await signedInUser(local), await signedInUser(local)];
      expect((await local.http.post(ROUTE).set(first.auth).send({ realName: '王五', idCardNumber: numbers[0] })).status).toBe(409);
      expect((await local.http.post(ROUTE).set(second.auth).send({ realName: '王五', idCardNumber: numbers[0] })).status).toBe(429);
    } finally {
      await local.close();
    }
  });
});

describe('Logs from a whole test run contain no password, code, token or ID number (a test greps them)', () => {
  let t: TestApp;
  const logger = new CaptureLogger();
  const secrets: string[] = [];
  beforeAll(async () => {
    t = await createTestApp({ LOG_LEVEL: 'debug', LOGIN_CAPTCHA_AFTER: '100' }, { logger });
  });
  afterAll(() => t.close());

  it('Logs from a whole journey contain no password, code, token or ID number', async () => {
    const account = await signUp(t, { password: 'journey secret phrase 1' });
    secrets.push(account.password);
    await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: 'wrong guess phrase 2' }).expect(401);
    secrets.push('wrong guess phrase 2');
    const tokens = await signIn(t, account.username, account.password);
    const refreshed = (await t.http.post('/api/v1/auth/refresh').send({ refreshToken: tokens.refreshToken }).expect(200)).body.data;
    secrets.push(tokens.accessToken, tokens.refreshToken, refreshed.accessToken, refreshed.refreshToken);
    const auth = { Authorization: `Bearer ${refreshed.accessToken}` };
    await verifyEmail(t, auth, account.email);
    const apiKey = (await t.http.post('/api/v1/users/me/api-key').set(auth).expect(201)).body.data.apiKey;
    secrets.push(apiKey);
    await t.http.get('/api/v1/users/me').set('X-API-Key', apiKey).expect(200);

    const idNumber = idCardNumber();
    secrets.push(idNumber);
    await t.http.post('/api/v1/users/me/real-name').set(auth).send({ realName: '王小明', idCardNumber: idNumber }).expect(201);
    await t.http.get('/api/v1/users/me/real-name').set(auth).expect(200);

    const { phone } = await phoneUser(t);
    await requestSmsCode(t, phone, 'login');
    const smsCode = lastCode(t, phone, 'login')!;
    secrets.push(smsCode, lastCode(t, phone, 'register')!);
    await t.http.post('/api/v1/auth/login/sms').send({ phone, smsCode }).expect(200);

    await requestEmailCode(t, account.email, 'reset_password');
    const resetCode = lastCode(t, account.email, 'reset_password')!;
    secrets.push(resetCode, 'reset secret phrase 3');
    await t.http.post('/api/v1/auth/password-reset').send({ channel: 'email', email: account.email, code: resetCode, newPassword: 'reset secret phrase 3' }).expect(200);
    await t.http.delete('/api/v1/auth/session').set(auth).expect(401);

    const logged = logger.text();
    expect(logger.lines.length).toBeGreaterThan(20); // the journey really was logged
    for (const secret of secrets) expect([secret.slice(0, 12), logged.includes(secret)]).toEqual([secret.slice(0, 12), false]);
    // No bearer token or refresh token shape either, whoever's.
    expect(logged).not.toMatch(/eyJ[\w-]{10,}\.eyJ[\w-]{10,}/);
    expect(logged).not.toMatch(/\brt_[\w-]{20,}/);
    expect(logged).not.toMatch(/\bucp_[\w-]{20,}/);
  });
});

describe('Errors: generic body with a request id; no stack trace, SQL or X-Powered-By', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

    it('answers an unknown route with the error envelope and a request id', async () => {
      const response = await t.http.get('/api/v1/no-such-route').expect(404);
      expect(response.body).toEqual({ code: 404, msg: 'Not found', error: 'NOT_FOUND', requestId: expect.any(String) });
      expect(response.headers['x-request-id']).toBe(response.body.requestId);
    });

  it('answers an unexpected failure with a generic 500 and its request id, never the stack, the SQL or the driver', async () => {
    const user = await signedInUser(t);
    const failure = new QueryFailedError('SELECT password_hash FROM users WHERE id = ?', [user.user.id], new Error("ER_BAD_FIELD_ERROR: Unknown column 'password_hash' in 'field list'"));
    const getView = jest.spyOn(t.app.get(UsersService), 'getView').mockRejectedValueOnce(failure);
    try {
      const response = await t.http.get('/api/v1/users/me').set(user.auth).set('X-Request-Id', 'trace-500-1').expect(500);
      expect(response.body).toEqual({ code: 500, msg: expect.any(String), error: 'INTERNAL_ERROR', requestId: 'trace-500-1' });
      expect(response.headers['x-request-id']).toBe('trace-500-1');
      expect(response.headers['x-powered-by']).toBeUndefined();
      expect(response.text).not.toMatch(/SELECT|password_hash|ER_|QueryFailedError|Unknown column|at .+\.(ts|js):\d+|node_modules/);
    } finally {
      getView.mockRestore();
    }
  });

  it('never sends X-Powered-By, on any kind of answer', async () => {
    const user = await signedInUser(t);
    const avatar = (await uploadAvatar(t, user.auth, await testImage('png')).expect(201)).body.data.avatarUrl;
    const answers = [
      await t.http.get('/api/v1/users/me').set(user.auth),
      await t.http.get('/api/v1/users/me'),
      await t.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"identifier": '),
      await t.http.get(avatar),
      await t.http.get('/health/live'),
      await t.http.get('/docs'),
    ];
    for (const response of answers) expect([response.status, response.headers['x-powered-by']]).toEqual([response.status, undefined]);
  });
});

describe('Headers: nosniff, HSTS, frame-ancestors / X-Frame-Options, Referrer-Policy', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('sends the security headers and no X-Powered-By', async () => {
    const user = await signedInUser(t);
    const avatar = (await uploadAvatar(t, user.auth, await testImage('png')).expect(201)).body.data.avatarUrl;
    const answers: [string, () => Promise<import('supertest').Response>][] = [
      ['JSON success', () => t.http.get('/api/v1/users/me').set(user.auth)],
      ['401', () => t.http.get('/api/v1/users/me')],
      ['unmatched 404', () => t.http.get('/api/v1/no-such-route')],
      ['413', () => t.http.post('/api/v1/auth/login').send({ identifier: 'x'.repeat(1024 * 1024 + 10), password: 'y' })],
      ['captcha image', () => t.http.get('/api/v1/verification/captcha/0b6f1c9e-2f7a-4c1e-9a8b-3d2e1f0a9b8c')],
      ['avatar image', () => t.http.get(avatar)],
      ['missing avatar', () => t.http.get(`/api/v1/avatars/${'0'.repeat(32)}.webp`)],
      ['Swagger UI', () => t.http.get('/docs')],
      ['JWKS', () => t.http.get('/.well-known/jwks.json')],
      ['liveness', () => t.http.get('/health/live')],
    ];
    for (const [what, send] of answers) {
      const response = await send();
      const headers = response.headers;
      expect([what, headers['x-content-type-options']]).toEqual([what, 'nosniff']);
      expect([what, headers['strict-transport-security']]).toEqual([what, 'max-age=31536000; includeSubDomains']);
      expect([what, headers['x-frame-options']]).toEqual([what, 'DENY']);
      expect([what, headers['content-security-policy']]).toEqual([what, expect.stringContaining("frame-ancestors 'none'")]);
      expect([what, headers['referrer-policy']]).toEqual([what, 'no-referrer']);
      expect([what, headers['x-powered-by']]).toEqual([what, undefined]);
    }
  });
});

describe('Cache-Control: no-store on every answer that carries a token, a key, a code or personal data (no-store by default; public caching only where deliberate)', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  beforeAll(async () => ({ t, admin } = await createAppWithAdmin()));
  afterAll(() => t.close());

  /** The only answers that may be cached, and how: public bytes that carry nothing about a caller. */
  const DELIBERATELY_PUBLIC: Record<string, RegExp> = {
    'get /.well-known/jwks.json': /^public, max-age=\d+$/,
    'get /api/v1/avatars/{fileName}': /^public, max-age=\d+, immutable$/,
  };

  it('answers every route in the route table with no-store (as an admin, so most answers are successes), unless it deliberately serves public bytes', async () => {
    const user = await signedInUser(t);
    const avatar: string = (await uploadAvatar(t, user.auth, await testImage('png')).expect(201)).body.data.avatarUrl;
    const routes = [...new Set(routeTable(t))].filter((route) => !route.startsWith('options '));
    expect(routes).toEqual(expect.arrayContaining(['post /api/v1/auth/login', 'post /api/v1/auth/refresh', 'get /api/v1/users/me', 'get /api/v1/admin/users', ...Object.keys(DELIBERATELY_PUBLIC)]));
    const seen: string[] = [];
    for (const route of routes) {
      const [method, path] = route.split(' ');
      // A fresh session each time: some routes (sign-out, session revocation) end the one they are called with.
      const { accessToken } = await signIn(t, FIRST_ADMIN.username, FIRST_ADMIN.password);
      const url = route === 'get /api/v1/avatars/{fileName}' ? avatar : path.replace(/\{[^}]+\}/g, '0b6f1c9e-2f7a-4c1e-9a8b-3d2e1f0a9b8c').replace('*', 'index.html');
      const call = (t.http as unknown as Record<string, (url: string) => import('supertest').Test>)[method](url).set('Authorization', `Bearer ${accessToken}`);
      // Revoke-all with an empty body would sign out every session of this file's app: a cut-off before all of them.
      const body = path.endsWith('/sessions/revoke-all') ? { before: '2000-01-01T00:00:00Z' } : {};
      const response = ['post', 'put', 'patch'].includes(method) ? await call.send(body) : await call;
      const cacheControl = response.headers['cache-control'];
      const expected = DELIBERATELY_PUBLIC[route] && response.status < 300 ? DELIBERATELY_PUBLIC[route] : /^no-store$/;
      expect([route, response.status, cacheControl]).toEqual([route, response.status, expect.stringMatching(expected)]);
      seen.push(`${route} ${response.status}`);
    }
    // The walk reached real answers, not only refusals.
    expect(seen.filter((line) => / 2\d\d$/.test(line)).length).toBeGreaterThan(10);
  }, 60_000); // a sign-in per route: about 6 s on MariaDB, past Jest's default 5 s

  it('marks the answers the review found without it no-store: sign-in, refresh, API-key creation, /users/me, /admin/users, sign-up', async () => {
    const account = await signUp(t);
    const login = await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: account.password }).expect(200);
    const refreshed = await t.http.post('/api/v1/auth/refresh').send({ refreshToken: login.body.data.refreshToken }).expect(200);
    const auth = { Authorization: `Bearer ${refreshed.body.data.accessToken}` };
    await verifyEmail(t, auth, account.email);
    const answers: [string, import('supertest').Response][] = [
      ['sign-in', login],
      ['refresh', refreshed],
      ['API key', await t.http.post('/api/v1/users/me/api-key').set(auth).send({})],
      ['me', await t.http.get('/api/v1/users/me').set(auth).expect(200)],
      ['admin list', await t.http.get('/api/v1/admin/users').set(admin.auth).expect(200)],
      ['sessions', await t.http.get('/api/v1/auth/sessions').set(auth).expect(200)],
      ['sign-up', await t.http.post('/api/v1/users').send({ ...signUpBody(), ...(await solvedCaptcha(t)) }).expect(201)],
    ];
    for (const [what, response] of answers) {
      expect([what, response.status < 300, response.headers['cache-control']]).toEqual([what, true, 'no-store']);
    }
  });
});

describe('CORS only for configured origins (Origin: null gets nothing)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ CORS_ORIGINS: 'https://app.example.com,https://admin.example.com' });
  });
  afterAll(() => t.close());

  it('allows a configured origin', async () => {
    const response = await t.http.get('/health/live').set('Origin', 'https://app.example.com').expect(200);
    expect(response.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(response.headers['access-control-expose-headers']).toContain('X-Request-Id');
  });

  it('gives another origin and Origin: null nothing', async () => {
    for (const origin of ['https://evil.example.com', 'null', 'https://app.example.com.evil.com']) {
      const response = await t.http.get('/health/live').set('Origin', origin).expect(200);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    }
  });

  it('answers a preflight for an allowed origin and not for another', async () => {
    const ok = await t.http
      .options('/api/v1/users/me')
      .set('Origin', 'https://admin.example.com')
      .set('Access-Control-Request-Method', 'PATCH')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(ok.status).toBe(204);
    expect(ok.headers['access-control-allow-origin']).toBe('https://admin.example.com');
    expect(ok.headers['access-control-allow-methods']).toContain('PATCH');
    expect(ok.headers['access-control-max-age']).toBe('600');
    const refused = await t.http.options('/api/v1/users/me').set('Origin', 'https://evil.example.com').set('Access-Control-Request-Method', 'PATCH');
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('gives every origin nothing when no CORS_ORIGINS is configured', async () => {
    const closed = await createTestApp();
    try {
      for (const origin of ['https://app.example.com', 'null', 'http://localhost:3000']) {
        const simple = await closed.http.get('/health/live').set('Origin', origin).expect(200);
        expect(simple.headers['access-control-allow-origin']).toBeUndefined();
        const preflight = await closed.http.options('/api/v1/users/me').set('Origin', origin).set('Access-Control-Request-Method', 'PATCH');
        expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
        expect(preflight.headers['access-control-allow-methods']).toBeUndefined();
      }
    } finally {
      await closed.close();
    }
  });
});

describe('Audit records (UTC time, actor, IP, outcome) for sign-in success and failure, lockouts, denials, credential/contact/role/status changes, deletions and ID reads; user-supplied text in them is escaped', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  let journey: AccountJourney;
  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin({ ...JOURNEY_ENV, TRUSTED_PROXIES: '127.0.0.1' }));
    journey = await runAccountJourney(t, admin);
  });
  afterAll(() => t.close());

  const ofType = (events: AuditEventView[], type: string, outcome?: string) => events.filter((event) => event.type === type && (!outcome || event.outcome === outcome));

  it('records every security event of an account with time, user, IP and user agent', async () => {
    const events = await auditEvents(t, admin.auth, { userId: journey.userId });
    const expected: [string, string, number][] = [
      ['sign_up', 'success', 1],
      ['sign_in', 'failure', 11],
      ['account_locked', 'denied', 1],
      ['access_denied', 'denied', 1],
      ['email_changed', 'success', 1],
      ['phone_changed', 'success', 1],
      ['real_name_submitted', 'success', 1],
      ['real_name_read', 'success', 1],
      ['password_reset', 'success', 1],
      ['sign_in', 'success', 4],
      ['refresh_reuse', 'denied', 1],
      ['api_key_created', 'success', 1],
      ['password_changed', 'failure', 1],
      ['password_changed', 'success', 1],
      ['sign_out', 'success', 1],
      ['role_changed', 'success', 1],
      ['status_changed', 'success', 2],
      ['account_deleted', 'failure', 1],
      ['account_deleted', 'success', 1],
    ];
    for (const [type, outcome, count] of expected) expect([type, outcome, ofType(events, type, outcome).length]).toEqual([type, outcome, count]);

    const now = t.clock.now();
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(['actorId', 'createdAt', 'detail', 'id', 'ip', 'outcome', 'type', 'userAgent', 'userId']);
      expect(event.userId).toBe(journey.userId);
      expect(event.ip).toMatch(/127\.0\.0\.1|::1/);
      expect(new Date(event.createdAt).toISOString()).toBe(event.createdAt);
      expect(new Date(event.createdAt).getTime()).toBeGreaterThanOrEqual(journey.startedAt - 1000);
      expect(new Date(event.createdAt).getTime()).toBeLessThanOrEqual(now + 1000);
      // User-supplied text comes back as the same string, never interpreted.
      if (!['role_changed', 'status_changed'].includes(event.type)) expect(event.userAgent).toBe(JOURNEY_USER_AGENT);
    }
    // Newest first.
    const times = events.map((event) => new Date(event.createdAt).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('says who acted and what changed, as a parsed object', async () => {
    const events = await auditEvents(t, admin.auth, { userId: journey.userId });
    expect(ofType(events, 'sign_in', 'failure')[0].detail).toEqual({ reason: 'wrong_password' });
    expect(ofType(events, 'sign_in', 'success')[0]).toMatchObject({ actorId: journey.userId, detail: { method: 'password' } });
    expect(ofType(events, 'role_changed')[0]).toMatchObject({ actorId: admin.user.id, userAgent: 'AdminConsole/1.0', detail: { from: 'normal_user', to: 'vip_user' } });
    expect(ofType(events, 'status_changed').map((event) => event.detail).sort((a, b) => String(a!.to).localeCompare(String(b!.to)))).toEqual([
      { from: 'disabled', to: 'active' },
      { from: 'active', to: 'disabled' },
    ]);
    expect(ofType(events, 'refresh_reuse')[0].detail).toEqual({ sessionId: expect.any(String) });
    expect(ofType(events, 'access_denied')[0].detail).toEqual({ route: 'GET /api/v1/admin/users', via: 'bearer' });
    // The actor: the user for what they did, the admin for role and status, nobody for what an anonymous caller caused.
    const actors = Object.fromEntries(events.map((event) => [`${event.type}/${event.outcome}`, event.actorId]));
    for (const own of ['sign_up/success', 'sign_in/success', 'password_changed/success', 'email_changed/success', 'phone_changed/success', 'real_name_read/success', 'access_denied/denied', 'password_reset/success', 'account_deleted/success']) {
      expect([own, actors[own]]).toEqual([own, journey.userId]);
    }
    for (const anonymous of ['sign_in/failure', 'account_locked/denied', 'refresh_reuse/denied']) expect([anonymous, actors[anonymous]]).toEqual([anonymous, null]);
  });

  it('never stores a password, token, API key, code, captcha or ID datum in an event', async () => {
    const everything = JSON.stringify(await auditEvents(t, admin.auth));
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of journey.secrets) expect(everything).not.toContain(secret);
    const rows = JSON.stringify(await t.db.query('SELECT * FROM audit_events'));
    for (const secret of journey.secrets) expect(rows).not.toContain(secret);
  });


  it('keeps user-supplied text inert: it comes back as the same JSON string, and a forged forwarded address is never taken for an IP', async () => {
    const account = await signUp(t);
    const hostile = 'x", "type": "admin_created", "actorId": null, "z": "<script>alert(1)</script>\t \\u0000 {}';
    const forged = ['<script>alert(1)</script>', 'x'.repeat(100), '203.0.113.9, <img src=x onerror=alert(1)>'];
    for (const xff of forged) {
      const response = await t.http.post('/api/v1/auth/login').set('User-Agent', hostile).set('X-Forwarded-For', xff).send({ identifier: account.username, password: 'not the password 1' });
      expect([xff.slice(0, 20), response.status]).toEqual([xff.slice(0, 20), 401]);
    }
    const raw = await t.http.get('/api/v1/admin/audit-events').query({ userId: account.user.id, type: 'sign_in' }).set(admin.auth).expect(200);
    expect(raw.headers['content-type']).toMatch(/^application\/json/);
    expect(raw.headers['x-content-type-options']).toBe('nosniff');
    // JSON escaping: the quote and the tab arrive escaped, so the text cannot close its string or forge a field.
    expect(raw.text).toContain('\\"type\\": \\"admin_created\\"');
    expect(raw.text).not.toContain('\t');
    const failures = raw.body.data.items as AuditEventView[];
    expect(failures).toHaveLength(forged.length);
    for (const event of failures) {
      expect(Object.keys(event).sort()).toEqual(['actorId', 'createdAt', 'detail', 'id', 'ip', 'outcome', 'type', 'userAgent', 'userId']);
      expect(event).toMatchObject({ type: 'sign_in', outcome: 'failure', actorId: null, userAgent: hostile, detail: { reason: 'wrong_password' } });
      expect(event.ip).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
    }
    // Nothing in the whole trail carries a forged address.
    expect(JSON.stringify(await rows(t, 'SELECT ip FROM audit_events WHERE ip NOT LIKE ? AND ip NOT LIKE ?', '%127.0.0.1', '::1'))).toBe('[]');
  });
});
