import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, FindOptionsOrder, FindOptionsWhere, In, IsNull, LessThan, MoreThan, MoreThanOrEqual, Not, Repository } from 'typeorm';
import { lockAccountRow } from '@/database/account-lock';
import { AlsoWrite, inTransaction } from '@/database/transaction';
import { APP_CONFIG, AppConfig, MAX_REFRESH_TOKEN_TTL_SECONDS } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { ClientInfo } from '@/common/http/decorators';
import { KvStore } from '@/common/kv/kv-store';
import { deleteInBatches } from '@/database/batched-delete';
import { RevocationMarker } from './revocation-marker.entity';
import { RefreshToken, Session } from './session.entity';

/** The revoke-all marker: one key in the shared store, one row in revocation_markers. */
const REVOKE_ALL = 'sessions-started-before';

/** Most old spent refresh tokens one rotation deletes: a session from before the bound is trimmed over its next refreshes. */
const PRUNE_BATCH = 500;

/** How long start-up waits for the shared store's connection: 50 × 100 ms. */
const STORE_WAIT_ATTEMPTS = 50;

export type RevokeReason = 'logout' | 'revoked' | 'refresh_reuse' | 'password_changed' | 'password_reset' | 'disabled' | 'deleted' | 'session_limit';

/** What a sign-in writes with its session: its audit event, and a record of each session it signed out (SESSIONS_PER_USER). */
export type SessionOpenWrites = (tx: EntityManager, evictedSessionIds: string[]) => Promise<void>;

export type RotationResult =
  | { outcome: 'rotated'; session: Session; refreshToken: string }
  | { outcome: 'reused'; session: Session }
  | { outcome: 'invalid' };

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Sessions and their refresh-token families. The database is the record; the shared store holds
 * a "revoked" marker per session for as long as an access token could still be alive, which is
 * what the guard checks on every request (no database query on the hot path).
 */
@Injectable()
export class SessionsService implements OnApplicationBootstrap {
  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    @InjectRepository(RefreshToken) private readonly refreshTokens: Repository<RefreshToken>,
    @InjectRepository(RevocationMarker) private readonly revocationMarkers: Repository<RevocationMarker>,
    private readonly kv: KvStore,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The in-process store starts empty: re-mark sessions revoked recently enough to have live access
   * tokens, and load the revoke-all marker from its row (on Redis both are there already; setting
   * them again changes nothing).
   */
  async onApplicationBootstrap(): Promise<void> {
    const since = new Date(this.clock.now() - this.markerTtlMs());
    const recent = await this.sessions.find({ select: { id: true }, where: { revokedAt: MoreThan(since) } });
    const marker = await this.revocationMarkers.findOneBy({ name: REVOKE_ALL });
    if (!recent.length && !marker) return;
    await this.storeReachable();
    await this.markRevoked(recent.map(({ id }) => id));
    if (marker) await this.storeRevokeAllMarker(marker.beforeAt.getTime());
  }

