import { MigrationInterface, QueryRunner } from 'typeorm';

export class RealNameRecords1732300003000 implements MigrationInterface {
  name = 'RealNameRecords1732300003000';

  async up(db: QueryRunner): Promise<void> {
    // Ciphertexts and the blind index are compared byte for byte: utf8mb4_bin.
    await db.query(`CREATE TABLE real_name_records (
      user_id varchar(36) NOT NULL,
      status varchar(16) NOT NULL,
      key_id varchar(32) COLLATE utf8mb4_bin NOT NULL,
      real_name_enc varchar(255) COLLATE utf8mb4_bin NOT NULL,
      id_card_enc varchar(128) COLLATE utf8mb4_bin NOT NULL,
      id_card_index varchar(64) COLLATE utf8mb4_bin NULL,
      provider varchar(16) NOT NULL,
      submitted_at datetime(3) NOT NULL,
      verified_at datetime(3) NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (user_id),
      UNIQUE KEY ux_real_name_records_id_card_index (id_card_index),
      CONSTRAINT fk_real_name_records_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE real_name_records`);
  }
}
