import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Length, MaxLength } from 'class-validator';
import { MAX_ALTCHA_PAYLOAD, MAX_PROVIDER_TOKEN } from '../human-check.port';

/**
 * The human-check fields of every route that asks for one. Which of them are needed depends on
 * HUMAN_CHECK (GET /verification/human-check tells the client); a missing one is 400
 * CAPTCHA_REQUIRED, a wrong, used or expired one 400 CAPTCHA_INVALID.
 */
export class HumanCheckAnswerDto {
  @ApiPropertyOptional({ description: 'Image captcha (HUMAN_CHECK image or image+pow): the id the client chose for GET /verification/captcha/{captchaId}', example: '0b6f1c9e-2f7a-4c1e-9a8b-3d2e1f0a9b8c' })
  @IsOptional()
  @IsUUID()
  captchaId?: string;

  @ApiPropertyOptional({ description: 'Image captcha: the characters shown (case-insensitive)', example: 'x7kp3' })
  @IsOptional()
  @IsString()
  @Length(1, 16)
  captchaText?: string;

  @ApiPropertyOptional({ description: 'Proof of work (HUMAN_CHECK pow or image+pow): the ALTCHA widget\'s base64 solution of a challenge from GET /verification/challenge; each is accepted once, before its challenge expires', example: 'eyJhbGdvcml0aG0iOiJTSEEtMjU2IiwiY2hhbGxlbmdlIjoiLi4uIiwibnVtYmVyIjoxMjM0LCJzYWx0IjoiLi4uIiwic2lnbmF0dXJlIjoiLi4uIn0=', maxLength: MAX_ALTCHA_PAYLOAD })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_ALTCHA_PAYLOAD)
  altcha?: string;

  @ApiPropertyOptional({ description: "External provider (HUMAN_CHECK provider): the token its widget gave (Turnstile, hCaptcha, reCAPTCHA, ...), verified server-side", example: '0.xxxxxxxx', maxLength: MAX_PROVIDER_TOKEN })
  @IsOptional()
  @IsString()
  @MaxLength(MAX_PROVIDER_TOKEN)
  captchaToken?: string;
}
