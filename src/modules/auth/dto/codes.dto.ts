import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, IsUUID, Length, MaxLength } from 'class-validator';
import { CODE_PURPOSES, EmailPurpose, SmsPurpose } from '@/modules/verification/senders/message';
import { IsEmailAddress } from '@/modules/users/email-address';

class CaptchaAnswer {
  @ApiProperty({ description: 'Id of the captcha fetched from GET /verification/captcha/{captchaId}', example: '0b6f1c9e-2f7a-4c1e-9a8b-3d2e1f0a9b8c' })
  @IsUUID()
  captchaId: string;

  @ApiProperty({ description: 'The captcha answer (case-insensitive)', example: 'x7Kp' })
  @IsString()
  @Length(1, 16)
  captchaText: string;
}

export class SendSmsCodeDto extends CaptchaAnswer {
  @ApiProperty({ description: 'Mobile number: E.164, or a bare 11-digit Chinese mobile number', example: '+8613800138000' })
  @IsString()
  @MaxLength(32)
  phone: string;

  @ApiProperty({ description: 'What the code is for', enum: CODE_PURPOSES.sms, example: 'login' })
  @IsIn(CODE_PURPOSES.sms)
  purpose: SmsPurpose;
}

export class SendEmailCodeDto extends CaptchaAnswer {
  @ApiProperty({ description: 'Email address', example: 'alice@example.com' })
  @IsEmailAddress()
  email: string;

  @ApiProperty({ description: 'What the code is for', enum: CODE_PURPOSES.email, example: 'reset_password' })
  @IsIn(CODE_PURPOSES.email)
  purpose: EmailPurpose;
}

export class CodeTicketDto {
  @ApiProperty({ description: 'Seconds until the code expires', example: 600 })
  expiresIn: number;

  @ApiProperty({ description: 'Seconds until another code may be requested for this destination and purpose', example: 60 })
  resendAfter: number;
}
