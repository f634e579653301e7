import { Injectable } from '@nestjs/common';
import { AppException, CommonErrors } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { AuditService } from '@/modules/audit/audit.service';
import { AuthService } from '@/modules/auth/auth.service';
import { MfaMethod, TokenPairDto } from '@/modules/auth/dto/auth.dto';
import { MFA_TOKEN_TRIES, MfaChallenges } from '@/modules/auth/mfa-challenges';
import { Principal } from '@/modules/auth/principal';
import { SessionsService } from '@/modules/auth/sessions/sessions.service';
import { TokensService } from '@/modules/auth/tokens.service';
import { MetricsService } from '@/modules/operations/metrics.service';
import { User } from '@/modules/users/user.entity';
import { UsersService } from '@/modules/users/users.service';
import { MfaVerifyDto, ReauthenticateDto } from './dto/mfa.dto';
import { MfaErrors } from './mfa.errors';
import { MfaService } from './mfa.service';
import { PASSKEY_AMR, PasskeysService } from './webauthn/passkeys.service';

/** First factors in RFC 8176 terms: what a second factor is added to. */
const FIRST_FACTORS = ['pwd', 'sms', 'fed'];

/**
 * The second half of a sign-in (POST /auth/mfa/verify) and step-up (POST /auth/reauthenticate).
 * Every second-factor answer is counted before it is compared, twice over: against its mfaToken
 * (the 5th wrong answer spends it) and against the account lock that password failures count towards.
 */
@Injectable()
export class StepUpService {
  constructor(
    private readonly mfa: MfaService,
    private readonly passkeys: PasskeysService,
    private readonly challenges: MfaChallenges,
    private readonly auth: AuthService,
    private readonly tokens: TokensService,
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {}

  async verify(dto: MfaVerifyDto, client: ClientInfo): Promise<TokenPairDto> {
    const pending = await this.challenges.peek(dto.mfaToken);
    if (!pending) throw new AppException(MfaErrors.MFA_TOKEN_INVALID);
    const tries = await this.challenges.reserveTry(dto.mfaToken);
    if (!tries.granted) {
      await this.challenges.spend(dto.mfaToken);
      throw new AppException(MfaErrors.MFA_TOKEN_INVALID);
    }
    const user = await this.users.findById(pending.userId);
    if (!user || user.status !== 'active') {
      await this.challenges.spend(dto.mfaToken);
      throw new AppException(MfaErrors.MFA_TOKEN_INVALID);
    }
    const check = dto.method === 'passkey' ? () => this.passkeys.verifyFor(user, 'mfa', dto.response, dto.mfaToken) : () => this.mfa.verify(user, dto.method, dto.code);
    if (!(await this.answerIsRight(user, dto.method, client, check))) {
      if (tries.count >= MFA_TOKEN_TRIES) await this.challenges.spend(dto.mfaToken);
      throw new AppException(dto.method === 'passkey' ? MfaErrors.PASSKEY_INVALID : MfaErrors.MFA_INVALID);
    }
    // Of parallel right answers only one takes the pending sign-in.
    const taken = await this.challenges.take(dto.mfaToken);
    if (!taken) throw new AppException(MfaErrors.MFA_TOKEN_INVALID);
    return this.auth.completeSignIn(user, client, dto.method, [...taken.amr, this.mfa.amrOf(dto.method), 'mfa']);
  }

  /** A fresh authentication inside the caller's session: a new pair whose auth_time is now and whose amr says how. */
  async reauthenticate(principal: Principal, dto: ReauthenticateDto, client: ClientInfo): Promise<TokenPairDto> {
    const sessionId = this.auth.requireSession(principal);
    const user = await this.users.getById(principal.userId);
    const session = await this.sessions.findOwned(user.id, sessionId);
    if (!session) throw new AppException(CommonErrors.UNAUTHENTICATED);
    let amr: string[];
    if (dto.method) {
      if (dto.password !== undefined) throw this.eitherOr();
      if (!user.mfaMethods) throw new AppException(MfaErrors.MFA_NOT_ENROLLED);
      const method = dto.method;
      const check = method === 'passkey' ? () => this.passkeys.verifyFor(user, 'reauth', dto.response) : () => this.mfa.verify(user, method, dto.code);
      if (!(await this.answerIsRight(user, method, client, check))) throw new AppException(method === 'passkey' ? MfaErrors.PASSKEY_INVALID : MfaErrors.MFA_INVALID);
      const firstFactors = (session.amr?.split(',') ?? []).filter((value) => FIRST_FACTORS.includes(value));
      // A user-verified passkey (step-up requires it) is two factors by itself.
      amr = method === 'passkey' ? [...firstFactors, ...PASSKEY_AMR] : [...firstFactors, this.mfa.amrOf(method), ...(firstFactors.length ? ['mfa'] : [])];
    } else if (dto.password !== undefined) {
      await this.auth.assertCurrentPassword(user, dto.password, client);
      amr = ['pwd'];
    } else {
      throw this.eitherOr();
    }
    const renewed = await this.sessions.reauthenticate(session, amr);
    await this.audit.record({ type: 'step_up', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { method: dto.method ?? 'password', sessionId } });
    return this.tokens.pair(user, renewed.session, renewed.refreshToken);
  }

  /** A second-factor answer, counted towards the account lock before it is compared (AuthService.countedCheck). */
  private async answerIsRight(user: User, method: MfaMethod, client: ClientInfo, check: () => Promise<boolean>): Promise<boolean> {
    if (await this.auth.countedCheck(user, client, check)) return true;
    await this.audit.record({ type: 'sign_in', outcome: 'failure', userId: user.id, client, detail: { method, reason: 'wrong_second_factor' } });
    this.metrics.signIn('failure', method);
    return false;
  }

  private eitherOr(): AppException {
    return new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'password', message: 'give either password, or method with code or response' }] });
  }
}