  /**
   * At start-up the Redis connection may still be opening, and the store queues nothing meanwhile (it
   * fails fast): wait for it, a bounded while, rather than fail the start.
   */
  private async storeReachable(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.kv.ping();
      } catch (error) {
        if (attempt >= STORE_WAIT_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /**
   * Opens a session with its first refresh token; `alsoWrite` (the sign-in's audit event) commits with
   * them. An account holds at most SESSIONS_PER_USER live sessions: when this one would pass that, the
   * sessions idle the longest are signed out in the same transaction, after the account row is locked,
   * so a burst of parallel sign-ins (on any number of instances) still leaves exactly the cap.
   */
  async open(userId: string, client: ClientInfo, alsoWrite?: SessionOpenWrites, amr: string[] = []): Promise<{ session: Session; refreshToken: string; evicted: string[] }> {
    const now = new Date(this.clock.now());
    // Read before the transaction: on SQLite a store round trip inside it would hold every other writer.
    const revokedAllBefore = new Date(await this.revokedAllBefore());
    const session = Object.assign(new Session(), {
      id: randomUUID(),
      userId,
      ip: client.ip,
      userAgent: client.userAgent,
      authenticatedAt: now,
      amr: amr.length ? amr.join(',') : null,
      createdAt: now,
      lastUsedAt: now,
      expiresAt: new Date(now.getTime() + this.config.tokens.refreshTtlSeconds * 1000),
      revokedAt: null,
      revokedReason: null,
    });
    // One transaction: a failure between the inserts leaves no session without a refresh token (or its event).
    let evicted: string[] = [];
    const refreshToken = await inTransaction(this.sessions.manager, async (tx) => {
      await lockAccountRow(tx, userId);
      evicted = await this.evictOverCap(tx, userId, now, revokedAllBefore);
      await tx.insert(Session, session);
      const token = await this.issueRefreshToken(session.id, now, tx);
      await alsoWrite?.(tx, evicted);
      return token;
    });
    await this.markRevoked(evicted);
    return { session, refreshToken, evicted };
  }

  /**
   * Makes room for one more session under SESSIONS_PER_USER: revokes the account's live sessions idle
   * the longest (last refreshed or opened earliest) — the ones a forgotten browser or a script that
   * never signs out leaves behind, rather than the phone in daily use. Sessions already ended by the
   * revoke-all cut-off are not live and make no room. Answers the ids revoked (markers after the commit).
   */
  private async evictOverCap(tx: EntityManager, userId: string, now: Date, revokedAllBefore: Date): Promise<string[]> {
    const live = await tx.find(Session, {
      select: { id: true },
      where: { userId, revokedAt: IsNull(), expiresAt: MoreThan(now), createdAt: MoreThanOrEqual(revokedAllBefore) },
      order: { lastUsedAt: 'ASC', createdAt: 'ASC', id: 'ASC' },
    });
    const ids = live.slice(0, Math.max(0, live.length - this.config.sessions.maxPerUser + 1)).map(({ id }) => id);
    if (ids.length) await tx.update(Session, { id: In(ids), revokedAt: IsNull() }, { revokedAt: now, revokedReason: 'session_limit' });
    return ids;
  }

  /**
   * Spends a refresh token and issues its successor. The conditional update lets exactly one of
   * several concurrent callers win; presenting an already spent token revokes the whole session.
   */
  async rotate(refreshToken: string, client: ClientInfo): Promise<RotationResult> {
    const tokenHash = hashToken(refreshToken);
    const stored = await this.refreshTokens.findOneBy({ tokenHash });
    if (!stored) return { outcome: 'invalid' };
    const session = await this.sessions.findOneBy({ id: stored.sessionId });
    const now = new Date(this.clock.now());
    if (!session || session.revokedAt || session.expiresAt.getTime() <= now.getTime()) return { outcome: 'invalid' };
    if (session.createdAt.getTime() < (await this.revokedAllBefore())) return { outcome: 'invalid' };
    // Spending the old token and issuing its successor commit together, or not at all: a failure in
    // between cannot strand the session with every refresh token spent.
    const successor = await inTransaction(this.sessions.manager, async (tx) => {
      const spent = await tx.update(RefreshToken, { tokenHash, spentAt: IsNull() }, { spentAt: now });
      if (!spent.affected) return null;
      await tx.update(Session, { id: session.id }, { lastUsedAt: now, ip: client.ip, userAgent: client.userAgent });
      const token = await this.issueRefreshToken(session.id, now, tx);
      await this.forgetOldSpentTokens(session.id, tx);
      return token;
    });
    if (!successor) {
      await this.revoke(session.id, 'refresh_reuse');
      return { outcome: 'reused', session };
    }
    return { outcome: 'rotated', session, refreshToken: successor };
  }

  /**
   * Step-up: the session's authentication is renewed (time and methods) and it gets a new refresh
   * token; its earlier refresh tokens are spent, so presenting one later counts as a replay.
   */
  async reauthenticate(session: Session, amr: string[]): Promise<{ session: Session; refreshToken: string }> {
    const now = new Date(this.clock.now());
    const renewed = Object.assign(new Session(), session, { authenticatedAt: now, amr: amr.join(','), lastUsedAt: now });
    const refreshToken = await inTransaction(this.sessions.manager, async (tx) => {
      await tx.update(Session, { id: session.id }, { authenticatedAt: now, amr: renewed.amr, lastUsedAt: now });
      await tx.update(RefreshToken, { sessionId: session.id, spentAt: IsNull() }, { spentAt: now });
      const token = await this.issueRefreshToken(session.id, now, tx);
      await this.forgetOldSpentTokens(session.id, tx);
      return token;
    });
    return { session: renewed, refreshToken };
  }

  /** The session a refresh token belongs to, spent or not (sign-out ends the session a cookie names), or null. */
  async findByRefreshToken(refreshToken: string): Promise<Session | null> {
    const stored = await this.refreshTokens.findOneBy({ tokenHash: hashToken(refreshToken) });
    return stored ? this.sessions.findOneBy({ id: stored.sessionId }) : null;
  }

  /** Adds methods to a live session's record (the caller just proved another factor in it). */
  async addMethods(sessionId: string, methods: string[]): Promise<void> {
    const session = await this.sessions.findOneBy({ id: sessionId });
    if (!session) return;
    const amr = [...new Set([...(session.amr?.split(',').filter(Boolean) ?? []), ...methods])];
    await this.sessions.update({ id: sessionId }, { amr: amr.join(',') });
  }

  /** Revokes one session; `alsoWrite` (its events) commits with the revocation, and only when this call revoked it. */
  async revoke(sessionId: string, reason: RevokeReason, alsoWrite?: AlsoWrite): Promise<void> {
    const live = { id: sessionId, revokedAt: IsNull() };
    const revoked = { revokedAt: new Date(this.clock.now()), revokedReason: reason };
    if (alsoWrite) {
      await inTransaction(this.sessions.manager, async (tx) => {
        if ((await tx.update(Session, live, revoked)).affected) await alsoWrite(tx);
      });
    } else {
      await this.sessions.update(live, revoked);
    }
    await this.markRevoked([sessionId]);
  }

  /**
   * Revokes every live session of a user (optionally keeping the caller's own); returns their ids.
   * Inside `tx` the guard's markers wait for the caller's commit (markRevoked): a rollback must not
   * leave sessions the database still calls live refused by every access token.
   */
  async revokeAllForUser(userId: string, reason: RevokeReason, keepSessionId?: string, tx?: EntityManager): Promise<string[]> {
    const manager = tx ?? this.sessions.manager;
    const live = await manager.find(Session, { select: { id: true }, where: { userId, revokedAt: IsNull() } });
    const ids = live.map(({ id }) => id).filter((id) => id !== keepSessionId);
    if (ids.length) await manager.update(Session, { id: In(ids), revokedAt: IsNull() }, { revokedAt: new Date(this.clock.now()), revokedReason: reason });
    if (!tx) await this.markRevoked(ids);
    return ids;
  }

  /** Tells the guard (through the shared store) that these sessions are revoked. */
  async markRevoked(sessionIds: string[]): Promise<void> {
    await Promise.all(sessionIds.map((id) => this.kv.set(this.markerKey(id), '1', this.markerTtlMs())));
  }

  /**
   * Whether the guard must refuse this session: revoked by id, or started (Unix ms) before the
   * revoke-all marker. Both keys are read in one store round trip (one MGET on Redis), on every
   * request: a marker cached in the process would let another instance's revoke-all go unseen for
   * as long as the cache lives, and "every instance at once" means the next request.
   */
  async isRevoked(sessionId: string, sessionStartMs: number): Promise<boolean> {
    const [revoked, revokedAllBefore] = await this.kv.getMany([this.markerKey(sessionId), REVOKE_ALL]);
    return revoked !== null || (revokedAllBefore !== null && sessionStartMs < Number(revokedAllBefore));
  }

  /** isRevoked for a session known only by its id (off the hot path: one look-up of its start). */
  async isRevokedById(sessionId: string): Promise<boolean> {
    const session = await this.sessions.findOne({ select: { id: true, createdAt: true }, where: { id: sessionId } });
    return !session || (await this.isRevoked(sessionId, session.createdAt.getTime()));
  }

  /**
   * Revokes every session (of every user) started before `before`, on every instance at once: one
   * marker in the shared store, which the guard and the refresh route compare with the session's
   * start, and no write per session. The row is written first (start-up reloads the marker from it,
   * so an in-process store forgets nothing on a restart); both keep the later cut-off of two calls,
   * each in one atomic step, so a call with an earlier time never weakens an earlier call.
   */
  async revokeAllStartedBefore(before: Date): Promise<{ before: Date; keptUntil: Date }> {
    await this.revocationMarkers.createQueryBuilder().insert().values({ name: REVOKE_ALL, beforeAt: before }).orIgnore().execute();
    await this.revocationMarkers.update({ name: REVOKE_ALL, beforeAt: LessThan(before) }, { beforeAt: before });
    const stored = await this.revocationMarkers.findOneByOrFail({ name: REVOKE_ALL });
    const effective = Math.max(await this.storeRevokeAllMarker(stored.beforeAt.getTime()), stored.beforeAt.getTime());
    return { before: new Date(effective), keptUntil: new Date(this.revokeAllKeptUntil(effective)) };
  }

  /** The revoke-all cut-off (Unix ms), or 0 when there is none. */
  async revokedAllBefore(): Promise<number> {
    return Number((await this.kv.get(REVOKE_ALL)) ?? 0);
  }

  /** Live sessions, newest first; with `limit`, only that many of them, and `total` counts all. */
  async listActive(userId: string, limit?: number): Promise<{ items: Session[]; total: number }> {
    const where = { userId, revokedAt: IsNull(), expiresAt: MoreThan(new Date(this.clock.now())), createdAt: MoreThanOrEqual(new Date(await this.revokedAllBefore())) };
    if (limit === undefined) {
      const items = await this.sessions.find({ where, order: { createdAt: 'DESC' } });
      return { items, total: items.length };
    }
    const [items, total] = await this.sessions.findAndCount({ where, order: { createdAt: 'DESC', id: 'ASC' }, take: limit });
    return { items, total };
  }

  /**
   * Inside a transaction that adds a sign-in method: whether the caller's session is still live, read
   * with a row lock on MySQL/MariaDB (so it sees a reclaim that committed meanwhile, and a reclaim that
   * comes later waits for this transaction). The guard checked the session when the request arrived; a
   * reclaim can revoke it between that check and the write. SQLite runs transactions one at a time.
   */
  async isLiveIn(tx: EntityManager, userId: string, sessionId: string): Promise<boolean> {
    const query = tx.getRepository(Session).createQueryBuilder('session').where('session.id = :sessionId AND session.user_id = :userId', { sessionId, userId });
    if (tx.connection.options.type !== 'better-sqlite3') query.setLock('pessimistic_write');
    const session = await query.getOne();
    return !!session && session.revokedAt === null && session.expiresAt.getTime() > this.clock.now();
  }

  /** A live session of this user, or null: another user's id is indistinguishable from a missing one. */
  async findOwned(userId: string, sessionId: string): Promise<Session | null> {
    const session = await this.sessions.findOneBy({ id: sessionId, userId, revokedAt: IsNull() });
    if (!session || session.expiresAt.getTime() <= this.clock.now()) return null;
    return session.createdAt.getTime() < (await this.revokedAllBefore()) ? null : session;
  }

  /**
   * Deletes sessions that expired or were revoked before `endedBefore`, with their refresh tokens,
   * `batchSize` rows per statement. Nothing reads such rows any more: rotation refuses an ended session
   * whether its row exists or not, and start-up only re-marks revocations younger than an access token.
   * Tokens go before their session: a run stopped in between leaves a session without tokens, finished next time.
   */
  async purgeEnded(endedBefore: Date, batchSize: number): Promise<{ sessions: number; refreshTokens: number }> {
    let refreshTokens = 0;
    const deleteTokens = async (sessionIds: string[]) => {
      refreshTokens += await deleteInBatches(this.refreshTokens, 'tokenHash', batchSize, async (limit) =>
        (await this.refreshTokens.find({ select: { tokenHash: true }, where: { sessionId: In(sessionIds) }, take: limit })).map((row) => row.tokenHash),
      );
    };
    // One pass per index (ix_sessions_expires_at, ix_sessions_revoked_at), oldest first.
    const ended: [FindOptionsWhere<Session>, FindOptionsOrder<Session>][] = [
      [{ expiresAt: LessThan(endedBefore) }, { expiresAt: 'ASC' }],
      [{ revokedAt: LessThan(endedBefore) }, { revokedAt: 'ASC' }],
    ];
    let sessions = 0;
    for (const [where, order] of ended) {
      const nextIds = async (limit: number) => (await this.sessions.find({ select: { id: true }, where, order, take: limit })).map(({ id }) => id);
      sessions += await deleteInBatches(this.sessions, 'id', batchSize, nextIds, deleteTokens);
    }
    return { sessions, refreshTokens };
  }

  /**
   * Keeps a session's newest SPENT_REFRESH_TOKENS_KEPT spent tokens — what recognises a replay — and
   * deletes older ones, so a session refreshed in a loop for its whole life holds a bounded number of
   * rows. A replay of a token older than that is refused as unknown, without ending the session. Runs
   * after the session row was written in `tx`, so one session's rotations prune one after another.
   */
  private async forgetOldSpentTokens(sessionId: string, tx: EntityManager): Promise<void> {
    const old = await tx.find(RefreshToken, {
      select: { tokenHash: true },
      where: { sessionId, spentAt: Not(IsNull()) },
      order: { spentAt: 'DESC', tokenHash: 'ASC' },
      skip: this.config.tokens.spentRefreshTokensKept,
      take: PRUNE_BATCH,
    });
    if (old.length) await tx.delete(RefreshToken, { tokenHash: In(old.map(({ tokenHash }) => tokenHash)) });
  }

  private async issueRefreshToken(sessionId: string, now: Date, tx: EntityManager): Promise<string> {
    const token = `rt_${randomBytes(32).toString('base64url')}`;
    await tx.insert(RefreshToken, { tokenHash: hashToken(token), sessionId, createdAt: now, spentAt: null });
    return token;
  }

  /** Sets the marker in the shared store (keeping a later one); answers the cut-off in force. */
  private storeRevokeAllMarker(beforeMs: number): Promise<number> {
    const ttlMs = this.revokeAllKeptUntil(beforeMs) - this.clock.now();
    return ttlMs > 0 ? this.kv.setMax(REVOKE_ALL, beforeMs, ttlMs) : this.revokedAllBefore();
  }

  /**
   * A session started before the cut-off lives at most the longest REFRESH_TOKEN_TTL allowed (whatever
   * it is set to now: the setting may have been longer when the session began), and its last access
   * token one ACCESS_TOKEN_TTL more; after that nothing the marker covers is alive.
   */
  private revokeAllKeptUntil(beforeMs: number): number {
    return beforeMs + MAX_REFRESH_TOKEN_TTL_SECONDS * 1000 + this.markerTtlMs();
  }

  private markerTtlMs(): number {
    return (this.config.tokens.accessTtlSeconds + 60) * 1000;
  }

  private markerKey(sessionId: string): string {
    return `revoked-session:${sessionId}`;
  }
}
