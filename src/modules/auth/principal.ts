import type { Role } from '@/modules/users/user.entity';

/** Who the request acts for, as the guard established it. */
export interface Principal {
  userId: string;
  role: Role;
  /** The session behind a bearer token; null when the caller used a personal API key. */
  sessionId: string | null;
  tokenId: string | null;
  /** Unix seconds of the sign-in that started this session (the `auth_time` claim). */
  authTime: number | null;
  via: 'bearer' | 'api-key';
}

/** The claims we put in every access token. */
export interface AccessTokenClaims {
  sub: string;
  role: Role;
  sid: string;
  jti: string;
  auth_time: number;
  /**
   * When the session began (Unix milliseconds): what a revoke-all cut-off is compared with, without a
   * database query. Unlike auth_time it never moves (a re-authentication renews auth_time, not the session).
   */
  session_start_ms?: number;
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}

/**
 * The session start a token claims. Tokens minted before the claim existed count as started at the
 * epoch, so any revoke-all cut-off covers them (they expire within ACCESS_TOKEN_TTL anyway).
 */
export function sessionStartOf(claims: AccessTokenClaims): number {
  return typeof claims.session_start_ms === 'number' ? claims.session_start_ms : 0;
}
