import { MigrationInterface, QueryRunner } from 'typeorm';

export class UserIdentities1732300030000 implements MigrationInterface {
  name = 'UserIdentities1732300030000';

  async up(db: QueryRunner): Promise<void> {
    // Subjects are the provider's opaque ids, compared byte for byte: utf8mb4_bin.
    await db.query(`CREATE TABLE user_identities (
      id varchar(36) NOT NULL,
      user_id varchar(36) NOT NULL,
      provider varchar(32) NOT NULL,
      subject varchar(255) COLLATE utf8mb4_bin NOT NULL,
      email varchar(254) NULL,
      linked_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY ux_user_identities_provider_subject (provider, subject),
      UNIQUE KEY ux_user_identities_user_provider (user_id, provider),
      CONSTRAINT fk_user_identities_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE user_identities`);
  }
}
