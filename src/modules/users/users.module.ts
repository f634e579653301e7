import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { VerificationModule } from '@/modules/verification/verification.module';
import { HumanCheckModule } from '@/modules/human-check/human-check.module';
import { AvatarStorage } from '@/modules/avatar/storage/avatar-storage';
import { AvatarStorageModule } from '@/modules/avatar/storage/avatar-storage.module';
import { AvatarUrlOf } from './dto/user-response.dto';
import { PasswordHasher } from './password/password-hasher';
import { RegistrationService } from './registration.service';
import { User } from './user.entity';
import { InternalUsersController } from './internal-users.controller';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { AVATAR_URL_OF, UsersService } from './users.service';

/** The user view's avatarUrl comes from the storage adapter: our own route, a public bucket URL or a CDN. */
const avatarUrlOf = (storage: AvatarStorage): AvatarUrlOf => (key) => (key ? storage.urlOf(key) : null);

@Module({
  imports: [TypeOrmModule.forFeature([User]), VerificationModule, HumanCheckModule, AvatarStorageModule],
  controllers: [UsersController, InternalUsersController],
  providers: [UsersRepository, UsersService, PasswordHasher, RegistrationService, { provide: AVATAR_URL_OF, useFactory: avatarUrlOf, inject: [AvatarStorage] }],
  exports: [UsersService, RegistrationService],
})
export class UsersModule {}
