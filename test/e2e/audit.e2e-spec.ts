import { adminUpdate, AuditEventView, auditEvents, firstAdminEnv, signedInAdmin } from '../factories/admin';
import { DEFAULT_PASSWORD, signUpBody, solvedCaptcha } from '../factories/users';
import { createTestApp, TestApp } from '../helpers/test-app';

const UA = 'AuditAgent/1.0 "quoted" <b>';
const NEW_PASSWORD = 'copper lantern 58';
const WRONG_PASSWORD = 'wrong horse 123';

describe('Audit trail (GET /admin/audit-events)', () => {
  let t: TestApp;
  let admin: Awaited<ReturnType<typeof signedInAdmin>>;
  let userId: string;
  const secrets: string[] = [DEFAULT_PASSWORD, NEW_PASSWORD, WRONG_PASSWORD];
  const startedAt = Date.now();

  beforeAll(async () => {
    t = await createTestApp(firstAdminEnv());
    admin = await signedInAdmin(t);
    const post = (path: string) => t.http.post(`/api/v1${path}`).set('User-Agent', UA);

    // One account's whole life, each step something the audit trail must show.
    const body = { ...signUpBody(), ...(await solvedCaptcha(t)) };
    userId = (await post('/users').send(body).expect(201)).body.data.id;
    await post('/auth/login').send({ identifier: body.username, password: WRONG_PASSWORD }).expect(401);
    const first = (await post('/auth/login').send({ identifier: body.username, password: DEFAULT_PASSWORD }).expect(200)).body.data;
    const rotated = (await post('/auth/refresh').send({ refreshToken: first.refreshToken }).expect(200)).body.data;
    await post('/auth/refresh').send({ refreshToken: first.refreshToken }).expect(401); // reuse
    const second = (await post('/auth/login').send({ identifier: body.username, password: DEFAULT_PASSWORD }).expect(200)).body.data;
    const auth = { Authorization: `Bearer ${second.accessToken}`, 'User-Agent': UA };
    const apiKey = (await t.http.post('/api/v1/users/me/api-key').set(auth).expect(201)).body.data.apiKey;
    await t.http.put('/api/v1/users/me/password').set(auth).send({ oldPassword: WRONG_PASSWORD, newPassword: NEW_PASSWORD }).expect(400);
    await t.http.put('/api/v1/users/me/password').set(auth).send({ oldPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD }).expect(200);
    const third = (await post('/auth/login').send({ identifier: body.username, password: NEW_PASSWORD }).expect(200)).body.data;
    await t.http.delete('/api/v1/auth/session').set({ Authorization: `Bearer ${third.accessToken}`, 'User-Agent': UA }).expect(200);
    await adminUpdate(t, admin.auth, userId, { role: 'vip_user' }).expect(200);
    await adminUpdate(t, admin.auth, userId, { status: 'disabled' }).expect(200);
    await adminUpdate(t, admin.auth, userId, { status: 'active' }).expect(200);
    const fourth = (await post('/auth/login').send({ identifier: body.username, password: NEW_PASSWORD }).expect(200)).body.data;
    const fourthAuth = { Authorization: `Bearer ${fourth.accessToken}`, 'User-Agent': UA };
    await t.http.delete('/api/v1/users/me').set(fourthAuth).send({ password: WRONG_PASSWORD }).expect(400);
    await t.http.delete('/api/v1/users/me').set(fourthAuth).send({ password: NEW_PASSWORD }).expect(200);
    await post('/auth/login').send({ identifier: 'nobody_by_this_name', password: WRONG_PASSWORD }).expect(401);

    secrets.push(apiKey, body.captchaId);
    for (const pair of [first, rotated, second, third, fourth]) secrets.push(pair.accessToken, pair.refreshToken);
  });
  afterAll(() => t.close());

  const ofType = (events: AuditEventView[], type: string, outcome?: string) => events.filter((event) => event.type === type && (!outcome || event.outcome === outcome));

  it('records every security event of an account with time, user, IP and user agent', async () => {
    const events = await auditEvents(t, admin.auth, { userId });
    const expected: [string, string, number][] = [
      ['sign_up', 'success', 1],
      ['sign_in', 'failure', 1],
      ['sign_in', 'success', 4],
      ['refresh_reuse', 'denied', 1],
      ['api_key_created', 'success', 1],
      ['password_changed', 'failure', 1],
      ['password_changed', 'success', 1],
      ['sign_out', 'success', 1],
      ['role_changed', 'success', 1],
      ['status_changed', 'success', 2],
      ['account_deleted', 'failure', 1],
      ['account_deleted', 'success', 1],
    ];
    for (const [type, outcome, count] of expected) expect([type, outcome, ofType(events, type, outcome).length]).toEqual([type, outcome, count]);

    const now = t.clock.now();
    for (const event of events) {
      expect(Object.keys(event).sort()).toEqual(['actorId', 'createdAt', 'detail', 'id', 'ip', 'outcome', 'type', 'userAgent', 'userId']);
      expect(event.userId).toBe(userId);
      expect(event.ip).toMatch(/127\.0\.0\.1|::1/);
      expect(new Date(event.createdAt).toISOString()).toBe(event.createdAt);
      expect(new Date(event.createdAt).getTime()).toBeGreaterThanOrEqual(startedAt - 1000);
      expect(new Date(event.createdAt).getTime()).toBeLessThanOrEqual(now + 1000);
      // User-supplied text comes back as the same string, never interpreted.
      if (!['role_changed', 'status_changed'].includes(event.type)) expect(event.userAgent).toBe(UA);
    }
    // Newest first.
    const times = events.map((event) => new Date(event.createdAt).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
  });

  it('says who acted and what changed, as a parsed object', async () => {
    const events = await auditEvents(t, admin.auth, { userId });
    expect(ofType(events, 'sign_in', 'failure')[0].detail).toEqual({ reason: 'wrong_password' });
    expect(ofType(events, 'sign_in', 'success')[0]).toMatchObject({ actorId: userId, detail: { method: 'password' } });
    expect(ofType(events, 'role_changed')[0]).toMatchObject({ actorId: admin.user.id, userAgent: 'AdminConsole/1.0', detail: { from: 'normal_user', to: 'vip_user' } });
    expect(ofType(events, 'status_changed').map((event) => event.detail).sort((a, b) => String(a!.to).localeCompare(String(b!.to)))).toEqual([
      { from: 'disabled', to: 'active' },
      { from: 'active', to: 'disabled' },
    ]);
    expect(ofType(events, 'refresh_reuse')[0].detail).toEqual({ sessionId: expect.any(String) });
  });

  it('records failed sign-ins that name no account, without a user', async () => {
    const failures = ofType(await auditEvents(t, admin.auth, { type: 'sign_in' }), 'sign_in', 'failure');
    const unknown = failures.find((event) => event.detail?.reason === 'unknown_account');
    expect(unknown).toMatchObject({ userId: null, actorId: null, userAgent: UA });
  });

  it('never stores a password, token, API key or captcha in an event', async () => {
    const everything = JSON.stringify(await auditEvents(t, admin.auth));
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of secrets) expect(everything).not.toContain(secret);
    const rows = JSON.stringify(await t.db.query('SELECT * FROM audit_events'));
    for (const secret of secrets) expect(rows).not.toContain(secret);
  });

  it('filters by type and user, and pages', async () => {
    const signIns = await auditEvents(t, admin.auth, { type: 'sign_in' });
    expect(signIns.length).toBeGreaterThanOrEqual(6);
    expect(signIns.every((event) => event.type === 'sign_in')).toBe(true);
    const adminOnly = await auditEvents(t, admin.auth, { userId: admin.user.id });
    expect(adminOnly.every((event) => event.userId === admin.user.id)).toBe(true);

    const page = (await t.http.get('/api/v1/admin/audit-events').query({ userId, page: 2, pageSize: 3 }).set(admin.auth).expect(200)).body.data;
    expect(page).toMatchObject({ page: 2, pageSize: 3, total: (await auditEvents(t, admin.auth, { userId })).length });
    expect(page.items).toHaveLength(3);
    const firstPage = (await t.http.get('/api/v1/admin/audit-events').query({ userId }).set(admin.auth).expect(200)).body.data;
    expect(firstPage).toMatchObject({ page: 1, pageSize: 20 });
    expect(firstPage.items.slice(3, 6).map((event: AuditEventView) => event.id)).toEqual(page.items.map((event: AuditEventView) => event.id));
  });

  it.each([[{ userId: 'not-a-uuid' }], [{ type: 'made_up' }], [{ page: 0 }], [{ pageSize: 101 }], [{ pageSize: 'x' }], [{ outcome: 'success' }]])(
    'refuses the query %j with 400 VALIDATION_FAILED',
    async (query) => {
      expect((await t.http.get('/api/v1/admin/audit-events').query(query).set(admin.auth).expect(400)).body.error).toBe('VALIDATION_FAILED');
    },
  );
});
