import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { ROLES, Role } from '@/modules/users/user.entity';

export class IntrospectDto {
  @ApiProperty({ description: 'An access token to check', example: 'eyJhbGciOiJSUzI1NiIsImtpZCI6Ii4uLiJ9...' })
  @IsString()
  @MinLength(1)
  @MaxLength(8192)
  token: string;
}

/** RFC 7662 shape: an inactive token reveals nothing but `active: false`. */
export class IntrospectionDto {
  @ApiProperty({ description: 'Whether the token is valid, unexpired and its session not revoked', example: true })
  active: boolean;

  @ApiPropertyOptional({ description: 'The user id', example: '5f0c6c1e-8a55-4d5c-9a55-6b1f0c9a1e11' })
  sub?: string;

  @ApiPropertyOptional({ description: "The account's current role (it may differ from the role claim of a token issued before a change)", enum: ROLES, example: 'normal_user' })
  role?: Role;

  @ApiPropertyOptional({ description: 'Expiry (Unix seconds)', example: 1767225600 })
  exp?: number;

  @ApiPropertyOptional({ description: 'Session id', example: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d' })
  sid?: string;

  @ApiPropertyOptional({ description: 'How the session last authenticated (RFC 8176: pwd, sms, otp, hwk, swk, mfa, fed)', type: [String], example: ['pwd', 'otp', 'mfa'] })
  amr?: string[];

  @ApiPropertyOptional({ description: 'When that authentication happened (Unix seconds)', example: 1767225000 })
  auth_time?: number;
}
