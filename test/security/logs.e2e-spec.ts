import { lastCode, phoneUser, requestEmailCode, requestSmsCode } from '../factories/codes';
import { idCardNumber } from '../factories/id-cards';
import { signIn, signUp } from '../factories/users';
import { CaptureLogger } from '../helpers/capture-logger';
import { createTestApp, TestApp } from '../helpers/test-app';

/**
 * SECURITY.md: "Logs contain no password, code, token or ID number". A whole account journey runs
 * with the service logging at debug level into a capture, and every secret it handled is searched for.
 */
describe('SECURITY: Sensitive data in logs', () => {
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
