import { createHash } from 'node:crypto';
import { DataSource, EntityManager } from 'typeorm';
import type { ClientInfo } from '@/common/http/decorators';
import { MemoryKvStore } from '@/common/kv/memory-kv.store';
import { loadConfig, MAX_REFRESH_TOKEN_TTL_SECONDS } from '@/config/app-config';
import { ENTITIES, MIGRATIONS } from '@/database/data-source-options';
import { inTransaction, takeTurnsOnSqlite } from '@/database/transaction';
import { RevocationMarker } from './revocation-marker.entity';
import { RefreshToken, Session } from './session.entity';
import { SessionsService } from './sessions.service';
import { ManualClock, storeWithClock } from '../../../../test/helpers/store-with-clock';

const ACCESS_TTL_S = 900;
const REFRESH_TTL_S = 3600;
/** How long a revoked session's marker lives: one access token and a minute of clock skew. */
const MARKER_TTL_MS = (ACCESS_TTL_S + 60) * 1000;
const REVOKE_ALL = 'sessions-started-before';
const hash = (token: string) => createHash('sha256').update(token).digest('hex');
const client = (ip = '203.0.113.7', userAgent: string | null = 'agent/1'): ClientInfo => ({ ip, userAgent, requestId: 'r' });

describe('SessionsService', () => {
  let source: DataSource;
  let clock: ManualClock;
  let kv: MemoryKvStore;
  let service: SessionsService;
  const sessionsRepo = () => source.getRepository(Session);
  const tokensRepo = () => source.getRepository(RefreshToken);
  const markersRepo = () => source.getRepository(RevocationMarker);
  const row = (id: string) => sessionsRepo().findOneByOrFail({ id });

  beforeEach(async () => {
    source = takeTurnsOnSqlite(await new DataSource({ type: 'better-sqlite3', database: ':memory:', entities: ENTITIES, migrations: MIGRATIONS.sqlite, migrationsRun: true }).initialize());
    // The sessions here belong to no user row: the rules under test are the sessions' own.
    await source.query('PRAGMA foreign_keys = OFF');
    ({ clock, kv } = storeWithClock({ start: Date.UTC(2026, 11, 1, 12, 0, 0, 250) }));
    service = serviceWith({});
  });
  const serviceWith = (env: Record<string, string>) =>
    new SessionsService(sessionsRepo(), tokensRepo(), markersRepo(), kv, clock, loadConfig({ NODE_ENV: 'test', ACCESS_TOKEN_TTL: String(ACCESS_TTL_S), REFRESH_TOKEN_TTL: String(REFRESH_TTL_S), ...env }));
  afterEach(async () => {
    await source.destroy();
    jest.restoreAllMocks();
  });

  /** A session row as open() writes it, with what a test wants different. */
  async function insertSession(overrides: Partial<Session> = {}): Promise<Session> {
    const now = new Date(clock.now());
    const session = Object.assign(new Session(), {
      id: `s-${Math.random().toString(36).slice(2)}`,
      userId: 'user-1',
      ip: null,
      userAgent: null,
      authenticatedAt: now,
      amr: 'pwd',
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(clock.now() + REFRESH_TTL_S * 1000),
      revokedAt: null,
      revokedReason: null,
      ...overrides,
    });
    await sessionsRepo().insert(session);
    return session;
  }

  describe('open', () => {
    it('writes the session (client, methods, refresh lifetime) with its first refresh token, stored by hash only', async () => {
      const { session, refreshToken } = await service.open('user-1', client(), undefined, ['pwd', 'otp']);
      const now = new Date(clock.now());
      const expected = {
        id: session.id,
        userId: 'user-1',
        ip: '203.0.113.7',
        userAgent: 'agent/1',
        authenticatedAt: now,
        amr: 'pwd,otp',
        createdAt: now,
        lastUsedAt: now,
        expiresAt: new Date(clock.now() + REFRESH_TTL_S * 1000),
        revokedAt: null,
        revokedReason: null,
      };
      expect({ ...session }).toStrictEqual(expected);
      expect({ ...(await row(session.id)) }).toStrictEqual(expected);
      expect(session.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect(await tokensRepo().find()).toStrictEqual([Object.assign(new RefreshToken(), { tokenHash: hash(refreshToken), sessionId: session.id, createdAt: now, spentAt: null })]);
    });

    it('records no methods as null, and gives each session its own id and token', async () => {
      const first = await service.open('user-1', client());
      const second = await service.open('user-1', client(), undefined, []);
      expect(first.session.amr).toBeNull();
      expect((await row(second.session.id)).amr).toBeNull();
      expect(second.session.id).not.toBe(first.session.id);
      expect(second.refreshToken).not.toBe(first.refreshToken);
    });

    it('commits alsoWrite with the session, or nothing at all', async () => {
      const alsoWrite = jest.fn(async (tx: EntityManager) => {
        expect(await tx.count(Session)).toBe(1); // inside the transaction, after the inserts
      });
      await service.open('user-1', client(), alsoWrite);
      expect(alsoWrite).toHaveBeenCalledTimes(1);
      await expect(service.open('user-2', client(), async () => Promise.reject(new Error('audit failed')))).rejects.toThrow('audit failed');
      expect(await sessionsRepo().countBy({ userId: 'user-2' })).toBe(0);
      expect(await tokensRepo().count()).toBe(1);
    });

    describe('SESSIONS_PER_USER', () => {
      it('past the cap, signs out the sessions idle the longest (last used, then opened, then id), in the same transaction, and tells the guard', async () => {
        const capped = serviceWith({ SESSIONS_PER_USER: '3' });
        const t = clock.now();
        // Inserted in another order than their idleness, so only the ordering can pick the right ones.
        const busy = await insertSession({ id: 'a-busy', createdAt: new Date(t - 9000), lastUsedAt: new Date(t - 1000) });
        const idleNewer = await insertSession({ id: 'b-idle-newer', createdAt: new Date(t - 5000), lastUsedAt: new Date(t - 5000) });
        const idleOlder = await insertSession({ id: 'c-idle-older', createdAt: new Date(t - 6000), lastUsedAt: new Date(t - 5000) });
        await insertSession({ id: 'other-user', userId: 'user-2', lastUsedAt: new Date(t - 99_000) });
        clock.advance(10);
        const seen: string[][] = [];
        const opened = await capped.open('user-1', client(), async (_tx, evicted) => {
          seen.push(evicted);
        });
        expect(opened.evicted).toStrictEqual([idleOlder.id]);
        expect(seen).toStrictEqual([[idleOlder.id]]);
        expect(await row(idleOlder.id)).toMatchObject({ revokedAt: new Date(clock.now()), revokedReason: 'session_limit' });
        expect(await kv.get(`revoked-session:${idleOlder.id}`)).toBe('1');
        expect((await capped.listActive('user-1')).total).toBe(3);
        expect((await capped.listActive('user-2')).total).toBe(1);

        const again = await capped.open('user-1', client());
        expect(again.evicted).toStrictEqual([idleNewer.id]);
        expect(await row(busy.id)).toMatchObject({ revokedAt: null });
      });

      it('among sessions idle alike, the one opened first goes, then the lower id', async () => {
        const capped = serviceWith({ SESSIONS_PER_USER: '2' });
        const t = clock.now() - 1000;
        await insertSession({ id: 'z', createdAt: new Date(t), lastUsedAt: new Date(t) });
        await insertSession({ id: 'y', createdAt: new Date(t), lastUsedAt: new Date(t) });
        await insertSession({ id: 'x', createdAt: new Date(t + 1), lastUsedAt: new Date(t) });
        // Three live, cap two: two go to make room for the new one.
        expect((await capped.open('user-1', client())).evicted).toStrictEqual(['y', 'z']);
      });

      it('only live sessions count: revoked, expired (at the millisecond) and started before revoke-all ones make no room', async () => {
        const capped = serviceWith({ SESSIONS_PER_USER: '2' });
        const t = clock.now();
        await insertSession({ id: 'revoked', revokedAt: new Date(t - 1), revokedReason: 'logout', lastUsedAt: new Date(t - 9000) });
        await insertSession({ id: 'expired', expiresAt: new Date(t), lastUsedAt: new Date(t - 9000) });
        await insertSession({ id: 'before-cut', createdAt: new Date(t - 2), lastUsedAt: new Date(t - 9000) });
        const atCut = await insertSession({ id: 'at-cut', createdAt: new Date(t - 1), lastUsedAt: new Date(t - 8000) });
        await capped.revokeAllStartedBefore(new Date(t - 1));
        expect((await capped.open('user-1', client())).evicted).toStrictEqual([]);
        expect((await capped.open('user-1', client())).evicted).toStrictEqual([atCut.id]);
      });

      it('under the cap, signs nobody out', async () => {
        const roomy = serviceWith({ SESSIONS_PER_USER: '5' });
        for (const id of ['p', 'q', 'r']) await insertSession({ id });
        const update = jest.spyOn(EntityManager.prototype, 'update');
        expect((await roomy.open('user-1', client())).evicted).toStrictEqual([]);
        expect(update).not.toHaveBeenCalled();
        expect((await roomy.listActive('user-1')).total).toBe(4);
      });
    });
  });

  describe('rotate', () => {
    it('spends the token, issues its successor and records where the session was used', async () => {
      const { session, refreshToken } = await service.open('user-1', client());
      clock.advance(5000);
      const result = await service.rotate(refreshToken, client('198.51.100.1', 'agent/2'));
      expect(result.outcome).toBe('rotated');
      const { refreshToken: successor } = result as { refreshToken: string };
      expect(successor).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect((result as { session: Session }).session.id).toBe(session.id);
      const now = new Date(clock.now());
      expect(await tokensRepo().findOneByOrFail({ tokenHash: hash(refreshToken) })).toMatchObject({ spentAt: now });
      expect(await tokensRepo().findOneByOrFail({ tokenHash: hash(successor) })).toMatchObject({ sessionId: session.id, createdAt: now, spentAt: null });
      expect(await row(session.id)).toMatchObject({ lastUsedAt: now, ip: '198.51.100.1', userAgent: 'agent/2', authenticatedAt: session.authenticatedAt, revokedAt: null });
      expect((await service.rotate(successor, client())).outcome).toBe('rotated');
    });

    it('a spent token presented again revokes the session (refresh_reuse) and tells the guard', async () => {
      const { session, refreshToken } = await service.open('user-1', client());
      const rotated = (await service.rotate(refreshToken, client())) as { refreshToken: string };
      const reused = await service.rotate(refreshToken, client());
      expect(reused).toMatchObject({ outcome: 'reused', session: { id: session.id } });
      expect(await row(session.id)).toMatchObject({ revokedAt: new Date(clock.now()), revokedReason: 'refresh_reuse' });
      expect(await service.isRevoked(session.id, session.createdAt.getTime())).toBe(true);
      expect((await service.rotate(rotated.refreshToken, client())).outcome).toBe('invalid');
    });

    it('of parallel rotations of one token, exactly one wins', async () => {
      const { refreshToken } = await service.open('user-1', client());
      const outcomes = (await Promise.all(Array.from({ length: 5 }, () => service.rotate(refreshToken, client())))).map((result) => result.outcome);
      expect(outcomes.filter((outcome) => outcome === 'rotated')).toHaveLength(1);
    });

    it('refuses an unknown token, a revoked session, an expired one (from its last millisecond) and one started before revoke-all', async () => {
      expect(await service.rotate('rt_unknown', client())).toStrictEqual({ outcome: 'invalid' });

      const revoked = await service.open('user-1', client());
      await service.revoke(revoked.session.id, 'logout');
      expect(await service.rotate(revoked.refreshToken, client())).toStrictEqual({ outcome: 'invalid' });

      const expiring = await service.open('user-1', client());
      clock.advance(REFRESH_TTL_S * 1000 - 1);
      const live = await service.open('user-1', client());
      const rotated = (await service.rotate(expiring.refreshToken, client())) as { refreshToken: string };
      expect(rotated.refreshToken).toBeDefined();
      clock.advance(1);
      expect(await service.rotate(rotated.refreshToken, client())).toStrictEqual({ outcome: 'invalid' });

      await service.revokeAllStartedBefore(new Date(clock.now() + 1));
      const atCutOff = await insertSession({ createdAt: new Date(clock.now() + 1) });
      await tokensRepo().insert({ tokenHash: hash('rt_at-cut-off'), sessionId: atCutOff.id, createdAt: new Date(clock.now()), spentAt: null });
      expect(await service.rotate(live.refreshToken, client())).toStrictEqual({ outcome: 'invalid' });
      expect((await service.rotate('rt_at-cut-off', client())).outcome).toBe('rotated');
      expect(await tokensRepo().findOneByOrFail({ tokenHash: hash(live.refreshToken) })).toMatchObject({ spentAt: null });
    });

    it('keeps the newest SPENT_REFRESH_TOKENS_KEPT spent tokens of the session: an older one is unknown and ends nothing', async () => {
      const kept = serviceWith({ SPENT_REFRESH_TOKENS_KEPT: '2' });
      const other = await kept.open('user-2', client());
      await kept.rotate(other.refreshToken, client()); // another session's spent token, never pruned by this one's rotations
      const { session, refreshToken } = await kept.open('user-1', client());
      const tokens = [refreshToken];
      for (let i = 0; i < 4; i += 1) {
        clock.advance(1000);
        tokens.push(((await kept.rotate(tokens[tokens.length - 1], client())) as { refreshToken: string }).refreshToken);
      }
      const rows = await tokensRepo().findBy({ sessionId: session.id });
      expect(rows.map((token) => token.tokenHash).sort()).toStrictEqual([tokens[2], tokens[3], tokens[4]].map(hash).sort());
      expect(await tokensRepo().findOneBy({ tokenHash: hash(other.refreshToken) })).not.toBeNull();
      expect(await kept.rotate(tokens[1], client())).toStrictEqual({ outcome: 'invalid' });
      expect(await row(session.id)).toMatchObject({ revokedAt: null });
      expect((await kept.rotate(tokens[2], client())).outcome).toBe('reused');
    });

    it('prunes on step-up too; of tokens spent in the same millisecond it keeps the lowest hashes', async () => {
      const kept = serviceWith({ SPENT_REFRESH_TOKENS_KEPT: '2' });
      const { session } = await kept.open('user-1', client());
      const spentAt = new Date(clock.now());
      const names = ['d', 'b', 'a', 'c'];
      for (const name of names) await tokensRepo().insert({ tokenHash: hash(`rt_${name}`), sessionId: session.id, createdAt: spentAt, spentAt });
      const lowest = names.map((name) => hash(`rt_${name}`)).sort();
      clock.advance(1000);
      const renewed = await kept.reauthenticate(session, ['pwd']);
      // The step-up spent the open's token a second later: it is the newest, then the lowest hash of the older four.
      const rows = (await tokensRepo().findBy({ sessionId: session.id })).filter((token) => token.tokenHash !== hash(renewed.refreshToken));
      expect(rows).toHaveLength(2);
      expect(rows.map((token) => token.tokenHash)).toContain(lowest[0]);
      expect(rows.some((token) => token.spentAt!.getTime() === clock.now())).toBe(true);
    });

    it('refuses a token whose session row is gone', async () => {
      const { session, refreshToken } = await service.open('user-1', client());
      await sessionsRepo().delete({ id: session.id });
      expect(await service.rotate(refreshToken, client())).toStrictEqual({ outcome: 'invalid' });
    });
  });

  describe('reauthenticate', () => {
    it('renews the time and methods, spends every earlier token and issues a new one', async () => {
      const { session, refreshToken } = await service.open('user-1', client(), undefined, ['pwd']);
      const other = await service.open('user-1', client());
      clock.advance(60_000);
      const now = new Date(clock.now());
      const renewed = await service.reauthenticate(session, ['pwd', 'mfa']);
      expect(renewed.session).toBeInstanceOf(Session);
      expect({ ...renewed.session }).toStrictEqual({ ...session, authenticatedAt: now, amr: 'pwd,mfa', lastUsedAt: now });
      expect(session.amr).toBe('pwd'); // the caller's object is left as it was
      expect({ ...(await row(session.id)) }).toStrictEqual({ ...session, authenticatedAt: now, amr: 'pwd,mfa', lastUsedAt: now });
      expect(await tokensRepo().findOneByOrFail({ tokenHash: hash(refreshToken) })).toMatchObject({ spentAt: now });
      expect(await tokensRepo().findOneByOrFail({ tokenHash: hash(other.refreshToken) })).toMatchObject({ spentAt: null });
      expect(renewed.refreshToken).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
      expect((await service.rotate(renewed.refreshToken, client())).outcome).toBe('rotated');
    });
  });

  describe('findByRefreshToken', () => {
    it('finds the session of a live or spent token; null for an unknown one', async () => {
      await service.open('user-1', client());
      const { session, refreshToken } = await service.open('user-1', client());
      expect((await service.findByRefreshToken(refreshToken))?.id).toBe(session.id);
      await service.rotate(refreshToken, client());
      expect((await service.findByRefreshToken(refreshToken))?.id).toBe(session.id);
      expect(await service.findByRefreshToken('rt_unknown')).toBeNull();
    });
  });

  describe('addMethods', () => {
    it('adds methods once each, keeping the order, to a session with or without methods; a missing session is left alone', async () => {
      const withMethods = await insertSession({ amr: 'pwd,,otp' });
      await service.addMethods(withMethods.id, ['otp', 'mfa', 'mfa']);
      expect((await row(withMethods.id)).amr).toBe('pwd,otp,mfa');
      const without = await insertSession({ amr: null });
      await service.addMethods(without.id, ['mfa']);
      expect((await row(without.id)).amr).toBe('mfa');
      const update = jest.spyOn(sessionsRepo(), 'update');
      await service.addMethods('missing', ['mfa']);
      expect(update).not.toHaveBeenCalled();
    });
  });

  describe('revoke', () => {
    it('revokes once: the first reason and time stay, alsoWrite commits only with the call that revoked', async () => {
      const session = await insertSession();
      const alsoWrite = jest.fn(async () => undefined);
      await service.revoke(session.id, 'logout', alsoWrite);
      const first = new Date(clock.now());
      clock.advance(1000);
      await service.revoke(session.id, 'revoked', alsoWrite);
      await service.revoke(session.id, 'disabled');
      expect(alsoWrite).toHaveBeenCalledTimes(1);
      expect(await row(session.id)).toMatchObject({ revokedAt: first, revokedReason: 'logout' });

      const plain = await insertSession();
      await service.revoke(plain.id, 'password_changed');
      expect(await row(plain.id)).toMatchObject({ revokedAt: new Date(clock.now()), revokedReason: 'password_changed' });
    });

    it('rolls the revocation back when alsoWrite fails', async () => {
      const session = await insertSession();
      await expect(service.revoke(session.id, 'logout', async () => Promise.reject(new Error('audit failed')))).rejects.toThrow('audit failed');
      expect(await row(session.id)).toMatchObject({ revokedAt: null, revokedReason: null });
    });

    it('tells the guard for one access-token lifetime and a minute', async () => {
      const session = await insertSession();
      await service.revoke(session.id, 'logout');
      expect(await kv.get(`revoked-session:${session.id}`)).toBe('1');
      expect(await kv.ttl(`revoked-session:${session.id}`)).toBe(MARKER_TTL_MS);
      expect(await service.isRevoked(session.id, session.createdAt.getTime())).toBe(true);
      clock.advance(MARKER_TTL_MS);
      expect(await service.isRevoked(session.id, session.createdAt.getTime())).toBe(false);
    });
  });

  describe('revokeAllForUser', () => {
    it("revokes the user's live sessions but the one kept, answers their ids and tells the guard", async () => {
      const [a, b, kept] = [await insertSession(), await insertSession(), await insertSession()];
      const ended = await insertSession({ revokedAt: new Date(clock.now() - 1000), revokedReason: 'logout' });
      const others = await insertSession({ userId: 'user-2' });
      const ids = await service.revokeAllForUser('user-1', 'password_changed', kept.id);
      expect(ids.sort()).toStrictEqual([a.id, b.id].sort());
      for (const id of ids) {
        expect(await row(id)).toMatchObject({ revokedAt: new Date(clock.now()), revokedReason: 'password_changed' });
        expect(await kv.get(`revoked-session:${id}`)).toBe('1');
      }
      expect(await row(kept.id)).toMatchObject({ revokedAt: null });
      expect(await row(ended.id)).toMatchObject({ revokedReason: 'logout' });
      expect(await row(others.id)).toMatchObject({ revokedAt: null });
      expect(await kv.get(`revoked-session:${kept.id}`)).toBeNull();
      expect(await service.revokeAllForUser('user-1', 'deleted')).toStrictEqual([kept.id]);
    });

    it("inside the caller's transaction, writes the rows there and leaves the guard's markers to the caller", async () => {
      const session = await insertSession();
      const ids = await inTransaction(source.manager, (tx) => service.revokeAllForUser('user-1', 'deleted', undefined, tx));
      expect(ids).toStrictEqual([session.id]);
      expect(await row(session.id)).toMatchObject({ revokedReason: 'deleted' });
      expect(await kv.get(`revoked-session:${session.id}`)).toBeNull();
      await expect(inTransaction(source.manager, async (tx) => {
        await service.revokeAllForUser('user-2', 'deleted', undefined, tx);
        throw new Error('rolled back');
      })).rejects.toThrow('rolled back');
    });

    it('with no live session, writes nothing', async () => {
      const update = jest.spyOn(source.manager, 'update');
      expect(await service.revokeAllForUser('nobody', 'deleted')).toStrictEqual([]);
      expect(update).not.toHaveBeenCalled();
    });
  });

  describe('isRevoked / isRevokedById / revoke-all', () => {
    it('a session is revoked by its marker, or when it started before the revoke-all cut-off (not at it)', async () => {
      const cut = clock.now();
      expect(await service.isRevoked('s', cut - 1)).toBe(false);
      await service.revokeAllStartedBefore(new Date(cut));
      expect(await service.isRevoked('s', cut - 1)).toBe(true);
      expect(await service.isRevoked('s', cut)).toBe(false);
      await service.markRevoked(['s']);
      expect(await service.isRevoked('s', cut + 1)).toBe(true);
    });

    it('isRevokedById: by the session row’s start; a missing session counts as revoked', async () => {
      const old = await insertSession({ createdAt: new Date(clock.now() - 10) });
      const young = await insertSession();
      expect(await service.isRevokedById(old.id)).toBe(false);
      await service.revokeAllStartedBefore(new Date(clock.now()));
      expect(await service.isRevokedById(old.id)).toBe(true);
      expect(await service.isRevokedById(young.id)).toBe(false);
      expect(await service.isRevokedById('missing')).toBe(true);
    });

    it('revokeAllStartedBefore keeps the later cut-off of two calls, in the row and the store, for as long as a session could live', async () => {
      expect(await service.revokedAllBefore()).toBe(0);
      const later = new Date(clock.now() - 1000);
      const keptFor = MAX_REFRESH_TOKEN_TTL_SECONDS * 1000 + MARKER_TTL_MS;
      expect(await service.revokeAllStartedBefore(later)).toStrictEqual({ before: later, keptUntil: new Date(later.getTime() + keptFor) });
      expect(await service.revokeAllStartedBefore(new Date(later.getTime() - 5000))).toStrictEqual({ before: later, keptUntil: new Date(later.getTime() + keptFor) });
      expect(await markersRepo().find()).toStrictEqual([Object.assign(new RevocationMarker(), { name: REVOKE_ALL, beforeAt: later })]);
      expect(await service.revokedAllBefore()).toBe(later.getTime());
      expect(await kv.ttl(REVOKE_ALL)).toBe(later.getTime() + keptFor - clock.now());
      const latest = new Date(clock.now());
      expect((await service.revokeAllStartedBefore(latest)).before).toStrictEqual(latest);
      expect((await markersRepo().findOneByOrFail({ name: REVOKE_ALL })).beforeAt).toStrictEqual(latest);
    });

    it('answers the store’s cut-off when it is later than the row (another instance’s call in flight)', async () => {
      const storeCut = clock.now();
      await kv.setMax(REVOKE_ALL, storeCut, 60_000);
      expect((await service.revokeAllStartedBefore(new Date(storeCut - 5000))).before).toStrictEqual(new Date(storeCut));
    });
  });

  describe('listActive', () => {
    it('lists live sessions newest first: not revoked, not expired, not started before the cut-off', async () => {
      const t = clock.now();
      const older = await insertSession({ id: 'older', createdAt: new Date(t - 2000) });
      const newer = await insertSession({ id: 'newer', createdAt: new Date(t - 1000) });
      await insertSession({ id: 'revoked', revokedAt: new Date(t), revokedReason: 'logout' });
      await insertSession({ id: 'expired', expiresAt: new Date(t) });
      await insertSession({ id: 'other-user', userId: 'user-2' });
      const live = await insertSession({ id: 'expires-next-ms', expiresAt: new Date(t + 1) });
      expect((await service.listActive('user-1')).items.map((s) => s.id)).toStrictEqual([live.id, newer.id, older.id]);
      expect((await service.listActive('user-1')).total).toBe(3);
      await service.revokeAllStartedBefore(new Date(t - 1000));
      expect((await service.listActive('user-1')).items.map((s) => s.id)).toStrictEqual([live.id, newer.id]);
    });

    it('with a limit: only that many, the total counts all, ties ordered by id', async () => {
      for (const id of ['c', 'a', 'b']) await insertSession({ id });
      expect(await service.listActive('user-1', 2)).toMatchObject({ items: [{ id: 'a' }, { id: 'b' }], total: 3 });
      await insertSession({ id: 'newest', createdAt: new Date(clock.now() + 1) });
      expect(await service.listActive('user-1', 2)).toMatchObject({ items: [{ id: 'newest' }, { id: 'a' }], total: 4 });
      expect(await service.listActive('user-1', 0)).toMatchObject({ total: 4 });
    });
  });

  describe('isLiveIn / findOwned', () => {
    it("isLiveIn: the user's own session, not revoked, not expired", async () => {
      const live = await insertSession();
      const expiring = await insertSession({ expiresAt: new Date(clock.now() + 1) });
      const revoked = await insertSession({ revokedAt: new Date(clock.now()), revokedReason: 'logout' });
      const check = (userId: string, sessionId: string) => inTransaction(source.manager, (tx) => service.isLiveIn(tx, userId, sessionId));
      expect(await check('user-1', live.id)).toBe(true);
      expect(await check('user-1', expiring.id)).toBe(true);
      expect(await check('user-2', live.id)).toBe(false);
      expect(await check('user-1', revoked.id)).toBe(false);
      expect(await check('user-1', 'missing')).toBe(false);
      clock.advance(1);
      expect(await check('user-1', expiring.id)).toBe(false);
    });

    it('isLiveIn locks the row on MySQL/MariaDB (a reclaim committing meanwhile is seen), and not on SQLite', async () => {
      const query = { where: jest.fn(), setLock: jest.fn(), getOne: jest.fn(async () => null) };
      query.where.mockReturnValue(query);
      const createQueryBuilder = jest.fn(() => query);
      const fakeTx = (type: string) => ({ connection: { options: { type } }, getRepository: () => ({ createQueryBuilder }) }) as unknown as EntityManager;
      await service.isLiveIn(fakeTx('mysql'), 'user-1', 's');
      // The alias the condition names (SQLite would also match TypeORM's default alias "Session"; MariaDB's aliases are case-sensitive).
      expect(createQueryBuilder).toHaveBeenCalledWith('session');
      expect(query.where).toHaveBeenCalledWith('session.id = :sessionId AND session.user_id = :userId', { sessionId: 's', userId: 'user-1' });
      expect(query.setLock).toHaveBeenCalledWith('pessimistic_write');
      query.setLock.mockClear();
      await service.isLiveIn(fakeTx('better-sqlite3'), 'user-1', 's');
      expect(query.setLock).not.toHaveBeenCalled();
    });

    it("findOwned: a live session of this user only, not expired, not started before the cut-off", async () => {
      const mine = await insertSession({ createdAt: new Date(clock.now() - 10) });
      const expiring = await insertSession({ expiresAt: new Date(clock.now() + 1) });
      const revoked = await insertSession({ revokedAt: new Date(clock.now()), revokedReason: 'logout' });
      expect((await service.findOwned('user-1', mine.id))?.id).toBe(mine.id);
      expect((await service.findOwned('user-1', expiring.id))?.id).toBe(expiring.id);
      expect(await service.findOwned('user-2', mine.id)).toBeNull();
      expect(await service.findOwned('user-1', revoked.id)).toBeNull();
      expect(await service.findOwned('user-1', 'missing')).toBeNull();
      await service.revokeAllStartedBefore(new Date(clock.now() - 10));
      expect((await service.findOwned('user-1', mine.id))?.id).toBe(mine.id);
      await service.revokeAllStartedBefore(new Date(clock.now() - 9));
      expect(await service.findOwned('user-1', mine.id)).toBeNull();
      clock.advance(1);
      expect(await service.findOwned('user-1', expiring.id)).toBeNull();
    });
  });

  describe('purgeEnded', () => {
    it('deletes sessions expired or revoked before the cut-off, with their refresh tokens, in batches', async () => {
      const t = clock.now();
      const cut = new Date(t);
      const ended = [
        await insertSession({ id: 'expired-1', expiresAt: new Date(t - 3) }),
        await insertSession({ id: 'expired-2', expiresAt: new Date(t - 2) }),
        await insertSession({ id: 'expired-3', expiresAt: new Date(t - 1) }),
        await insertSession({ id: 'revoked-1', revokedAt: new Date(t - 2), revokedReason: 'logout' }),
        await insertSession({ id: 'revoked-2', revokedAt: new Date(t - 1), revokedReason: 'logout' }),
      ];
      const kept = [
        await insertSession({ id: 'expires-at-cut', expiresAt: cut }),
        await insertSession({ id: 'revoked-at-cut', revokedAt: cut, revokedReason: 'logout' }),
        await insertSession({ id: 'live' }),
      ];
      for (const [i, session] of [...ended, ...kept].entries()) {
        for (const n of [0, 1, 2]) await tokensRepo().insert({ tokenHash: hash(`${i}-${n}`), sessionId: session.id, createdAt: cut, spentAt: null });
      }
      expect(await service.purgeEnded(cut, 2)).toStrictEqual({ sessions: 5, refreshTokens: 15 });
      expect((await sessionsRepo().find({ order: { id: 'ASC' } })).map((s) => s.id)).toStrictEqual(kept.map((s) => s.id).sort());
      expect(new Set((await tokensRepo().find()).map((token) => token.sessionId))).toStrictEqual(new Set(kept.map((s) => s.id)));
      expect(await service.purgeEnded(cut, 2)).toStrictEqual({ sessions: 0, refreshTokens: 0 });
    });
  });

  describe('onApplicationBootstrap', () => {
    it('re-marks sessions revoked within an access-token lifetime and a minute, and reloads the revoke-all marker from its row', async () => {
      const t = clock.now();
      const recent = await insertSession({ revokedAt: new Date(t - MARKER_TTL_MS + 1), revokedReason: 'logout' });
      const old = await insertSession({ revokedAt: new Date(t - MARKER_TTL_MS), revokedReason: 'logout' });
      await markersRepo().insert({ name: REVOKE_ALL, beforeAt: new Date(t - 5000) });
      await service.onApplicationBootstrap();
      expect(await kv.get(`revoked-session:${recent.id}`)).toBe('1');
      expect(await kv.get(`revoked-session:${old.id}`)).toBeNull();
      expect(await service.revokedAllBefore()).toBe(t - 5000);
      expect(await kv.ttl(REVOKE_ALL)).toBe(MAX_REFRESH_TOKEN_TTL_SECONDS * 1000 + MARKER_TTL_MS - 5000);
    });

    it('leaves a marker out of the store once nothing it covers can be alive', async () => {
      const keptFor = MAX_REFRESH_TOKEN_TTL_SECONDS * 1000 + MARKER_TTL_MS;
      await markersRepo().insert({ name: REVOKE_ALL, beforeAt: new Date(clock.now() - keptFor) });
      const setMax = jest.spyOn(kv, 'setMax');
      await service.onApplicationBootstrap();
      expect(await service.revokedAllBefore()).toBe(0);
      expect(setMax).not.toHaveBeenCalled(); // no marker with no life left (Redis refuses an expiry of 0)
      await markersRepo().update({ name: REVOKE_ALL }, { beforeAt: new Date(clock.now() - keptFor + 1) });
      await service.onApplicationBootstrap();
      expect(await kv.ttl(REVOKE_ALL)).toBe(1);
    });

    it('with nothing to restore, does not even wait for the store', async () => {
      await insertSession();
      const ping = jest.spyOn(kv, 'ping');
      await service.onApplicationBootstrap();
      expect(ping).not.toHaveBeenCalled();
    });

    it('waits for the store 100 ms at a time, at most 50 tries, then fails the start with its error', async () => {
      await insertSession({ revokedAt: new Date(clock.now()), revokedReason: 'logout' });
      const waits: number[] = [];
      jest.spyOn(global, 'setTimeout').mockImplementation(((resolve: () => void, ms: number) => {
        waits.push(ms);
        resolve();
        return 0;
      }) as unknown as typeof setTimeout);
      const ping = jest.spyOn(kv, 'ping').mockRejectedValueOnce(new Error('connecting')).mockRejectedValueOnce(new Error('connecting'));
      await service.onApplicationBootstrap();
      expect(ping).toHaveBeenCalledTimes(3);
      expect(waits).toStrictEqual([100, 100]);

      ping.mockReset().mockRejectedValue(new Error('store away'));
      await expect(service.onApplicationBootstrap()).rejects.toThrow('store away');
      expect(ping).toHaveBeenCalledTimes(50);
    });
  });
});
