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
  /** How the session last authenticated (RFC 8176 `amr`); empty for API keys. */
  amr?: string[];
  /** The account had a second factor when the token was minted: "recent" then needs `mfa` in amr. */
  mfaEnabled?: boolean;
  /** MFA_REQUIRED_ROLES: this token works only on the enrolment routes until the account has a factor. */
  enrolmentOnly?: boolean;
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
  /** RFC 8176 authentication methods of the session's last authentication. */
  amr?: string[];
  /** Present (true) when the account has a second factor. */
  mfa_enabled?: boolean;
  /** Present (true) when the account must enrol a second factor before anything else. */
  mfa_enrolment?: boolean;
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
