import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RefreshToken, Session } from './session.entity';
import { SessionsService } from './sessions.service';

/** Its own module so that Users (revoke on password change, deletion) and Auth can both use it without a cycle. */
@Module({
  imports: [TypeOrmModule.forFeature([Session, RefreshToken])],
  providers: [SessionsService],
  exports: [SessionsService],
})
export class SessionsModule {}
