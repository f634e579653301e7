import { createPublicKey, verify } from 'node:crypto';
import { DEFAULT_PASSWORD, signedInUser, signUp, solvedCaptcha } from '../factories/users';
import { attackerKeyPair, decodePart, forgeToken, hs256, rs256, serverPrivateKey } from '../helpers/jwt-forge';
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
    expect(jwks.body.keys).toEqual(jwks.body.data.keys);
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
    expect(Object.keys(response.body.data).sort()).toEqual(['avatarUrl', 'createdAt', 'displayName', 'github', 'intro', 'role', 'school', 'username', 'website'].sort());
    const missing = await t.http.get('/api/v1/users/nobody_at_all').expect(404);
    expect(missing.body.error).toBe('USER_NOT_FOUND');
  });

  describe('token attacks are refused with 401', () => {
    let user: Awaited<ReturnType<typeof signedInUser>>;
    let claims: Record<string, unknown>;
    let header: Record<string, unknown>;
    beforeAll(async () => {
      user = await signedInUser(t);
      claims = decodePart(user.accessToken, 1);
      header = decodePart(user.accessToken, 0);
    });
    const expect401 = async (token: string) => {
      const response = await t.http.get('/api/v1/users/me').set('Authorization', `Bearer ${token}`);
      expect(response.status).toBe(401);
      expect(response.body.error).toBe('UNAUTHENTICATED');
    };

    it('alg none', () => expect401(forgeToken({ alg: 'none', typ: 'JWT' }, claims, () => '')));
    it('HS256 signed with the public key (RS/HS confusion)', async () => {
      const jwks = await t.http.get('/.well-known/jwks.json');
      const pem = createPublicKey({ key: jwks.body.keys[0], format: 'jwk' }).export({ type: 'spki', format: 'pem' });
      await expect401(forgeToken({ alg: 'HS256', typ: 'JWT', kid: header.kid }, claims, hs256(pem)));
    });
    it('an embedded jwk header with the attacker key', async () => {
      const attacker = attackerKeyPair();
      await expect401(forgeToken({ ...header, jwk: attacker.publicKey.export({ format: 'jwk' }) }, { ...claims, role: 'admin' }, rs256(attacker.privateKey)));
    });
    it('a jku header pointing elsewhere', async () => {
      const attacker = attackerKeyPair();
      await expect401(forgeToken({ ...header, jku: 'http://127.0.0.1:9/jwks.json' }, claims, rs256(attacker.privateKey)));
    });
    it('a tampered payload', () => {
      const [h, , s] = user.accessToken.split('.');
      return expect401(`${h}.${Buffer.from(JSON.stringify({ ...claims, role: 'admin' })).toString('base64url')}.${s}`);
    });
    it('no exp claim, even when signed with our key', () => {
      const { exp: _exp, ...noExp } = claims;
      return expect401(forgeToken(header, noExp, rs256(serverPrivateKey(t.dataDir))));
    });
    it('an expired token', () => expect401(forgeToken(header, { ...claims, exp: Math.floor(Date.now() / 1000) - 10 }, rs256(serverPrivateKey(t.dataDir)))));
    it('a wrong audience or issuer', async () => {
      await expect401(forgeToken(header, { ...claims, aud: 'other' }, rs256(serverPrivateKey(t.dataDir))));
      await expect401(forgeToken(header, { ...claims, iss: 'other' }, rs256(serverPrivateKey(t.dataDir))));
    });
    it('while a correctly signed control token passes', async () => {
      const token = forgeToken(header, claims, rs256(serverPrivateKey(t.dataDir)));
      await t.http.get('/api/v1/users/me').set('Authorization', `Bearer ${token}`).expect(200);
    });
  });

  describe('brute-force defence', () => {
    const fail = (identifier: string, extra: Record<string, unknown> = {}, ip = '10.0.0.1') =>
      t.http.post('/api/v1/auth/login').set('X-Forwarded-For', ip).send({ identifier, password: 'wrong password!', ...extra });

    it('requires a captcha after 3 failures, and a success resets the count', async () => {
      const account = await signUp(t);
      for (let i = 0; i < 3; i++) expect((await fail(account.username)).status).toBe(401);
      const blocked = await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(400);
      expect(blocked.body.error).toBe('CAPTCHA_REQUIRED');
      await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(t)) }).expect(200);
      expect((await fail(account.username)).status).toBe(401);
    });

    it('locks the account for 15 minutes after 10 failures (429 + Retry-After), across identifiers', async () => {
      const account = await signUp(t);
      for (let i = 0; i < 10; i++) {
        const identifier = i % 2 ? account.username : account.email;
        const response = await fail(identifier, await solvedCaptcha(t));
        expect(response.status).toBe(401);
      }
      const locked = await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(t)) }).expect(429);
      expect(locked.body.error).toBe('TOO_MANY_REQUESTS');
      expect(Number(locked.headers['retry-after'])).toBeGreaterThan(800);
      await t.passTime(15 * 60_000 + 1000);
      await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD, ...(await solvedCaptcha(t)) }).expect(200);
    });

    it('treats unknown identifiers the same way (captcha after 3)', async () => {
      for (let i = 0; i < 3; i++) expect((await fail('ghost_account_1')).status).toBe(401);
      expect((await fail('ghost_account_1')).body.error).toBe('CAPTCHA_REQUIRED');
    });
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
