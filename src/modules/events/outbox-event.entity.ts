import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';

/** One event of contract §12, written in the transaction of the change it reports (the outbox). */
@Entity('events')
export class OutboxEvent {
  /** Order of writing: ids are random, and the events of one transaction share a millisecond. */
  @PrimaryGeneratedColumn({ type: 'bigint' })
  seq: string;

  @Column({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 48 })
  type: string;

  /** The account the event is about; kept after the account is deleted (user.deleted must outlive it). */
  @Column({ name: 'user_id', type: 'varchar', length: 36, nullable: true })
  userId: string | null;

  /** JSON of the event's `data`: ids, field names and small enumerations only (see EventData). */
  @Column({ type: 'varchar', length: 2000 })
  data: string;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  /** Set once its webhook deliveries exist (one per enabled endpoint subscribed to its type); null until then. */
  @Column({ name: 'dispatched_at', type: 'datetime', precision: 3, nullable: true })
  dispatchedAt: Date | null;
}
