import { Module } from '@nestjs/common';
import { AuthModule } from '@/modules/auth/auth.module';
import { FederationModule } from '@/modules/federation/federation.module';
import { MfaModule } from '@/modules/mfa/mfa.module';
import { RealNameModule } from '@/modules/real-name/real-name.module';
import { UsersModule } from '@/modules/users/users.module';
import { ExportController } from './export.controller';
import { ExportService } from './export.service';

/** The user's own data (contract §12): the export reads each module's exported service, never its tables. */
@Module({
  imports: [AuthModule, UsersModule, FederationModule, MfaModule, RealNameModule],
  controllers: [ExportController],
  providers: [ExportService],
})
export class PrivacyModule {}
