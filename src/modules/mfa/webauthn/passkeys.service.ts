import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type * as WebAuthn from '@simplewebauthn/server';
import type { AuthenticationResponseJSON, AuthenticatorTransport, RegistrationResponseJSON } from '@simplewebauthn/server';
import { QueryFailedError, Repository } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { AppException } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { Language } from '@/common/i18n';
import { AccountOwnershipService } from '@/modules/account/account-ownership.service';
import { AuditService } from '@/modules/audit/audit.service';
import { AuthService } from '@/modules/auth/auth.service';
import { TokenPairDto } from '@/modules/auth/dto/auth.dto';
import { LoginThrottle } from '@/modules/auth/login-throttle.service';
import { MfaChallenges } from '@/modules/auth/mfa-challenges';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { EventsService } from '@/modules/events/events.service';
import { FederationErrors } from '@/modules/federation/federation.errors';
import { IdentitiesService } from '@/modules/federation/identities.service';
import { MetricsService } from '@/modules/operations/metrics.service';
import { User } from '@/modules/users/user.entity';
import { UsersService } from '@/modules/users/users.service';
import { MfaErrors } from '../mfa.errors';
import { MfaService } from '../mfa.service';
import { AddPasskeyDto, AuthenticationResponseDto, CreationOptionsDto, NewPasskeyDto, PasskeyLoginOptionsDto, PasskeySummaryDto, RequestOptionsDto } from './dto/passkeys.dto';
import { Passkey } from './passkey.entity';
import { CHALLENGE_TTL_MS, ChallengePurpose, challengeOf, hashMfaToken, WebAuthnChallenges } from './webauthn-challenges';

/** EdDSA, ES256, RS256: named here so the options do not change with the Node version (simplewebauthn adds ML-DSA where the runtime has it). */
const ALGORITHMS = [-8, -7, -257];

/** RFC 8176 for a passkey sign-in: proof of possession of a key (hwk), and with user verification (required) a second factor (mfa). */
export const PASSKEY_AMR = ['hwk', 'mfa'];

export function toPasskeyView(row: Passkey): PasskeySummaryDto {
  return { id: row.id, name: row.name, createdAt: row.createdAt.toISOString(), lastUsedAt: row.lastUsedAt?.toISOString() ?? null };
}

let loaded: typeof WebAuthn | null = null;

/** @simplewebauthn/server is loaded by the first passkey ceremony, not at start-up (~3.7 MB of heap, 293 modules). */
function webauthn(): typeof WebAuthn {
  return (loaded ??= require('@simplewebauthn/server') as typeof WebAuthn);
}

/** The account id as WebAuthn's user handle (a random UUID: no personal data in it). */
function userHandleOf(userId: string): string {
  return Buffer.from(userId, 'utf8').toString('base64url');
}

/**
 * Passkeys (WebAuthn, @simplewebauthn/server): registration (at most PASSKEYS_PER_USER per account),
 * list/rename/delete, and every assertion — a username-less sign-in, the second factor after a first
 * one, step-up. Each ceremony takes its single-use challenge from the shared store before it verifies
 * anything; the origin (WEBAUTHN_ORIGINS), RP ID, challenge, user verification and signature counter
 * are checked by verification, the counter moved forward by one conditional update.
 */
