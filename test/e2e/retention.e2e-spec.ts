import { LessThan } from 'typeorm';
import { runCli } from '@/cli';
import { AuditEvent } from '@/modules/audit/audit-event.entity';
import { OutboxEvent } from '@/modules/events/outbox-event.entity';
import { RefreshToken, Session } from '@/modules/auth/sessions/session.entity';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { RetentionService } from '@/modules/retention/retention.service';
import { bearer, meStatus, refresh, TokenPair } from '../factories/sessions';
import { signIn, signUp } from '../factories/users';
import { decodePart } from '../helpers/jwt-forge';
import { createTestApp, TestApp } from '../helpers/test-app';

const DAY = 24 * 3600 * 1000;

interface Opened {
  id: string;
  pair: TokenPair;
}

/** A new user's session, signed in now (the test's clock). */
async function openSession(t: TestApp): Promise<Opened> {
  const { username, password } = await signUp(t);
  const pair = (await signIn(t, username, password)) as TokenPair;
  return { id: decodePart(pair.accessToken, 1).sid as string, pair };
}

async function signedOutSession(t: TestApp): Promise<Opened> {
  const opened = await openSession(t);
  await t.http.delete('/api/v1/auth/session').set(bearer(opened.pair)).expect(200);
  return opened;
}

/** Spends the session's refresh token once: answers the spent one and the live successor. */
async function refreshedOnce(t: TestApp, opened: Opened): Promise<{ spent: string; live: TokenPair }> {
  const live = (await refresh(t, opened.pair.refreshToken).expect(200)).body.data as TokenPair;
  return { spent: opened.pair.refreshToken, live };
}

const sessionIds = async (t: TestApp) => (await t.db.getRepository(Session).find({ select: { id: true } })).map(({ id }) => id).sort();
const tokenCount = (t: TestApp) => t.db.getRepository(RefreshToken).count();

