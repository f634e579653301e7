import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { EntityManager, In, Repository } from 'typeorm';
import { Clock } from '@/common/clock';
import { deleteInBatches } from '@/database/batched-delete';
import { OutboxEvent } from './outbox-event.entity';
import { WebhookDelivery } from './webhooks/webhook.entities';
import { EventBody, EventDataByType, EventType } from './event-types';

/**
 * The outbox of contract §12. `emit` takes the open transaction on purpose (no optional `tx`, unlike
 * audit.record): an event written outside the change's transaction could report a change that was
 * rolled back, or be lost when the change committed — both or neither is the whole point.
 */
@Injectable()
export class EventsService {
  constructor(
    @InjectRepository(OutboxEvent) private readonly events: Repository<OutboxEvent>,
    private readonly clock: Clock,
  ) {}

  async emit<T extends EventType>(tx: EntityManager, type: T, data: EventDataByType[T]): Promise<void> {
    await tx.insert(OutboxEvent, {
      id: randomUUID(),
      type,
      userId: data.userId,
      data: JSON.stringify(data),
      createdAt: new Date(this.clock.now()),
    });
  }

  /** The events about one user, in the order they were written, as receivers will get them. */
  async listForUser(userId: string): Promise<EventBody[]> {
    const rows = await this.events.find({ where: { userId }, order: { seq: 'ASC' } });
    return rows.map(toEventBody);
  }

  /**
   * Deletes events written before `before`, oldest first, `batchSize` rows per statement, with their
   * webhook delivery log; returns how many (the retention job). An event is kept while a delivery of
   * it is pending or in flight, and while it is not dispatched yet — unless no endpoint is enabled,
   * when nothing would ever be sent.
   */
  purgeOlderThan(before: Date, batchSize: number): Promise<number> {
    return deleteInBatches(
      this.events,
      'id',
      batchSize,
      async (limit) =>
        (
          await this.events
            .createQueryBuilder('e')
            .select('e.id', 'id')
            .where('e.created_at < :before', { before })
            .andWhere('(e.dispatched_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM webhook_endpoints w WHERE w.enabled = 1))')
            .andWhere("NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status IN ('pending', 'delivering'))")
            .orderBy('e.seq', 'ASC')
            .limit(limit)
            .getRawMany<{ id: string }>()
        ).map(({ id }) => id),
      async (ids) => {
        await this.events.manager.delete(WebhookDelivery, { eventId: In(ids) });
      },
    );
  }
}

export function toEventBody(row: OutboxEvent): EventBody {
  return { id: row.id, type: row.type as EventType, timestamp: row.createdAt.toISOString(), data: JSON.parse(row.data) as EventBody['data'] };
}
