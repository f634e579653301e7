import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Signed webhooks (contract §12): the endpoints admins register and one delivery row per
 * (event, endpoint). events.dispatched_at marks an event whose delivery rows exist.
 */
export class Webhooks1732300080000 implements MigrationInterface {
  name = 'Webhooks1732300080000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE events ADD COLUMN dispatched_at datetime`);
    await db.query(`CREATE INDEX ix_events_dispatched_at_seq ON events (dispatched_at, seq)`);
    await db.query(`CREATE TABLE webhook_endpoints (
      id varchar(36) PRIMARY KEY NOT NULL,
      url varchar(2048) NOT NULL,
      description varchar(500),
      events varchar(1000) NOT NULL,
      enabled boolean NOT NULL,
      disabled_reason varchar(16),
      key_id varchar(32) NOT NULL,
      secret_enc varchar(255) NOT NULL,
      previous_key_id varchar(32),
      previous_secret_enc varchar(255),
      previous_expires_at datetime,
      failing_since datetime,
      created_at datetime NOT NULL,
      updated_at datetime NOT NULL
    )`);
    await db.query(`CREATE INDEX ix_webhook_endpoints_created_at ON webhook_endpoints (created_at)`);
    await db.query(`CREATE TABLE webhook_deliveries (
      id varchar(36) PRIMARY KEY NOT NULL,
      event_seq integer NOT NULL,
      event_id varchar(36) NOT NULL,
      endpoint_id varchar(36) NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
      user_id varchar(36),
      type varchar(48) NOT NULL,
      status varchar(16) NOT NULL,
      attempts integer NOT NULL,
      next_attempt_at datetime NOT NULL,
      lease_until datetime,
      leased_by varchar(64),
      last_status_code integer,
      last_error varchar(255),
      last_attempt_at datetime,
      created_at datetime NOT NULL
    )`);
    await db.query(`CREATE UNIQUE INDEX ux_webhook_deliveries_event_endpoint ON webhook_deliveries (event_id, endpoint_id)`);
    await db.query(`CREATE INDEX ix_webhook_deliveries_status_next ON webhook_deliveries (status, next_attempt_at)`);
    await db.query(`CREATE INDEX ix_webhook_deliveries_order ON webhook_deliveries (endpoint_id, user_id, event_seq)`);
    await db.query(`CREATE INDEX ix_webhook_deliveries_endpoint_seq ON webhook_deliveries (endpoint_id, event_seq)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE webhook_deliveries`);
    await db.query(`DROP TABLE webhook_endpoints`);
    await db.query(`DROP INDEX ix_events_dispatched_at_seq`);
    await db.query(`ALTER TABLE events DROP COLUMN dispatched_at`);
  }
}