/** Every DELETE the database is sent while `work` runs, with the number of keys it names. */
async function deletesDuring<T>(t: TestApp, work: () => Promise<T>): Promise<{ result: T; deletes: { table: string; keys: number }[] }> {
  const spy = jest.spyOn(t.db.logger, 'logQuery');
  try {
    const result = await work();
    const deletes = spy.mock.calls
      .filter(([query]) => /^DELETE FROM/i.test(query))
      .map(([query, parameters]) => ({ table: /^DELETE FROM [`"]?(\w+)/i.exec(query)![1], keys: parameters?.length ?? 0 }));
    return { result, deletes };
  } finally {
    spy.mockRestore();
  }
}

describe('Retention: ended sessions, old audit events and old outbox events are purged', () => {
  describe('with a 7-day grace, 15 days of audit events, 10 days of outbox events and 2 rows per statement', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ REFRESH_TOKEN_TTL: String(10 * 24 * 3600), SESSION_RETENTION_DAYS: '7', AUDIT_RETENTION_DAYS: '15', EVENT_RETENTION_DAYS: '10', RETENTION_BATCH_SIZE: '2' });
    });
    afterAll(() => t.close());

    it('deletes exactly the sessions ended before the grace, with their tokens, and keeps what is still read', async () => {
      // Day 0: one session signed out, three that will expire on day 10 (one refreshed: two tokens).
      const signedOutLongAgo = await signedOutSession(t);
      const expired = [await openSession(t), await openSession(t), await openSession(t)];
      await refreshedOnce(t, expired[0]);
      await t.passTime(12 * DAY);
      // Day 12: one signed out, one live whose first refresh token is spent.
      const signedOutRecently = await signedOutSession(t);
      const live = await openSession(t);
      const { spent, live: current } = await refreshedOnce(t, live);
      await t.passTime(6 * DAY);
      // Day 18: one signed out a moment ago (its revocation must be re-marked after a restart).
      const justSignedOut = await signedOutSession(t);

      const cutoff = new Date(t.clock.now() - 15 * DAY);
      const events = t.db.getRepository(AuditEvent);
      const oldEvents = await events.countBy({ createdAt: LessThan(cutoff) });
      const recentEvents = (await events.count()) - oldEvents;
      expect(oldEvents).toBeGreaterThan(0);
      const outbox = t.db.getRepository(OutboxEvent);
      const outboxCutoff = new Date(t.clock.now() - 10 * DAY);
      const oldOutbox = await outbox.countBy({ createdAt: LessThan(outboxCutoff) });
      const recentOutbox = (await outbox.count()) - oldOutbox;
      expect([oldOutbox > 0, recentOutbox > 0]).toEqual([true, true]);
      const tokensBefore = await tokenCount(t);

      // Two instances at once: every row goes exactly once, and the counts add up.
      const retention = t.app.get(RetentionService);
      const { result, deletes } = await deletesDuring(t, () => Promise.all([retention.purge(), retention.purge()]));
      const total = (key: 'sessions' | 'refreshTokens' | 'auditEvents' | 'events') => result[0][key] + result[1][key];
      expect([total('sessions'), total('refreshTokens'), total('auditEvents'), total('events')]).toEqual([4, 5, oldEvents, oldOutbox]);

      expect(await sessionIds(t)).toEqual([signedOutRecently.id, live.id, justSignedOut.id].sort());
      expect(await tokenCount(t)).toBe(tokensBefore - 5);
      expect(await events.countBy({ createdAt: LessThan(cutoff) })).toBe(0);
      expect(await events.count()).toBe(recentEvents);
      expect(await outbox.count()).toBe(recentOutbox);
      expect(deletes.length).toBeGreaterThan(0);
      for (const statement of deletes) expect(statement.keys).toBeLessThanOrEqual(2);
      expect(deletes.filter(({ table }) => table === 'sessions').length).toBeGreaterThanOrEqual(2);
      expect(deletes.filter(({ table }) => table === 'events').length).toBeGreaterThanOrEqual(2);
      // A purged session's refresh token is refused, as it was before its rows went.
      expect((await refresh(t, signedOutLongAgo.pair.refreshToken).expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');

      // The live session still refreshes, and replaying its spent token is still caught as theft.
      const next = (await refresh(t, current.refreshToken).expect(200)).body.data as TokenPair;
      expect((await refresh(t, spent).expect(401)).body.error).toBe('REFRESH_TOKEN_INVALID');
      expect(await events.countBy({ type: 'refresh_reuse' })).toBe(1);
      expect(await meStatus(t, next)).toBe(401);

      // A restart rebuilds the revocation markers of recent sign-outs from the rows the purge kept.
      await t.kv.delete(`revoked-session:${justSignedOut.id}`);
      expect(await meStatus(t, justSignedOut.pair)).toBe(200);
      await t.app.get(SessionsService).onApplicationBootstrap();
      expect(await meStatus(t, justSignedOut.pair)).toBe(401);

      // Nothing left to do: a second run deletes nothing.
      expect(await retention.purge()).toEqual({ sessions: 0, refreshTokens: 0, auditEvents: 0, events: 0 });
    });
  });

  describe('npm run cli -- purge', () => {
    let t: TestApp;
    let env: Record<string, string>;
    beforeAll(async () => {
      t = await createTestApp({ AUDIT_RETENTION_DAYS: '0' });
      const { database } = t.config;
      env = { NODE_ENV: 'test', DATA_DIR: t.dataDir, LOG_LEVEL: 'silent', ...(database.driver === 'mysql' ? { DATABASE_URL: database.url } : {}) };
    });
    afterAll(() => t.close());

    it('prints what it removed; AUDIT_RETENTION_DAYS=0 keeps every audit event', async () => {
      // The command runs on the real clock: these rows are written as if 400 days ago (the session expired on day 30).
      t.clock.advance(-400 * DAY);
      const old = await openSession(t);
      t.clock.advance(400 * DAY);
      const current = await openSession(t);
      const events = t.db.getRepository(AuditEvent);
      const eventCount = await events.count();
      const oldEvents = await events.countBy({ createdAt: LessThan(new Date(Date.now() - 365 * DAY)) });
      expect(oldEvents).toBeGreaterThan(0);
      // The outbox keeps 30 days by default: the old user's user.created goes, the current one's stays.
      const outbox = t.db.getRepository(OutboxEvent);
      const outboxCount = await outbox.count();
      const oldOutbox = await outbox.countBy({ createdAt: LessThan(new Date(Date.now() - 30 * DAY)) });
      expect(oldOutbox).toBeGreaterThan(0);

      expect(await runCli(['purge'], { ...env, AUDIT_RETENTION_DAYS: '0' })).toEqual({ exitCode: 0, line: `Purged 1 session(s), 1 refresh token(s), 0 audit event(s) and ${oldOutbox} outbox event(s)` });
      expect(await outbox.count()).toBe(outboxCount - oldOutbox);
      expect(await sessionIds(t)).toEqual([current.id]);
      expect(await sessionIds(t)).not.toContain(old.id);
      expect(await events.count()).toBe(eventCount);

      expect(await runCli(['purge'], env)).toEqual({ exitCode: 0, line: `Purged 0 session(s), 0 refresh token(s), ${oldEvents} audit event(s) and 0 outbox event(s)` });
      expect(await events.count()).toBe(eventCount - oldEvents);
      expect(await meStatus(t, current.pair)).toBe(200);
    });
  });
});
