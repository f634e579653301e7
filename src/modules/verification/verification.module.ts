import { Module } from '@nestjs/common';
import { VerificationCodesService } from './codes/verification-codes.service';
import { SendersModule } from './senders/senders.module';

/**
 * One-time codes and their delivery. It knows nothing of accounts (users and auth import
 * it), so the routes that send codes — which must know whether an address has an account — live in
 * the auth module.
 */
@Module({
  imports: [SendersModule],
  providers: [VerificationCodesService],
  exports: [VerificationCodesService],
})
export class VerificationModule {}
