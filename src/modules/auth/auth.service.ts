import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AppException, CommonErrors } from '@/common/errors';
import { ClientInfo } from '@/common/http/decorators';
import { AuditService } from '@/modules/audit/audit.service';
import { EventsService } from '@/modules/events/events.service';
import { MetricsService } from '@/modules/operations/metrics.service';
import { classifyIdentifier, normalisePhone } from '@/modules/users/identity';
import { User } from '@/modules/users/user.entity';
import { UsersService } from '@/modules/users/users.service';
import { offersHumanCheck } from '@/modules/human-check/human-check.port';
import { HumanCheckService } from '@/modules/human-check/human-check.service';
import { VerificationCodesService } from '@/modules/verification/codes/verification-codes.service';
import { AuthErrors } from './auth.errors';
import { LoginDto, SessionDto, SignInResult, TokenPairDto } from './dto/auth.dto';
import { IntrospectionDto } from './dto/introspect.dto';
import { LoginThrottle } from './login-throttle.service';
import { MfaChallenges } from './mfa-challenges';
import { isRecentlyAuthenticated } from './recent-auth';
import { UsersErrors } from '@/modules/users/users.errors';
import { Principal, sessionStartOf } from './principal';
import { SessionsService } from './sessions/sessions.service';
import { TokensService } from './tokens.service';

