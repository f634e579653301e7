import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { ExtractJwt } from 'passport-jwt';
import { AccessTokenClaims, Principal } from './principal';
import { SessionsService } from './sessions/sessions.service';

type VerifiedClaims = Partial<AccessTokenClaims> & { exp: number };

/** How many verified tokens are remembered; the oldest goes first (about 1 KB each). */
const VERIFIED_CACHE_SIZE = 10_000;

/**
 * Verifies bearer tokens: RS256 only (so `none` and HS256-with-the-public-key are refused), our
 * key only (a `jwk`/`jku`/`x5u` header is never followed), issuer and audience pinned, `exp`
 * required, and the session not revoked (one look-up in the shared store, no database query).
 *
 * The signature and claims of a token are checked once (the JwtModule's verify options:
 * RS256, issuer, audience, expiry) and remembered until the token expires, so a client reusing
 * its access token costs a map look-up instead of an RSA verification; expiry is still checked on
 * every request against the same clock jsonwebtoken uses, and revocation is always asked.
 */
@Injectable()
export class JwtStrategy {
  private readonly verified = new Map<string, VerifiedClaims>();
  private readonly extract = ExtractJwt.fromAuthHeaderAsBearerToken();

  constructor(
    private readonly jwt: JwtService,
    private readonly sessions: SessionsService,
  ) {}

  /** The caller behind the request's bearer token, or null when it is missing, forged, expired or revoked. */
  async authenticate(request: { headers: Record<string, unknown> }): Promise<Principal | null> {
    const token = this.extract(request as never);
    if (!token) return null;
    const claims = this.verify(token);
    return claims ? ((await this.validate(claims)) || null) : null;
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

  private verify(token: string): Partial<AccessTokenClaims> | null {
    // jsonwebtoken compares `exp` with the wall clock in whole seconds; so does the cache.
    const now = Math.floor(Date.now() / 1000);
    const known = this.verified.get(token);
    if (known) {
      if (now < known.exp) return known;
      this.verified.delete(token);
      return null;
    }
    let claims: Partial<AccessTokenClaims>;
    try {
      claims = this.jwt.verify<Partial<AccessTokenClaims>>(token);
    } catch {
      return null;
    }
    if (typeof claims === 'object' && claims !== null && typeof claims.exp === 'number') {
      if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value as string);
      this.verified.set(token, claims as VerifiedClaims);
    }
    return claims;
  }
}
