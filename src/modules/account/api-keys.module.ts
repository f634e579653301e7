import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { UsersModule } from '@/modules/users/users.module';
import { ApiKey } from './api-key.entity';
import { ApiKeysService } from './api-keys.service';

/**
 * Personal API keys, in the account room. It depends on users only, so the global guard (auth) can
 * authenticate keys without auth and account depending on each other.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey]), UsersModule],
  providers: [ApiKeysService],
  exports: [ApiKeysService],
})
export class ApiKeysModule {}
