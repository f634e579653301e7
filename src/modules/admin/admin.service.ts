import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { Clock } from '@/common/clock';
import { AppException, CommonErrors } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { KvStore } from '@/common/kv/kv-store';
import { AuditService } from '@/modules/audit/audit.service';
import { AuthService } from '@/modules/auth/auth.service';
import { EventsService } from '@/modules/events/events.service';
import type { Principal } from '@/modules/auth/principal';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { UserResponseDto } from '@/modules/users/dto/user-response.dto';
import { User } from '@/modules/users/user.entity';
import { UsersErrors } from '@/modules/users/users.errors';
import { UsersService } from '@/modules/users/users.service';
import { AdminErrors } from './admin.errors';
import { AuditEventPageDto, ListAuditEventsQueryDto } from './dto/audit-events-query.dto';
import { AdminUserDto, ListUsersQueryDto, UpdateUserByAdminDto, UserPageDto } from './dto/admin-users.dto';
import { IdentitiesService } from '@/modules/federation/identities.service';
import { RevokeAllSessionsDto, RevokeAllSessionsResultDto } from './dto/revoke-all-sessions.dto';

const LOCK_KEY = 'lock:admin-role-changes';
const LOCK_TTL_MS = 10_000;
const LOCK_WAIT_MS = 3_000;

/** What admins do to accounts: list, read, change role and status, read the audit trail. */
@Injectable()
export class AdminService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly audit: AuditService,
    private readonly auth: AuthService,
    private readonly events: EventsService,
    private readonly kv: KvStore,
    private readonly clock: Clock,
    private readonly identities: IdentitiesService,
  ) {}

  /**
   * Signs out every session, of every user, started before `before` (default now): for a leaked
   * signing key or a breach. Needs a recent authentication (⏱); the caller's own session is covered
   * too when it started before the cut-off. Audited, allowed or denied.
   */
  async revokeAllSessions(actor: Principal, dto: RevokeAllSessionsDto, client: ClientInfo): Promise<RevokeAllSessionsResultDto> {
    const now = this.clock.now();
    const requested = dto.before === undefined ? now : new Date(dto.before).getTime();
    try {
      this.auth.requireRecentAuthentication(actor, now);
    } catch (error) {
      await this.audit.record({ type: 'sessions_revoked_all', outcome: 'denied', actorId: actor.userId, client, detail: { reason: 'recent_auth_required' } });
      throw error;
    }
    // A cut-off in the future would also refuse sessions that have not started yet: every sign-in until then.
    if (requested > now) throw new AppException(AdminErrors.REVOKE_BEFORE_IN_FUTURE);
    const { before, keptUntil } = await this.sessions.revokeAllStartedBefore(new Date(requested));
    await this.audit.record({
      type: 'sessions_revoked_all',
      outcome: 'success',
      actorId: actor.userId,
      client,
      detail: { requested: new Date(requested).toISOString(), before: before.toISOString() },
    });
    return { before: before.toISOString(), keptUntil: keptUntil.toISOString() };
  }

  async listUsers(query: ListUsersQueryDto): Promise<UserPageDto> {
    const { items, total } = await this.users.search(query);
    return { items, page: query.page, pageSize: query.pageSize, total };
  }

  async getUser(id: string): Promise<AdminUserDto> {
    return { ...this.users.toResponse(await this.users.getById(id)), identities: await this.identities.listFor(id) };
  }

  /**
   * Changes role and/or status. Disabling revokes every session at once. The last active admin
   * can be neither demoted nor disabled; changes are serialised through a lock in the shared
   * store so that two admins demoting each other at the same moment cannot both succeed.
   */
  async updateUser(actor: Principal, id: string, dto: UpdateUserByAdminDto, client: ClientInfo): Promise<UserResponseDto> {
    if (dto.role === undefined && dto.status === undefined) {
      throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'body', message: 'send role, status or both' }] });
    }
    return this.exclusively(async () => {
      const target = await this.users.getById(id);
      const admin = await this.users.findById(actor.userId);
      if (!admin || admin.role !== 'admin' || admin.status !== 'active') throw new AppException(CommonErrors.FORBIDDEN);

      const role = dto.role ?? target.role;
      const status = dto.status ?? target.status;
      const losesAdmin = target.role === 'admin' && target.status === 'active' && (role !== 'admin' || status !== 'active');
      if (losesAdmin && (await this.users.countActiveAdmins()) <= 1) {
        const type = role !== target.role ? 'role_changed' : 'status_changed';
        await this.audit.record({ type, outcome: 'denied', userId: target.id, actorId: actor.userId, client, detail: { reason: 'last_admin' } });
        throw new AppException(UsersErrors.LAST_ADMIN);
      }

      const changes: Partial<Pick<User, 'role' | 'status'>> = {};
      if (role !== target.role) changes.role = role;
      if (status !== target.status) changes.status = status;
      if (!changes.role && !changes.status) return this.users.toResponse(target);

      // The change, the revocation a disabling brings and their events commit together.
      let revoked: string[] = [];
      const updated = await this.users.update(target.id, changes, async (tx) => {
        if (changes.status === 'disabled') revoked = await this.sessions.revokeAllForUser(target.id, 'disabled', undefined, tx);
        if (changes.role) {
          await this.audit.record({ type: 'role_changed', outcome: 'success', userId: target.id, actorId: actor.userId, client, detail: { from: target.role, to: changes.role } }, tx);
          await this.events.emit(tx, 'user.role_changed', { userId: target.id, from: target.role, to: changes.role });
        }
        if (changes.status) {
          await this.audit.record({ type: 'status_changed', outcome: 'success', userId: target.id, actorId: actor.userId, client, detail: { from: target.status, to: changes.status } }, tx);
          await this.events.emit(tx, changes.status === 'disabled' ? 'user.disabled' : 'user.enabled', { userId: target.id });
        }
      });
      await this.sessions.markRevoked(revoked);
      return this.users.toResponse(updated);
    });
  }

  async listAuditEvents(query: ListAuditEventsQueryDto): Promise<AuditEventPageDto> {
    const { items, total } = await this.audit.list(query);
    return { items, page: query.page, pageSize: query.pageSize, total };
  }

  private async exclusively<T>(work: () => Promise<T>): Promise<T> {
    const token = randomUUID();
    const deadline = this.clock.now() + LOCK_WAIT_MS;
    while (!(await this.kv.setIfAbsent(LOCK_KEY, token, LOCK_TTL_MS))) {
      if (this.clock.now() > deadline) throw new AppException(CommonErrors.SERVICE_UNAVAILABLE);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    try {
      return await work();
    } finally {
      await this.kv.delete(LOCK_KEY);
    }
  }
}
