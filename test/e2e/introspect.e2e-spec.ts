import { signedInUser } from '../factories/users';
import { attackerKeyPair, decodePart, forgeToken, rs256, serverPrivateKey } from '../helpers/jwt-forge';
import { createTestApp, TestApp } from '../helpers/test-app';

const SERVICE_KEY = 'svc-billing-0123456789abcdef0123456789';
const OTHER_SERVICE_KEY = 'svc-search-abcdef0123456789abcdef012345';

describe('POST /auth/introspect (internal services)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ INTERNAL_API_KEYS: `${SERVICE_KEY}, ${OTHER_SERVICE_KEY}` });
  });
  afterAll(() => t.close());

  const introspect = (token: unknown, key: string | null = SERVICE_KEY) => {
    const call = t.http.post('/api/v1/auth/introspect');
    return (key === null ? call : call.set('X-API-Key', key)).send({ token });
  };

  it('needs a key from INTERNAL_API_KEYS: none, a wrong one, a personal key or a bearer token is 401', async () => {
    const user = await signedInUser(t);
    const personal = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data.apiKey;
    for (const key of [null, 'wrong-key-0123456789abcdef0123456789', personal, `${SERVICE_KEY}x`]) {
      const response = await introspect(user.accessToken, key).expect(401);
      expect(response.body.error).toBe('API_KEY_INVALID');
    }
    const bearerOnly = await t.http.post('/api/v1/auth/introspect').set(user.auth).send({ token: user.accessToken }).expect(401);
    expect(bearerOnly.body.error).toBe('API_KEY_INVALID');
  });

  it('answers an active token with {active, sub, role, exp, sid, amr, auth_time}, for every configured key', async () => {
    const user = await signedInUser(t);
    const claims = decodePart(user.accessToken, 1);
    for (const key of [SERVICE_KEY, OTHER_SERVICE_KEY]) {
      const response = await introspect(user.accessToken, key).expect(200);
      expect(response.body.code).toBe(200);
      expect(response.body.data).toEqual({ active: true, sub: user.user.id, role: 'normal_user', exp: claims.exp, sid: claims.sid, amr: ['pwd'], auth_time: claims.auth_time });
    }
  });

  it('answers {active: false} and nothing else once the session is revoked', async () => {
    const user = await signedInUser(t);
    await t.http.delete('/api/v1/auth/session').set(user.auth).expect(200);
    expect((await introspect(user.accessToken).expect(200)).body.data).toEqual({ active: false });
  });

  it('answers {active: false} for an expired token', async () => {
    const user = await signedInUser(t);
    const expired = forgeToken(decodePart(user.accessToken, 0), { ...decodePart(user.accessToken, 1), exp: Math.floor(Date.now() / 1000) - 5 }, rs256(serverPrivateKey(t.dataDir)));
    expect((await introspect(expired).expect(200)).body.data).toEqual({ active: false });
  });

  it('answers {active: false} for forged, tampered and malformed tokens', async () => {
    const user = await signedInUser(t);
    const header = decodePart(user.accessToken, 0);
    const claims = decodePart(user.accessToken, 1);
    const [h, , s] = user.accessToken.split('.');
    const forged = [
      forgeToken(header, claims, rs256(attackerKeyPair().privateKey)),
      forgeToken({ alg: 'none', typ: 'JWT' }, claims, () => ''),
      `${h}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${s}`,
      forgeToken(header, { ...claims, aud: 'someone-else' }, rs256(serverPrivateKey(t.dataDir))),
      'not.a.token',
      'garbage',
    ];
    for (const token of forged) expect((await introspect(token).expect(200)).body.data).toEqual({ active: false });
    // The control: the real token is active.
    expect((await introspect(user.accessToken).expect(200)).body.data.active).toBe(true);
  });

  it('answers {active: false} once the account is deleted', async () => {
    const user = await signedInUser(t);
    await t.http.delete('/api/v1/users/me').set(user.auth).send({ password: user.password }).expect(200);
    expect((await introspect(user.accessToken).expect(200)).body.data).toEqual({ active: false });
  });

  it('refuses a missing or non-string token with 400', async () => {
    expect((await t.http.post('/api/v1/auth/introspect').set('X-API-Key', SERVICE_KEY).send({}).expect(400)).body.error).toBe('VALIDATION_FAILED');
    expect((await introspect(12345).expect(400)).body.error).toBe('VALIDATION_FAILED');
  });
});
