import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '@/config/app-config';
import { uniquePhone } from '../factories/codes';
import { AltchaChallenge, solveAltcha, solvedAltcha } from '../factories/human-check';
import { DEFAULT_PASSWORD, signUpBody, solvedCaptcha } from '../factories/users';
import { httpGateway } from '../helpers/http-gateway';
import { buildIfNeeded, ServerProcess } from '../helpers/server-process';
import { backend, createTestApp, TestApp } from '../helpers/test-app';
import { startTwoInstances, TwoInstances } from '../helpers/two-instances';

// Two real server processes share state only through MariaDB and Redis (test/helpers/two-instances.ts).
const describeOnBoth = backend.mysqlUrl && backend.redisUrl ? describe : describe.skip;
/** Small enough that solving takes milliseconds in a test; production defaults to 100,000. */
const POW = { HUMAN_CHECK_POW_MAX_NUMBER: '2000' };

const codeRequest = (t: Pick<TestApp, 'http'>, check: Record<string, unknown>) => t.http.post('/api/v1/verification/email-codes').send({ email: `hc_${randomUUID()}@example.com`, purpose: 'register', ...check });
const challengeOf = async (t: TestApp) => (await t.http.get('/api/v1/verification/challenge').expect(200)).body as AltchaChallenge;

/** SECURITY.md, "Bots" and contract §9: the human check in each of its kinds. */
describe('SECURITY: Bots — the human check (HUMAN_CHECK image | pow | image+pow | provider)', () => {
  describe('pow: ALTCHA proof of work, each solution single-use', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ HUMAN_CHECK: 'pow', ...POW });
    });
    afterAll(() => t.close());

    it('serves the challenge as the ALTCHA widget reads it, not wrapped, with its expiry inside the salt', async () => {
      const before = t.clock.now();
      const response = await t.http.get('/api/v1/verification/challenge').expect(200);
      const after = t.clock.now();
      expect(response.headers['content-type']).toContain('application/json');
      expect(response.headers['cache-control']).toBe('no-store');
      expect(Object.keys(response.body).sort()).toEqual(['algorithm', 'challenge', 'maxnumber', 'salt', 'signature']);
      expect(response.body).toMatchObject({ algorithm: 'SHA-256', maxnumber: 2000 });
      const expires = Number(/\?expires=(\d+)&$/.exec(response.body.salt)?.[1]);
      // Whole seconds, HUMAN_CHECK_POW_TTL (300 s) after the request by the app's clock.
      expect(expires * 1000).toBeGreaterThan(before + 299_000);
      expect(expires * 1000).toBeLessThanOrEqual(after + 300_000);
    });

    it('tells the SPA to show the proof of work', async () => {
      const response = await t.http.get('/api/v1/verification/human-check').expect(200);
      expect(response.body.data).toEqual({ kind: 'pow', challengeUrl: '/api/v1/verification/challenge' });
    });

    it('asks every protected route for a solution: sign-up, code requests and sign-in after failures', async () => {
      expect((await t.http.post('/api/v1/users').send(signUpBody()).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
      // An image captcha is not what this mode asks for: its route is off, and its fields alone are not enough.
      expect((await t.http.get(`/api/v1/verification/captcha/${randomUUID()}`).expect(404)).body.error).toBe('NOT_FOUND');
      expect((await t.http.post('/api/v1/users').send({ ...signUpBody(), captchaId: randomUUID(), captchaText: 'abcde' }).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
      const account = { ...signUpBody() };
      await t.http.post('/api/v1/users').send({ ...account, ...(await solvedAltcha(t)) }).expect(201);
      expect((await t.http.post('/api/v1/verification/sms-codes').send({ phone: uniquePhone(), purpose: 'register' }).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
      await t.http.post('/api/v1/verification/sms-codes').send({ phone: uniquePhone(), purpose: 'register', ...(await solvedAltcha(t)) }).expect(202);
      for (let i = 0; i < 3; i++) await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: 'wrong password!' }).expect(401);
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
      await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD, ...(await solvedAltcha(t)) }).expect(200);
    });

    it('refuses a wrong number, a forged signature, another challenge, another algorithm and garbage (CAPTCHA_INVALID); an oversized one is VALIDATION_FAILED', async () => {
      const challenge = await challengeOf(t);
      const right = JSON.parse(Buffer.from(await solveAltcha(challenge), 'base64').toString('utf8'));
      const variants = [
        await solveAltcha(challenge, { number: (right.number + 1) % 2000 }),
        await solveAltcha(challenge, { signature: createHmac('sha256', 'not the key').update(challenge.challenge).digest('hex') }),
        await solveAltcha(challenge, { salt: `${challenge.salt}x=1&` }),
        await solveAltcha(challenge, { algorithm: 'SHA-1' }),
        Buffer.from('{"algorithm":"SHA-256"}').toString('base64'),
        'not base64 at all!',
      ];
      for (const altcha of variants) expect((await codeRequest(t, { altcha }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
      expect((await codeRequest(t, { altcha: 'A'.repeat(2049) }).expect(400)).body.error).toBe('VALIDATION_FAILED');
      // None of those spent the real solution.
      await codeRequest(t, { altcha: await solveAltcha(challenge) }).expect(202);
    });

    it('accepts one of 20 parallel uses of one solution; the other 19 are CAPTCHA_INVALID', async () => {
      const { altcha } = await solvedAltcha(t);
      const answers = await Promise.all(Array.from({ length: 20 }, () => codeRequest(t, { altcha })));
      expect(answers.filter((r) => r.status === 202)).toHaveLength(1);
      expect(answers.filter((r) => r.status === 400 && r.body.error === 'CAPTCHA_INVALID')).toHaveLength(19);
    });

    it('refuses a solution after HUMAN_CHECK_POW_TTL (300 s), and accepts it just before; the TTL cannot be set longer', async () => {
      const kept = await solvedAltcha(t);
      const late = await solvedAltcha(t);
      await t.passTime(300_000 - 10_000);
      await codeRequest(t, kept).expect(202);
      await t.passTime(10_001);
      expect((await codeRequest(t, late).expect(400)).body.error).toBe('CAPTCHA_INVALID');
      expect(() => loadConfig({ NODE_ENV: 'test', HUMAN_CHECK_POW_TTL: '301' })).toThrow(ConfigError);
    });

    it('signs challenges with a key generated into DATA_DIR outside production, and refuses those signed with another key', async () => {
      await challengeOf(t);
      expect(existsSync(join(t.dataDir, 'keys', 'altcha-hmac.key'))).toBe(true);
      const key = randomBytes(32).toString('hex');
      const other = await createTestApp({ HUMAN_CHECK: 'pow', ...POW, HUMAN_CHECK_POW_HMAC_KEY: key });
      try {
        const challenge = await challengeOf(other);
        expect(challenge.signature).toBe(createHmac('sha256', key).update(challenge.challenge).digest('hex'));
        expect((await codeRequest(t, { altcha: await solveAltcha(challenge) }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
        await codeRequest(other, { altcha: await solveAltcha(challenge) }).expect(202);
      } finally {
        await other.close();
      }
    });
  });

  describeOnBoth('pow across two server processes sharing MariaDB and Redis', () => {
    let instances: TwoInstances | undefined;
    let a: ServerProcess;
    let b: ServerProcess;
    beforeAll(() => buildIfNeeded(), 120_000);
    beforeAll(async () => {
      instances = await startTwoInstances({ HUMAN_CHECK: 'pow', ...POW, HUMAN_CHECK_POW_HMAC_KEY: randomBytes(32).toString('hex'), RATE_LIMIT_PER_MINUTE: '100000', CODE_PER_IP_PER_HOUR: '10000', CODE_PER_IP_PER_DAY: '10000' });
      ({ a, b } = instances);
    }, 120_000);
    afterAll(() => instances?.stop());

    it('accepts one of 20 parallel uses of one solution spread over A and B', async () => {
      const { altcha } = await solvedAltcha(a);
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => codeRequest(i % 2 ? a : b, { altcha })));
      expect(answers.filter((r) => r.status === 202)).toHaveLength(1);
      const refused = answers.filter((r) => r.status === 400);
      expect(refused).toHaveLength(19);
      for (const r of refused) expect(r.body.error).toBe('CAPTCHA_INVALID');
      const spentOnA = await solvedAltcha(a);
      await codeRequest(a, spentOnA).expect(202);
      expect((await codeRequest(b, spentOnA).expect(400)).body.error).toBe('CAPTCHA_INVALID');
    });
  });

  describe('image+pow: both are asked for, and a request spends both', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ HUMAN_CHECK: 'image+pow', ...POW });
    });
    afterAll(() => t.close());

    it('tells the SPA to show both', async () => {
      const response = await t.http.get('/api/v1/verification/human-check').expect(200);
      expect(response.body.data).toEqual({ kind: 'image+pow', imageUrlTemplate: '/api/v1/verification/captcha/{captchaId}', challengeUrl: '/api/v1/verification/challenge' });
    });

    it('needs both; one wrong spends the other too', async () => {
      expect((await codeRequest(t, await solvedCaptcha(t)).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
      expect((await codeRequest(t, await solvedAltcha(t)).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
      await codeRequest(t, { ...(await solvedCaptcha(t)), ...(await solvedAltcha(t)) }).expect(202);
      const pow = await solvedAltcha(t);
      const { captchaId } = await solvedCaptcha(t);
      expect((await codeRequest(t, { captchaId, captchaText: 'wrong', ...pow }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
      expect((await codeRequest(t, { ...(await solvedCaptcha(t)), ...pow }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
    });
  });

  describe('image (the default)', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp();
    });
    afterAll(() => t.close());

    it('tells the SPA to show the image captcha; the challenge route is off and makes no key; a proof of work alone is not enough', async () => {
      const response = await t.http.get('/api/v1/verification/human-check').expect(200);
      expect(response.body.data).toEqual({ kind: 'image', imageUrlTemplate: '/api/v1/verification/captcha/{captchaId}' });
      expect((await t.http.get('/api/v1/verification/challenge').expect(404)).body.error).toBe('NOT_FOUND');
      expect(existsSync(join(t.dataDir, 'keys', 'altcha-hmac.key'))).toBe(false);
      expect((await codeRequest(t, { altcha: Buffer.from('{}').toString('base64') }).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
    });

    it('serves the captcha as image/png, and answers an id that is not a UUID with 400 VALIDATION_FAILED naming captchaId', async () => {
      const image = await t.http.get(`/api/v1/verification/captcha/${randomUUID()}`).expect(200);
      expect(image.headers['content-type']).toBe('image/png');
      const refused = await t.http.get('/api/v1/verification/captcha/not-a-uuid').expect(400);
      expect(refused.body).toMatchObject({ error: 'VALIDATION_FAILED', details: [{ field: 'captchaId', message: 'captchaId must be a UUID' }] });
    });
  });

  describe('provider: the token is verified server-side (siteverify), failing closed', () => {
    let t: TestApp;
    let gateway: Awaited<ReturnType<typeof httpGateway>>;
    /** What the fake provider does with the next token, by its value. */
    const behaviours: Record<string, { status: number; body: string } | null> = {
      'good-token': { status: 200, body: JSON.stringify({ success: true, 'error-codes': [], hostname: 'example.com' }) },
      'bad-token': { status: 200, body: JSON.stringify({ success: false, 'error-codes': ['invalid-input-response'] }) },
      'string-true': { status: 200, body: JSON.stringify({ success: 'true' }) },
      'server-error': { status: 500, body: JSON.stringify({ success: true }) },
      'not-json': { status: 200, body: '<html>success: true</html>' },
      huge: { status: 200, body: JSON.stringify({ success: true, padding: 'x'.repeat(64 * 1024) }) },
      hang: null,
    };
    beforeAll(async () => {
      gateway = await httpGateway((request) => {
        const token = new URLSearchParams(request.body).get('response') ?? '';
        return token in behaviours ? behaviours[token] : { status: 200, body: '{"success":false}' };
      });
      t = await createTestApp({ HUMAN_CHECK: 'provider', HUMAN_CHECK_PROVIDER_URL: `${gateway.url}/siteverify`, HUMAN_CHECK_PROVIDER_SECRET: 'provider-secret', HUMAN_CHECK_PROVIDER_SITE_KEY: 'site-key-1', HUMAN_CHECK_PROVIDER_TIMEOUT_MS: '20000' });
    });
    afterAll(async () => {
      await t.close();
      await gateway.close();
    });

    it('tells the SPA the site key', async () => {
      const response = await t.http.get('/api/v1/verification/human-check').expect(200);
      expect(response.body.data).toEqual({ kind: 'provider', siteKey: 'site-key-1' });
    });

    it('POSTs secret, response and remoteip form-encoded and passes on {success: true}', async () => {
      const before = gateway.received.length;
      await codeRequest(t, { captchaToken: 'good-token' }).set('X-Forwarded-For', '203.0.113.9').expect(202);
      const sent = gateway.received.slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ method: 'POST', url: '/siteverify' });
      expect(sent[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
      const form = new URLSearchParams(sent[0].body);
      expect(form.get('secret')).toBe('provider-secret');
      expect(form.get('response')).toBe('good-token');
      expect(form.get('remoteip')).toMatch(/^(127\.0\.0\.1|::ffff:127\.0\.0\.1|::1)$/);
    });

    it('asks for a token on sign-up and code requests (CAPTCHA_REQUIRED) and never sends an image answer or an oversized token', async () => {
      const before = gateway.received.length;
      expect((await t.http.post('/api/v1/users').send(signUpBody()).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
      expect((await codeRequest(t, { captchaId: randomUUID(), captchaText: 'abcde' }).expect(400)).body.error).toBe('CAPTCHA_REQUIRED');
      expect((await codeRequest(t, { captchaToken: 'x'.repeat(4097) }).expect(400)).body.error).toBe('VALIDATION_FAILED');
      expect(gateway.received.length).toBe(before);
      await t.http.post('/api/v1/users').send({ ...signUpBody(), captchaToken: 'good-token' }).expect(201);
    });

    it.each(['bad-token', 'string-true', 'server-error', 'not-json', 'huge'])('fails closed on %s: 400 CAPTCHA_INVALID', async (token) => {
      expect((await codeRequest(t, { captchaToken: token }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
    });

    it('fails closed when the provider does not answer within HUMAN_CHECK_PROVIDER_TIMEOUT_MS', async () => {
      // A provider that never answers: any bound refuses it, so a short one keeps the test quick.
      const impatient = await createTestApp({ HUMAN_CHECK: 'provider', HUMAN_CHECK_PROVIDER_URL: `${gateway.url}/siteverify`, HUMAN_CHECK_PROVIDER_SECRET: 's', HUMAN_CHECK_PROVIDER_TIMEOUT_MS: '200' });
      try {
        expect((await codeRequest(impatient, { captchaToken: 'hang' }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
      } finally {
        await impatient.close();
      }
    });

    it('tells the SPA no site key when HUMAN_CHECK_PROVIDER_SITE_KEY is not set', async () => {
      const keyless = await createTestApp({ HUMAN_CHECK: 'provider', HUMAN_CHECK_PROVIDER_URL: `${gateway.url}/siteverify`, HUMAN_CHECK_PROVIDER_SECRET: 's' });
      try {
        expect((await keyless.http.get('/api/v1/verification/human-check').expect(200)).body.data).toStrictEqual({ kind: 'provider' });
      } finally {
        await keyless.close();
      }
    });

    it('fails closed, never 500, when the provider is unreachable', async () => {
      const closed = await httpGateway(() => null);
      await closed.close();
      const away = await createTestApp({ HUMAN_CHECK: 'provider', HUMAN_CHECK_PROVIDER_URL: closed.url, HUMAN_CHECK_PROVIDER_SECRET: 's' });
      try {
        expect((await codeRequest(away, { captchaToken: 'good-token' }).expect(400)).body.error).toBe('CAPTCHA_INVALID');
      } finally {
        await away.close();
      }
    });
  });

  describe('settings are validated at start-up, each error naming its setting', () => {
    it.each([
      [{ HUMAN_CHECK: 'recaptcha' }, /HUMAN_CHECK/],
      [{ HUMAN_CHECK: 'provider' }, /HUMAN_CHECK_PROVIDER_URL/],
      [{ HUMAN_CHECK: 'provider', HUMAN_CHECK_PROVIDER_URL: 'ftp://x' }, /HUMAN_CHECK_PROVIDER_URL/],
      [{ HUMAN_CHECK: 'provider', HUMAN_CHECK_PROVIDER_URL: 'https://challenges.example.com/siteverify' }, /HUMAN_CHECK_PROVIDER_SECRET/],
      [{ HUMAN_CHECK_POW_HMAC_KEY: 'short' }, /HUMAN_CHECK_POW_HMAC_KEY/],
      [{ HUMAN_CHECK_POW_MAX_NUMBER: '10' }, /HUMAN_CHECK_POW_MAX_NUMBER/],
    ])('refuses %j', (env, name) => {
      expect(() => loadConfig({ NODE_ENV: 'test', ...env })).toThrow(name);
    });

    it('requires HUMAN_CHECK_POW_HMAC_KEY in production when the proof of work is on (instances must share it)', () => {
      expect(() => loadConfig({ NODE_ENV: 'production', HUMAN_CHECK: 'pow' })).toThrow(/HUMAN_CHECK_POW_HMAC_KEY/);
      expect(() => loadConfig({ NODE_ENV: 'production', HUMAN_CHECK: 'image+pow' })).toThrow(/HUMAN_CHECK_POW_HMAC_KEY/);
      expect(() => loadConfig({ NODE_ENV: 'production', HUMAN_CHECK: 'pow', HUMAN_CHECK_POW_HMAC_KEY: 'k'.repeat(32) })).not.toThrow(/HUMAN_CHECK_POW_HMAC_KEY/);
      expect(() => loadConfig({ NODE_ENV: 'production' })).not.toThrow(/HUMAN_CHECK_POW_HMAC_KEY/);
    });
  });
});
