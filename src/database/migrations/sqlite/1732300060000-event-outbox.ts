import { MigrationInterface, QueryRunner } from 'typeorm';

export class EventOutbox1732300060000 implements MigrationInterface {
  name = 'EventOutbox1732300060000';

  async up(db: QueryRunner): Promise<void> {
    // No foreign key to users: a user.deleted event outlives the account it reports.
    // seq orders events as written (ids are random; two events of one transaction share a millisecond).
    await db.query(`CREATE TABLE events (
      seq integer PRIMARY KEY AUTOINCREMENT NOT NULL,
      id varchar(36) NOT NULL,
      type varchar(48) NOT NULL,
      user_id varchar(36),
      data varchar(2000) NOT NULL,
      created_at datetime NOT NULL
    )`);
    await db.query(`CREATE UNIQUE INDEX ux_events_id ON events (id)`);
    await db.query(`CREATE INDEX ix_events_created_at ON events (created_at)`);
    await db.query(`CREATE INDEX ix_events_user_id_seq ON events (user_id, seq)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE events`);
  }
}
