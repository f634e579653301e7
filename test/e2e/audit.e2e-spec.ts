import { AuditEventView, auditEvents, createAppWithAdmin, SignedInAdmin } from '../factories/admin';
import { JOURNEY_ENV, JOURNEY_USER_AGENT, runAccountJourney } from '../factories/audit-journey';
import type { TestApp } from '../helpers/test-app';

describe('Audit trail (GET /admin/audit-events)', () => {
  let t: TestApp;
  let admin: SignedInAdmin;
  let userId: string;
  beforeAll(async () => {
    ({ t, admin } = await createAppWithAdmin(JOURNEY_ENV));
    ({ userId } = await runAccountJourney(t, admin));
  });
  afterAll(() => t.close());

  const ofType = (events: AuditEventView[], type: string, outcome?: string) => events.filter((event) => event.type === type && (!outcome || event.outcome === outcome));

  it('records failed sign-ins that name no account, without a user', async () => {
    const failures = ofType(await auditEvents(t, admin.auth, { type: 'sign_in' }), 'sign_in', 'failure');
    const unknown = failures.find((event) => event.detail?.reason === 'unknown_account');
    expect(unknown).toMatchObject({ userId: null, actorId: null, userAgent: JOURNEY_USER_AGENT });
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
