import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A receiver registered by an admin (contract §12); its signing secret is sealed with the real-name key ring. */
@Entity('webhook_endpoints')
export class WebhookEndpoint {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  @Column({ type: 'varchar', length: 2048 })
  url: string;

  @Column({ type: 'varchar', length: 500, nullable: true })
  description: string | null;

  /** JSON list of event types, or ["*"]. */
  @Column({ type: 'varchar', length: 1000 })
  events: string;

  @Column({ type: 'boolean' })
  enabled: boolean;

  /** Why it is disabled: by an admin (`admin`) or after failing for WEBHOOK_DISABLE_AFTER_HOURS (`failing`). */
  @Column({ name: 'disabled_reason', type: 'varchar', length: 16, nullable: true })
  disabledReason: 'admin' | 'failing' | null;

  @Column({ name: 'key_id', type: 'varchar', length: 32 })
  keyId: string;

  @Column({ name: 'secret_enc', type: 'varchar', length: 255 })
  secretEnc: string;

  /** The secret before the last rotation: still signs (beside the new one) until previous_expires_at. */
  @Column({ name: 'previous_key_id', type: 'varchar', length: 32, nullable: true })
  previousKeyId: string | null;

  @Column({ name: 'previous_secret_enc', type: 'varchar', length: 255, nullable: true })
  previousSecretEnc: string | null;

  @Column({ name: 'previous_expires_at', type: 'datetime', precision: 3, nullable: true })
  previousExpiresAt: Date | null;

  /** The first failed attempt since the last success; null while the endpoint answers. */
  @Column({ name: 'failing_since', type: 'datetime', precision: 3, nullable: true })
  failingSince: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;

  @Column({ name: 'updated_at', type: 'datetime', precision: 3 })
  updatedAt: Date;
}

export const DELIVERY_STATUSES = ['pending', 'delivering', 'delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** One event to one endpoint: its attempts, lease and last answer. */
@Entity('webhook_deliveries')
export class WebhookDelivery {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id: string;

  /** The event's seq: deliveries to one endpoint about one user go in this order. */
  @Column({ name: 'event_seq', type: 'bigint' })
  eventSeq: string;

  @Column({ name: 'event_id', type: 'varchar', length: 36 })
  eventId: string;

  @Column({ name: 'endpoint_id', type: 'varchar', length: 36 })
  endpointId: string;

  @Column({ name: 'user_id', type: 'varchar', length: 36, nullable: true })
  userId: string | null;

  @Column({ type: 'varchar', length: 48 })
  type: string;

  @Column({ type: 'varchar', length: 16 })
  status: DeliveryStatus;

  @Column({ type: 'int' })
  attempts: number;

  @Column({ name: 'next_attempt_at', type: 'datetime', precision: 3 })
  nextAttemptAt: Date;

  /** While `delivering`: the claim holds until then; an expired lease (a killed instance) is claimable again. */
  @Column({ name: 'lease_until', type: 'datetime', precision: 3, nullable: true })
  leaseUntil: Date | null;

  @Column({ name: 'leased_by', type: 'varchar', length: 64, nullable: true })
  leasedBy: string | null;

  @Column({ name: 'last_status_code', type: 'int', nullable: true })
  lastStatusCode: number | null;

  @Column({ name: 'last_error', type: 'varchar', length: 255, nullable: true })
  lastError: string | null;

  @Column({ name: 'last_attempt_at', type: 'datetime', precision: 3, nullable: true })
  lastAttemptAt: Date | null;

  @Column({ name: 'created_at', type: 'datetime', precision: 3 })
  createdAt: Date;
}
