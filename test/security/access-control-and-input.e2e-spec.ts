import { randomBytes } from 'node:crypto';
import { usernameSkeleton } from '@/modules/users/username-confusables';
import { UsernameSkeletonKeys1732300012000 as MysqlSkeletonKeys } from '@/database/migrations/mysql/1732300012000-username-skeleton-keys';
import { UsernameSkeletonKeys1732300012000 as SqliteSkeletonKeys } from '@/database/migrations/sqlite/1732300012000-username-skeleton-keys';
import { adminUpdate, auditEvents, createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { avatarFileName, uploadAvatar } from '../factories/avatars';
import { outbox } from '../factories/codes';
import { idCardNumber, masked } from '../factories/id-cards';
import { testImage } from '../factories/images';
import { meStatus, refresh } from '../factories/sessions';
import { signedInUser, signUp, signUpBody, solvedCaptcha, uniqueUsername } from '../factories/users';
import { decodePart } from '../helpers/jwt-forge';
import { callOperation, documentedOperations, routeTable } from '../helpers/routes';
import type { TestApp } from '../helpers/test-app';

/** SECURITY.md › Access control and input: one describe per promise, over HTTP against the real app. */
const SERVICE_KEY = 'svc-access-tests-0123456789abcdef0123';
const SERVER_OWNED = ['role', 'id', 'emailVerified', 'status', 'realNameVerified'] as const;

describe('SECURITY: Access control and input', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  beforeAll(async () => ({ t, admin } = await createAppWithAdmin({ INTERNAL_API_KEYS: SERVICE_KEY })));
  afterAll(() => t.close());

  const register = async (body: Record<string, unknown>) => t.http.post('/api/v1/users').send({ ...body, ...(await solvedCaptcha(t)) });

  describe("Every object is the caller's own or the caller is an admin: another user's sessions, avatar or real-name record → 404", () => {
    it("answers 404 SESSION_NOT_FOUND for another user's session, and leaves it alone", async () => {
      const me = await signedInUser(t);
      const victim = await signedInUser(t);
      const sid = decodePart(victim.accessToken, 1).sid as string;
      const response = await t.http.delete(`/api/v1/auth/sessions/${sid}`).set(me.auth).expect(404);
      expect(response.body.error).toBe('SESSION_NOT_FOUND');
      expect(await meStatus(t, victim)).toBe(200);
      await refresh(t, victim.refreshToken).expect(200);
      // Nor is it listed to anyone else.
      const listed = (await t.http.get('/api/v1/auth/sessions').set(me.auth).expect(200)).body.data.items.map((item: { id: string }) => item.id);
      expect(listed).not.toContain(sid);
    });

    it("answers 404 to every way of naming another user's avatar, and leaves it as it was", async () => {
      const victim = await signedInUser(t);
      const url: string = (await uploadAvatar(t, victim.auth, await testImage('png')).expect(201)).body.data.avatarUrl;
      const name = avatarFileName(url);
      const me = await signedInUser(t);
      const image = await testImage('gif', 64, 64);
      const attempts: [string, string][] = [
        ['post', `/api/v1/users/${victim.user.id}/avatar`],
        ['post', `/api/v1/users/${victim.username}/avatar`],
        ['put', `/api/v1/users/${victim.user.id}/avatar`],
        ['delete', `/api/v1/users/${victim.user.id}/avatar`],
        ['delete', `/api/v1/users/me/avatar/${name}`],
        ['post', `/api/v1/avatars/${name}`],
        ['put', `/api/v1/avatars/${name}`],
        ['delete', `/api/v1/avatars/${name}`],
      ];
      for (const [method, path] of attempts) {
        const call = (t.http as unknown as Record<string, (p: string) => import('supertest').Test>)[method](path).set(me.auth);
        const response = method === 'delete' ? await call : await call.attach('file', image, { filename: 'a.gif', contentType: 'image/gif' });
        expect([method, path, response.status, response.body.error]).toEqual([method, path, 404, 'NOT_FOUND']);
      }
      // An upload naming the victim in a form field still only ever changes the caller's own avatar.
      await t.http.post('/api/v1/users/me/avatar').set(me.auth).field('userId', victim.user.id).attach('file', image, { filename: 'a.gif', contentType: 'image/gif' });
      expect((await t.http.get('/api/v1/users/me').set(victim.auth).expect(200)).body.data.avatarUrl).toBe(url);
      await t.http.get(url).expect(200);
    });

    it("answers 404 to every way of naming another user's real-name record; an admin sees the account, never the record", async () => {
      const victim = await signedInUser(t);
      const number = idCardNumber();
      await t.http.post('/api/v1/users/me/real-name').set(victim.auth).send({ realName: '张三', idCardNumber: number }).expect(201);
      const me = await signedInUser(t);
      // The caller's own record is the only one the route serves.
      expect((await t.http.get('/api/v1/users/me/real-name').set(me.auth).expect(404)).body.error).toBe('REAL_NAME_NOT_SUBMITTED');
      for (const path of [`/api/v1/users/${victim.user.id}/real-name`, `/api/v1/users/${victim.username}/real-name`, `/api/v1/admin/users/${victim.user.id}/real-name`, `/api/v1/users/me/real-name/${victim.user.id}`]) {
        const response = await t.http.get(path).set(me.auth);
        expect([path, response.status, response.body.error]).toEqual([path, 404, 'NOT_FOUND']);
        expect(response.text).not.toContain(masked(number));
      }
      const profile = await t.http.get(`/api/v1/users/${victim.username}`).set(me.auth).expect(200);
      expect(profile.text).not.toContain(masked(number));
      expect(profile.text).not.toContain('张');
      const byAdmin = await t.http.get(`/api/v1/admin/users/${victim.user.id}`).set(admin.auth).expect(200);
      expect(byAdmin.body.data).toMatchObject({ id: victim.user.id, realNameVerified: true });
      expect(byAdmin.text).not.toContain(masked(number));
    });
  });

  describe('Every admin route refuses a user token with 403 (enumerated from the route table)', () => {
    /** Every admin route the router holds; the OpenAPI document must list the same ones, so none hides. */
    async function adminRoutes(): Promise<{ method: string; path: string }[]> {
      const routed = routeTable(t, '/api/v1/admin').sort();
      const documented = (await documentedOperations(t)).filter((op) => op.path.startsWith('/api/v1/admin')).map((op) => `${op.method} ${op.path}`).sort();
      expect(routed).toEqual(documented);
      expect(routed.length).toBeGreaterThanOrEqual(4);
      return routed.map((route) => ({ method: route.split(' ')[0], path: route.split(' ')[1] }));
    }

    it('refuses every admin route to a normal user (403 FORBIDDEN), by token or API key, and to nobody (401)', async () => {
      const operations = await adminRoutes();
      const user = await signedInUser(t);
      const apiKey = (await t.http.post('/api/v1/users/me/api-key').set(user.auth).expect(201)).body.data.apiKey;
      for (const op of operations) {
        const byToken = await callOperation(t, op).set(user.auth).send({ role: 'admin' });
        expect([op, byToken.status, byToken.body.error]).toEqual([op, 403, 'FORBIDDEN']);
        const byKey = await callOperation(t, op).set('X-API-Key', apiKey).send({ role: 'admin' });
        // Keys never reach admin routes, whatever the account's role (proven for an admin's key in api-keys.e2e-spec).
        expect([op, byKey.status, byKey.body.error]).toEqual([op, 403, 'API_KEY_SCOPE']);
        const anonymous = await callOperation(t, op).send({ role: 'admin' });
        expect([op, anonymous.status, anonymous.body.error]).toEqual([op, 401, 'UNAUTHENTICATED']);
      }
      expect((await t.http.get(`/api/v1/admin/users/${user.user.id}`).set(user.auth).expect(403)).body.error).toBe('FORBIDDEN');
      // The user was not promoted by any of that, and every refusal is in the audit trail (route templates only).
      expect((await t.http.get('/api/v1/users/me').set(user.auth).expect(200)).body.data.role).toBe('normal_user');
      const denials = await auditEvents(t, admin.auth, { userId: user.user.id, type: 'access_denied' });
      expect(denials).toHaveLength(2 * operations.length + 1);
      expect(denials.every((event) => event.outcome === 'denied' && event.actorId === user.user.id)).toBe(true);
      expect(new Set(denials.map((event) => event.detail?.via))).toEqual(new Set(['bearer', 'api-key']));
      expect(denials.map((event) => event.detail?.route)).toContain('PATCH /api/v1/admin/users/:id');
      expect(JSON.stringify(denials)).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\/|admin\/users\/[0-9a-f]{8}/);
    });

    it('refuses vip_user and creator too, and lets an admin through on every route', async () => {
      const operations = await adminRoutes();
      for (const role of ['vip_user', 'creator']) {
        const user = await signedInUser(t);
        await adminUpdate(t, admin.auth, user.user.id, { role }).expect(200);
        for (const op of operations) expect((await callOperation(t, op).set(user.auth).send({})).status).toBe(403);
      }
      // Revoke-all with an empty body would sign out every session of this file's app: a cut-off before all of them.
      const body = (op: { path: string }) => (op.path.endsWith('/sessions/revoke-all') ? { before: '2000-01-01T00:00:00Z' } : {});
      for (const op of operations) expect([401, 403]).not.toContain((await callOperation(t, op).set(admin.auth).send(body(op))).status);
    });
  });

  describe('Malformed Authorization headers → 401, never 500', () => {
    const malformed = [
      'Bearer',
      'Bearer ',
      'Basic abc',
      'Basic Zm9vOmJhcg==',
      'Token abc',
      'Bearer a.b.c',
      'Bearer a.b',
      'Bearer ...',
      'Bearer eyJ.eyJ.sig',
      'Bearer eyJhbGciOiJSUzI1NiJ9.e30.',
      'Bearer e30.e30.e30',
      'Bearer bnVsbA.bnVsbA.bnVsbA',
      'Bearer a b',
      'Bearer null',
      'Bearer \u00e9\u00e8',
      'bearer \t',
      `Bearer ${'x'.repeat(5000)}`,
      `Bearer ${'a.'.repeat(2000)}`,
    ];
    it.each(['/api/v1/users/me', '/api/v1/admin/users', '/api/v1/auth/sessions'])('answers malformed Authorization headers with 401, never 500 (%s)', async (path) => {
      for (const header of malformed) {
        const response = await t.http.get(path).set('Authorization', header);
        expect([header.slice(0, 40), response.status, response.body.error]).toEqual([header.slice(0, 40), 401, 'UNAUTHENTICATED']);
      }
      // A malformed API key alone is refused the same way.
      for (const key of ['', 'ucp_', 'ucp_nope', 'x'.repeat(3000)]) {
        expect((await t.http.get(path).set('X-API-Key', key)).status).toBe(401);
      }
    });
  });

  describe('Clients never set role, id, emailVerified, status', () => {
    it('never accepts a role (or other server-owned fields) from the client', async () => {
      for (const field of ['role', 'id', 'emailVerified', 'status']) {
        const response = await register({ ...signUpBody(), [field]: field === 'emailVerified' ? true : 'admin' });
        expect(response.status).toBe(400);
        expect(response.body.error).toBe('VALIDATION_FAILED');
      }
    });

    it('refuses server-owned fields in every JSON body the API documents; only an admin sets role and status', async () => {
      const withBodies = (await documentedOperations(t)).filter((op) => op.body);
      expect(withBodies.length).toBeGreaterThan(10);
      const user = await signedInUser(t, {}, { verified: false });
      // An admin's token and a service key pass every guard, so each body reaches validation.
      const credentials = { ...admin.auth, 'X-API-Key': SERVICE_KEY };
      const settable: string[] = [];
      for (const op of withBodies) {
        for (const field of SERVER_OWNED) {
          if (op.body!.properties?.[field]) {
            settable.push(`${op.method} ${op.path} ${field}`);
            continue;
          }
          const response = await callOperation(t, op).set(credentials).send({ [field]: field === 'emailVerified' || field === 'realNameVerified' ? true : 'admin' });
          const where = `${op.method} ${op.path} ${field}`;
          expect([where, response.status, response.body.error]).toEqual([where, 400, 'VALIDATION_FAILED']);
          expect([where, response.body.details]).toEqual([where, expect.arrayContaining([{ field, message: expect.stringContaining('should not exist') }])]);
        }
      }
      expect(settable.sort()).toEqual(['patch /api/v1/admin/users/{id} role', 'patch /api/v1/admin/users/{id} status']);
      // None of it changed the signed-in user.
      expect((await t.http.get('/api/v1/users/me').set(user.auth).expect(200)).body.data).toMatchObject({ role: 'normal_user', status: 'active', emailVerified: false });
      const patched = await t.http.patch('/api/v1/users/me').set(user.auth).send({ displayName: 'Still Normal', role: 'admin' }).expect(400);
      expect(patched.body.error).toBe('VALIDATION_FAILED');
    });
  });

  describe('Unknown fields → 400', () => {
    it('refuses unknown fields with 400 VALIDATION_FAILED and details', async () => {
      const response = await t.http.post('/api/v1/auth/login').send({ identifier: 'someone', password: 'x', role: 'admin' }).expect(400);
      expect(response.body.error).toBe('VALIDATION_FAILED');
      expect(response.body.details).toEqual(expect.arrayContaining([{ field: 'role', message: expect.stringContaining('should not exist') }]));
      const user = await signedInUser(t);
      const nested = await t.http.patch('/api/v1/users/me').set(user.auth).send({ displayName: 'x', zzz: { a: 1 } }).expect(400);
      expect(nested.body.details).toEqual(expect.arrayContaining([{ field: 'zzz', message: expect.stringContaining('should not exist') }]));
    });
  });

  describe('Bounded work per request: a JSON body over 1,000 keys or 32 levels → 400 PAYLOAD_TOO_COMPLEX before validation; details ≤ 20', () => {
    const login = (body: unknown) => t.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send(typeof body === 'string' ? body : JSON.stringify(body));
    /** `{identifier, password, x: {a: {a: …}}}` with `levels` objects in all (the top-level object is level 1), as JSON text. */
    const nested = (levels: number, extra = '') =>
      `{${extra}"identifier":"someone","password":"x","x":${'{"a":'.repeat(levels - 2)}{}${'}'.repeat(levels - 2)}}`;
    const withKeys = (keys: number) => {
      const body: Record<string, unknown> = { identifier: 'someone', password: 'x' };
      for (let i = 2; i < keys; i++) body[i.toString(36)] = 1;
      return body;
    };

    it('answers a 1 MB body of 120,000 keys with a small 400 PAYLOAD_TOO_COMPLEX', async () => {
      const body = withKeys(120_000);
      expect(Buffer.byteLength(JSON.stringify(body))).toBeLessThan(1024 * 1024);
      const response = await login(body);
      expect([response.status, response.body.error]).toEqual([400, 'PAYLOAD_TOO_COMPLEX']);
      expect(response.text.length).toBeLessThan(1000);
      // So are many keys spread over nested objects, and long arrays (their items count as keys).
      const spread = { identifier: 'someone', password: 'x', a: withKeys(600), b: withKeys(600) };
      expect((await login(spread)).body.error).toBe('PAYLOAD_TOO_COMPLEX');
      expect((await login({ identifier: 'someone', password: 'x', list: Array.from({ length: 5000 }, () => 0) })).body.error).toBe('PAYLOAD_TOO_COMPLEX');
    });

    it('answers 400 PAYLOAD_TOO_COMPLEX, never 500, to a body nested 5,000 levels deep (objects or arrays)', async () => {
      const deep = await login(nested(5000));
      expect([deep.status, deep.body.error]).toEqual([400, 'PAYLOAD_TOO_COMPLEX']);
      const arrays = await t.http.post('/api/v1/auth/login').set('Content-Type', 'application/json').send(`{"identifier":"a","password":"b","x":${'['.repeat(5000)}${']'.repeat(5000)}}`);
      expect([arrays.status, arrays.body.error]).toEqual([400, 'PAYLOAD_TOO_COMPLEX']);
      // On every JSON route, signed in or not.
      const user = await signedInUser(t);
      const patched = await t.http.patch('/api/v1/users/me').set(user.auth).set('Content-Type', 'application/json').send(nested(5000, '"displayName":"x",'));
      expect([patched.status, patched.body.error]).toEqual([400, 'PAYLOAD_TOO_COMPLEX']);
    });

    it('lets exactly 1,000 keys and exactly 32 levels through to validation, and 1,001 / 33 not', async () => {
      const thousand = await login(withKeys(1000));
      expect([thousand.status, thousand.body.error]).toEqual([400, 'VALIDATION_FAILED']);
      expect((await login(withKeys(1001))).body.error).toBe('PAYLOAD_TOO_COMPLEX');
      const levels32 = await login(nested(32));
      expect([levels32.status, levels32.body.error]).toEqual([400, 'VALIDATION_FAILED']);
      expect(levels32.body.details).toEqual([{ field: 'x', message: expect.stringContaining('should not exist') }]);
      expect((await login(nested(33))).body.error).toBe('PAYLOAD_TOO_COMPLEX');
      // A well-formed small body is untouched by the check.
      expect((await login({ identifier: 'nobody-here', password: 'wrong password 1' })).body.error).toBe('INVALID_CREDENTIALS');
    });

    it('lists at most 20 validation details however many fields are wrong', async () => {
      const response = await login(withKeys(1000));
      expect(response.body.error).toBe('VALIDATION_FAILED');
      expect(response.body.details).toHaveLength(20);
      expect(response.text.length).toBeLessThan(5000);
    });

    it('keeps /health/live answering while several over-complex bodies are in flight', async () => {
      const heavy = withKeys(120_000);
      const [health, ...refused] = await Promise.all([
        new Promise((resolve) => setImmediate(resolve)).then(() => t.http.get('/health/live')),
        ...Array.from({ length: 4 }, () => login(heavy)),
        ...Array.from({ length: 2 }, () => login(nested(5000))),
      ]);
      expect(health.status).toBe(200);
      expect(refused.map((r) => [r.status, r.body.error])).toEqual(Array.from({ length: 6 }, () => [400, 'PAYLOAD_TOO_COMPLEX']));
    });
  });

  describe('Usernames compared after lower-casing and NFKC, zero-width characters refused, enforced by a unique index', () => {
    it.each([
      ['abcd', 'too short'],
      ['a'.repeat(33), 'too long'],
      ['has space', 'space'],
      ['bad@name', '@'],
      ['zero\u200bwidth', 'zero-width character'],
      ['soft\u00adhyphen', 'soft hyphen'],
    ])('refuses the username %j (%s)', async (username) => {
      const response = await register(signUpBody({ username, email: `${uniqueUsername()}@example.com` }));
      expect(response.status).toBe(400);
      expect(response.body.error).toBe('USERNAME_INVALID');
    });

    it('treats usernames equal after NFKC and lower-casing as the same name', async () => {
      const base = uniqueUsername('Ｍixed');
      await register(signUpBody({ username: base })).then((r) => expect(r.status).toBe(201));
      const clash = await register(signUpBody({ username: base.normalize('NFKC').toUpperCase() }));
      expect(clash.status).toBe(409);
      expect(clash.body.error).toBe('USERNAME_TAKEN');
    });

    it('ends 50 parallel sign-ups of one name in one 201, the rest 409, and one row', async () => {
      const username = uniqueUsername('race');
      const bodies = await Promise.all(Array.from({ length: 50 }, async (_, i) => ({ ...signUpBody({ username, email: `race${i}_${username}@example.com` }), ...(await solvedCaptcha(t)) })));
      const responses = await Promise.all(bodies.map((body) => t.http.post('/api/v1/users').send(body)));
      const statuses = responses.map((r) => r.status).sort();
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(49);
      const rows = await t.db.query('SELECT COUNT(*) AS n FROM users WHERE username_key = ?', [usernameSkeleton(username)]);
      expect(Number(rows[0].n)).toBe(1);
    });
  });

  describe('Usernames unique by their confusable skeleton (Unicode TS #39), not only case and NFKC; a username mixing scripts → 400 USERNAME_INVALID; the public profile shows no role', () => {
    const tag = () => randomBytes(3).toString('hex').replace(/[a-f]/g, (c) => String('abcdef'.indexOf(c) + 2));
    const email = () => `${uniqueUsername('lookalike')}@example.com`;

    it('answers 409 USERNAME_TAKEN to rооtadmin (Cyrillic о) when rootadmin exists, and to every other look-alike spelling', async () => {
      const digits = tag();
      await register(signUpBody({ username: `rootadmin${digits}`, email: email() })).then((r) => expect(r.status).toBe(201));
      for (const username of [`r\u043e\u043etadmin${digits}`, `r00tadmin${digits}`, `ROOTADMIN${digits}`, `rootadrnin${digits}`, `ｒｏｏｔａｄｍｉｎ${digits}`, `rootadm\u0456n${digits}`]) {
        const clash = await register(signUpBody({ username, email: email() }));
        expect([username, clash.status, clash.body.error]).toEqual([username, 409, 'USERNAME_TAKEN']);
      }
      // Sign-in by a look-alike spelling finds no other account.
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: `r\u043e\u043etadmin${digits}`, password: 'not the password 1' })).status).toBe(401);
    });

    it('refuses a username that mixes scripts (400 USERNAME_INVALID), and takes one written in one script (Latin with Chinese, Japanese or Korean too)', async () => {
      for (const username of [`p\u0430ypal_${tag()}`, `\u03b1\u03b2\u03b3_abc${tag()}`, `\u0438\u0432\u0430\u043d\u5f20${tag()}`]) {
        const response = await register(signUpBody({ username, email: email() }));
        expect([username, response.status, response.body.error]).toEqual([username, 400, 'USERNAME_INVALID']);
      }
      for (const username of [`\u0438\u0432\u0430\u043d_${tag()}`, `张三_dev${tag()}`, `山田タロウ${tag()}`, `kim김철수${tag()}`, `alice.smith-${tag()}`]) {
        const response = await register(signUpBody({ username, email: email() }));
        expect([username, response.status]).toEqual([username, 201]);
        expect(response.body.data.username).toBe(username);
      }
    });

    it('ends 50 parallel sign-ups of confusable variants of one name (Latin and Cyrillic spellings, any case, digits for letters) in one 201, the rest 409, and one row', async () => {
      // Every letter of the name has a Cyrillic twin: а с е р о х у (and capitals); 0 looks like o.
      const latin = 'acepoxy';
      const cyrillic = '\u0430\u0441\u0435\u0440\u043e\u0445\u0443';
      const digits = tag();
      const variants = new Set<string>();
      for (let i = 0; variants.size < 50; i++) {
        const letters = [...(i % 2 ? cyrillic : latin)].map((c, at) => ((i >> (at + 1)) & 1 ? c.toUpperCase() : c)).join('');
        variants.add(`${i % 5 === 4 && i % 2 === 0 ? letters.replace('o', '0') : letters}_${digits}`);
      }
      const bodies = await Promise.all([...variants].map(async (username) => ({ ...signUpBody({ username, email: email() }), ...(await solvedCaptcha(t)) })));
      const responses = await Promise.all(bodies.map((body) => t.http.post('/api/v1/users').send(body)));
      const statuses = responses.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.filter((s) => s === 409)).toHaveLength(49);
      const rows = await t.db.query('SELECT COUNT(*) AS n FROM users WHERE username_key = ?', [usernameSkeleton(`${latin}_${digits}`)]);
      expect(Number(rows[0].n)).toBe(1);
    });

    it('re-keys existing accounts by skeleton with a migration on this driver; of two look-alikes kept from before, the plain spelling keeps the name', async () => {
      const digits = tag();
      const plain = await signUp(t, { username: `legacyname${digits}`, email: email() });
      const other = await signUp(t, { username: `oldaccount${digits}`, email: email() });
      // As the previous release stored them: keys by case and NFKC only, so a Cyrillic look-alike could exist, created first.
      const lookalike = `l\u0435g\u0430cyname${digits}`;
      const byCase = (name: string) => name.normalize('NFKC').toLowerCase().normalize('NFKC');
      const [{ created_at: first }] = await t.db.query('SELECT created_at FROM users WHERE username = ?', ['root_admin']);
      await t.db.query('UPDATE users SET username = ?, username_key = ?, created_at = ? WHERE id = ?', [lookalike, byCase(lookalike), first, other.user.id]);
      await t.db.query('UPDATE users SET username_key = ? WHERE id = ?', [byCase(plain.username), plain.user.id]);
      const Migration = t.config.database.driver === 'sqlite' ? SqliteSkeletonKeys : MysqlSkeletonKeys;
      const runner = t.db.createQueryRunner();
      try {
        await new Migration().up(runner);
      } finally {
        await runner.release();
      }
      const keys = Object.fromEntries((await t.db.query('SELECT id, username_key FROM users WHERE id IN (?, ?)', [plain.user.id, other.user.id])).map((row: { id: string; username_key: string }) => [row.id, row.username_key]));
      expect(keys).toEqual({ [plain.user.id]: usernameSkeleton(plain.username), [other.user.id]: byCase(lookalike) });
      // The plain spelling signs in by name; every account was re-keyed (the first admin too).
      await t.http.post('/api/v1/auth/login').send({ identifier: plain.username, password: plain.password }).expect(200);
      await t.http.post('/api/v1/auth/login').send({ identifier: 'root_admin', password: 'granite harbour 19' }).expect(200);
      expect(await t.db.query('SELECT username FROM users WHERE username_key = ?', [usernameSkeleton('root_admin')])).toEqual([{ username: 'root_admin' }]);
    });

    it('leaves role out of the public profile (and its schema), so it does not tell who is an admin', async () => {
      const profile = await t.http.get('/api/v1/users/root_admin').expect(200);
      expect(profile.body.data.username).toBe('root_admin');
      expect(profile.body.data).not.toHaveProperty('role');
      const document = (await t.http.get('/docs-json').expect(200)).body;
      expect(Object.keys(document.components.schemas.PublicProfileDto.properties)).not.toContain('role');
    });
  });

  describe('Non-JSON bodies → 415; bodies over 1 MiB → 413; header-injection in emails → 400', () => {
    it('refuses non-JSON bodies with 415', async () => {
      for (const [type, body] of [['text/plain', 'identifier=a'], ['application/xml', '<a/>'], ['application/x-www-form-urlencoded', 'identifier=a&password=b'], ['multipart/form-data; boundary=x', '--x--']]) {
        const response = await t.http.post('/api/v1/auth/login').set('Content-Type', type).send(body);
        expect([type, response.status, response.body.error]).toEqual([type, 415, 'UNSUPPORTED_MEDIA_TYPE']);
      }
    });

    it('refuses bodies over 1 MiB with 413', async () => {
      const response = await t.http.post('/api/v1/auth/login').send({ identifier: 'x'.repeat(1024 * 1024 + 10), password: 'y' }).expect(413);
      expect(response.body.error).toBe('PAYLOAD_TOO_LARGE');
      // Just under the limit is read (and judged on its content instead).
      const under = await t.http.post('/api/v1/auth/login').send({ identifier: 'x'.repeat(1024 * 1024 - 100), password: 'y' });
      expect(under.status).toBe(400);
    });

    it('refuses email header injection on every route that takes an email, and sends nothing', async () => {
      const withEmail = (await documentedOperations(t)).filter((op) => op.body?.properties?.email);
      expect(withEmail.map((op) => `${op.method} ${op.path}`).sort()).toEqual(
        expect.arrayContaining(['post /api/v1/users', 'post /api/v1/verification/email-codes', 'put /api/v1/users/me/email', 'post /api/v1/auth/password-reset']),
      );
      const user = await signedInUser(t);
      const sentBefore = outbox(t).length;
      const injections = [
        'a@example.com\r\nBcc: victim@example.com',
        'a@example.com\nBcc: victim@example.com',
        'a@example.com\rSubject: hi',
        'a@example.com%0d%0aBcc:victim@example.com',
        'a@example.com,victim@example.com',
        'Alice <a@example.com>',
        '"a\r\nBcc: v@example.com"@example.com',
      ];
      for (const op of withEmail) {
        for (const email of injections) {
          const body = { ...signUpBody(), channel: 'email', purpose: 'register', code: '123456', newPassword: 'fine long password 1', ...(await solvedCaptcha(t)), email };
          const allowed = Object.keys(op.body!.properties ?? {});
          const response = await callOperation(t, op).set(user.auth).send(Object.fromEntries(Object.entries(body).filter(([key]) => allowed.includes(key))));
          const where = `${op.method} ${op.path} ${JSON.stringify(email)}`;
          expect([where, response.status, response.body.error]).toEqual([where, 400, 'VALIDATION_FAILED']);
          expect([where, response.body.details?.map((d: { field: string }) => d.field)]).toEqual([where, expect.arrayContaining(['email'])]);
        }
      }
      expect(outbox(t).length).toBe(sentBefore);
      expect((await t.http.get('/api/v1/users/me').set(user.auth).expect(200)).body.data.email).toBe(user.email);
      // The same routes take a plain address.
      await signUp(t);
    });
  });
});
