import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { HUMAN_CHECK_KINDS } from '@/config/app-config';

/** What the SPA needs to show the configured human check. */
export class HumanCheckInfoDto {
  @ApiProperty({ description: 'The check to show: image captcha, ALTCHA proof of work, both, or an external provider widget', enum: HUMAN_CHECK_KINDS, example: 'image' })
  kind: (typeof HUMAN_CHECK_KINDS)[number];

  @ApiPropertyOptional({ description: 'With image: the captcha image URL; replace {captchaId} with a fresh UUID and send it back as captchaId with captchaText', example: '/api/v1/verification/captcha/{captchaId}' })
  imageUrlTemplate?: string;

  @ApiPropertyOptional({ description: 'With pow: where the ALTCHA widget fetches its challenge (its challengeurl); send its solution as altcha', example: '/api/v1/verification/challenge' })
  challengeUrl?: string;

  @ApiPropertyOptional({ description: "With provider: the provider's public site key for its widget (HUMAN_CHECK_PROVIDER_SITE_KEY); send the widget's token as captchaToken", example: '0x4AAAAAAAxxxxxxxx' })
  siteKey?: string;
}

/** An ALTCHA challenge exactly as the widget reads it (altcha-lib's v1 format). */
export class AltchaChallengeDto {
  @ApiProperty({ description: 'Hash algorithm', enum: ['SHA-256'], example: 'SHA-256' })
  algorithm: string;

  @ApiProperty({ description: 'SHA-256 (hex) of salt + the secret number', example: '4d6f0c8f1c5e9d1b2a3c4e5f60718293a4b5c6d7e8f90112233445566778899a' })
  challenge: string;

  @ApiProperty({ description: 'The secret number is below this', example: 100000 })
  maxnumber: number;

  @ApiProperty({ description: 'Random salt followed by `?expires=<unix seconds>&`: the challenge expires then', example: '46a5b1c2d3e4f5a6b7c8d9e0?expires=1767225600&' })
  salt: string;

  @ApiProperty({ description: 'HMAC-SHA-256 (hex) of the challenge with the server key', example: '9b1f2e3d4c5b6a798897a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5' })
  signature: string;
}
