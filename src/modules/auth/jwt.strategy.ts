import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@/config/app-config';
import { AccessTokenClaims, Principal, sessionStartOf } from './principal';
import { SessionsService } from './sessions/sessions.service';
import { TokensService } from './tokens.service';

const BEARER = /^Bearer +(\S+)$/i;

/** The token of an `Authorization: Bearer <token>` header; undefined for a missing or malformed one. */
function bearerToken(authorization: string | undefined): string | undefined {
  return typeof authorization === 'string' ? BEARER.exec(authorization.trim())?.[1] : undefined;
}

/**
 * What one remembered token costs the heap beyond the token's characters: its claims object (ten
 * or so fields, two short arrays) and the Map entry: 2,161 B measured per token of 779 characters, with 10,000 tokens
 * (scripts/bench/kv-entry-cost.js).
 */
export const VERIFIED_ENTRY_OVERHEAD_BYTES = 1400;

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
  private readonly verified = new Map<string, { claims: AccessTokenClaims; bytes: number }>();
  private verifiedBytes = 0;
  private readonly maxEntries: number;
  private readonly maxBytes: number;

  constructor(
    private readonly tokens: TokensService,
    private readonly sessions: SessionsService,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    ({ maxEntries: this.maxEntries, maxBytes: this.maxBytes } = config.tokens.verifiedCache);
  }

  /** Tokens remembered and the bytes charged for them (for tests and the documentation of the bound). */
  cacheUsage(): { entries: number; bytes: number } {
    return { entries: this.verified.size, bytes: this.verifiedBytes };
  }

  /** The principal behind an Authorization header, or null when it is missing, malformed or not valid. */
  async authenticate(authorization: string | undefined): Promise<Principal | null> {
    const token = bearerToken(authorization);
    if (!token) return null;
    const claims = await this.verify(token);
    if (!claims) return null;
    if (await this.sessions.isRevoked(claims.sid, sessionStartOf(claims))) {
      // A revoked session never comes back (nor does a revoke-all cut-off move back): its token is dead weight.
      this.forgetToken(token);
      return null;
    }
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

  /**
   * Drops the token of an Authorization header from the cache (sign-out calls it): a signed-out
   * client's token is otherwise remembered until its exp, though every later use is refused anyway.
   * Other instances keep their copy until it expires or is pushed out; each still asks about revocation.
   */
  forget(authorization: string | undefined): void {
    const token = bearerToken(authorization);
    if (token) this.forgetToken(token);
  }

  private forgetToken(token: string): void {
    const known = this.verified.get(token);
    if (known) this.drop(token, known.bytes);
  }

  private async verify(token: string): Promise<AccessTokenClaims | null> {
    // jsonwebtoken compares `exp` with the wall clock in whole seconds; so does the cache.
    const known = this.verified.get(token);
    if (known) {
      if (Math.floor(Date.now() / 1000) < known.claims.exp) return known.claims;
      this.drop(token, known.bytes);
      return null;
    }
    const claims = await this.tokens.verify(token);
    if (claims) this.remember(token, claims);
    return claims;
  }

  /** Bounded by count and bytes; the oldest goes first (every token expires within ACCESS_TOKEN_TTL anyway). */
  private remember(token: string, claims: AccessTokenClaims): void {
    const bytes = VERIFIED_ENTRY_OVERHEAD_BYTES + token.length;
    if (this.maxEntries === 0 || bytes > this.maxBytes || this.verified.has(token)) return;
    while (this.verified.size >= this.maxEntries || this.verifiedBytes + bytes > this.maxBytes) {
      const [oldest, entry] = this.verified.entries().next().value as [string, { bytes: number }];
      this.drop(oldest, entry.bytes);
    }
    this.verified.set(token, { claims, bytes });
    this.verifiedBytes += bytes;
  }

  private drop(token: string, bytes: number): void {
    this.verified.delete(token);
    this.verifiedBytes -= bytes;
  }
}
