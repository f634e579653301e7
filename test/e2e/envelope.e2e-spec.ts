import { requestEmailCode } from '../factories/codes';
import { signUp, verifyEmail } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

describe('The envelope, errors and HTTP hygiene', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('localises msg by Accept-Language and defaults to English', async () => {
    const zh = await t.http.get('/api/v1/users/me').set('Accept-Language', 'zh-CN,zh;q=0.9,en;q=0.5').expect(401);
    expect(zh.body.msg).toBe('需要登录，或令牌无效');
    const other = await t.http.get('/api/v1/users/me').set('Accept-Language', 'fr-FR').expect(401);
    expect(other.body.msg).toBe('Sign-in required or the token is not valid');
  });

  it('carries the HTTP status as code on every success: 200, 201 and 202 alike', async () => {
    const account = await signUp(t); // 201 POST /users
    const signIn = await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: account.password });
    const accepted = await requestEmailCode(t, `fresh-${account.username}@example.com`, 'register');
    await verifyEmail(t, { Authorization: `Bearer ${signIn.body.data.accessToken}` }, account.email);
    const created = await t.http.post('/api/v1/users/me/api-key').set('Authorization', `Bearer ${signIn.body.data.accessToken}`);
    expect([signIn, accepted, created].map((response) => [response.status, response.body.code])).toEqual([
      [200, 200],
      [202, 202],
      [201, 201],
    ]);
  });

  it('refuses malformed JSON with 400 MALFORMED_JSON', async () => {
    const response = await t.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"identifier": ').expect(400);
    expect(response.body.error).toBe('MALFORMED_JSON');
  });

  it('refuses a JSON body that is not an object', async () => {
    const response = await t.http.post('/api/v1/auth/login').send([1, 2]).expect(400);
    expect(response.body.error).toBe('VALIDATION_FAILED');
  });

  it('refuses prototype-pollution keys without a 500', async () => {
    const response = await t.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send('{"identifier":"a","password":"b","__proto__":{"admin":true}}');
    expect(response.status).toBe(400);
    expect(response.body.code).toBe(400);
  });

  it('echoes a well-formed X-Request-Id and replaces a hostile one', async () => {
    const echoed = await t.http.get('/api/v1/users/me').set('X-Request-Id', 'trace-123');
    expect(echoed.headers['x-request-id']).toBe('trace-123');
    const replaced = await t.http.get('/api/v1/users/me').set('X-Request-Id', 'bad id\twith spaces');
    expect(replaced.headers['x-request-id']).not.toContain(' ');
  });
});
