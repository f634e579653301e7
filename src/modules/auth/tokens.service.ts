import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { ClientInfo } from '@/common/http/decorators';
import { User } from '@/modules/users/user.entity';
import { UsersService } from '@/modules/users/users.service';
import { TokenPairDto } from './dto/auth.dto';
import { SigningKeys } from './keys/signing-keys.service';
import { REFRESH_MAX_AGE } from './refresh-cookie';
import { AccessTokenClaims } from './principal';
import { Session } from './sessions/session.entity';
import { SessionOpenWrites, SessionsService } from './sessions/sessions.service';

/** Mints token pairs: an RS256 access token carrying the session id, plus the session's refresh token. */
@Injectable()
export class TokensService {
  constructor(
    private readonly jwt: JwtService,
    private readonly sessions: SessionsService,
    private readonly users: UsersService,
    private readonly clock: Clock,
    private readonly keys: SigningKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Opens a new session for a user who just proved who they are (`amr`: how; `alsoWrite` commits with it). */
  async signIn(user: User, client: ClientInfo, amr: string[], alsoWrite?: SessionOpenWrites): Promise<TokenPairDto> {
    const { session, refreshToken } = await this.sessions.open(user.id, client, alsoWrite, amr);
    return this.pair(user, session, refreshToken);
  }

  pair(account: User, session: Session, refreshToken: string): TokenPairDto {
    const user = this.users.toResponse(account);
    const now = Math.floor(this.clock.now() / 1000);
    const { accessTtlSeconds, issuer, audience } = this.config.tokens;
    const mfaEnabled = !!account.mfaMethods;
    const claims = {
      role: user.role,
      sid: session.id,
      auth_time: Math.floor(session.authenticatedAt.getTime() / 1000),
      session_start_ms: session.createdAt.getTime(),
      amr: session.amr?.split(',').filter(Boolean) ?? [],
      // Only when true, so tokens of accounts without MFA stay as they were.
      ...(mfaEnabled ? { mfa_enabled: true } : {}),
      ...(!mfaEnabled && this.config.mfa.requiredRoles.includes(account.role) ? { mfa_enrolment: true } : {}),
      iat: now,
      exp: now + accessTtlSeconds,
    };
    const accessToken = this.jwt.sign(claims, { subject: user.id, jwtid: randomUUID(), issuer, audience });
    const pair: TokenPairDto = {
      mfaRequired: false,
      accessToken,
      tokenType: 'Bearer',
      expiresIn: accessTtlSeconds,
      expiresAt: new Date((now + accessTtlSeconds) * 1000).toISOString(),
      refreshToken,
      user,
    };
    // For REFRESH_TOKEN_COOKIE: the cookie lives as long as the session can still be refreshed (refresh-cookie.ts).
    return Object.assign(pair, { [REFRESH_MAX_AGE]: Math.ceil((session.expiresAt.getTime() - this.clock.now()) / 1000) });
  }

  /**
   * Verifies an access token (kid, signature, RS256, iss, aud, exp); null when anything is wrong.
   * The key is the one the header's kid names: a missing or unknown kid is refused, never tried
   * against another key (a dropped key's tokens die with it).
   */
  async verify(token: string): Promise<AccessTokenClaims | null> {
    try {
      const header = (this.jwt.decode(token, { complete: true }) as { header?: { kid?: unknown } } | null)?.header;
      const publicKey = this.keys.verificationKey(header?.kid);
      if (!publicKey) return null;
      const claims = await this.jwt.verifyAsync<Partial<AccessTokenClaims>>(token, { publicKey: publicKey as unknown as string });
      const complete = typeof claims.exp === 'number' && typeof claims.sub === 'string' && typeof claims.sid === 'string' && typeof claims.role === 'string';
      return complete ? (claims as AccessTokenClaims) : null;
    } catch {
      return null;
    }
  }
}
