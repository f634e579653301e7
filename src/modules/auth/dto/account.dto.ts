import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';

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

  @ApiPropertyOptional({ description: 'For password-less phone accounts: an SMS code sent with purpose login', example: '123456' })
  @IsOptional()
  @Matches(/^\d{6}$/, { message: 'code must be 6 digits' })
  code?: string;
}

export class ApiKeyDto {
  @ApiProperty({ description: 'Your personal API key, shown only this once; send it as X-API-Key', example: 'ucp_3q2-7wEAAAB...' })
  apiKey: string;
}
