import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength } from 'class-validator';
import { HumanCheckAnswerDto } from '@/modules/human-check/dto/human-check-answer.dto';
import { CODE_PURPOSES, EmailPurpose, SmsPurpose } from '@/modules/verification/senders/message';
import { IsEmailAddress } from '@/modules/users/email-address';

export class SendSmsCodeDto extends HumanCheckAnswerDto {
  @ApiProperty({ description: 'Mobile number: E.164, or a bare 11-digit Chinese mobile number', example: '+8613800138000' })
  @IsString()
  @MaxLength(32)
  phone: string;

  @ApiProperty({ description: 'What the code is for', enum: CODE_PURPOSES.sms, example: 'login' })
  @IsIn(CODE_PURPOSES.sms)
  purpose: SmsPurpose;
}

export class SendEmailCodeDto extends HumanCheckAnswerDto {
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
