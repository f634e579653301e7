import { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/**
 * Signed webhooks (contract §12): the endpoints admins register and one delivery row per
 * (event, endpoint). events.dispatched_at marks an event whose delivery rows exist.
 */
export class Webhooks1732300080000 implements MigrationInterface {
  name = 'Webhooks1732300080000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE events ADD COLUMN dispatched_at datetime(3) NULL`);
    await db.query(`CREATE INDEX ix_events_dispatched_at_seq ON events (dispatched_at, seq)`);
    // Ciphertexts are compared byte for byte: utf8mb4_bin.
    await db.query(`CREATE TABLE webhook_endpoints (
      id varchar(36) NOT NULL,
      url varchar(2048) NOT NULL,
      description varchar(500) NULL,
      events varchar(1000) NOT NULL,
      enabled tinyint NOT NULL,
      disabled_reason varchar(16) NULL,
      key_id varchar(32) COLLATE utf8mb4_bin NOT NULL,
      secret_enc varchar(255) COLLATE utf8mb4_bin NOT NULL,
      previous_key_id varchar(32) COLLATE utf8mb4_bin NULL,
      previous_secret_enc varchar(255) COLLATE utf8mb4_bin NULL,
      previous_expires_at datetime(3) NULL,
      failing_since datetime(3) NULL,
      created_at datetime(3) NOT NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      KEY ix_webhook_endpoints_created_at (created_at)
    ) ${TABLE}`);
    await db.query(`CREATE TABLE webhook_deliveries (
      id varchar(36) NOT NULL,
      event_seq bigint NOT NULL,
      event_id varchar(36) NOT NULL,
      endpoint_id varchar(36) NOT NULL,
      user_id varchar(36) NULL,
      type varchar(48) NOT NULL,
      status varchar(16) NOT NULL,
      attempts int NOT NULL,
      next_attempt_at datetime(3) NOT NULL,
      lease_until datetime(3) NULL,
      leased_by varchar(64) NULL,
      last_status_code int NULL,
      last_error varchar(255) NULL,
      last_attempt_at datetime(3) NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY ux_webhook_deliveries_event_endpoint (event_id, endpoint_id),
      KEY ix_webhook_deliveries_status_next (status, next_attempt_at),
      KEY ix_webhook_deliveries_order (endpoint_id, user_id, event_seq),
      KEY ix_webhook_deliveries_endpoint_seq (endpoint_id, event_seq),
      CONSTRAINT fk_webhook_deliveries_endpoint FOREIGN KEY (endpoint_id) REFERENCES webhook_endpoints (id) ON DELETE CASCADE
    ) ${TABLE}`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE webhook_deliveries`);
    await db.query(`DROP TABLE webhook_endpoints`);
    await db.query(`DROP INDEX ix_events_dispatched_at_seq ON events`);
    await db.query(`ALTER TABLE events DROP COLUMN dispatched_at`);
  }
}
