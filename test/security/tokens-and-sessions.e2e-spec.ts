import { createPublicKey } from 'node:crypto';
import { signedInUser } from '../factories/users';
import { attackerKeyPair, decodePart, forgeToken, hs256, rs256, serverPrivateKey } from '../helpers/jwt-forge';
import { createTestApp, TestApp } from '../helpers/test-app';

/** SECURITY.md, "Tokens and sessions": the algorithm is pinned and forged tokens are refused with 401. */
describe('SECURITY: Tokens and sessions', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t.close());

  describe('Algorithm pinned; alg none, RS/HS confusion, embedded jwk/jku/x5u and tampered payloads → 401; exp required', () => {
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

  it('No tokens in URLs: an access token in the query string is not accepted', async () => {
    const { accessToken } = await signedInUser(t);
    for (const name of ['access_token', 'token', 'accessToken']) {
      const response = await t.http.get(`/api/v1/users/me?${name}=${accessToken}`);
      expect(response.status).toBe(401);
    }
  });

  it('Access tokens live 15 minutes', async () => {
    const { accessToken } = await signedInUser(t);
    const claims = decodePart(accessToken, 1) as { iat: number; exp: number };
    expect(claims.exp - claims.iat).toBe(15 * 60);
  });
});