@Injectable()
export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly tokens: TokensService,
    private readonly sessions: SessionsService,
    private readonly throttle: LoginThrottle,
    private readonly humanCheck: HumanCheckService,
    private readonly audit: AuditService,
    private readonly events: EventsService,
    private readonly codes: VerificationCodesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly metrics: MetricsService,
    private readonly challenges: MfaChallenges,
  ) {}

  /**
   * Sign-in with an SMS code (purpose login). A number without an active account never received a
   * code, so its answer is a wrong code's or the same 401 as a password failure.
   */
  async loginBySms(phoneInput: string, code: string, client: ClientInfo): Promise<SignInResult> {
    const phone = normalisePhone(phoneInput);
    if (!phone) throw new AppException(CommonErrors.VALIDATION_FAILED, { details: [{ field: 'phone', message: 'phone must be an E.164 number or an 11-digit Chinese mobile number' }] });
    try {
      await this.codes.consume({ channel: 'sms', destination: phone, purpose: 'login' }, code);
    } catch (error) {
      // A wrong or dead code is a failed sign-in like a wrong password, and is audited as one.
      if (error instanceof AppException) {
        const holder = await this.users.findByPhone(phone);
        await this.audit.record({ type: 'sign_in', outcome: 'failure', userId: holder?.id ?? null, client, detail: { method: 'sms_code', reason: error.entry.code.toLowerCase() } });
        this.metrics.signIn('failure', 'sms_code');
      }
      throw error;
    }
    const user = await this.users.findByPhone(phone);
    if (!user || user.status !== 'active') {
      await this.audit.record({ type: 'sign_in', outcome: 'failure', userId: user?.id ?? null, client, detail: { method: 'sms_code', reason: user ? 'disabled' : 'unknown_account' } });
      throw new AppException(AuthErrors.INVALID_CREDENTIALS);
    }
    return this.afterFirstFactor(user, client, 'sms_code', ['sms']);
  }

  /**
   * Password sign-in. Unknown account, wrong password, disabled account and an account whose own
   * bound is spent all cost one bcrypt compare and answer the same 401, so neither the body nor the
   * timing tells them apart. The attempt is counted before bcrypt runs (LoginThrottle): a parallel
   * burst gets no more comparisons than the same requests sent one by one.
   */
  async login(dto: LoginDto, client: ClientInfo): Promise<SignInResult> {
    // Case and width variants of one identifier are one identifier, for the lookup and for the counters.
    const identifier = classifyIdentifier(dto.identifier.normalize('NFKC'));
    const user = await this.users.findByIdentifierKind(identifier);
    const attempt = await this.throttle.beginSignIn(identifier, user?.id ?? null, client.ip, offersHumanCheck(dto));
    if (attempt.captchaRequired) {
      try {
        await this.humanCheck.require(dto, client);
      } catch (error) {
        await attempt.abandon();
        throw error;
      }
    }
    // Past the account's bound the real hash is not compared; the dummy compare keeps the cost the same.
    const passwordMatches = await this.users.verifyPassword(attempt.accountOpen ? user : null, dto.password);
    if (!user || !passwordMatches || user.status !== 'active') {
      const locked = await attempt.failed();
      const reason = !user ? 'unknown_account' : !attempt.accountOpen ? 'account_locked' : !passwordMatches ? 'wrong_password' : 'disabled';
      await this.audit.record({ type: 'sign_in', outcome: 'failure', userId: user?.id ?? null, client, detail: { reason } });
      if (locked) await this.audit.record({ type: 'account_locked', outcome: 'denied', userId: user?.id ?? null, client });
      this.metrics.signIn('failure', 'password');
      throw new AppException(AuthErrors.INVALID_CREDENTIALS);
    }
    if (user.mfaMethods) {
      // With a second factor, the right password only gives its own attempt back: earlier failures,
      // wrong second-factor answers included, stand until the second factor is answered too.
      await attempt.abandon();
    } else {
      await attempt.succeeded();
    }
    return this.afterFirstFactor(user, client, 'password', ['pwd']);
  }

  /**
   * Every first factor (password, SMS code, another identity provider) ends here: an account with a
   * second factor gets an MFA challenge instead of tokens. The flag is on the row the sign-in already
   * read, so accounts without MFA pay nothing.
   */
  async afterFirstFactor(user: User, client: ClientInfo, method: 'password' | 'sms_code' | 'federated', amr: string[]): Promise<SignInResult> {
    if (user.mfaMethods) return this.challenges.open(user, amr);
    return this.completeSignIn(user, client, method, amr);
  }

  /**
   * Opens a session for a user who has proven who they are (`amr`: how, RFC 8176). Sessions it signs
   * out to stay within SESSIONS_PER_USER are audited and announced as any revocation is, in its transaction.
   */
  async completeSignIn(user: User, client: ClientInfo, method: string, amr: string[]): Promise<TokenPairDto> {
    const pair = await this.tokens.signIn(user, client, amr, async (tx, evicted) => {
      await this.audit.record({ type: 'sign_in', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { method } }, tx);
      for (const sessionId of evicted) {
        await this.audit.record({ type: 'session_revoked', outcome: 'success', userId: user.id, actorId: user.id, client, detail: { sessionId, reason: 'session_limit' } }, tx);
        await this.events.emit(tx, 'session.revoked', { userId: user.id, sessionId, reason: 'session_limit' });
      }
    });
    this.metrics.signIn('success', method);
    return pair;
  }

  /**
   * A secret of a known account (its current password, a second-factor answer) checked like a
   * sign-in: counted towards the account's lock before it is compared (and refused with 429 while
   * the lock holds), so a stolen token or mfaToken cannot guess here instead, not even with a
   * parallel burst. A right answer gives its attempt back and ends the streak.
   */
  async countedCheck(user: User, client: ClientInfo, compare: () => Promise<boolean>): Promise<boolean> {
    const attempt = await this.throttle.beginCurrentPassword(user.id);
    if (await compare()) {
      await attempt.succeeded();
      return true;
    }
    if (await attempt.failed()) await this.audit.record({ type: 'account_locked', outcome: 'denied', userId: user.id, actorId: user.id, client });
    return false;
  }

  currentPasswordMatches(user: User, password: string, client: ClientInfo): Promise<boolean> {
    return this.countedCheck(user, client, () => this.users.verifyPassword(user, password));
  }

  /** The current password or 400 PASSWORD_INCORRECT (counted as above). */
  async assertCurrentPassword(user: User, password: string, client: ClientInfo): Promise<void> {
    if (!(await this.currentPasswordMatches(user, password, client))) throw new AppException(UsersErrors.PASSWORD_INCORRECT);
  }

  async refresh(refreshToken: string, client: ClientInfo): Promise<TokenPairDto> {
    const result = await this.sessions.rotate(refreshToken, client);
    if (result.outcome === 'reused') {
      await this.audit.record({ type: 'refresh_reuse', outcome: 'denied', userId: result.session.userId, client, detail: { sessionId: result.session.id } });
    }
    if (result.outcome !== 'rotated') throw new AppException(AuthErrors.REFRESH_TOKEN_INVALID);
    const user = await this.users.findById(result.session.userId);
    if (!user || user.status !== 'active') {
      await this.sessions.revoke(result.session.id, 'disabled');
      throw new AppException(AuthErrors.REFRESH_TOKEN_INVALID);
    }
    return this.tokens.pair(user, result.session, result.refreshToken);
  }

  /**
   * Ends the caller's session. `cookieRefreshToken` is the refresh cookie the request carried, which
   * the answer clears: a browser holds one cookie, so a later sign-in in another tab may have put
   * another session's token there. Once cleared nothing could use or end that session, so when it is
   * the caller's account's it ends too; another account's session is not the caller's to end.
   */
  async logout(principal: Principal, client: ClientInfo, cookieRefreshToken?: string): Promise<void> {
    const sessionId = this.requireSession(principal);
    await this.signOut(principal.userId, sessionId, client);
    const cookieSession = cookieRefreshToken === undefined ? null : await this.sessions.findByRefreshToken(cookieRefreshToken);
    if (cookieSession && cookieSession.id !== sessionId && cookieSession.userId === principal.userId && !cookieSession.revokedAt) {
      await this.signOut(principal.userId, cookieSession.id, client);
    }
  }

  private async signOut(userId: string, sessionId: string, client: ClientInfo): Promise<void> {
    await this.sessions.revoke(sessionId, 'logout', async (tx) => {
      await this.audit.record({ type: 'sign_out', outcome: 'success', userId, actorId: userId, client, detail: { sessionId } }, tx);
      await this.events.emit(tx, 'session.revoked', { userId, sessionId, reason: 'logout' });
    });
  }

  /** The caller's live sessions as they see them (never a token); with `limit`, the newest that many, and `total` counts all. */
  async listSessions(principal: Principal, limit?: number): Promise<{ items: SessionDto[]; total: number }> {
    const { items: sessions, total } = await this.sessions.listActive(principal.userId, limit);
    const items = sessions.map((session) => ({
      id: session.id,
      createdAt: session.createdAt.toISOString(),
      lastUsedAt: session.lastUsedAt.toISOString(),
      ip: session.ip,
      userAgent: session.userAgent,
      current: session.id === principal.sessionId,
    }));
    return { items, total };
  }

  async revokeSession(principal: Principal, sessionId: string, client: ClientInfo): Promise<void> {
    const session = await this.sessions.findOwned(principal.userId, sessionId);
    if (!session) throw new AppException(AuthErrors.SESSION_NOT_FOUND);
    await this.sessions.revoke(session.id, 'revoked', async (tx) => {
      await this.audit.record({ type: 'session_revoked', outcome: 'success', userId: principal.userId, actorId: principal.userId, client, detail: { sessionId } }, tx);
      await this.events.emit(tx, 'session.revoked', { userId: principal.userId, sessionId, reason: 'revoked' });
    });
  }

  /**
   * RFC 7662 introspection for internal services. Unlike offline JWKS verification it sees
   * revocation at once, and it answers the account's current role (a demotion counts now).
   */
  async introspect(token: string): Promise<IntrospectionDto> {
    const claims = await this.tokens.verify(token);
    if (!claims || (await this.sessions.isRevoked(claims.sid, sessionStartOf(claims)))) return { active: false };
    const user = await this.users.getView(claims.sub).catch((error: unknown) => {
      if (error instanceof AppException) return null; // the account is gone
      throw error;
    });
    if (!user || user.status !== 'active') return { active: false };
    return { active: true, sub: claims.sub, role: user.role, exp: claims.exp, sid: claims.sid, amr: claims.amr ?? [], auth_time: claims.auth_time };
  }

  requireSession(principal: Principal): string {
    if (!principal.sessionId) throw new AppException(AuthErrors.SESSION_REQUIRED);
    return principal.sessionId;
  }

  /**
   * Whether the caller authenticated recently enough for a sensitive action (⏱, RECENT_AUTH_SECONDS):
   * the one predicate every ⏱ check uses (recent-auth.ts; @RecentAuth() routes use it too). With a
   * second factor on the account, that authentication must have included it (`mfa` in amr).
   * auth_time is the session's authentication, which a refresh does not renew; an API key has none.
   * `user`: the account row when the caller has it, so its current MFA state counts.
   */
  isRecentlyAuthenticated(principal: Principal, nowMs: number, user?: Pick<User, 'mfaMethods'>): boolean {
    return isRecentlyAuthenticated(principal, nowMs, this.config.sessions.recentAuthSeconds, user ? !!user.mfaMethods : undefined);
  }

  /** Throws 403 RECENT_AUTH_REQUIRED unless isRecentlyAuthenticated: for ⏱ routes that offer no password alternative. */
  requireRecentAuthentication(principal: Principal, nowMs: number): void {
    if (!this.isRecentlyAuthenticated(principal, nowMs)) throw new AppException(AuthErrors.RECENT_AUTH_REQUIRED);
  }
}
