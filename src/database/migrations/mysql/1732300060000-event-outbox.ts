import { MigrationInterface, QueryRunner } from 'typeorm';

export class EventOutbox1732300060000 implements MigrationInterface {
  name = 'EventOutbox1732300060000';

  async up(db: QueryRunner): Promise<void> {
    // No foreign key to users: a user.deleted event outlives the account it reports.
    // seq orders events as written (ids are random; two events of one transaction share a millisecond).
    await db.query(`CREATE TABLE events (
      seq bigint NOT NULL AUTO_INCREMENT,
      id varchar(36) NOT NULL,
      type varchar(48) NOT NULL,
      user_id varchar(36) NULL,
      data varchar(2000) NOT NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (seq),
      UNIQUE KEY ux_events_id (id),
      KEY ix_events_created_at (created_at),
      KEY ix_events_user_id_seq (user_id, seq)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE events`);
  }
}
