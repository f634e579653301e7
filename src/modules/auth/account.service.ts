import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '@/common/clock';
import { AppException, CommonErrors } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { ApiKeysService } from '@/modules/account/api-keys.service';
import { AccountOwnershipService, Reclaimed } from '@/modules/account/account-ownership.service';
import { CodeTicket } from '@/modules/verification/codes/verification-codes.service';
import { CreateApiKeyDto, CreatedApiKeyDto, DEFAULT_KEY_DAYS } from '@/modules/account/dto/api-keys.dto';
import { AccountErrors } from '@/modules/account/account.errors';
import { AuditService } from '@/modules/audit/audit.service';
import { AvatarService } from '@/modules/avatar/avatar.service';
import { EventsService } from '@/modules/events/events.service';
import { UsersErrors } from '@/modules/users/users.errors';
import { VerificationErrors } from '@/modules/verification/verification.errors';
import { UsersService } from '@/modules/users/users.service';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Language } from '@/common/i18n';
import { emailKey, normalisePhone } from '@/modules/users/identity';
import { User } from '@/modules/users/user.entity';
import { VerificationCodesService } from '@/modules/verification/codes/verification-codes.service';
import { Channel } from '@/modules/verification/senders/message';
import { AuthErrors } from './auth.errors';
import { AuthService } from './auth.service';
import { ChangeEmailDto, ChangePhoneDto, DeleteAccountDto, PasswordResetDto } from './dto/account.dto';
import { LoginThrottle } from './login-throttle.service';
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
    private readonly events: EventsService,
    private readonly clock: Clock,
    private readonly avatars: AvatarService,
    private readonly codes: VerificationCodesService,
    private readonly throttle: LoginThrottle,
    private readonly ownership: AccountOwnershipService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async changePassword(principal: Principal, oldPassword: string, newPassword: string, client: ClientInfo, language: Language = 'en'): Promise<void> {
    const user = await this.users.getById(principal.userId);
    if (!(await this.auth.currentPasswordMatches(user, oldPassword, client))) {
      await this.audit.record({ type: 'password_changed', outcome: 'failure', userId: user.id, actorId: user.id, client, detail: { reason: 'wrong_password' } });
      throw new AppException(UsersErrors.PASSWORD_INCORRECT);
    }
    if (oldPassword.normalize('NFKC') === newPassword.normalize('NFKC')) throw new AppException(UsersErrors.PASSWORD_UNCHANGED);
    this.users.assertPasswordAcceptable(newPassword, { username: user.username, email: user.email });
    // The new hash, the other sessions' revocation and the event commit together: never a new password with old sessions alive.
    let revoked: string[] = [];
    await this.users.update(user.id, await this.newPasswordChanges(newPassword), async (tx) => {
      revoked = await this.sessions.revokeAllForUser(user.id, 'password_changed', principal.sessionId ?? undefined, tx);
      await this.apiKeys.deleteAllForUser(user.id, tx);
      await this.audit.record({ type: 'password_changed', outcome: 'success', userId: user.id, actorId: user.id, client }, tx);
      await this.events.emit(tx, 'user.password_changed', { userId: user.id, via: 'change' });
    });
    await this.sessions.markRevoked(revoked);
    await this.afterCredentialChange(user, 'password_changed', language);
  }

  /**
   * Sets a new password with a code sent to the account's email or phone. Works for a locked
   * account (and lifts the lock); revokes every session; the answer for an unknown address is the
   * one for a wrong code, since no code ever reached it.
   */
  async resetPassword(dto: PasswordResetDto, client: ClientInfo, language: Language): Promise<void> {
    if (!this.config.passwordResetEnabled) throw new AppException(AuthErrors.PASSWORD_RESET_DISABLED);
    const destination = this.resetDestination(dto);
    await this.codes.consume({ channel: dto.channel, destination, purpose: 'reset_password' }, dto.code);
    const user = dto.channel === 'email' ? await this.users.findByEmail(destination) : await this.users.findByPhone(destination);
    if (!user) throw new AppException(VerificationErrors.CODE_INVALID);
    this.users.assertPasswordAcceptable(dto.newPassword, { username: user.username, email: user.email });
    // Proving an email nobody had proven reclaims the account: whatever its earlier holder added goes too.
    const reclaiming = dto.channel === 'email' && this.ownership.hasUnprovenEmail(user);
    let revoked: string[] = [];
    let reclaimed: Reclaimed | null = null;
    const changes = { ...(await this.newPasswordChanges(dto.newPassword)), ...(reclaiming ? this.ownership.reclaimedColumns : {}) };
    await this.users.update(user.id, changes, async (tx) => {
      if (reclaiming) reclaimed = await this.ownership.reclaimIn(user, tx, client, 'password_reset');
      else {
        revoked = await this.sessions.revokeAllForUser(user.id, 'password_reset', undefined, tx);
        await this.apiKeys.deleteAllForUser(user.id, tx);
      }
      await this.audit.record({ type: 'password_reset', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { channel: dto.channel } }, tx);
      await this.events.emit(tx, 'user.password_changed', { userId: user.id, via: 'reset' });
    });
    if (reclaimed) await this.ownership.afterReclaim(user, reclaimed, language);
    else await this.sessions.markRevoked(revoked);
    await this.throttle.clearAccount(user);
    await this.afterCredentialChange(user, 'password_reset', language);
  }

  /** Sends a code (purpose verify_email) to the account's own unproven address; 409 when there is none. */
  async sendEmailVerificationCode(principal: Principal, client: ClientInfo, language: Language): Promise<CodeTicket> {
    const user = await this.unprovenEmailAccount(principal);
    return this.codes.send({ channel: 'email', destination: user.emailKey!, purpose: 'verify_email', ip: client.ip, language, deliver: true });
  }

  /**
   * Proves the account's email with that code. Like a reset by email, proving it reclaims the account:
   * every other session, key, phone, factor and identity added before goes; this session stays.
   */
  async verifyEmail(principal: Principal, code: string, client: ClientInfo, language: Language): Promise<User> {
    const user = await this.unprovenEmailAccount(principal);
    await this.codes.consume({ channel: 'email', destination: user.emailKey!, purpose: 'verify_email' }, code);
    let reclaimed: Reclaimed | null = null;
    const verified = await this.users.update(user.id, this.ownership.reclaimedColumns, async (tx) => {
      reclaimed = await this.ownership.reclaimIn(user, tx, client, 'email_verification', principal.sessionId ?? undefined);
      await this.audit.record({ type: 'email_verified', outcome: 'success', userId: user.id, actorId: user.id, client }, tx);
    });
    await this.ownership.afterReclaim(user, reclaimed!, language);
    return verified;
  }

  private async unprovenEmailAccount(principal: Principal): Promise<User> {
    const user = await this.users.getById(principal.userId);
    if (!this.ownership.hasUnprovenEmail(user)) throw new AppException(AccountErrors.EMAIL_VERIFICATION_NOT_NEEDED);
    return user;
  }

  /** Replaces the email; the old address hears about it (a contact never changes silently, contract §13). */
  async changeEmail(principal: Principal, dto: ChangeEmailDto, client: ClientInfo, language: Language = 'en'): Promise<User> {
    const user = await this.assertSensitiveActionAllowed(principal, dto.password, client);
    const email = emailKey(dto.email);
    // The code first, as at sign-up: change codes never reach a taken address, so a taken one answers
    // like a wrong code and a signed-in caller cannot probe which addresses have accounts.
    await this.codes.consume({ channel: 'email', destination: email, purpose: 'change_email' }, dto.code);
    if (await this.users.findByEmail(email)) throw new AppException(UsersErrors.EMAIL_TAKEN);
    const changed = await this.users.update(user.id, { email: dto.email.trim(), emailKey: email, emailVerified: true }, async (tx) => {
      await this.audit.record({ type: 'email_changed', outcome: 'success', userId: user.id, actorId: user.id, client }, tx);
      await this.events.emit(tx, 'user.email_changed', { userId: user.id });
    });
    if (user.emailKey) await this.codes.notify({ channel: 'email', destination: user.emailKey }, 'email_changed', language);
    return changed;
  }

  /** Replaces the phone; the old number hears about it by SMS. */
  async changePhone(principal: Principal, dto: ChangePhoneDto, client: ClientInfo, language: Language = 'en'): Promise<User> {
    const user = await this.assertSensitiveActionAllowed(principal, dto.password, client);
    this.ownership.assertMayAddSignInMethod(user);
    const phone = this.phoneOrFail(dto.phone);
    await this.codes.consume({ channel: 'sms', destination: phone, purpose: 'change_phone' }, dto.code);
    if (await this.users.findByPhone(phone)) throw new AppException(UsersErrors.PHONE_TAKEN);
    // users.update writes the row first (its lock), then this: a reclaim that committed meanwhile revoked our session.
    const changed = await this.users.update(user.id, { phone }, async (tx) => {
      await this.ownership.assertStillHeldIn(tx, principal);
      await this.audit.record({ type: 'phone_changed', outcome: 'success', userId: user.id, actorId: user.id, client }, tx);
      await this.events.emit(tx, 'user.phone_changed', { userId: user.id });
    });
    if (user.phone) await this.codes.notify({ channel: 'sms', destination: user.phone }, 'phone_changed', language);
    return changed;
  }

  /**
   * The one check behind every ⏱ route of this module (contact changes, API-key creation): a recent
   * authentication as AuthService.isRecentlyAuthenticated decides it (with the second factor when the
   * account has one), or, without MFA, the current password. An API key is never a recent authentication.
   */
  private async assertSensitiveActionAllowed(principal: Principal, password: string | undefined, client: ClientInfo): Promise<User> {
    const user = await this.users.getById(principal.userId);
    if (password !== undefined && !user.mfaMethods) {
      await this.auth.assertCurrentPassword(user, password, client);
      return user;
    }
    if (!this.auth.isRecentlyAuthenticated(principal, this.clock.now(), user)) throw new AppException(AuthErrors.RECENT_AUTH_REQUIRED);
    return user;
  }

  /** A new password's columns; every personal API key goes in the same transaction (whoever knew the old password may have made one). */
  private async newPasswordChanges(password: string): Promise<Partial<User>> {
    return { passwordHash: await this.users.hashPassword(password) };
  }

  /** After a password change or reset: pending codes die, and the owner hears about it. */
  private async afterCredentialChange(user: User, kind: 'password_changed' | 'password_reset', language: Language): Promise<void> {
    const destinations: { channel: Channel; destination: string }[] = [];
    if (user.emailKey) destinations.push({ channel: 'email', destination: user.emailKey });
    if (user.phone) destinations.push({ channel: 'sms', destination: user.phone });
    await this.codes.forget(destinations);
    if (destinations.length) await this.codes.notify(destinations[0], kind, language);
  }

  private resetDestination(dto: PasswordResetDto): string {
    if (dto.channel === 'email') {
      if (!dto.email) throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'email', message: 'email is required when channel is email' }] });
      return emailKey(dto.email);
    }
    if (!dto.phone) throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'phone', message: 'phone is required when channel is sms' }] });
    return this.phoneOrFail(dto.phone);
  }

  private phoneOrFail(input: string): string {
    const phone = normalisePhone(input);
    if (!phone) throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'phone', message: 'phone must be an E.164 number or an 11-digit Chinese mobile number' }] });
    return phone;
  }

  /**
   * Deletes the account: the row goes (so username, email and phone are free at once), sessions
   * and refresh tokens go with it (cascade) and are marked revoked for live access tokens; the
   * real-name record goes by cascade too, and the avatar files are deleted.
   * Audit events stay, keyed by the old id, with no personal data.
   */
  async deleteAccount(principal: Principal, dto: DeleteAccountDto, client: ClientInfo): Promise<void> {
    const user = await this.users.getById(principal.userId);
    // Accounts made by another identity provider have neither password nor phone: a recent sign-in (with the provider) proves them.
    const byRecentSignIn = !user.passwordHash && !user.phone;
    const proven = user.passwordHash
      ? !!dto.password && (await this.auth.currentPasswordMatches(user, dto.password, client))
      : byRecentSignIn
        ? principal.sessionId !== null && this.auth.isRecentlyAuthenticated(principal, this.clock.now(), user)
        : await this.provenBySmsCode(user, dto.code);
    if (!proven) {
      await this.audit.record({ type: 'account_deleted', outcome: 'failure', userId: user.id, actorId: user.id, client });
      throw new AppException(user.passwordHash ? UsersErrors.PASSWORD_INCORRECT : byRecentSignIn ? AuthErrors.RECENT_AUTH_REQUIRED : CommonErrors.FORBIDDEN);
    }
    // The sessions' revocation, the deletion and its event commit together; the guard's markers follow the commit.
    let revoked: string[] = [];
    await this.users.delete(user.id, async (tx) => {
      revoked = await this.sessions.revokeAllForUser(user.id, 'deleted', undefined, tx);
      await this.audit.record({ type: 'account_deleted', outcome: 'success', userId: user.id, actorId: user.id, client }, tx);
      await this.events.emit(tx, 'user.deleted', { userId: user.id });
    });
    await this.sessions.markRevoked(revoked);
    await this.avatars.removeFor(user);
  }

  /** Password-less phone accounts prove themselves with an SMS code (purpose login) sent to their phone. */
  private async provenBySmsCode(user: User, code: string | undefined): Promise<boolean> {
    if (!user.phone || !code) return false;
    await this.codes.consume({ channel: 'sms', destination: user.phone, purpose: 'login' }, code);
    return true;
  }

  /** A named, scoped, expiring key (⏱); at most API_KEYS_PER_USER unexpired ones, and as many in all (expired ones give way). */
  async createApiKey(principal: Principal, dto: CreateApiKeyDto, client: ClientInfo): Promise<CreatedApiKeyDto> {
    this.ownership.assertMayAddSignInMethod(await this.assertSensitiveActionAllowed(principal, undefined, client));
    return this.issueApiKey(principal, { name: dto.name, scopes: dto.scopes, expiresInDays: dto.expiresInDays ?? DEFAULT_KEY_DAYS }, client);
  }

  /** The deprecated POST /users/me/api-key: a profile:read+profile:write key named "default", replacing the previous "default". */
  async createDefaultApiKey(principal: Principal, client: ClientInfo): Promise<CreatedApiKeyDto> {
    this.ownership.assertMayAddSignInMethod(await this.assertSensitiveActionAllowed(principal, undefined, client));
    return this.issueApiKey(principal, { name: 'default', scopes: ['profile:read', 'profile:write'], expiresInDays: DEFAULT_KEY_DAYS }, client, { name: 'default' });
  }

  private async issueApiKey(principal: Principal, input: { name: string; scopes: CreateApiKeyDto['scopes']; expiresInDays: number }, client: ClientInfo, replacing?: { name: string }): Promise<CreatedApiKeyDto> {
    const userId = principal.userId;
    const { key, secret } = await this.apiKeys.create(
      userId,
      input,
      async (tx, created) => {
        await this.ownership.assertStillHeldIn(tx, principal);
        await this.audit.record({ type: 'api_key_created', outcome: 'success', userId, actorId: userId, client, detail: { keyId: created.id, scopes: created.scopes.join(' '), expiresAt: created.expiresAt.toISOString() } }, tx);
      },
      replacing,
    );
    return { id: key.id, name: key.name, scopes: key.scopes, expiresAt: key.expiresAt.toISOString(), apiKey: secret };
  }

  async deleteApiKey(principal: Principal, keyId: string, client: ClientInfo): Promise<void> {
    const userId = principal.userId;
    const deleted = await this.apiKeys.delete(userId, keyId, (tx) => this.audit.record({ type: 'api_key_deleted', outcome: 'success', userId, actorId: userId, client, detail: { keyId } }, tx));
    if (!deleted) throw new AppException(AccountErrors.API_KEY_NOT_FOUND);
  }
}
