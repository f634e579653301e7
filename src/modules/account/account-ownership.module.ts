import { Module } from '@nestjs/common';
import { SessionsModule } from '@/modules/auth/sessions/sessions.module';
import { VerificationModule } from '@/modules/verification/verification.module';
import { AccountOwnershipService } from './account-ownership.service';
import { ApiKeysModule } from './api-keys.module';

/** "The account was reclaimed" and "verify the email first": MFA and federation import this to register their steps and call the check. */
@Module({
  imports: [SessionsModule, ApiKeysModule, VerificationModule],
  providers: [AccountOwnershipService],
  exports: [AccountOwnershipService],
})
export class AccountOwnershipModule {}
