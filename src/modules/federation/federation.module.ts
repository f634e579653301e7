import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AccountOwnershipModule } from '@/modules/account/account-ownership.module';
import { AuthModule } from '@/modules/auth/auth.module';
import { AvatarModule } from '@/modules/avatar/avatar.module';
import { UsersModule } from '@/modules/users/users.module';
import { VerificationModule } from '@/modules/verification/verification.module';
import { FederationController } from './federation.controller';
import { FederationService } from './federation.service';
import { IdentitiesController } from './identities.controller';
import { IdentitiesRepository } from './identities.repository';
import { IdentitiesService } from './identities.service';
import { IdentityProviders } from './providers/identity-providers';
import { UserIdentity } from './user-identity.entity';

/** Sign-in with other identity providers (contract §11): providers/ (one port, one adapter each), identities, the callback flow. */
@Module({
  imports: [TypeOrmModule.forFeature([UserIdentity]), AuthModule, UsersModule, VerificationModule, AvatarModule, AccountOwnershipModule],
  controllers: [FederationController, IdentitiesController],
  providers: [IdentityProviders, IdentitiesRepository, IdentitiesService, FederationService],
  exports: [IdentitiesService],
})
export class FederationModule {}
