import { randomUUID } from 'node:crypto';
import { Injectable, OnModuleInit } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { Clock } from '@/common/clock';
import { AppException } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { Language } from '@/common/i18n';
import { AccountOwnershipService } from '@/modules/account/account-ownership.service';
import { AuditService } from '@/modules/audit/audit.service';
import { EventsService } from '@/modules/events/events.service';
import { User } from '@/modules/users/user.entity';
import { UsersService } from '@/modules/users/users.service';
import { VerificationCodesService } from '@/modules/verification/codes/verification-codes.service';
import { IdentityDto } from './dto/federation.dto';
import { FederationErrors } from './federation.errors';
import { IdentitiesRepository, isUniqueViolation } from './identities.repository';
import { ProviderProfile } from './providers/identity-provider';
import { UserIdentity } from './user-identity.entity';

export const toIdentityView = (identity: UserIdentity): IdentityDto => ({
  provider: identity.provider,
  subject: identity.subject,
  email: identity.email,
  linkedAt: identity.linkedAt.toISOString(),
});

/** The identities linked to accounts: listed, added at sign-up or by linking, removed by unlinking (or with the account). */
@Injectable()
export class IdentitiesService implements OnModuleInit {
  constructor(
    private readonly identities: IdentitiesRepository,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly codes: VerificationCodesService,
    private readonly clock: Clock,
    private readonly ownership: AccountOwnershipService,
  ) {}

  /** Whoever proves an unproven email gets the account without the identities an earlier holder linked. */
  onModuleInit(): void {
    this.ownership.register({ name: 'identities', run: (userId, tx) => this.identities.deleteAllForUser(userId, tx) });
  }

  /** Before a link starts or completes: an account whose email is unproven adds no sign-in method (403 EMAIL_NOT_VERIFIED). */
  assertMayLink(user: User): void {
    this.ownership.assertMayAddSignInMethod(user);
  }

  findBySubject(provider: string, subject: string): Promise<UserIdentity | null> {
    return this.identities.findBySubject(provider, subject);
  }

  /** How many identities the account has linked, read inside `tx` (for the last-sign-in-method rule of other modules). */
  countFor(userId: string, tx: EntityManager): Promise<number> {
    return this.identities.countForUser(userId, tx);
  }

  async listFor(userId: string): Promise<IdentityDto[]> {
    return (await this.identities.listForUser(userId)).map(toIdentityView);
  }

  /** Inside the caller's transaction; the unique indexes turn a lost race into IDENTITY_ALREADY_LINKED. */
  async add(tx: EntityManager, userId: string, provider: string, profile: ProviderProfile): Promise<void> {
    const identity = Object.assign(new UserIdentity(), {
      id: randomUUID(),
      userId,
      provider,
      subject: profile.subject,
      email: profile.email?.slice(0, 254) ?? null,
      linkedAt: new Date(this.clock.now()),
    });
    try {
      await this.identities.insert(identity, tx);
    } catch (error) {
      throw isUniqueViolation(error) ? new AppException(FederationErrors.IDENTITY_ALREADY_LINKED) : error;
    }
  }

  /**
   * Links an identity to a signed-in account that asked for it, from the session `sessionId`; already
   * linked to that account is fine. The account row is written first in the transaction (a reclaim
   * locks it first too), then the session must still be live: a reclaim that committed after the
   * callback's checks revoked it, and the identity would otherwise outlive the reclaim.
   */
  async link(user: User, sessionId: string, provider: string, profile: ProviderProfile, client: ClientInfo, language: Language): Promise<void> {
    this.assertMayLink(user);
    const existing = await this.identities.findBySubject(provider, profile.subject);
    if (existing?.userId === user.id) return;
    if (existing || (await this.identities.findForUser(user.id, provider))) throw new AppException(FederationErrors.IDENTITY_ALREADY_LINKED);
    await this.users.update(user.id, {}, async (tx) => {
      // The callback's answer for a session that ended meanwhile, as when it signed out before the callback.
      await this.ownership.assertStillHeldIn(tx, { userId: user.id, sessionId }, FederationErrors.OAUTH_STATE_INVALID);
      await this.add(tx, user.id, provider, profile);
      await this.audit.record({ type: 'identity_linked', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { provider } }, tx);
      await this.events.emit(tx, 'user.identity_linked', { userId: user.id, provider });
    });
    await this.notify(user, 'identity_linked', language);
  }

  /**
   * Removes the caller's identity from one provider, unless nothing else could then sign in (a
   * password, a phone for SMS codes, another identity). The account row is written first in the
   * transaction, so two parallel unlinks take turns and the second sees the first one's result.
   */
  async unlink(user: User, provider: string, client: ClientInfo, language: Language): Promise<void> {
    const identity = await this.identities.findForUser(user.id, provider);
    if (!identity) throw new AppException(FederationErrors.IDENTITY_NOT_FOUND);
    await this.users.update(user.id, {}, async (tx) => {
      const othersLeft = (await this.identities.countForUser(user.id, tx)) - 1;
      if (othersLeft < 1 && !(await this.users.canSignInWithoutProviders(user.id, tx))) throw new AppException(FederationErrors.LAST_SIGN_IN_METHOD);
      await this.identities.delete(identity.id, tx);
      await this.audit.record({ type: 'identity_unlinked', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { provider } }, tx);
      await this.events.emit(tx, 'user.identity_unlinked', { userId: user.id, provider });
    });
    await this.notify(user, 'identity_unlinked', language);
  }

  private async notify(user: User, kind: 'identity_linked' | 'identity_unlinked', language: Language): Promise<void> {
    if (user.emailKey) await this.codes.notify({ channel: 'email', destination: user.emailKey }, kind, language);
    else if (user.phone) await this.codes.notify({ channel: 'sms', destination: user.phone }, kind, language);
  }
}
