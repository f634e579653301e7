import { Injectable } from '@nestjs/common';
import { AccessTokenClaims, Principal, sessionStartOf } from './principal';
import { SessionsService } from './sessions/sessions.service';
import { TokensService } from './tokens.service';

const BEARER = /^Bearer +(\S+)$/i;

/** How many verified tokens are remembered (about 1 KB each); the oldest goes first. */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Verifies bearer tokens: RS256 only (so `none` and HS256-with-the-public-key are refused), our
 * key only (a `jwk`/`jku`/`x5u` header is never followed), issuer and audience pinned, `exp`
 * required, and the session not revoked, by id or by a revoke-all cut-off (one round trip to the
 * shared store, no database query).
 *
 * Deliberately not a Passport strategy: Passport keeps strategies in a process-wide registry, so a
 * second application in the same process (tests, the CLI) would replace this one's key and store.
 */
@Injectable()
export class JwtStrategy {
  /**
   * A token's signature and claims are checked once and remembered until it expires, so a client
   * reusing its access token costs a map look-up instead of an RSA verification (profiled: half the
   * CPU of GET /users/me). Expiry is re-checked on every hit; revocation is always asked.
   */
  private readonly verified = new Map<string, AccessTokenClaims>();

  constructor(
    private readonly tokens: TokensService,
    private readonly sessions: SessionsService,
  ) {}

  /** The principal behind an Authorization header, or null when it is missing, malformed or not valid. */
  async authenticate(authorization: string | undefined): Promise<Principal | null> {
    const token = typeof authorization === 'string' ? BEARER.exec(authorization.trim())?.[1] : undefined;
    if (!token) return null;
    const claims = await this.verify(token);
    if (!claims || (await this.sessions.isRevoked(claims.sid, sessionStartOf(claims)))) return null;
    return {
      userId: claims.sub,
      role: claims.role,
      sessionId: claims.sid,
      tokenId: claims.jti ?? null,
      authTime: typeof claims.auth_time === 'number' ? claims.auth_time : null,
      via: 'bearer',
      amr: Array.isArray(claims.amr) ? claims.amr : [],
      mfaEnabled: claims.mfa_enabled === true,
      enrolmentOnly: claims.mfa_enrolment === true,
    };
  }

  private async verify(token: string): Promise<AccessTokenClaims | null> {
    // jsonwebtoken compares `exp` with the wall clock in whole seconds; so does the cache.
    const known = this.verified.get(token);
    if (known) {
      if (Math.floor(Date.now() / 1000) < known.exp) return known;
      this.verified.delete(token);
      return null;
    }
    const claims = await this.tokens.verify(token);
    if (claims) {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, claims);
    }
    return claims;
  }
}
