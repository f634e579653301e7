import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RevocationMarker } from './revocation-marker.entity';
import { RefreshToken, Session } from './session.entity';
import { SessionsService } from './sessions.service';

/** Its own module so that Users (revoke on password change, deletion) and Auth can both use it without a cycle. */
@Module({
  imports: [TypeOrmModule.forFeature([Session, RefreshToken, RevocationMarker])],
  providers: [SessionsService],
  exports: [SessionsService],
})
export class SessionsModule {}
