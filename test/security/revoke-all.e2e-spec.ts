import { KvStore } from '@/common/kv/kv-store';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { auditEvents, firstAdminEnv, signedInAdmin } from '../factories/admin';
import { bearer, LIVE, refresh, REVOKED, sessionAnswers, TokenPair } from '../factories/sessions';
import { signedInUser, signUp } from '../factories/users';
import { decodePart } from '../helpers/jwt-forge';
import { createTestApp, TestApp } from '../helpers/test-app';

/**
 * Contract §14: POST /admin/sessions/revoke-all signs out every session started before a time, at once,
 * with one marker in the shared store. Runs on the embedded default and on MariaDB + Redis; the same
 * across two real instances, and after a restart, is in test/security/key-rotation.e2e-spec.ts.
 */
describe('SECURITY: revoke every session started before a time (POST /admin/sessions/revoke-all)', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(firstAdminEnv());
  });
  afterAll(() => t.close());
  // Every test starts a second after the previous one's cut-off: the cut-off only moves forward.
  beforeEach(() => t.passTime(1000));

  const revokeAll = (auth: Record<string, string>, body?: Record<string, unknown>) => {
    const call = t.http.post('/api/v1/admin/sessions/revoke-all').set(auth);
    return body === undefined ? call : call.send(body);
  };
  const iso = (ms: number) => new Date(ms).toISOString();

  it('signs out every session of every user started before now: access tokens, other tokens of the session, refresh tokens; later sessions work', async () => {
    const users = await Promise.all([signedInUser(t), signedInUser(t), signedInUser(t)]);
    const refreshed = (await refresh(t, users[2].refreshToken).expect(200)).body.data as TokenPair; // a refresh does not make the session younger
    const admin = await signedInAdmin(t);
    for (const user of users.slice(0, 2)) expect(await sessionAnswers(t, user, { refresh: false })).toEqual({ access: 200, sameSession: 200, refresh: null });

    const response = await revokeAll(admin.auth).expect(200);
    expect(response.body).toEqual({ code: 200, msg: 'Sessions revoked', data: { before: expect.any(String), keptUntil: expect.any(String) } });
    const before = Date.parse(response.body.data.before);
    expect(before).toBeGreaterThanOrEqual(Date.parse(iso(decodePart(admin.accessToken, 1).session_start_ms as number)));

    // The very next request, for every one of them; the admin's own session started before the cut-off too.
    for (const pair of [...users.slice(0, 2), refreshed, admin]) expect(await sessionAnswers(t, pair)).toEqual(REVOKED);
    const again = await signedInUser(t);
    expect(await sessionAnswers(t, again)).toEqual(LIVE);
    const user = users[0];
    const signedInAgain = await t.http.post('/api/v1/auth/login').send({ identifier: user.username, password: user.password }).expect(200);
    expect(await sessionAnswers(t, signedInAgain.body.data)).toEqual(LIVE);
    // Signed-out sessions are no longer listed as the user's sessions.
    const listed = await t.http.get('/api/v1/auth/sessions').set(bearer(signedInAgain.body.data)).expect(200);
    expect(listed.body.data.items.map((session: { id: string }) => session.id)).not.toContain(decodePart(user.accessToken, 1).sid);
  });

  it('a `before` in the past signs out only the sessions started before it', async () => {
    const older = await signedInUser(t);
    await t.passTime(60_000);
    const cutOff = t.clock.now();
    await t.passTime(60_000);
    const newer = await signedInUser(t);
    const admin = await signedInAdmin(t);
    const response = await revokeAll(admin.auth, { before: iso(cutOff) }).expect(200);
    expect(response.body.data.before).toBe(iso(cutOff));
    expect(await sessionAnswers(t, older)).toEqual(REVOKED);
    expect(await sessionAnswers(t, newer)).toEqual(LIVE);
    expect(await sessionAnswers(t, admin)).toEqual(LIVE);
  });

  it('never weakens: a second call with an earlier `before` keeps the later cut-off, and a parallel burst keeps the latest of all', async () => {
    const victim = await signedInUser(t);
    await t.passTime(30_000);
    const admin = await signedInAdmin(t);
    const start = Number(decodePart(victim.accessToken, 1).session_start_ms);
    // 30 parallel calls, cut-offs from 20 s before the victim's sign-in to 10 s after it, in shuffled order.
    const cutOffs = Array.from({ length: 30 }, (_, i) => start - 20_000 + ((i * 7) % 30) * 1000);
    const answers = await Promise.all(cutOffs.map((cutOff) => revokeAll(admin.auth, { before: iso(cutOff) })));
    expect(answers.map((answer) => answer.status)).toEqual(cutOffs.map(() => 200));
    const latest = Math.max(...cutOffs);
    expect(await sessionAnswers(t, victim)).toEqual(REVOKED);
    // An earlier cut-off afterwards answers the one in force and changes nothing.
    const earlier = await revokeAll(admin.auth, { before: iso(start - 60_000) }).expect(200);
    expect(earlier.body.data.before).toBe(iso(latest));
    expect(await sessionAnswers(t, admin)).toEqual(LIVE);
  });

  it('refuses a `before` in the future (400 REVOKE_BEFORE_IN_FUTURE) and a malformed one (400 VALIDATION_FAILED), changing nothing', async () => {
    const admin = await signedInAdmin(t);
    const user = await signedInUser(t);
    const future = await revokeAll(admin.auth, { before: iso(t.clock.now() + 60_000) }).expect(400);
    expect(future.body.error).toBe('REVOKE_BEFORE_IN_FUTURE');
    for (const before of ['yesterday', '2026-12-02', '2026-12-02T08:00:00', '2026-13-02T08:00:00Z', 1733126400000, '', ['2026-12-02T08:00:00Z']]) {
      const malformed = await revokeAll(admin.auth, { before }).expect(400);
      expect([before, malformed.body.error]).toEqual([before, 'VALIDATION_FAILED']);
    }
    const unknownField = await revokeAll(admin.auth, { before: iso(t.clock.now()), users: 'all' }).expect(400);
    expect(unknownField.body.error).toBe('VALIDATION_FAILED');
    expect(await sessionAnswers(t, user)).toEqual(LIVE);
    expect(await sessionAnswers(t, admin)).toEqual(LIVE);
  });

  it('is for admins with a recent sign-in: a user is refused (403 FORBIDDEN), an admin who signed in too long ago too (403 RECENT_AUTH_REQUIRED, audited as denied)', async () => {
    const user = await signedInUser(t);
    const refused = await revokeAll(user.auth, {}).expect(403);
    expect(refused.body.error).toBe('FORBIDDEN');
    const admin = await signedInAdmin(t);
    await t.passTime((t.config.sessions.recentAuthSeconds + 1) * 1000);
    const stale = await revokeAll(admin.auth, {}).expect(403);
    expect(stale.body.error).toBe('RECENT_AUTH_REQUIRED');
    // A refresh does not renew the sign-in.
    const refreshed = (await refresh(t, admin.refreshToken).expect(200)).body.data as TokenPair;
    expect((await revokeAll(bearer(refreshed), {}).expect(403)).body.error).toBe('RECENT_AUTH_REQUIRED');
    expect(await sessionAnswers(t, user)).toEqual(LIVE);
    const fresh = await signedInAdmin(t);
    const [denied] = await auditEvents(t, fresh.auth, { type: 'sessions_revoked_all' });
    expect(denied).toMatchObject({ outcome: 'denied', actorId: admin.user.id, detail: { reason: 'recent_auth_required' } });
  });

  it('is audited with the admin, the time asked for and the cut-off in force', async () => {
    const admin = await signedInAdmin(t);
    const asked = t.clock.now() - 5000;
    const response = await revokeAll(admin.auth, { before: iso(asked) }).set('User-Agent', 'IncidentConsole/1.0').expect(200);
    const fresh = await signedInAdmin(t);
    const [event] = await auditEvents(t, fresh.auth, { type: 'sessions_revoked_all' });
    expect(event).toMatchObject({ outcome: 'success', actorId: admin.user.id, userId: null, userAgent: 'IncidentConsole/1.0', detail: { requested: iso(asked), before: response.body.data.before } });
  });

  it('takes no body at all as "now"', async () => {
    const user = await signedInUser(t);
    const admin = await signedInAdmin(t);
    await revokeAll(admin.auth).expect(200);
    expect(await sessionAnswers(t, user)).toEqual(REVOKED);
  });

  it('keeps the guard to one store round trip and no database query, with a marker set', async () => {
    const admin = await signedInAdmin(t);
    await revokeAll(admin.auth, { before: iso(t.clock.now() - 1000) }).expect(200);
    const user = await signedInUser(t);
    await t.http.get('/api/v1/users/me').set(user.auth).expect(200); // warms the cached view
    const kv = t.app.get(KvStore);
    const reads = [jest.spyOn(kv, 'get'), jest.spyOn(kv, 'getMany')];
    const runner = t.db.createQueryRunner();
    const query = jest.spyOn(Object.getPrototypeOf(runner), 'query');
    try {
      await t.http.get('/api/v1/users/me').set(user.auth).expect(200);
      expect(query).not.toHaveBeenCalled();
      // The session's own marker and the revoke-all cut-off: one MGET (the route's user-view read is its own).
      const [get, getMany] = reads;
      expect(getMany.mock.calls).toEqual([[[`revoked-session:${decodePart(user.accessToken, 1).sid}`, 'sessions-started-before']]]);
      expect(get.mock.calls.flat().filter((key) => /revoked|sessions-started/.test(String(key)))).toEqual([]);
    } finally {
      query.mockRestore();
      for (const spy of reads) spy.mockRestore();
      await runner.release();
    }
  });

  it('survives the loss of the in-process store: start-up loads the marker from the database', async () => {
    const user = await signedInUser(t);
    const admin = await signedInAdmin(t);
    await t.passTime(1000);
    const cutOff = (await revokeAll(admin.auth).expect(200)).body.data.before;
    expect(await sessionAnswers(t, user)).toEqual(REVOKED);
    // What a restart of the embedded default does to the store: it starts empty.
    await t.kv.delete('sessions-started-before');
    expect(await sessionAnswers(t, user, { refresh: false })).toEqual({ ...LIVE, refresh: null }); // the proof that the store held it
    await t.app.get(SessionsService).onApplicationBootstrap();
    expect(await sessionAnswers(t, user)).toEqual(REVOKED);
    const after = await signUp(t);
    await t.http.post('/api/v1/auth/login').send({ identifier: after.username, password: after.password }).expect(200);
    const again = await signedInAdmin(t);
    expect((await revokeAll(again.auth, { before: '2000-01-01T00:00:00Z' }).expect(200)).body.data.before).toBe(cutOff);
  });
});
