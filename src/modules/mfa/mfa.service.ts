import { randomUUID } from 'node:crypto';
import { Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type * as QrCode from 'qrcode';
import { EntityManager, IsNull, QueryFailedError, Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { inTransaction } from '@/database/transaction';
import { Clock } from '@/common/clock';
import { AppException } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { Language } from '@/common/i18n';
import { KvStore } from '@/common/kv/kv-store';
import { AccountOwnershipService } from '@/modules/account/account-ownership.service';
import { AuditService } from '@/modules/audit/audit.service';
import { EventsService } from '@/modules/events/events.service';
import { MfaMethod } from '@/modules/auth/dto/auth.dto';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { RealNameCipher } from '@/modules/real-name/real-name-cipher';
import { User } from '@/modules/users/user.entity';
import { UsersService } from '@/modules/users/users.service';
import { VerificationCodesService } from '@/modules/verification/codes/verification-codes.service';
import { MfaNoticeKind } from '@/modules/verification/codes/messages';
import { MfaStatusDto, TotpEnrolmentDto } from './dto/mfa.dto';
import { MfaTotp, RecoveryCode } from './mfa.entities';
import { MfaErrors } from './mfa.errors';
import { newRecoveryCodes, normaliseRecoveryCode } from './recovery-codes';
import { Passkey } from './webauthn/passkey.entity';
import { matchingTotpStep, newTotpSecret, TOTP_PERIOD_SECONDS, totpUrl } from './totp';

/** An enrolment not confirmed within this is gone. */
const PENDING_TOTP_MS = 10 * 60_000;
/** A used step is remembered while its code could still be accepted (±1 step), plus a margin. */
const USED_STEP_TTL_MS = 4 * TOTP_PERIOD_SECONDS * 1000;

export type SecondFactor = Exclude<MfaMethod, 'recovery_code'>;

function methodsWith(current: string | null, method: SecondFactor): string {
  return [...new Set([...(current?.split(',').filter(Boolean) ?? []), method])].join(',');
}

function methodsWithout(current: string | null, method: SecondFactor): string | null {
  const left = (current?.split(',').filter(Boolean) ?? []).filter((m) => m !== method);
  return left.length ? left.join(',') : null;
}

let loadedQrCode: typeof QrCode | null = null;

/** qrcode (with pngjs) is loaded on the first TOTP enrolment, not at start-up: most servers never draw one (~0.7 MB of heap, 58 modules). */
function qrCode(): typeof QrCode {
  return (loadedQrCode ??= require('qrcode') as typeof QrCode);
}

/**
 * The account's second factors: TOTP (secret sealed with the real-name key ring), recovery codes
 * (keyed digests, single-use) and the users.mfa_methods summary that sign-in reads. Every change is
 * audited in its transaction and notified to the owner.
 */
@Injectable()
export class MfaService implements OnModuleInit {
  constructor(
    @InjectRepository(MfaTotp) private readonly totps: Repository<MfaTotp>,
    @InjectRepository(RecoveryCode) private readonly codes: Repository<RecoveryCode>,
    @InjectRepository(Passkey) private readonly passkeys: Repository<Passkey>,
    private readonly users: UsersService,
    private readonly sessions: SessionsService,
    private readonly cipher: RealNameCipher,
    private readonly kv: KvStore,
    private readonly clock: Clock,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly notices: VerificationCodesService,
    private readonly ownership: AccountOwnershipService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Whoever proves an unproven email gets the account without the factors an earlier holder set up (users.mfa_methods is cleared with the reclaim's columns). */
  onModuleInit(): void {
    this.ownership.register({
      name: 'mfa_factors',
      run: async (userId, tx) => {
        if (await this.removeAllIn(tx, userId)) await this.events.emit(tx, 'user.mfa_changed', { userId, factor: 'all', change: 'reset' });
      },
    });
  }

  /** Every factor and recovery code of the account, inside `tx`; true when there was any (so the caller reports user.mfa_changed). */
  private async removeAllIn(tx: EntityManager, userId: string): Promise<boolean> {
    const removed = [await tx.delete(MfaTotp, { userId }), await tx.delete(RecoveryCode, { userId }), await tx.delete(Passkey, { userId })];
    return removed.some((result) => (result.affected ?? 0) > 0);
  }

  async status(user: User): Promise<MfaStatusDto> {
    const totp = await this.totps.findOneBy({ userId: user.id });
    const recoveryCodesLeft = await this.codes.countBy({ userId: user.id, usedAt: IsNull() });
    const passkeys = await this.passkeys.find({ where: { userId: user.id }, order: { createdAt: 'ASC' } });
    return {
      totp: { enabled: !!totp?.confirmedAt, createdAt: totp?.confirmedAt?.toISOString() ?? null },
      passkeys: passkeys.map((row) => ({ id: row.id, name: row.name, createdAt: row.createdAt.toISOString(), lastUsedAt: row.lastUsedAt?.toISOString() ?? null })),
      recoveryCodesLeft,
      required: this.config.mfa.requiredRoles.includes(user.role),
    };
  }

  /** A new secret, pending until confirmed with a first code (10 minutes); a second call replaces it. */
  async startTotp(user: User): Promise<TotpEnrolmentDto> {
    this.ownership.assertMayAddSignInMethod(user);
    if (this.has(user, 'totp')) throw new AppException(MfaErrors.MFA_ALREADY_ENABLED);
    const secret = newTotpSecret();
    const row = Object.assign(new MfaTotp(), {
      userId: user.id,
      keyId: this.cipher.currentKeyId,
      secretEnc: this.cipher.seal(secret, 'totp_secret', user.id),
      createdAt: new Date(this.clock.now()),
      confirmedAt: null,
    });
    try {
      await inTransaction(this.totps.manager, async (tx) => {
        await tx.delete(MfaTotp, { userId: user.id, confirmedAt: IsNull() });
        await tx.insert(MfaTotp, row);
      });
    } catch (error) {
      // A parallel confirmation won: the row that stands is a confirmed one.
      if (error instanceof QueryFailedError) throw new AppException(MfaErrors.MFA_ALREADY_ENABLED);
      throw error;
    }
    const otpauthUrl = totpUrl(secret, this.config.mfa.totpIssuer, user.username);
    return { secret, otpauthUrl, qrCodeSvg: await qrCode().toString(otpauthUrl, { type: 'svg', margin: 1 }) };
  }

  /** Confirms the pending secret with a code; the first factor of an account also gets its recovery codes. */
  async confirmTotp(user: User, code: string, sessionId: string | null, client: ClientInfo, language: Language): Promise<string[] | undefined> {
    const row = await this.totps.findOneBy({ userId: user.id });
    if (row?.confirmedAt) throw new AppException(MfaErrors.MFA_ALREADY_ENABLED);
    if (!row || row.createdAt.getTime() + PENDING_TOTP_MS <= this.clock.now()) throw new AppException(MfaErrors.MFA_NOT_ENROLLED);
    if (!(await this.acceptTotp(user.id, this.secretOf(row), code))) throw new AppException(MfaErrors.MFA_INVALID);
    const recoveryCodes = user.mfaMethods ? undefined : newRecoveryCodes();
    await this.users.update(user.id, { mfaMethods: methodsWith(user.mfaMethods, 'totp') }, async (tx) => {
      await this.ownership.assertStillHeldIn(tx, { userId: user.id, sessionId });
      const confirmed = await tx.update(MfaTotp, { userId: user.id, confirmedAt: IsNull() }, { confirmedAt: new Date(this.clock.now()) });
      if (!confirmed.affected) throw new AppException(MfaErrors.MFA_ALREADY_ENABLED);
      if (recoveryCodes) await this.replaceRecoveryCodes(tx, user.id, recoveryCodes);
      await this.audit.record({ type: 'mfa_enabled', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { method: 'totp' } }, tx);
      await this.events.emit(tx, 'user.mfa_changed', { userId: user.id, factor: 'totp', change: 'added' });
    });
    // This session has just proven the second factor too.
    if (sessionId) await this.sessions.addMethods(sessionId, ['otp', 'mfa']);
    await this.notify(user, 'mfa_added', language);
    return recoveryCodes;
  }

  async removeTotp(user: User, client: ClientInfo, language: Language): Promise<void> {
    if (!this.has(user, 'totp')) throw new AppException(MfaErrors.MFA_NOT_ENROLLED);
    const left = methodsWithout(user.mfaMethods, 'totp');
    await this.users.update(user.id, { mfaMethods: left }, async (tx) => {
      await tx.delete(MfaTotp, { userId: user.id });
      // Recovery codes exist to stand in for a factor: with none left they would be a password of their own.
      if (!left) await tx.delete(RecoveryCode, { userId: user.id });
      await this.audit.record({ type: 'mfa_disabled', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { method: 'totp' } }, tx);
      await this.events.emit(tx, 'user.mfa_changed', { userId: user.id, factor: 'totp', change: 'removed' });
    });
    await this.notify(user, 'mfa_removed', language);
  }

  /** A new set of ten; the old set stops working in the same transaction. */
  async regenerateRecoveryCodes(user: User, client: ClientInfo): Promise<string[]> {
    if (!user.mfaMethods) throw new AppException(MfaErrors.MFA_NOT_ENROLLED);
    const recoveryCodes = newRecoveryCodes();
    await inTransaction(this.codes.manager, async (tx) => {
      await this.replaceRecoveryCodes(tx, user.id, recoveryCodes);
      await this.audit.record({ type: 'recovery_codes_regenerated', outcome: 'success', userId: user.id, actorId: user.id, client }, tx);
      await this.events.emit(tx, 'user.mfa_changed', { userId: user.id, factor: 'recovery_codes', change: 'regenerated' });
    });
    return recoveryCodes;
  }

  /** An admin's reset: every factor and recovery code goes, every session is revoked, the owner is told. */
  async adminReset(userId: string, actorId: string, client: ClientInfo, language: Language): Promise<void> {
    const user = await this.users.getById(userId);
    let revoked: string[] = [];
    await this.users.update(user.id, { mfaMethods: null }, async (tx) => {
      await this.removeAllIn(tx, user.id);
      revoked = await this.sessions.revokeAllForUser(user.id, 'revoked', undefined, tx);
      await this.audit.record({ type: 'mfa_reset', outcome: 'success', userId: user.id, actorId, client, detail: { sessionsRevoked: revoked.length } }, tx);
      await this.events.emit(tx, 'user.mfa_changed', { userId: user.id, factor: 'all', change: 'reset' });
    });
    await this.sessions.markRevoked(revoked);
    await this.notify(user, 'mfa_reset', language);
  }

  /** Checks a second-factor answer: a TOTP code (each accepted once) or an unused recovery code (spent now); passkeys are PasskeysService's. */
  async verify(user: User, method: MfaMethod, code: string | undefined): Promise<boolean> {
    if (!code) return false;
    if (method === 'totp') {
      if (!this.has(user, 'totp')) return false;
      const row = await this.totps.findOneBy({ userId: user.id });
      return !!row?.confirmedAt && (await this.acceptTotp(user.id, this.secretOf(row), code));
    }
    if (method === 'recovery_code') {
      const normalised = normaliseRecoveryCode(code);
      if (!normalised || !user.mfaMethods) return false;
      // The conditional update lets exactly one of several parallel uses of a code win.
      const spent = await this.codes.update({ userId: user.id, codeHash: this.digest(normalised), usedAt: IsNull() }, { usedAt: new Date(this.clock.now()) });
      return spent.affected === 1;
    }
    return false;
  }

  /** RFC 8176 value for a second factor. */
  amrOf(method: MfaMethod): string {
    return method === 'passkey' ? 'hwk' : 'otp';
  }

  /** users.mfa_methods with `method` added. */
  methodsWith(current: string | null, method: SecondFactor): string {
    return methodsWith(current, method);
  }

  /** users.mfa_methods without `method` (null when nothing is left). */
  methodsWithout(current: string | null, method: SecondFactor): string | null {
    return methodsWithout(current, method);
  }

  /** The first set of recovery codes of an account that has just got its first factor (inside that change's transaction). */
  async issueRecoveryCodesIn(tx: EntityManager, userId: string): Promise<string[]> {
    const recoveryCodes = newRecoveryCodes();
    await this.replaceRecoveryCodes(tx, userId, recoveryCodes);
    return recoveryCodes;
  }

  /** With no factor left, recovery codes would be a password of their own: they go with the last one. */
  async removeRecoveryCodesIn(tx: EntityManager, userId: string): Promise<void> {
    await tx.delete(RecoveryCode, { userId });
  }

  private has(user: Pick<User, 'mfaMethods'>, method: SecondFactor): boolean {
    return (user.mfaMethods?.split(',') ?? []).includes(method);
  }

  /** A code matching a step of ±1 is accepted once: the step is claimed atomically in the shared store, across instances. */
  private async acceptTotp(userId: string, secret: string, code: string): Promise<boolean> {
    const step = matchingTotpStep(secret, code, this.clock.now());
    if (step === null) return false;
    return this.kv.setIfAbsent(`totp-used:${userId}:${step}`, '1', USED_STEP_TTL_MS);
  }

  private secretOf(row: MfaTotp): string {
    return this.cipher.open(row.secretEnc, row.keyId, 'totp_secret', row.userId);
  }

  private async replaceRecoveryCodes(tx: EntityManager, userId: string, codes: string[]): Promise<void> {
    const now = new Date(this.clock.now());
    await tx.delete(RecoveryCode, { userId });
    await tx.insert(
      RecoveryCode,
      codes.map((code) => ({ id: randomUUID(), userId, codeHash: this.digest(normaliseRecoveryCode(code)!), createdAt: now, usedAt: null })),
    );
  }

  private digest(normalisedCode: string): string {
    return this.cipher.digest('mfa-recovery-code', normalisedCode);
  }

  /** Email when the account has one, else SMS. */
  async notify(user: User, kind: MfaNoticeKind, language: Language): Promise<void> {
    const to = user.emailKey ? { channel: 'email' as const, destination: user.emailKey } : user.phone ? { channel: 'sms' as const, destination: user.phone } : null;
    if (to) await this.notices.notify(to, kind, language);
  }
}
