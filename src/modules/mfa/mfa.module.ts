import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountOwnershipModule } from '@/modules/account/account-ownership.module';
import { AuthModule } from '@/modules/auth/auth.module';
import { FederationModule } from '@/modules/federation/federation.module';
import { RealNameCryptoModule } from '@/modules/real-name/real-name-crypto.module';
import { UsersModule } from '@/modules/users/users.module';
import { VerificationModule } from '@/modules/verification/verification.module';
import { MfaAdminController, MfaController, StepUpController } from './mfa.controller';
import { MfaTotp, RecoveryCode } from './mfa.entities';
import { MfaService } from './mfa.service';
import { StepUpService } from './step-up.service';
import { Passkey } from './webauthn/passkey.entity';
import { PasskeyAuthController, PasskeysController } from './webauthn/passkeys.controller';
import { PasskeysService } from './webauthn/passkeys.service';
import { WebAuthnChallenges } from './webauthn/webauthn-challenges';

/**
 * Second factors (TOTP, recovery codes, passkeys in webauthn/), the answer to the MFA challenge, and step-up. Sign-in (auth/) opens the challenge
 * from the users.mfa_methods flag alone; this module answers it and issues tokens through auth's services.
 */
@Module({
  imports: [TypeOrmModule.forFeature([MfaTotp, RecoveryCode, Passkey]), AuthModule, FederationModule, UsersModule, VerificationModule, RealNameCryptoModule, AccountOwnershipModule],
  controllers: [MfaController, StepUpController, MfaAdminController, PasskeysController, PasskeyAuthController],
  providers: [MfaService, StepUpService, PasskeysService, WebAuthnChallenges],
  exports: [MfaService],
})
export class MfaModule {}
