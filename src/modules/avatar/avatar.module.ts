import { Module } from '@nestjs/common';
import { UsersModule } from '@/modules/users/users.module';
import { AvatarController } from './avatar.controller';
import { AvatarService } from './avatar.service';
import { AvatarStorageModule } from './storage/avatar-storage.module';

@Module({
  imports: [UsersModule, AvatarStorageModule],
  controllers: [AvatarController],
  providers: [AvatarService],
  exports: [AvatarService],
})
export class AvatarModule {}
