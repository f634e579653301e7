import { ApiProperty, ApiPropertyOptional, PartialType, PickType } from '@nestjs/swagger';
import { IsOptional, IsString, IsUrl, Length, Matches, MaxLength } from 'class-validator';
import { IsEmailAddress } from '@/modules/users/email-address';
import { HumanCheckAnswerDto } from '@/modules/human-check/dto/human-check-answer.dto';

/** The human check is required unless the operator turns REGISTRATION_CAPTCHA off. */
export class CreateUserDto extends HumanCheckAnswerDto {
  @ApiProperty({ description: '5-32 letters, digits, "_", "." or "-", written in one script (Latin may go with Chinese, Japanese or Korean; otherwise 400 USERNAME_INVALID). Unique by its confusable skeleton (Unicode TS #39) after NFKC and case folding: `rооtadmin` (Cyrillic о), `r00tadmin` or `RootAdmin` is 409 USERNAME_TAKEN when `rootadmin` exists', example: 'alice_01' })
  @IsString()
  @MaxLength(64)
  username: string;

  @ApiProperty({ description: 'Email address', example: 'alice@example.com', maxLength: 254 })
  @IsEmailAddress()
  email: string;

  @ApiProperty({ description: '8-64 characters, any printable Unicode; common passwords are refused', example: 'correct horse battery', minLength: 8, maxLength: 64 })
  @IsString()
  @MaxLength(1024)
  password: string;

  @ApiPropertyOptional({ description: 'Name shown to others', example: 'Alice', maxLength: 64 })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  displayName?: string;

  @ApiPropertyOptional({ description: 'Short self-introduction', example: 'I build things.', maxLength: 500 })
  @IsOptional()
  @IsString()
  @MaxLength(500)
  intro?: string;

  @ApiPropertyOptional({ description: 'GitHub user name', example: 'alice', maxLength: 39 })
  @IsOptional()
  @Matches(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$/, { message: 'github must be a GitHub user name' })
  github?: string;

  @ApiPropertyOptional({ description: 'School', example: 'Tsinghua University', maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  school?: string;

  @ApiPropertyOptional({ description: 'Personal web site (http or https)', example: 'https://alice.example.com', maxLength: 255 })
  @IsOptional()
  @IsUrl({ protocols: ['http', 'https'], require_protocol: true }, { message: 'website must be an http(s) URL' })
  @MaxLength(255)
  website?: string;

  @ApiPropertyOptional({ description: 'Email code (purpose register); required when the operator turns REGISTRATION_EMAIL_CODE on', example: '123456' })
  @IsOptional()
  @Matches(/^\d{6}$/, { message: 'emailCode must be 6 digits' })
  emailCode?: string;

  @ApiPropertyOptional({ description: 'Required when the operator sets REGISTRATION_KEY', example: 'team-invite-2026' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  registrationKey?: string;
}

export class UpdateProfileDto extends PartialType(PickType(CreateUserDto, ['displayName', 'intro', 'github', 'school', 'website'] as const)) {}

export class CreatePhoneUserDto {
  @ApiProperty({ description: 'Mobile number: E.164, or a bare 11-digit Chinese mobile number', example: '+8613800138000' })
  @IsString()
  @MaxLength(32)
  phone: string;

  @ApiProperty({ description: 'The 6-digit code sent with purpose register', example: '123456' })
  @Matches(/^\d{6}$/, { message: 'smsCode must be 6 digits' })
  smsCode: string;

  @ApiPropertyOptional({ description: 'Optional password (8-64 characters); without one the account signs in by SMS code', example: 'violet sunrise 42' })
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  @ApiPropertyOptional({ description: 'Name shown to others', example: 'Alice', maxLength: 64 })
  @IsOptional()
  @IsString()
  @Length(1, 64)
  displayName?: string;

  @ApiPropertyOptional({ description: 'Required when the operator sets REGISTRATION_KEY (it guards every way to sign up)', example: 'team-invite-2026' })
  @IsOptional()
  @IsString()
  @MaxLength(256)
  registrationKey?: string;
}
