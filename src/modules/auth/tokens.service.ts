import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { Clock } from '@/common/clock';
import { ClientInfo } from '@/common/http/decorators';
import { AlsoWrite } from '@/database/transaction';
import { UserResponseDto } from '@/modules/users/dto/user-response.dto';
import { User } from '@/modules/users/user.entity';
import { UsersService } from '@/modules/users/users.service';
import { TokenPairDto } from './dto/auth.dto';
import { SigningKeys } from './keys/signing-keys.service';
import { AccessTokenClaims } from './principal';
import { Session } from './sessions/session.entity';
import { SessionsService } from './sessions/sessions.service';

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

  /** Opens a new session for a user who just proved who they are (`alsoWrite` commits with it). */
  async signIn(user: User, client: ClientInfo, alsoWrite?: AlsoWrite): Promise<TokenPairDto> {
    const { session, refreshToken } = await this.sessions.open(user.id, client, alsoWrite);
    return this.pair(this.users.toResponse(user), session, refreshToken);
  }

  pair(user: UserResponseDto, session: Session, refreshToken: string): TokenPairDto {
    const now = Math.floor(this.clock.now() / 1000);
    const { accessTtlSeconds, issuer, audience } = this.config.tokens;
    const accessToken = this.jwt.sign(
      {
        role: user.role,
        sid: session.id,
        auth_time: Math.floor(session.authenticatedAt.getTime() / 1000),
        session_start_ms: session.createdAt.getTime(),
        iat: now,
        exp: now + accessTtlSeconds,
      },
      { subject: user.id, jwtid: randomUUID(), issuer, audience },
    );
    return {
      accessToken,
      tokenType: 'Bearer',
      expiresIn: accessTtlSeconds,
      expiresAt: new Date((now + accessTtlSeconds) * 1000).toISOString(),
      refreshToken,
      user,
    };
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
