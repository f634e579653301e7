import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { IsEmailAddress } from '@/modules/users/email-address';

export class ChangePasswordDto {
  @ApiProperty({ description: 'The current password', example: 'correct horse battery' })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  oldPassword: string;

  @ApiProperty({ description: 'The new password (8-64 characters, not a common one, not the old one)', example: 'staple battery horse correct' })
  @IsString()
  @MaxLength(1024)
  newPassword: string;
}

export class DeleteAccountDto {
  @ApiPropertyOptional({ description: 'The current password (accounts that have one)', example: 'correct horse battery' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password?: string;

  @ApiPropertyOptional({ description: 'For password-less phone accounts: an SMS code sent to the account phone with purpose login', example: '123456' })
  @IsOptional()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code?: string;
}

export class PasswordResetDto {
  @ApiProperty({ description: 'Where the reset code was sent', enum: ['email', 'sms'], example: 'email' })
  @IsIn(['email', 'sms'])
  channel: 'email' | 'sms';

  @ApiPropertyOptional({ description: 'The account email (channel email)', example: 'alice@example.com' })
  @IsOptional()
  @IsEmailAddress()
  email?: string;

  @ApiPropertyOptional({ description: 'The account phone (channel sms)', example: '+8613800138000' })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  phone?: string;

  @ApiProperty({ description: 'The 6-digit code sent with purpose reset_password', example: '123456' })
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code: string;

  @ApiProperty({ description: 'The new password (8-64 characters, not a common one)', example: 'staple battery horse correct' })
  @IsString()
  @MaxLength(1024)
  newPassword: string;
}

/** What a contact change proves: the code sent to the new address, and (unless signed in recently) the password. */
class ContactChangeProof {
  @ApiProperty({ description: 'The 6-digit code sent to the new address or number (purpose change_email / change_phone)', example: '123456' })
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code: string;

  @ApiPropertyOptional({ description: 'The current password; needed when the last sign-in is more than an hour old', example: 'correct horse battery' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;
}

export class ChangeEmailDto extends ContactChangeProof {
  @ApiProperty({ description: 'The new email address', example: 'alice.new@example.com' })
  @IsEmailAddress()
  email: string;
}

export class ChangePhoneDto extends ContactChangeProof {
  @ApiProperty({ description: 'The new phone number (E.164, or a bare 11-digit Chinese mobile number)', example: '+8613900139000' })
  @IsString()
  @MaxLength(32)
  phone: string;
}

export class VerifyEmailDto {
  @ApiProperty({ description: 'The 6-digit code sent to your own address with POST /users/me/email/verification-code', example: '123456' })
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code: string;
}
