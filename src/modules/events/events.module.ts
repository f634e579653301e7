import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OutboxEvent } from './outbox-event.entity';
import { EventsService } from './events.service';

/** Global like the audit module: every module that changes an account writes its event beside its audit record. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([OutboxEvent])],
  providers: [EventsService],
  exports: [EventsService],
})
export class EventsModule {}
