import { Inject, Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { SigningKeys } from './keys/signing-keys.service';
import { AccessTokenClaims, Principal } from './principal';
import { SessionsService } from './sessions/sessions.service';

/**
 * Verifies bearer tokens: RS256 only (so `none` and HS256-with-the-public-key are refused), our
 * key only (a `jwk`/`jku`/`x5u` header is never followed), issuer and audience pinned, `exp`
 * required, and the session not revoked (one look-up in the shared store, no database query).
 */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    keys: SigningKeys,
    private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: keys.publicKey as unknown as string,
      algorithms: ['RS256'],
      issuer: config.tokens.issuer,
      audience: config.tokens.audience,
      ignoreExpiration: false,
    });
  }

  async validate(claims: Partial<AccessTokenClaims>): Promise<Principal | false> {
    if (typeof claims.exp !== 'number' || typeof claims.sub !== 'string' || typeof claims.sid !== 'string' || typeof claims.role !== 'string') return false;
    if (await this.sessions.isRevoked(claims.sid)) return false;
    return {
      userId: claims.sub,
      role: claims.role,
      sessionId: claims.sid,
      tokenId: claims.jti ?? null,
      authTime: typeof claims.auth_time === 'number' ? claims.auth_time : null,
      via: 'bearer',
    };
  }
}
