import { Injectable } from '@nestjs/common';
import { Clock } from '@/common/clock';
import { AppException, CommonErrors } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { AuditService } from '@/modules/audit/audit.service';
import { AvatarService } from '@/modules/avatar/avatar.service';
import { UsersErrors } from '@/modules/users/users.errors';
import { UsersService } from '@/modules/users/users.service';
import { ApiKeysService } from './api-keys.service';
import { AuthService } from './auth.service';
import { DeleteAccountDto } from './dto/account.dto';
import { Principal } from './principal';
import { SessionsService } from './sessions/sessions.service';

/** Credential changes and deletion of the caller's own account. */
@Injectable()
export class AccountService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly auth: AuthService,
    private readonly apiKeys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly avatars: AvatarService,
  ) {}

  async changePassword(principal: Principal, oldPassword: string, newPassword: string, client: ClientInfo): Promise<void> {
    const user = await this.users.getById(principal.userId);
    if (!(await this.users.verifyPassword(user, oldPassword))) {
      await this.audit.record({ type: 'password_changed', outcome: 'failure', userId: user.id, actorId: user.id, client, detail: { reason: 'wrong_password' } });
      throw new AppException(UsersErrors.PASSWORD_INCORRECT);
    }
    if (oldPassword.normalize('NFKC') === newPassword.normalize('NFKC')) throw new AppException(UsersErrors.PASSWORD_UNCHANGED);
    this.users.assertPasswordAcceptable(newPassword, { username: user.username, email: user.email });
    await this.users.update(user.id, { passwordHash: await this.users.hashPassword(newPassword) });
    await this.sessions.revokeAllForUser(user.id, 'password_changed', principal.sessionId ?? undefined);
    await this.audit.record({ type: 'password_changed', outcome: 'success', userId: user.id, actorId: user.id, client });
  }

  /**
   * Deletes the account: the row goes (so username, email and phone are free at once), sessions
   * and refresh tokens go with it (cascade) and are marked revoked for live access tokens; the
   * real-name record goes by cascade too, and the avatar files are deleted.
   * Audit events stay, keyed by the old id, with no personal data.
   */
  async deleteAccount(principal: Principal, dto: DeleteAccountDto, client: ClientInfo): Promise<void> {
    const user = await this.users.getById(principal.userId);
    const proven = user.passwordHash
      ? !!dto.password && (await this.users.verifyPassword(user, dto.password))
      : this.auth.isRecentlyAuthenticated(principal, this.clock.now());
    if (!proven) {
      await this.audit.record({ type: 'account_deleted', outcome: 'failure', userId: user.id, actorId: user.id, client });
      throw new AppException(user.passwordHash ? UsersErrors.PASSWORD_INCORRECT : CommonErrors.FORBIDDEN);
    }
    await this.sessions.revokeAllForUser(user.id, 'deleted');
    await this.users.delete(user.id);
    await this.avatars.removeFor(user);
    await this.audit.record({ type: 'account_deleted', outcome: 'success', userId: user.id, actorId: user.id, client });
  }

  async createApiKey(principal: Principal, client: ClientInfo): Promise<string> {
    const key = await this.apiKeys.issuePersonal(principal.userId);
    await this.audit.record({ type: 'api_key_created', outcome: 'success', userId: principal.userId, actorId: principal.userId, client });
    return key;
  }
}
