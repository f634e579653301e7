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
  iat: number;
  exp: number;
  iss: string;
  aud: string;
}
