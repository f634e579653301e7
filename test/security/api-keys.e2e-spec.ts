import { createHash, randomUUID } from 'node:crypto';
import { ApiKeys1732300010000 as MysqlApiKeys } from '@/database/migrations/mysql/1732300010000-api-keys';
import { ApiKeys1732300010000 as SqliteApiKeys } from '@/database/migrations/sqlite/1732300010000-api-keys';
import { adminUpdate, auditEvents, createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { createApiKey, newApiKey, withKey } from '../factories/api-keys';
import { bearer, refresh } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser, signIn } from '../factories/users';
import { callOperation, documentedOperations, routeTable } from '../helpers/routes';
import { createTestApp, TestApp } from '../helpers/test-app';

const NEW_PASSWORD = 'amber meadow 77';
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** The only routes a personal key may reach (contract §13), and the scope each needs. */
const KEY_ROUTES = ['get /api/v1/users/me', 'patch /api/v1/users/me', 'post /api/v1/users/me/avatar'];

/**
 * Contract §13, least privilege for keys: named, scoped, expiring keys that act as their user on
 * the profile routes and nowhere else. Routes opt IN to keys, so a route added later is closed to them.
 */
describe('SECURITY: Personal API keys (least privilege)', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin());
  });
  afterAll(() => t.close());

  it("an admin's key never reaches /admin/*: the role change it made before is 403 API_KEY_SCOPE, and audited", async () => {
    const victim = await signedInUser(t);
    const key = await newApiKey(t, admin.auth);
    const promote = await adminUpdate(t, withKey(key), victim.user.id, { role: 'admin' });
    expect([promote.status, promote.body.error]).toEqual([403, 'API_KEY_SCOPE']);
    expect((await t.http.get('/api/v1/admin/users').set(withKey(key))).body.error).toBe('API_KEY_SCOPE');
    expect((await t.http.get('/api/v1/users/me').set(victim.auth).expect(200)).body.data.role).toBe('normal_user');
    // The same key still reads its owner's profile: it is the route, not the key, that refused.
    await t.http.get('/api/v1/users/me').set(withKey(key)).expect(200);
    const denials = await auditEvents(t, admin.auth, { type: 'access_denied', userId: admin.user.id });
    expect(denials.map((event) => [event.detail?.route, event.detail?.reason, event.detail?.keyId])).toContainEqual(['PATCH /api/v1/admin/users/:id', 'api_key_scope', key.id]);
  });

  it('every signed-in route refuses a key (403 API_KEY_SCOPE) except the profile routes that opted in, enumerated from the route table', async () => {
    const key = await newApiKey(t, admin.auth);
    const signedInRoutes: string[] = [];
    for (const route of routeTable(t, '/api/v1')) {
      const [method, path] = route.split(' ');
      const anonymous = await callOperation(t, { method, path }).send({});
      if (anonymous.status !== 401 || anonymous.body.error !== 'UNAUTHENTICATED') continue;
      signedInRoutes.push(route);
      if (KEY_ROUTES.includes(route)) continue;
      const byKey = await callOperation(t, { method, path }).set(withKey(key)).send({});
      expect([route, byKey.status, byKey.body.error]).toEqual([route, 403, 'API_KEY_SCOPE']);
    }
    // The enumeration saw the routes it must (admin, keys, sessions, password, contacts, real name, deletion).
    for (const route of ['patch /api/v1/admin/users/{id}', 'post /api/v1/users/me/api-keys', 'delete /api/v1/auth/sessions/{id}', 'put /api/v1/users/me/password', 'put /api/v1/users/me/email', 'post /api/v1/users/me/real-name', 'delete /api/v1/users/me']) {
      expect(signedInRoutes).toContain(route);
    }
    // The document says the same: only the opted-in routes list the personal-api-key scheme.
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    const keyed = Object.entries<Record<string, { security?: Record<string, string[]>[] }>>(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods)
        .filter(([, op]) => op.security?.some((scheme) => 'personal-api-key' in scheme))
        .map(([method]) => `${method} ${path}`),
    );
    expect(keyed.sort()).toEqual([...KEY_ROUTES].sort());
    expect((await documentedOperations(t)).length).toBeGreaterThan(signedInRoutes.length);
  });

  it('a key cannot mint its successor, list or delete keys, revoke the sessions or bind a real name', async () => {
    const user = await signedInUser(t);
    const key = await newApiKey(t, user.auth);
    const sessionId = (await t.http.get('/api/v1/auth/sessions').set(user.auth).expect(200)).body.data.items[0].id;
    const attempts = [
      t.http.post('/api/v1/users/me/api-keys').set(withKey(key)).send({ name: 'successor', scopes: ['profile:read'] }),
      t.http.post('/api/v1/users/me/api-key').set(withKey(key)),
      t.http.get('/api/v1/users/me/api-keys').set(withKey(key)),
      t.http.delete(`/api/v1/users/me/api-keys/${key.id}`).set(withKey(key)),
      t.http.delete(`/api/v1/auth/sessions/${sessionId}`).set(withKey(key)),
      t.http.delete('/api/v1/auth/session').set(withKey(key)),
      t.http.post('/api/v1/users/me/real-name').set(withKey(key)).send({ realName: '张三', idCardNumber: '11010519491231002X' }),
    ];
    for (const response of await Promise.all(attempts)) expect([response.status, response.body.error]).toEqual([403, 'API_KEY_SCOPE']);
    // Nothing happened: one key, the session alive, no real-name record.
    expect((await t.http.get('/api/v1/users/me/api-keys').set(user.auth).expect(200)).body.data.items).toHaveLength(1);
    await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
    expect((await t.http.get('/api/v1/users/me/real-name').set(user.auth).expect(404)).body.error).toBe('REAL_NAME_NOT_SUBMITTED');
  });

  it('a key acts only within its scopes: profile:read reads, profile:write writes', async () => {
    const user = await signedInUser(t);
    const reader = await newApiKey(t, user.auth, { name: 'reader', scopes: ['profile:read'] });
    const writer = await newApiKey(t, user.auth, { name: 'writer', scopes: ['profile:write'] });
    expect((await t.http.get('/api/v1/users/me').set(withKey(reader)).expect(200)).body.data.id).toBe(user.user.id);
    expect((await t.http.patch('/api/v1/users/me').set(withKey(reader)).send({ displayName: 'Reader' }).expect(403)).body.error).toBe('API_KEY_SCOPE');
    expect((await t.http.patch('/api/v1/users/me').set(withKey(writer)).send({ displayName: 'Writer' }).expect(200)).body.data.displayName).toBe('Writer');
    expect((await t.http.get('/api/v1/users/me').set(withKey(writer)).expect(403)).body.error).toBe('API_KEY_SCOPE');
  });

  it('keys are named and several per user; the list never shows a secret; deleting one stops it at once, and another account’s key is 404', async () => {
    const user = await signedInUser(t);
    const other = await signedInUser(t);
    const first = await newApiKey(t, user.auth, { name: 'laptop', scopes: ['profile:read'], expiresInDays: 7 });
    const second = await newApiKey(t, user.auth, { name: 'backup script', scopes: ['profile:read', 'profile:write'] });
    expect(first).toMatchObject({ name: 'laptop', scopes: ['profile:read'] });
    expect(first.apiKey).toMatch(/^ucp_[\w-]{40,}$/);
    const listed = await t.http.get('/api/v1/users/me/api-keys').set(user.auth).expect(200);
    expect(listed.body.data.items.map((key: { name: string }) => key.name)).toEqual(['backup script', 'laptop']);
    const lifetimeDays = (key: { createdAt: string; expiresAt: string }) => (Date.parse(key.expiresAt) - Date.parse(key.createdAt)) / 86_400_000;
    expect(listed.body.data.items.map(lifetimeDays)).toEqual([90, 7]);
    expect(Object.keys(listed.body.data.items[0]).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'scopes']);
    expect(JSON.stringify(listed.body)).not.toContain(first.apiKey);
    expect(JSON.stringify(listed.body)).not.toContain(sha256(first.apiKey));
    expect((await t.db.query(`SELECT key_hash FROM api_keys WHERE id = ?`, [first.id]))[0].key_hash).toBe(sha256(first.apiKey));

    expect((await t.http.delete(`/api/v1/users/me/api-keys/${first.id}`).set(other.auth).expect(404)).body.error).toBe('API_KEY_NOT_FOUND');
    expect((await t.http.delete('/api/v1/users/me/api-keys/not-a-uuid').set(user.auth).expect(404)).body.error).toBe('API_KEY_NOT_FOUND');
    await t.http.get('/api/v1/users/me').set(withKey(first)).expect(200);
    await t.http.delete(`/api/v1/users/me/api-keys/${first.id}`).set(user.auth).expect(200);
    expect((await t.http.get('/api/v1/users/me').set(withKey(first)).expect(401)).body.error).toBe('API_KEY_INVALID');
    await t.http.get('/api/v1/users/me').set(withKey(second)).expect(200);
    expect((await t.http.delete(`/api/v1/users/me/api-keys/${first.id}`).set(user.auth).expect(404)).body.error).toBe('API_KEY_NOT_FOUND');
  });

  it('an expired key is refused (401 API_KEY_INVALID), and its last use is recorded', async () => {
    const user = await signedInUser(t);
    const key = await newApiKey(t, user.auth, { expiresInDays: 1 });
    await t.http.get('/api/v1/users/me').set(withKey(key)).expect(200);
    const [row] = await t.db.query(`SELECT last_used_at FROM api_keys WHERE id = ?`, [key.id]);
    expect(row.last_used_at).not.toBeNull();
    await t.passTime(86_400_000 - 1000);
    await t.http.get('/api/v1/users/me').set(withKey(key)).expect(200);
    await t.passTime(1000);
    expect((await t.http.get('/api/v1/users/me').set(withKey(key)).expect(401)).body.error).toBe('API_KEY_INVALID');
    // Still listed, so its owner sees it lapsed.
    const fresh = await signIn(t, user.username, user.password);
    expect((await t.http.get('/api/v1/users/me/api-keys').set(bearer(fresh)).expect(200)).body.data.items.map((item: { id: string }) => item.id)).toEqual([key.id]);
  });

  it('creating a key needs a sign-in within RECENT_AUTH_SECONDS (a refresh does not renew it), and checks name, scopes and expiresInDays', async () => {
    const user = await signedInUser(t);
    for (const body of [
      { name: '', scopes: ['profile:read'] },
      { name: 'x'.repeat(65), scopes: ['profile:read'] },
      { name: 'bad\u0000name', scopes: ['profile:read'] },
      { name: 'k', scopes: [] },
      { name: 'k', scopes: ['admin'] },
      { name: 'k', scopes: ['profile:read'], expiresInDays: 0 },
      { name: 'k', scopes: ['profile:read'], expiresInDays: 366 },
      { name: 'k', scopes: ['profile:read'], expiresInDays: 1.5 },
    ]) {
      const response = await t.http.post('/api/v1/users/me/api-keys').set(user.auth).send(body);
      expect([JSON.stringify(body), response.status, response.body.error]).toEqual([JSON.stringify(body), 400, 'VALIDATION_FAILED']);
    }
    await newApiKey(t, user.auth, { expiresInDays: 365 });
    await t.passTime(61 * 60_000);
    const refreshed = (await refresh(t, user.refreshToken).expect(200)).body.data;
    for (const response of [await createApiKey(t, bearer(refreshed)), await t.http.post('/api/v1/users/me/api-key').set(bearer(refreshed))]) {
      expect([response.status, response.body.error]).toEqual([403, 'RECENT_AUTH_REQUIRED']);
    }
    await newApiKey(t, bearer(await signIn(t, user.username, user.password)));
  });

  it('holds at most API_KEYS_PER_USER unexpired keys, even under 30 parallel creations', async () => {
    const user = await signedInUser(t);
    const responses = await Promise.all(Array.from({ length: 30 }, (_, i) => createApiKey(t, user.auth, { name: `burst ${i}` })));
    const statuses = responses.map((response) => response.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(t.config.apiKeys.maxPerUser);
    expect(statuses.filter((status) => status === 409)).toHaveLength(30 - t.config.apiKeys.maxPerUser);
    for (const response of responses.filter((r) => r.status === 409)) expect(response.body.error).toBe('API_KEY_LIMIT_REACHED');
    expect(Number((await t.db.query(`SELECT COUNT(*) AS n FROM api_keys WHERE user_id = ?`, [user.user.id]))[0].n)).toBe(10);
    // Deleting one makes room for exactly one.
    const [oneId] = (await t.http.get('/api/v1/users/me/api-keys').set(user.auth).expect(200)).body.data.items.map((item: { id: string }) => item.id);
    await t.http.delete(`/api/v1/users/me/api-keys/${oneId}`).set(user.auth).expect(200);
    const again = await Promise.all(Array.from({ length: 5 }, () => createApiKey(t, user.auth)));
    expect(again.map((response) => response.status).sort()).toEqual([201, 409, 409, 409, 409]);
  });

  it('holds at most API_KEYS_PER_USER keys in all: expired ones stay listed until a new key needs their room (longest expired first), also under 30 parallel creations', async () => {
    const user = await signedInUser(t);
    for (let i = 0; i < 10; i++) {
      await newApiKey(t, user.auth, { name: `daily ${i}`, expiresInDays: 1 });
      await t.passTime(1000);
    }
    await t.passTime(2 * 86_400_000);
    const auth = bearer(await signIn(t, user.username, user.password));
    const listed = async () => (await t.http.get('/api/v1/users/me/api-keys').set(auth).expect(200)).body.data.items as { name: string; expiresAt: string }[];
    expect(await listed()).toHaveLength(10);
    for (let i = 0; i < 3; i++) await newApiKey(t, auth, { name: `fresh ${i}` });
    const names = (await listed()).map((item) => item.name);
    expect(names).toHaveLength(10);
    expect(names.sort()).toEqual(['daily 3', 'daily 4', 'daily 5', 'daily 6', 'daily 7', 'daily 8', 'daily 9', 'fresh 0', 'fresh 1', 'fresh 2']);
    const burst = await Promise.all(Array.from({ length: 30 }, (_, i) => createApiKey(t, auth, { name: `burst ${i}` })));
    expect(burst.map((answer) => answer.status).sort()).toEqual([...Array(7).fill(201), ...Array(23).fill(409)]);
    const rows = await t.db.query('SELECT expires_at FROM api_keys WHERE user_id = ?', [user.user.id]);
    expect(rows).toHaveLength(10);
    for (const row of rows) expect(new Date(row.expires_at).getTime()).toBeGreaterThan(t.clock.now());
  });

  it('a password change deletes every key of the account, and so does deleting the account', async () => {
    const user = await signedInUser(t);
    const keys = [await newApiKey(t, user.auth, { name: 'a' }), await newApiKey(t, user.auth, { name: 'b', scopes: ['profile:read'] }), await newApiKey(t, user.auth, { name: 'c' })];
    await t.http.put('/api/v1/users/me/password').set(user.auth).send({ oldPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD }).expect(200);
    for (const key of keys) expect((await t.http.get('/api/v1/users/me').set(withKey(key)).expect(401)).body.error).toBe('API_KEY_INVALID');
    expect(await t.db.query(`SELECT id FROM api_keys WHERE user_id = ?`, [user.user.id])).toEqual([]);

    const doomed = await signedInUser(t);
    await newApiKey(t, doomed.auth, { name: 'x' });
    await newApiKey(t, doomed.auth, { name: 'y' });
    await t.http.delete('/api/v1/users/me').set(doomed.auth).send({ password: DEFAULT_PASSWORD }).expect(200);
    expect(await t.db.query(`SELECT id FROM api_keys WHERE user_id = ?`, [doomed.user.id])).toEqual([]);
  });

  it('the deprecated POST /users/me/api-key makes a "default" key with both scopes, replacing the previous default only', async () => {
    const user = await signedInUser(t);
    const named = await newApiKey(t, user.auth, { name: 'kept', scopes: ['profile:read'] });
    const first = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data;
    expect(first).toMatchObject({ name: 'default', scopes: ['profile:read', 'profile:write'] });
    const second = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data;
    expect((await t.http.get('/api/v1/users/me').set(withKey(first)).expect(401)).body.error).toBe('API_KEY_INVALID');
    await t.http.patch('/api/v1/users/me').set(withKey(second)).send({ intro: 'via default key' }).expect(200);
    await t.http.get('/api/v1/users/me').set(withKey(named)).expect(200);
    const doc = (await t.http.get('/docs-json').expect(200)).body;
    expect(doc.paths['/api/v1/users/me/api-key'].post.deprecated).toBe(true);
  });

  it('the migration moves a v1.0 key (users.api_key_hash) into api_keys as "default" with both scopes', async () => {
    const own = await createTestApp();
    try {
      const user = await signedInUser(own);
      const migration = own.db.options.type === 'mysql' ? new MysqlApiKeys() : new SqliteApiKeys();
      const runner = own.db.createQueryRunner();
      try {
        await migration.down(runner);
        const legacyKey = `ucp_${randomUUID()}`;
        await runner.query(`UPDATE users SET api_key_hash = ? WHERE id = ?`, [sha256(legacyKey), user.user.id]);
        await migration.up(runner);
        const rows = await runner.query(`SELECT name, scopes, key_hash FROM api_keys WHERE user_id = ?`, [user.user.id]);
        expect(rows).toEqual([{ name: 'default', scopes: 'profile:read profile:write', key_hash: sha256(legacyKey) }]);
        expect((await own.http.get('/api/v1/users/me').set('X-API-Key', legacyKey).expect(200)).body.data.id).toBe(user.user.id);
        expect((await own.http.get('/api/v1/users/me/api-keys').set(user.auth).expect(200)).body.data.items).toHaveLength(1);
      } finally {
        await runner.release();
      }
    } finally {
      await own.close();
    }
  });
});
