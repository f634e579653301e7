import { Injectable, Logger } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { AppException, CommonErrors, ErrorEntry } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import type { Language } from '@/common/i18n';
import { AuditService } from '@/modules/audit/audit.service';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { User } from '@/modules/users/user.entity';
import { VerificationCodesService } from '@/modules/verification/codes/verification-codes.service';
import { AccountErrors } from './account.errors';
import { ApiKeysService } from './api-keys.service';

/**
 * One thing another module removes when an account is reclaimed (its second factors, its linked
 * identities): it runs inside the reclaiming transaction, so the account is never left half clean.
 */
export interface ReclaimStep {
  /** Names the step in the audit event ("identities", "mfa_factors"). */
  name: string;
  run(userId: string, tx: EntityManager): Promise<void>;
}

/** What a reclaim did, for the caller's after-commit work. */
export interface Reclaimed {
  revokedSessions: string[];
  removedPhone: string | null;
}

/**
 * Who owns an account. An email that was never proven is only a claim: whoever proves it later (a
 * reset by email code, or the verification route) gets the account clean — every phone, key, session,
 * second factor and identity the earlier holder added is removed ("the account was reclaimed"). Until
 * the email is proven, no other sign-in method can be added (assertMayAddSignInMethod), so an
 * attacker who signs up with someone else's address cannot plant one.
 *
 * Phones need none of this: a phone is proven by a code whenever it is set (sign-up, change_phone), so
 * whoever proves it by SMS is whoever added it (or its rightful later holder) — a reset by SMS does
 * not reclaim, and leaves an unproven email unproven (its owner can still reclaim by email).
 */
@Injectable()
export class AccountOwnershipService {
  private readonly logger = new Logger('AccountOwnership');
  private readonly steps: ReclaimStep[] = [];

  constructor(
    private readonly sessions: SessionsService,
    private readonly apiKeys: ApiKeysService,
    private readonly audit: AuditService,
    private readonly codes: VerificationCodesService,
  ) {}

  /** Modules that add sign-in methods (MFA, federation) register their removal here, once, at start-up. */
  register(step: ReclaimStep): void {
    if (this.steps.some((known) => known.name === step.name)) throw new Error(`Reclaim step ${step.name} is registered twice`);
    this.steps.push(step);
    this.logger.debug(`reclaim step registered: ${step.name}`);
  }

  /** The one check before any sign-in method is added (phone, API key; passkeys, TOTP, identities): 403 EMAIL_NOT_VERIFIED. */
  assertMayAddSignInMethod(user: Pick<User, 'emailKey' | 'emailVerified'>): void {
    if (this.hasUnprovenEmail(user)) throw new AppException(AccountErrors.EMAIL_NOT_VERIFIED);
  }

  /**
   * Inside the transaction that adds a sign-in method, once it holds the account row's lock (a reclaim
   * takes that lock first too): the caller's session must still be live. The gate above judged the
   * account as it was; a reclaim committing between the guard's check and this write revokes the
   * session and would otherwise leave the new method behind (401 UNAUTHENTICATED, nothing written).
   * `refusal` is what a flow answers for a dead session when 401 is not its answer (a link's callback).
   */
  async assertStillHeldIn(tx: EntityManager, caller: { userId: string; sessionId: string | null }, refusal: ErrorEntry = CommonErrors.UNAUTHENTICATED): Promise<void> {
    if (caller.sessionId && !(await this.sessions.isLiveIn(tx, caller.userId, caller.sessionId))) throw new AppException(refusal);
  }

  hasUnprovenEmail(user: Pick<User, 'emailKey' | 'emailVerified'>): boolean {
    return !!user.emailKey && !user.emailVerified;
  }

  /** The account columns a reclaim changes (written by the caller's UsersService.update, with `reclaimIn` as its alsoWrite). */
  readonly reclaimedColumns: Partial<User> = { phone: null, emailVerified: true, mfaMethods: null };

  /**
   * Inside the transaction that proves the email: every session (but `keepSessionId`, the prover's
   * own) and API key goes, then every registered step; audited as account_reclaimed.
   */
  async reclaimIn(user: User, tx: EntityManager, client: ClientInfo, proof: 'password_reset' | 'email_verification', keepSessionId?: string): Promise<Reclaimed> {
    const revokedSessions = await this.sessions.revokeAllForUser(user.id, proof === 'password_reset' ? 'password_reset' : 'revoked', keepSessionId, tx);
    const keys = await this.apiKeys.deleteAllForUser(user.id, tx);
    for (const step of this.steps) await step.run(user.id, tx);
    await this.audit.record(
      {
        type: 'account_reclaimed',
        outcome: 'success',
        userId: user.id,
        actorId: user.id,
        client,
        detail: { proof, phoneRemoved: user.phone !== null, apiKeysDeleted: keys, sessionsRevoked: revokedSessions.length, steps: this.steps.map((step) => step.name).join(' ') },
      },
      tx,
    );
    return { revokedSessions, removedPhone: user.phone };
  }

  /** After the commit: the guard learns of the revoked sessions, the prover and the removed phone hear of it. */
  async afterReclaim(user: User, reclaimed: Reclaimed, language: Language): Promise<void> {
    await this.sessions.markRevoked(reclaimed.revokedSessions);
    if (user.emailKey) await this.codes.notify({ channel: 'email', destination: user.emailKey }, 'account_reclaimed', language);
    if (reclaimed.removedPhone) await this.codes.notify({ channel: 'sms', destination: reclaimed.removedPhone }, 'phone_changed', language);
  }
}
