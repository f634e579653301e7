import { ApiProperty } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { HumanCheckAnswerDto } from '@/modules/human-check/dto/human-check-answer.dto';
import { UserResponseDto } from '@/modules/users/dto/user-response.dto';

/** The human check is asked for after LOGIN_CAPTCHA_AFTER (3) failures on the identifier, or always with LOGIN_CAPTCHA_ALWAYS (400 CAPTCHA_REQUIRED until given). */
export class LoginDto extends HumanCheckAnswerDto {
  @ApiProperty({ description: 'Username, email or phone number', example: 'alice_01' })
  @IsString()
  @MinLength(1)
  @MaxLength(254)
  identifier: string;

  @ApiProperty({ description: 'The password', example: 'correct horse battery' })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password: string;
}

export class SmsLoginDto {
  @ApiProperty({ description: 'Mobile number: E.164, or a bare 11-digit Chinese mobile number', example: '+8613800138000' })
  @IsString()
  @MaxLength(32)
  phone: string;

  @ApiProperty({ description: 'The 6-digit code sent with purpose login', example: '123456' })
  @Matches(/^\d{6}$/, { message: 'smsCode must be 6 digits' })
  smsCode: string;
}

export class RefreshDto {
  @ApiProperty({
    required: false,
    description:
      'The refresh token from the last token pair; it is spent by this call. Required unless REFRESH_TOKEN_COOKIE is on and the request carries the `__Secure-uc_refresh` cookie (which then wins over this field).',
    example: 'rt_Q2hhbmdlIG1lIQ...',
  })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(512)
  refreshToken?: string;
}

export class TokenPairDto {
  @ApiProperty({ description: 'Always false on a token pair: the sign-in is complete (true means an MFA challenge, see MfaChallengeDto)', enum: [false], example: false })
  mfaRequired: false;

  @ApiProperty({ description: 'Short-lived RS256 JWT for the Authorization header; its header `kid` names the /.well-known/jwks.json key that signed it. Claims: sub, role, sid, jti, auth_time, amr (RFC 8176), session_start_ms (when the session began, Unix ms: what POST /admin/sessions/revoke-all compares), iat, exp, iss, aud', example: 'eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...' })
  accessToken: string;

  @ApiProperty({ description: 'Always Bearer', example: 'Bearer', enum: ['Bearer'] })
  tokenType: 'Bearer';

  @ApiProperty({ description: 'Seconds until the access token expires', example: 900 })
  expiresIn: number;

  @ApiProperty({ description: 'When the access token expires (ISO 8601 UTC)', example: '2026-01-01T08:15:00.000Z' })
  expiresAt: string;

  @ApiProperty({
    required: false,
    description:
      'Opaque, single-use refresh token; store it safely. Absent when the server runs with REFRESH_TOKEN_COOKIE=true: the token is then set as the HttpOnly `__Secure-uc_refresh` cookie (Path=/api/v1/auth) instead, out of reach of page scripts.',
    example: 'rt_Q2hhbmdlIG1lIQ...',
  })
  // Always set on the server side; the cookie mode takes it out of the JSON on the way out (refresh-cookie.ts).
  refreshToken: string;

  @ApiProperty({ description: 'The signed-in account', type: UserResponseDto })
  user: UserResponseDto;
}

export const MFA_METHODS = ['totp', 'recovery_code', 'passkey'] as const;
export type MfaMethod = (typeof MFA_METHODS)[number];

/** What a first factor answers when the account has a second one: complete it with POST /auth/mfa/verify. */
export class MfaChallengeDto {
  @ApiProperty({ description: 'Always true: a second factor is needed before tokens are issued', enum: [true], example: true })
  mfaRequired: true;

  @ApiProperty({ description: 'Opaque and single-use; lives 5 minutes; the 5th wrong answer spends it', example: 'mfa_3q2+7w...' })
  mfaToken: string;

  @ApiProperty({ description: 'The second factors this account can answer with', enum: MFA_METHODS, isArray: true, example: ['totp', 'recovery_code'] })
  methods: MfaMethod[];

  @ApiProperty({ description: 'When the mfaToken expires (ISO 8601 UTC)', example: '2026-01-01T08:05:00.000Z' })
  expiresAt: string;
}

export type SignInResult = TokenPairDto | MfaChallengeDto;

/** Every first factor answers one of these, told apart by `mfaRequired` (ApiEnvelopeOneOf). */
export const SIGN_IN_RESULTS = { false: TokenPairDto, true: MfaChallengeDto };
export const SIGN_IN_RESULT_DESCRIPTION =
  'A token pair (`mfaRequired: false`) for a new session — when the account already holds SESSIONS_PER_USER live sessions (100 by default), the one idle the longest is signed out (see GET /auth/sessions) — or, when the account has a second factor, an MFA challenge (`mfaRequired: true`) to answer with POST /auth/mfa/verify';

export class SessionDto {
  @ApiProperty({ description: 'Session id (the sid claim)', example: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d' })
  id: string;

  @ApiProperty({ description: 'When the session was opened', example: '2026-01-01T08:00:00.000Z' })
  createdAt: string;

  @ApiProperty({ description: 'When its refresh token was last used', example: '2026-01-01T09:00:00.000Z' })
  lastUsedAt: string;

  @ApiProperty({ description: 'Client IP at the last use', example: '203.0.113.7', nullable: true, type: String })
  ip: string | null;

  @ApiProperty({ description: 'User agent at the last use', example: 'Mozilla/5.0', nullable: true, type: String })
  userAgent: string | null;

  @ApiProperty({ description: 'Whether this is the session making the request', example: true })
  current: boolean;
}

export class SessionListDto {
  @ApiProperty({ type: [SessionDto], description: 'Live sessions, newest first' })
  items: SessionDto[];
}

export class JwkDto {
  @ApiProperty({ description: 'Key type', example: 'RSA' }) kty: string;
  @ApiProperty({ description: 'RSA modulus (base64url)', example: 'sXch...' }) n: string;
  @ApiProperty({ description: 'RSA exponent (base64url)', example: 'AQAB' }) e: string;
  @ApiProperty({ description: 'Key id; matches the kid header of access tokens', example: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' }) kid: string;
  @ApiProperty({ description: 'The algorithm the key signs with', example: 'RS256' }) alg: string;
  @ApiProperty({ description: 'What the key is for (signatures)', example: 'sig' }) use: string;
}

export class JwksDto {
  @ApiProperty({ type: [JwkDto], description: 'Public keys that sign access tokens' })
  keys: JwkDto[];
}