@Injectable()
export class PasskeysService {
  constructor(
    @InjectRepository(Passkey) private readonly passkeys: Repository<Passkey>,
    private readonly challenges: WebAuthnChallenges,
    private readonly mfa: MfaService,
    private readonly mfaChallenges: MfaChallenges,
    private readonly users: UsersService,
    private readonly identities: IdentitiesService,
    private readonly auth: AuthService,
    private readonly throttle: LoginThrottle,
    private readonly sessions: SessionsService,
    private readonly ownership: AccountOwnershipService,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly metrics: MetricsService,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async list(userId: string): Promise<PasskeySummaryDto[]> {
    const rows = await this.passkeys.find({ where: { userId }, order: { createdAt: 'ASC' } });
    return rows.map(toPasskeyView);
  }

  // ---- Registration ----

  /**
   * Creation options for the caller: discoverable (resident key) and user-verified, excluding the
   * passkeys already registered. An account at PASSKEYS_PER_USER gets no challenge: the browser would
   * make a credential on the authenticator that registration then has to refuse.
   */
  async registrationOptions(user: User): Promise<CreationOptionsDto> {
    this.ownership.assertMayAddSignInMethod(user);
    const { rpId, rpName } = this.config.mfa.webauthn;
    const existing = await this.passkeys.find({ where: { userId: user.id } });
    if (existing.length >= this.config.mfa.passkeysPerUser) throw new AppException(MfaErrors.PASSKEY_LIMIT_REACHED);
    const { challenge } = await this.challenges.issue('registration', { userId: user.id }, { account: user.id });
    const options = await webauthn().generateRegistrationOptions({
      rpName,
      rpID: rpId,
      userName: user.username,
      userDisplayName: user.displayName ?? user.username,
      userID: new Uint8Array(Buffer.from(user.id, 'utf8')),
      challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
      timeout: CHALLENGE_TTL_MS,
      attestationType: 'none',
      excludeCredentials: existing.map((row) => ({ id: row.credentialId, transports: transportsOf(row) })),
      authenticatorSelection: { residentKey: 'required', requireResidentKey: true, userVerification: 'required' },
      supportedAlgorithmIDs: ALGORITHMS,
    });
    return options as unknown as CreationOptionsDto;
  }

  /**
   * Verifies the browser's answer to the caller's registration challenge and stores the passkey. The
   * first second factor of an account also gets its recovery codes; this session has just proven a
   * user-verified key, so it counts as a fresh second factor (as a confirmed TOTP does). The cap is
   * counted again when writing: options issued while there was room may be answered later, or many at once.
   */
  async register(user: User, dto: AddPasskeyDto, sessionId: string | null, client: ClientInfo, language: Language): Promise<NewPasskeyDto> {
    this.ownership.assertMayAddSignInMethod(user);
    const challenge = challengeOf(dto.response.response.clientDataJSON);
    const stored = challenge ? await this.challenges.take('registration', challenge) : null;
    if (!stored || stored.userId !== user.id) throw new AppException(MfaErrors.PASSKEY_INVALID);
    const { rpId, origins } = this.config.mfa.webauthn;
    const verified = await webauthn().verifyRegistrationResponse({
      response: dto.response as unknown as RegistrationResponseJSON,
      expectedChallenge: stored.challenge,
      expectedOrigin: origins,
      expectedRPID: rpId,
      requireUserVerification: true,
      supportedAlgorithmIDs: ALGORITHMS,
    }).catch(() => null);
    if (!verified?.verified) throw new AppException(MfaErrors.PASSKEY_INVALID);
    const { credential, aaguid, credentialDeviceType, credentialBackedUp } = verified.registrationInfo;
    if (await this.passkeys.existsBy({ credentialId: credential.id })) throw new AppException(MfaErrors.MFA_ALREADY_ENABLED);
    const row = Object.assign(new Passkey(), {
      id: randomUUID(),
      userId: user.id,
      credentialId: credential.id,
      publicKey: Buffer.from(credential.publicKey).toString('base64url'),
      counter: credential.counter,
      transports: dto.response.response.transports?.join(',') || null,
      backupEligible: credentialDeviceType === 'multiDevice',
      backedUp: credentialBackedUp,
      aaguid,
      name: dto.name?.trim() || 'Passkey',
      createdAt: new Date(this.clock.now()),
      lastUsedAt: null,
    });
    let recoveryCodes: string[] | undefined;
    try {
      await this.users.update(user.id, {}, async (tx) => {
        await this.ownership.assertStillHeldIn(tx, { userId: user.id, sessionId });
        // users.update wrote the account row first (locked on MySQL; SQLite runs one transaction at a
        // time), so parallel registrations count one after another and only the room left gets in.
        if ((await tx.countBy(Passkey, { userId: user.id })) >= this.config.mfa.passkeysPerUser) throw new AppException(MfaErrors.PASSKEY_LIMIT_REACHED);
        const methods = await this.users.mfaMethodsIn(user.id, tx);
        await tx.insert(Passkey, row);
        await this.users.setMfaMethodsIn(user.id, this.mfa.methodsWith(methods, 'passkey'), tx);
        if (!methods) recoveryCodes = await this.mfa.issueRecoveryCodesIn(tx, user.id);
        await this.audit.record({ type: 'mfa_enabled', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { method: 'passkey', passkeyId: row.id } }, tx);
        await this.events.emit(tx, 'user.mfa_changed', { userId: user.id, factor: 'passkey', change: 'added' });
      });
    } catch (error) {
      // The same authenticator registered at the same moment by another request (or account): the unique index decides.
      if (error instanceof QueryFailedError && /UNIQUE|Duplicate/i.test(error.message)) throw new AppException(MfaErrors.MFA_ALREADY_ENABLED);
      throw error;
    }
    if (sessionId) await this.sessions.addMethods(sessionId, PASSKEY_AMR);
    await this.mfa.notify(user, 'mfa_added', language);
    return { ...toPasskeyView(row), ...(recoveryCodes ? { recoveryCodes } : {}) };
  }

  async rename(user: User, id: string, name: string): Promise<PasskeySummaryDto> {
    const renamed = await this.passkeys.update({ id, userId: user.id }, { name: name.trim() || 'Passkey' });
    if (!renamed.affected) throw new AppException(MfaErrors.PASSKEY_NOT_FOUND);
    return toPasskeyView(await this.passkeys.findOneByOrFail({ id, userId: user.id }));
  }

  /**
   * Removes one of the caller's passkeys; with none left, "passkey" leaves users.mfa_methods (and with
   * no factor left, the recovery codes go). Refused (409 LAST_SIGN_IN_METHOD) when the account could
   * then not sign in at all: no password, no phone, no linked identity. The users row is written first,
   * so parallel removals take turns and each sees what the others left.
   */
  async remove(user: User, id: string, client: ClientInfo, language: Language): Promise<void> {
    await this.users.update(user.id, {}, async (tx) => {
      const row = await tx.findOneBy(Passkey, { id, userId: user.id });
      if (!row) throw new AppException(MfaErrors.PASSKEY_NOT_FOUND);
      await tx.delete(Passkey, { id: row.id });
      const left = await tx.countBy(Passkey, { userId: user.id });
      if (!left) {
        if (!(await this.users.canSignInWithoutPasskeys(user.id, await this.identities.countFor(user.id, tx), tx))) throw new AppException(FederationErrors.LAST_SIGN_IN_METHOD);
        const methods = this.mfa.methodsWithout(await this.users.mfaMethodsIn(user.id, tx), 'passkey');
        await this.users.setMfaMethodsIn(user.id, methods, tx);
        if (!methods) await this.mfa.removeRecoveryCodesIn(tx, user.id);
      }
      await this.audit.record({ type: 'mfa_disabled', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { method: 'passkey', passkeyId: row.id } }, tx);
      await this.events.emit(tx, 'user.mfa_changed', { userId: user.id, factor: 'passkey', change: 'removed' });
    });
    await this.mfa.notify(user, 'mfa_removed', language);
  }

  // ---- Assertions ----

  /** Request options for the second factor of a pending sign-in: that account's passkeys only, bound to its mfaToken. */
  async mfaOptions(mfaToken: string, client: ClientInfo): Promise<RequestOptionsDto> {
    await this.throttle.requireIpAllowance(client.ip);
    const pending = await this.mfaChallenges.peek(mfaToken);
    if (!pending) throw new AppException(MfaErrors.MFA_TOKEN_INVALID);
    return this.requestOptionsFor(pending.userId, 'mfa', { userId: pending.userId, mfaTokenHash: hashMfaToken(mfaToken) }, 'preferred');
  }

  /** Request options for step-up (POST /auth/reauthenticate with method passkey): the caller's passkeys, user-verified. */
  reauthOptions(userId: string): Promise<RequestOptionsDto> {
    return this.requestOptionsFor(userId, 'reauth', { userId }, 'required');
  }

  /** Options for a username-less sign-in: no allowCredentials, so the browser offers the site's discoverable passkeys. */
  async loginOptions(client: ClientInfo): Promise<PasskeyLoginOptionsDto> {
    await this.throttle.requireIpAllowance(client.ip);
    const { challenge, id } = await this.challenges.issue('login', {}, { clientIp: client.ip });
    const options = await webauthn().generateAuthenticationOptions({ rpID: this.config.mfa.webauthn.rpId, challenge: new Uint8Array(Buffer.from(challenge, 'base64url')), timeout: CHALLENGE_TTL_MS, userVerification: 'required' });
    return { challengeId: id, options: { ...options, allowCredentials: [] } as unknown as RequestOptionsDto };
  }

  /**
   * A username-less sign-in: the credential names the account. Everything a password sign-in checks
   * holds — the IP's budget, an active account, the account lock (a failure counts towards it, before
   * the signature is verified) — and the pair is issued by the same path (AuthService.completeSignIn),
   * so a user-verified passkey is the whole sign-in: amr hwk + mfa.
   */
  async login(challengeId: string, response: AuthenticationResponseDto, client: ClientInfo): Promise<TokenPairDto> {
    await this.throttle.requireIpAllowance(client.ip);
    const stored = await this.challenges.take('login', challengeId);
    const row = stored ? await this.passkeys.findOneBy({ credentialId: response.id }) : null;
    const user = row ? await this.users.findById(row.userId) : null;
    if (!stored || !row || !user || user.status !== 'active') {
      const reason = !stored ? 'challenge_invalid' : !row ? 'unknown_credential' : 'disabled';
      await this.audit.record({ type: 'sign_in', outcome: 'failure', userId: user?.id ?? null, client, detail: { method: 'passkey', reason } });
      this.metrics.signIn('failure', 'passkey');
      throw new AppException(MfaErrors.PASSKEY_INVALID);
    }
    const verified = await this.auth.countedCheck(user, client, () => this.verifyAssertion(row, response, stored.challenge, true));
    if (!verified) {
      await this.audit.record({ type: 'sign_in', outcome: 'failure', userId: user.id, client, detail: { method: 'passkey', reason: 'passkey_invalid' } });
      this.metrics.signIn('failure', 'passkey');
      throw new AppException(MfaErrors.PASSKEY_INVALID);
    }
    return this.auth.completeSignIn(user, client, 'passkey', PASSKEY_AMR);
  }

  /**
   * A passkey answer for a known account (second factor after `mfaToken`, or step-up): its challenge
   * (read from clientDataJSON) is taken first — spent whatever follows — and must have been issued
   * to this account for this purpose (and this mfaToken); the credential must be this account's.
   */
  async verifyFor(user: User, purpose: Extract<ChallengePurpose, 'mfa' | 'reauth'>, response: AuthenticationResponseDto | undefined, mfaToken?: string): Promise<boolean> {
    const challenge = response ? challengeOf(response.response.clientDataJSON) : null;
    const stored = challenge ? await this.challenges.take(purpose, challenge) : null;
    if (!response || !stored || stored.userId !== user.id) return false;
    if (purpose === 'mfa' && stored.mfaTokenHash !== hashMfaToken(mfaToken ?? '')) return false;
    const row = await this.passkeys.findOneBy({ credentialId: response.id, userId: user.id });
    return !!row && this.verifyAssertion(row, response, stored.challenge, purpose === 'reauth');
  }

  private async requestOptionsFor(userId: string, purpose: ChallengePurpose, binding: { userId: string; mfaTokenHash?: string }, userVerification: 'required' | 'preferred'): Promise<RequestOptionsDto> {
    const rows = await this.passkeys.find({ where: { userId } });
    if (!rows.length) throw new AppException(MfaErrors.MFA_NOT_ENROLLED);
    // A second factor's challenges are held by its mfaToken, not the account: whoever knows only the
    // password must not push out the owner's pending step-up or registration.
    const holder = binding.mfaTokenHash ? { pendingSignIn: binding.mfaTokenHash } : { account: userId };
    const { challenge } = await this.challenges.issue(purpose, binding, holder);
    const options = await webauthn().generateAuthenticationOptions({
      rpID: this.config.mfa.webauthn.rpId,
      allowCredentials: rows.map((row) => ({ id: row.credentialId, transports: transportsOf(row) })),
      challenge: new Uint8Array(Buffer.from(challenge, 'base64url')),
      timeout: CHALLENGE_TTL_MS,
      userVerification,
    });
    return options as unknown as RequestOptionsDto;
  }

  /**
   * Verifies an assertion of `row` against its challenge (origin, RP ID, type, signature, user
   * presence, user verification when asked, counter) and moves the counter forward: the update is
   * conditional, so a counter that did not grow (a cloned authenticator, a replay racing another) is
   * refused even when two answers are verified at once. An authenticator that keeps no counter (0) stays at 0.
   */
  private async verifyAssertion(row: Passkey, response: AuthenticationResponseDto, expectedChallenge: string, requireUserVerification: boolean): Promise<boolean> {
    if (response.rawId !== response.id) return false;
    if (response.response.userHandle && response.response.userHandle !== userHandleOf(row.userId)) return false;
    const { rpId, origins } = this.config.mfa.webauthn;
    const result = await webauthn().verifyAuthenticationResponse({
      response: response as unknown as AuthenticationResponseJSON,
      expectedChallenge,
      expectedOrigin: origins,
      expectedRPID: rpId,
      credential: { id: row.credentialId, publicKey: new Uint8Array(Buffer.from(row.publicKey, 'base64url')), counter: row.counter, transports: transportsOf(row) },
      requireUserVerification,
    }).catch(() => null);
    if (!result?.verified) return false;
    const { newCounter, credentialBackedUp } = result.authenticationInfo;
    const moved = await this.passkeys
      .createQueryBuilder()
      .update(Passkey)
      .set({ counter: newCounter, backedUp: credentialBackedUp, lastUsedAt: new Date(this.clock.now()) })
      .where('id = :id', { id: row.id })
      .andWhere('(counter < :counter OR (counter = 0 AND :counter = 0))', { counter: newCounter })
      .execute();
    return moved.affected === 1;
  }
}

function transportsOf(row: Passkey): AuthenticatorTransport[] | undefined {
  return row.transports ? (row.transports.split(',') as AuthenticatorTransport[]) : undefined;
}
