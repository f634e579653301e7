import { Module } from '@nestjs/common';
import { AuthModule } from '@/modules/auth/auth.module';
import { SessionsModule } from '@/modules/auth/sessions/sessions.module';
import { FederationModule } from '@/modules/federation/federation.module';
import { UsersModule } from '@/modules/users/users.module';
import { AdminAccountsService } from './admin-accounts.service';
import { AdminBootstrap } from './admin-bootstrap.service';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';

@Module({
  imports: [UsersModule, SessionsModule, FederationModule, AuthModule],
  controllers: [AdminController],
  providers: [AdminService, AdminAccountsService, AdminBootstrap],
  exports: [AdminAccountsService],
})
export class AdminModule {}
