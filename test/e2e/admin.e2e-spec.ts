import { randomUUID } from 'node:crypto';
import { ConfigError } from '@/config/app-config';
import { AdminBootstrap } from '@/modules/admin/admin-bootstrap.service';
import { AdminAccountsService } from '@/modules/admin/admin-accounts.service';
import { adminUpdate, auditEvents, createAppWithAdmin, FIRST_ADMIN, firstAdminEnv, signedInAdmin, SignedInAdmin } from '../factories/admin';
import { bearer, signInFrom } from '../factories/sessions';
import { DEFAULT_PASSWORD, signedInUser, signIn, signUp, uniqueUsername, verifyEmail } from '../factories/users';
import { documentedOperations } from '../helpers/routes';
import { createTestApp, TestApp } from '../helpers/test-app';

const SERVICE_KEY = 'svc-admin-tests-0123456789abcdef012345';
const USER_VIEW_KEYS = ['avatarUrl', 'createdAt', 'displayName', 'email', 'emailVerified', 'github', 'id', 'intro', 'phone', 'realNameVerified', 'role', 'school', 'status', 'updatedAt', 'username', 'website'];

describe('Administration', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  beforeAll(async () => ({ t, admin } = await createAppWithAdmin({ INTERNAL_API_KEYS: SERVICE_KEY })));
  afterAll(() => t.close());

  describe('the first admin from ADMIN_USERNAME / ADMIN_EMAIL / ADMIN_PASSWORD', () => {
    it('exists after start-up, with role admin, and can sign in', async () => {
      const me = await t.http.get('/api/v1/users/me').set(admin.auth).expect(200);
      expect(me.body.data).toMatchObject({ username: FIRST_ADMIN.username, email: FIRST_ADMIN.email, role: 'admin', status: 'active' });
      const [created] = await auditEvents(t, admin.auth, { type: 'admin_created' });
      expect(created).toMatchObject({ userId: me.body.data.id, actorId: null, outcome: 'success', detail: { via: 'env' } });
    });

    it('is created once: another start-up leaves the existing account alone', async () => {
      await t.app.get(AdminBootstrap).onApplicationBootstrap();
      const admins = await t.http.get('/api/v1/admin/users').query({ role: 'admin', q: FIRST_ADMIN.username }).set(admin.auth).expect(200);
      expect(admins.body.data.total).toBe(1);
      expect(await auditEvents(t, admin.auth, { type: 'admin_created' })).toHaveLength(1);
    });

    it('leaves an existing account of that username exactly as it is (no promotion)', async () => {
      const account = await signUp(t);
      const bootstrap = new AdminBootstrap(t.app.get(AdminAccountsService), { ...t.config, admin: { username: account.username, email: 'other@example.com', password: 'a fine long password' } });
      await bootstrap.onApplicationBootstrap();
      const view = await t.http.get(`/api/v1/admin/users/${account.user.id}`).set(admin.auth).expect(200);
      expect(view.body.data.role).toBe('normal_user');
    });

    it.each([
      [{ ADMIN_PASSWORD: 'password' }, 'Invalid configuration: ADMIN_PASSWORD is not acceptable: Password is one of the most commonly used passwords'],
      [{ ADMIN_PASSWORD: 'short' }, 'Invalid configuration: ADMIN_PASSWORD is not acceptable: Password is too short'],
      [{ ADMIN_EMAIL: 'not-an-email' }, 'Invalid configuration: ADMIN_EMAIL is not acceptable: email must be a valid address'],
      [{ ADMIN_USERNAME: 'bad name!' }, 'Invalid configuration: ADMIN_USERNAME is not acceptable: Username must be'],
    ])('stops start-up with one line naming the setting for %j', async (override, message) => {
      const failure = await createTestApp({ ...firstAdminEnv(), ...override }).then(
        async (app) => {
          await app.close();
          return null;
        },
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as Error).message).toContain(message);
      expect((failure as Error).message).not.toContain('\n');
    });

    it('cannot be created over HTTP: sign-up refuses a role, and no request body but PATCH /admin/users/{id} has one', async () => {
      const refused = await t.http.post('/api/v1/users').send({ username: uniqueUsername(), email: `${randomUUID()}@example.com`, password: DEFAULT_PASSWORD, role: 'admin' }).expect(400);
      expect(refused.body.error).toBe('VALIDATION_FAILED');
      const withRole = (await documentedOperations(t)).filter((op) => op.body?.properties?.role).map((op) => `${op.method.toUpperCase()} ${op.path}`);
      expect(withRole).toEqual(['PATCH /api/v1/admin/users/{id}']);
    });
  });

  describe('GET /admin/users', () => {
    it('pages through accounts: {items, page, pageSize, total}, user views only', async () => {
      for (let i = 0; i < 3; i++) await signUp(t);
      const all = await t.http.get('/api/v1/admin/users').set(admin.auth).expect(200);
      expect(all.body.data).toMatchObject({ page: 1, pageSize: 20, total: expect.any(Number) });
      const total = all.body.data.total;
      expect(total).toBeGreaterThanOrEqual(4);
      for (const item of all.body.data.items) expect(Object.keys(item).sort()).toEqual(USER_VIEW_KEYS);

      const page1 = (await t.http.get('/api/v1/admin/users').query({ page: 1, pageSize: 2 }).set(admin.auth).expect(200)).body.data;
      const page2 = (await t.http.get('/api/v1/admin/users').query({ page: 2, pageSize: 2 }).set(admin.auth).expect(200)).body.data;
      expect(page1).toMatchObject({ page: 1, pageSize: 2, total });
      expect(page1.items).toHaveLength(2);
      expect(page2.items).toHaveLength(2);
      const ids = [...page1.items, ...page2.items].map((item: { id: string }) => item.id);
      expect(new Set(ids).size).toBe(4);
      expect(ids).toEqual(all.body.data.items.slice(0, 4).map((item: { id: string }) => item.id));
      const beyond = (await t.http.get('/api/v1/admin/users').query({ page: 10_000, pageSize: 100 }).set(admin.auth).expect(200)).body.data;
      expect(beyond).toMatchObject({ items: [], total });
      const max = (await t.http.get('/api/v1/admin/users').query({ pageSize: 100 }).set(admin.auth).expect(200)).body.data;
      expect(max.pageSize).toBe(100);
    });

    it('searches by username, email or phone prefix, case-insensitively, with wildcards taken literally', async () => {
      const stem = `srch${randomUUID().slice(0, 6)}`;
      const a = await signUp(t, { username: `${stem}_alpha`, email: `first.${stem}@example.com` });
      const b = await signUp(t, { username: `${stem}_beta` });
      await t.db.query(`UPDATE users SET phone = ? WHERE id = ?`, ['+8613912345678', b.user.id]);
      const search = async (q: string) => (await t.http.get('/api/v1/admin/users').query({ q }).set(admin.auth).expect(200)).body.data;

      const byName = await search(stem.toUpperCase());
      expect(byName.total).toBe(2);
      expect(byName.items.map((item: { id: string }) => item.id).sort()).toEqual([a.user.id, b.user.id].sort());
      expect((await search(`${stem}_al`)).items.map((item: { id: string }) => item.id)).toEqual([a.user.id]);
      expect((await search(`FIRST.${stem}`)).items.map((item: { id: string }) => item.id)).toEqual([a.user.id]);
      expect((await search('+861391234')).items.map((item: { id: string }) => item.id)).toEqual([b.user.id]);
      // A prefix, not a substring; and % and _ are not wildcards.
      expect((await search('alpha')).total).toBe(0);
      expect((await search('%')).total).toBe(0);
      expect((await search('_')).total).toBe(0);
      expect((await search(`${stem}%alpha`)).total).toBe(0);
    });

    it('filters by role and status', async () => {
      const vip = await signUp(t);
      const off = await signUp(t);
      await adminUpdate(t, admin.auth, vip.user.id, { role: 'vip_user' }).expect(200);
      await adminUpdate(t, admin.auth, off.user.id, { status: 'disabled' }).expect(200);
      const vips = (await t.http.get('/api/v1/admin/users').query({ role: 'vip_user', pageSize: 100 }).set(admin.auth).expect(200)).body.data;
      expect(vips.items.every((item: { role: string }) => item.role === 'vip_user')).toBe(true);
      expect(vips.items.map((item: { id: string }) => item.id)).toContain(vip.user.id);
      const disabled = (await t.http.get('/api/v1/admin/users').query({ status: 'disabled', pageSize: 100 }).set(admin.auth).expect(200)).body.data;
      expect(disabled.items.every((item: { status: string }) => item.status === 'disabled')).toBe(true);
      expect(disabled.items.map((item: { id: string }) => item.id)).toContain(off.user.id);
      const both = (await t.http.get('/api/v1/admin/users').query({ role: 'admin', status: 'active' }).set(admin.auth).expect(200)).body.data;
      expect(both.items.map((item: { username: string }) => item.username)).toContain(FIRST_ADMIN.username);
      expect(both.items.map((item: { id: string }) => item.id)).not.toContain(vip.user.id);
    });

    it.each([
      [{ page: 0 }],
      [{ page: -1 }],
      [{ page: 1.5 }],
      [{ page: 'abc' }],
      [{ pageSize: 0 }],
      [{ pageSize: 101 }],
      [{ pageSize: '' }],
      [{ role: 'king' }],
      [{ status: 'banned' }],
      [{ q: 'x'.repeat(255) }],
      [{ q: ['a', 'b'] }],
      [{ sort: 'password_hash' }],
    ])('refuses the query %j with 400 VALIDATION_FAILED', async (query) => {
      const response = await t.http.get('/api/v1/admin/users').query(query).set(admin.auth).expect(400);
      expect(response.body.error).toBe('VALIDATION_FAILED');
      expect(response.body.details.length).toBeGreaterThan(0);
    });
  });

  describe('GET /admin/users/{id}', () => {
    it('answers the user view, or 404 USER_NOT_FOUND', async () => {
      const account = await signUp(t, { displayName: 'Seen By Admin' });
      const response = await t.http.get(`/api/v1/admin/users/${account.user.id}`).set(admin.auth).expect(200);
      // The owner's view plus the linked identity providers (contract §11).
      expect(Object.keys(response.body.data).sort()).toEqual([...USER_VIEW_KEYS, 'identities'].sort());
      expect(response.body.data.identities).toEqual([]);
      expect(response.body.data).toMatchObject({ id: account.user.id, username: account.username, email: account.email, displayName: 'Seen By Admin' });
      for (const id of [randomUUID(), 'not-an-id']) {
        expect((await t.http.get(`/api/v1/admin/users/${id}`).set(admin.auth).expect(404)).body.error).toBe('USER_NOT_FOUND');
      }
    });
  });

  describe('PATCH /admin/users/{id}', () => {
    it('changes the role: effective at once, audited with the acting admin', async () => {
      const user = await signedInUser(t);
      const response = await adminUpdate(t, admin.auth, user.user.id, { role: 'creator' }).expect(200);
      expect(response.body).toMatchObject({ code: 200, msg: 'Updated', data: { id: user.user.id, role: 'creator' } });
      expect((await t.http.get('/api/v1/users/me').set(user.auth).expect(200)).body.data.role).toBe('creator');
      // Introspection reports the current role, even for a token issued before the change.
      const introspection = await t.http.post('/api/v1/auth/introspect').set('X-API-Key', SERVICE_KEY).send({ token: user.accessToken }).expect(200);
      expect(introspection.body.data).toMatchObject({ active: true, role: 'creator' });

      const [event] = await auditEvents(t, admin.auth, { userId: user.user.id, type: 'role_changed' });
      expect(event).toMatchObject({ type: 'role_changed', outcome: 'success', userId: user.user.id, actorId: admin.user.id, userAgent: 'AdminConsole/1.0', detail: { from: 'normal_user', to: 'creator' } });
      expect(event.ip).toMatch(/127\.0\.0\.1|::1/);
    });

    // That disabling revokes every session at once is proven in test/security/tokens-and-sessions.
    it('disabling stops the API key, sign-in and introspection, and is audited; enabling lets them sign in again', async () => {
      const account = await signUp(t);
      const one = await signInFrom(t, account.username, 'One');
      await verifyEmail(t, bearer(one), account.email);
      const apiKey = (await t.http.post('/api/v1/users/me/api-key').set(bearer(one)).expect(201)).body.data.apiKey;

      const response = await adminUpdate(t, admin.auth, account.user.id, { status: 'disabled' }).expect(200);
      expect(response.body.data.status).toBe('disabled');
      expect((await t.http.get('/api/v1/users/me').set('X-API-Key', apiKey).expect(401)).body.error).toBe('API_KEY_INVALID');
      expect((await t.http.post('/api/v1/auth/login').send({ identifier: account.username, password: DEFAULT_PASSWORD }).expect(401)).body.error).toBe('INVALID_CREDENTIALS');
      expect((await t.http.post('/api/v1/auth/introspect').set('X-API-Key', SERVICE_KEY).send({ token: one.accessToken }).expect(200)).body.data).toEqual({ active: false });

      const [event] = await auditEvents(t, admin.auth, { userId: account.user.id, type: 'status_changed' });
      expect(event).toMatchObject({ outcome: 'success', actorId: admin.user.id, detail: { from: 'active', to: 'disabled' } });

      await adminUpdate(t, admin.auth, account.user.id, { status: 'active' }).expect(200);
      await signIn(t, account.username);
    });

    it('refuses an empty body, unknown fields, bad values and unknown ids', async () => {
      const account = await signUp(t);
      for (const body of [{}, { role: 'king' }, { status: 'banned' }, { role: 'admin', username: 'x' }, { emailVerified: true }]) {
        expect((await adminUpdate(t, admin.auth, account.user.id, body).expect(400)).body.error).toBe('VALIDATION_FAILED');
      }
      expect((await adminUpdate(t, admin.auth, randomUUID(), { role: 'vip_user' }).expect(404)).body.error).toBe('USER_NOT_FOUND');
      expect((await adminUpdate(t, admin.auth, 'nope', { role: 'vip_user' }).expect(404)).body.error).toBe('USER_NOT_FOUND');
      expect((await t.http.get(`/api/v1/admin/users/${account.user.id}`).set(admin.auth).expect(200)).body.data).toMatchObject({ role: 'normal_user', status: 'active' });
    });
  });

  describe('the last active admin', () => {
    let local: TestApp;
    let root: SignedInAdmin;
    beforeEach(async () => {
      local = await createTestApp(firstAdminEnv());
      root = await signedInAdmin(local);
    });
    afterEach(() => local.close());

    it('cannot be demoted or disabled (409 LAST_ADMIN), and the refusal is audited', async () => {
      for (const change of [{ role: 'normal_user' }, { status: 'disabled' }, { role: 'vip_user', status: 'disabled' }]) {
        const response = await adminUpdate(local, root.auth, root.user.id, change).expect(409);
        expect(response.body.error).toBe('LAST_ADMIN');
      }
      expect((await local.http.get('/api/v1/users/me').set(root.auth).expect(200)).body.data).toMatchObject({ role: 'admin', status: 'active' });
      const denied = (await auditEvents(local, root.auth, { userId: root.user.id })).filter((event) => event.outcome === 'denied');
      expect(denied).toHaveLength(3);
      expect(denied.every((event) => event.detail?.reason === 'last_admin')).toBe(true);
      // A no-op change of the last admin is fine.
      await adminUpdate(local, root.auth, root.user.id, { role: 'admin', status: 'active' }).expect(200);
    });

    it('with a second active admin either may go; a disabled admin does not count', async () => {
      const second = await signedInUser(local);
      await adminUpdate(local, root.auth, second.user.id, { role: 'admin' }).expect(200);
      await local.http.get('/api/v1/admin/users').set(second.auth).expect(200);
      await adminUpdate(local, second.auth, second.user.id, { status: 'disabled' }).expect(200);
      // The second admin is disabled now: root is the last active admin again.
      expect((await adminUpdate(local, root.auth, root.user.id, { role: 'normal_user' }).expect(409)).body.error).toBe('LAST_ADMIN');
      await adminUpdate(local, root.auth, second.user.id, { status: 'active' }).expect(200);
      const relogged = await signIn(local, second.username);
      await adminUpdate(local, root.auth, root.user.id, { role: 'normal_user' }).expect(200);
      // The demotion counts at once, with the token root already holds.
      expect((await local.http.get('/api/v1/admin/users').set(root.auth).expect(403)).body.error).toBe('FORBIDDEN');
      await local.http.get('/api/v1/admin/users').set(bearer(relogged)).expect(200);
    });

    it('survives admins stepping down all at once: all but one succeed, one admin stays', async () => {
      const others = await Promise.all(Array.from({ length: 4 }, () => signedInUser(local)));
      for (const other of others) await adminUpdate(local, root.auth, other.user.id, { role: 'admin' }).expect(200);
      const admins = [{ auth: root.auth, id: root.user.id }, ...others.map((other) => ({ auth: other.auth, id: other.user.id }))];
      const responses = await Promise.all(admins.map((a) => adminUpdate(local, a.auth, a.id, { role: 'normal_user' })));
      const statuses = responses.map((response) => response.status).sort();
      expect(statuses).toEqual([200, 200, 200, 200, 409]);
      expect(responses.find((response) => response.status === 409)!.body.error).toBe('LAST_ADMIN');
      expect(await local.db.query(`SELECT id FROM users WHERE role = 'admin' AND status = 'active'`)).toHaveLength(1);
    });
  });
});
