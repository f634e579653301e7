import { MigrationInterface, QueryRunner } from 'typeorm';

export class UserIdentities1732300030000 implements MigrationInterface {
  name = 'UserIdentities1732300030000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE user_identities (
      id varchar(36) PRIMARY KEY NOT NULL,
      user_id varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      provider varchar(32) NOT NULL,
      subject varchar(255) NOT NULL,
      email varchar(254),
      linked_at datetime NOT NULL
    )`);
    await db.query(`CREATE UNIQUE INDEX ux_user_identities_provider_subject ON user_identities (provider, subject)`);
    await db.query(`CREATE UNIQUE INDEX ux_user_identities_user_provider ON user_identities (user_id, provider)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE user_identities`);
  }
}
