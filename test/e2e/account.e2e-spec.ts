import { createHash } from 'node:crypto';
import { bearer, signInFrom } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser, signUp, verifyEmail } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

describe('Account: deletion, API keys', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ INTERNAL_API_KEYS: 'internal-service-key-0123456789abcdef' });
  });
  afterAll(() => t.close());

  const login = (identifier: string, password: string) => t.http.post('/api/v1/auth/login').send({ identifier, password });

  describe('DELETE /users/me', () => {
    // That deletion revokes every session at once is proven in test/security/tokens-and-sessions.
    it('deletes the account: API key revoked, personal data removed, username and email free again', async () => {
      const account = await signUp(t, { displayName: 'Delete Me', school: 'Somewhere U', website: 'https://delete-me.example.com' });
      const current = await signInFrom(t, account.username, 'Current');
      await verifyEmail(t, bearer(current), account.email);
      const apiKey = (await t.http.post('/api/v1/users/me/api-key').set(bearer(current)).expect(201)).body.data.apiKey;

      const response = await t.http.delete('/api/v1/users/me').set(bearer(current)).send({ password: DEFAULT_PASSWORD }).expect(200);
      expect(response.body).toEqual({ code: 200, data: {}, msg: 'Deleted' });

      expect((await t.http.get('/api/v1/users/me').set('X-API-Key', apiKey).expect(401)).body.error).toBe('API_KEY_INVALID');
      expect((await login(account.username, DEFAULT_PASSWORD).expect(401)).body.error).toBe('INVALID_CREDENTIALS');
      await t.http.get(`/api/v1/users/${account.username}`).expect(404);

      // Personal data: the account row is gone, with its sessions and refresh tokens; no table
      // holds the username, email, display name or school any more.
      expect(await t.db.query(`SELECT id FROM users WHERE id = ?`, [account.user.id])).toEqual([]);
      expect(await t.db.query(`SELECT id FROM sessions WHERE user_id = ?`, [account.user.id])).toEqual([]);
      const leftovers = JSON.stringify(await t.db.query(`SELECT * FROM audit_events WHERE user_id = ?`, [account.user.id]));
      for (const value of [account.username, account.email, 'Delete Me', 'Somewhere U', 'delete-me.example.com']) expect(leftovers).not.toContain(value);

      // The username and email are free: the same sign-up works again, as a new account.
      const again = await signUp(t, { username: account.username, email: account.email });
      expect(again.user.id).not.toBe(account.user.id);
      await login(account.username, DEFAULT_PASSWORD).expect(200);
    });
  });

  describe('POST /users/me/api-key', () => {
    const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

    it('is shown once and stored hashed', async () => {
      const user = await signedInUser(t);
      const response = await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201);
      expect(response.body).toMatchObject({ code: 201, msg: 'API key created; it is shown only once' });
      const { apiKey } = response.body.data;
      expect(apiKey).toMatch(/^ucp_[\w-]{40,}$/);
      const rows = await t.db.query(`SELECT key_hash, name, scopes FROM api_keys WHERE user_id = ?`, [user.user.id]);
      expect(rows).toEqual([{ key_hash: sha256(apiKey), name: 'default', scopes: 'profile:read profile:write' }]);
      const me = await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
      expect(JSON.stringify(me.body)).not.toContain(apiKey);
      expect(JSON.stringify(me.body)).not.toContain(sha256(apiKey));
    });

    it('acts as its user on the user routes via X-API-Key', async () => {
      const user = await signedInUser(t);
      const { apiKey } = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data;
      const me = await t.http.get('/api/v1/users/me').set('X-API-Key', apiKey).expect(200);
      expect(me.body.data).toMatchObject({ id: user.user.id, username: user.username });
      const patched = await t.http.patch('/api/v1/users/me').set('X-API-Key', apiKey).send({ displayName: 'Via Key' }).expect(200);
      expect(patched.body.data.displayName).toBe('Via Key');
      // A key is not a session: signing out needs a bearer token (the key never reaches the route).
      expect((await t.http.delete('/api/v1/auth/session').set('X-API-Key', apiKey).expect(403)).body.error).toBe('API_KEY_SCOPE');
    });

    it('replaces the previous key: the old one is refused', async () => {
      const user = await signedInUser(t);
      const first = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data.apiKey;
      const second = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data.apiKey;
      expect(second).not.toBe(first);
      expect((await t.http.get('/api/v1/users/me').set('X-API-Key', first).expect(401)).body.error).toBe('API_KEY_INVALID');
      await t.http.get('/api/v1/users/me').set('X-API-Key', second).expect(200);
    });

    it('refuses unknown keys and internal service keys on user routes', async () => {
      for (const key of ['ucp_unknown-key', 'anything', 'internal-service-key-0123456789abcdef']) {
        expect((await t.http.get('/api/v1/users/me').set('X-API-Key', key).expect(401)).body.error).toBe('API_KEY_INVALID');
      }
    });
  });
});
