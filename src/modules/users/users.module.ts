import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { VerificationModule } from '@/modules/verification/verification.module';
import { AvatarUrlOf } from './dto/user-response.dto';
import { PasswordHasher } from './password/password-hasher';
import { RegistrationService } from './registration.service';
import { User } from './user.entity';
import { UsersController } from './users.controller';
import { UsersRepository } from './users.repository';
import { AVATAR_URL_OF, UsersService } from './users.service';

const localAvatarUrl: AvatarUrlOf = (key) => (key ? `/api/v1/avatars/${key}` : null);

@Module({
  imports: [TypeOrmModule.forFeature([User]), VerificationModule],
  controllers: [UsersController],
  providers: [UsersRepository, UsersService, PasswordHasher, RegistrationService, { provide: AVATAR_URL_OF, useValue: localAvatarUrl }],
  exports: [UsersService, RegistrationService],
})
export class UsersModule {}
