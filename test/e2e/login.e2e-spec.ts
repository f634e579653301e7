import { createHash, createPublicKey, verify } from 'node:crypto';
import { signedInUser, signUp, solvedCaptcha } from '../factories/users';
import { decodePart, serverPrivateKey } from '../helpers/jwt-forge';
import { createTestApp, TestApp } from '../helpers/test-app';

describe('Password sign-in and access tokens', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  it('signs in by username, email (any case) and answers a token pair', async () => {
    const account = await signUp(t);
    for (const identifier of [account.username, account.username.toUpperCase(), account.email.toUpperCase()]) {
      const response = await t.http.post('/api/v1/auth/login').send({ identifier, password: account.password }).expect(200);
      expect(response.body).toMatchObject({ code: 200, msg: 'Signed in' });
      expect(response.body.data).toMatchObject({ tokenType: 'Bearer', expiresIn: 900, refreshToken: expect.stringMatching(/^rt_/), user: { id: account.user.id } });
      expect(new Date(response.body.data.expiresAt).getTime()).toBeGreaterThan(Date.now());
    }
  });

  it('issues an RS256 JWT with kid and the contract claims, verifiable with the JWKS', async () => {
    const { accessToken, user } = await signedInUser(t);
    const header = decodePart(accessToken, 0);
    const claims = decodePart(accessToken, 1);
    expect(header).toMatchObject({ alg: 'RS256', kid: expect.any(String) });
    expect(claims).toMatchObject({ sub: user.id, role: 'normal_user', sid: expect.any(String), jti: expect.any(String), iss: 'user-centre', aud: 'user-centre' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);

    const jwks = await t.http.get('/.well-known/jwks.json').expect(200);
    expect(jwks.headers['cache-control']).toBe('public, max-age=600'); // JWKS_MAX_AGE_SECONDS' default
    expect(jwks.body.keys).toEqual(jwks.body.data.keys);
    // The development key in DATA_DIR, under its RFC 7638 thumbprint: stable across restarts and instances.
    const { e, kty, n } = createPublicKey(serverPrivateKey(t.dataDir)).export({ format: 'jwk' });
    expect(header.kid).toBe(createHash('sha256').update(JSON.stringify({ e, kty, n })).digest('base64url'));
    const jwk = jwks.body.keys.find((key: { kid: string }) => key.kid === header.kid);
    expect(jwk).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwk).not.toHaveProperty('d');
    const [h, p, s] = accessToken.split('.');
    const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
    expect(verify('RSA-SHA256', Buffer.from(`${h}.${p}`), publicKey, Buffer.from(s, 'base64url'))).toBe(true);
  });

  it('answers unknown account and wrong password alike: 401 INVALID_CREDENTIALS, same body', async () => {
    const account = await signUp(t);
    const wrong = await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: 'not the password' }).expect(401);
    const unknown = await t.http.post('/api/v1/auth/login').send({ identifier: 'nobody_here_123', password: 'not the password' }).expect(401);
    const strip = (body: Record<string, unknown>) => ({ ...body, requestId: undefined });
    expect(strip(wrong.body)).toEqual(strip(unknown.body));
    expect(wrong.body.error).toBe('INVALID_CREDENTIALS');
  });

  it('GET /users/me needs a token and answers the own view', async () => {
    await t.http.get('/api/v1/users/me').expect(401);
    const { auth, user } = await signedInUser(t);
    const response = await t.http.get('/api/v1/users/me').set(auth).expect(200);
    expect(response.body.data).toMatchObject({ id: user.id, role: 'normal_user' });
  });

  it('PATCH /users/me updates profile fields and refuses others', async () => {
    const { auth } = await signedInUser(t);
    const response = await t.http.patch('/api/v1/users/me').set(auth).send({ displayName: 'New Name', school: 'MIT' }).expect(200);
    expect(response.body.data).toMatchObject({ displayName: 'New Name', school: 'MIT' });
    const me = await t.http.get('/api/v1/users/me').set(auth).expect(200);
    expect(me.body.data.displayName).toBe('New Name');
    const refused = await t.http.patch('/api/v1/users/me').set(auth).send({ role: 'admin' }).expect(400);
    expect(refused.body.error).toBe('VALIDATION_FAILED');
  });

  it('GET /users/{username} shows public fields only', async () => {
    const { username } = await signedInUser(t, { displayName: 'Pub' });
    const response = await t.http.get(`/api/v1/users/${username.toUpperCase()}`).expect(200);
    expect(Object.keys(response.body.data).sort()).toEqual(['avatarUrl', 'createdAt', 'displayName', 'github', 'intro', 'school', 'username', 'website'].sort());
    const missing = await t.http.get('/api/v1/users/nobody_at_all').expect(404);
    expect(missing.body.error).toBe('USER_NOT_FOUND');
  });

  it('asks for the captcha on every sign-in when LOGIN_CAPTCHA_ALWAYS is on', async () => {
    const strict = await createTestApp({ LOGIN_CAPTCHA_ALWAYS: 'true' });
    try {
      const account = await signUp(strict);
      const response = await strict.http.post('/api/v1/auth/login').send({ identifier: account.username, password: account.password }).expect(400);
      expect(response.body.error).toBe('CAPTCHA_REQUIRED');
      await strict.http.post('/api/v1/auth/login').send({ identifier: account.username, password: account.password, ...(await solvedCaptcha(strict)) }).expect(200);
    } finally {
      await strict.close();
    }
  });
});
