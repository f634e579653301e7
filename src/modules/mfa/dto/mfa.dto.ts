import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsOptional, IsString, Length, MaxLength, MinLength, ValidateNested } from 'class-validator';
import { AuthenticationResponseDto, PasskeySummaryDto } from '@/modules/mfa/webauthn/dto/passkeys.dto';
import { MFA_METHODS, MfaMethod } from '@/modules/auth/dto/auth.dto';

export class TotpStatusDto {
  @ApiProperty({ description: 'Whether a confirmed TOTP authenticator is set up', example: true })
  enabled: boolean;

  @ApiProperty({ description: 'When it was confirmed', example: '2026-01-01T08:00:00.000Z', nullable: true, type: String })
  createdAt: string | null;
}

export class MfaStatusDto {
  @ApiProperty({ type: TotpStatusDto, description: 'The authenticator app' }) totp: TotpStatusDto;
  @ApiProperty({ type: [PasskeySummaryDto], description: 'Registered passkeys' }) passkeys: PasskeySummaryDto[];
  @ApiProperty({ description: 'Unused recovery codes', example: 10 }) recoveryCodesLeft: number;
  @ApiProperty({ description: "Whether the account's role must have a second factor (MFA_REQUIRED_ROLES)", example: false }) required: boolean;
}

export class TotpEnrolmentDto {
  @ApiProperty({ description: 'The base32 secret, for typing into an authenticator app', example: 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP' })
  secret: string;

  @ApiProperty({ description: 'The otpauth:// URL (what the QR code holds)', example: 'otpauth://totp/User%20Centre:alice?issuer=User%20Centre&secret=JBSWY3DPEHPK3PXP&algorithm=SHA1&digits=6&period=30' })
  otpauthUrl: string;

  @ApiProperty({ description: 'The QR code as an SVG document', example: '<svg xmlns="http://www.w3.org/2000/svg" ...></svg>' })
  qrCodeSvg: string;
}

export class TotpCodeDto {
  @ApiProperty({ description: 'The current 6-digit code from the authenticator app', example: '492039' })
  @IsString()
  @Length(6, 6)
  code: string;
}

export class RecoveryCodesDto {
  @ApiPropertyOptional({ description: 'Ten single-use recovery codes, shown only now (present when this confirmation set up the first factor)', type: [String], example: ['k7m2p-9xq4r'] })
  recoveryCodes?: string[];
}

export class MfaVerifyDto {
  @ApiProperty({ description: 'The mfaToken from the sign-in answer', example: 'mfa_3q2+7w...' })
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  mfaToken: string;

  @ApiProperty({ description: 'Which second factor answers', enum: MFA_METHODS, example: 'totp' })
  @IsIn(MFA_METHODS)
  method: MfaMethod;

  @ApiPropertyOptional({ description: 'The TOTP code or a recovery code (methods totp, recovery_code)', example: '492039' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  code?: string;

  @ApiPropertyOptional({ type: AuthenticationResponseDto, description: 'method passkey: what navigator.credentials.get() answered to the options of POST /auth/mfa/passkey-options (PublicKeyCredential.toJSON())' })
  @IsOptional()
  @ValidateNested()
  @Type(() => AuthenticationResponseDto)
  response?: AuthenticationResponseDto;
}

export class ReauthenticateDto {
  @ApiPropertyOptional({ description: 'The current password (gives amr ["pwd"]: not enough for ⏱ routes when the account has MFA)', example: 'violet sunrise 42' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password?: string;

  @ApiPropertyOptional({ description: 'A second factor instead of the password', enum: MFA_METHODS, example: 'totp' })
  @IsOptional()
  @IsIn(MFA_METHODS)
  method?: MfaMethod;

  @ApiPropertyOptional({ description: 'The TOTP code or a recovery code (with method totp or recovery_code)', example: '492039' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  code?: string;

  @ApiPropertyOptional({ type: AuthenticationResponseDto, description: 'With method passkey: what navigator.credentials.get() answered to the options of POST /auth/reauthenticate/passkey-options (PublicKeyCredential.toJSON())' })
  @IsOptional()
  @ValidateNested()
  @Type(() => AuthenticationResponseDto)
  response?: AuthenticationResponseDto;
}
