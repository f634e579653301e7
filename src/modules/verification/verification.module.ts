import { Module } from '@nestjs/common';
import { CaptchaController } from './captcha/captcha.controller';
import { CaptchaService } from './captcha/captcha.service';
import { VerificationCodesService } from './codes/verification-codes.service';
import { SendersModule } from './senders/senders.module';

/**
 * Captchas, one-time codes and their delivery. It knows nothing of accounts (users and auth import
 * it), so the routes that send codes — which must know whether an address has an account — live in
 * the auth module.
 */
@Module({
  imports: [SendersModule],
  controllers: [CaptchaController],
  providers: [CaptchaService, VerificationCodesService],
  exports: [CaptchaService, VerificationCodesService],
})
export class VerificationModule {}
