import { MigrationInterface, QueryRunner } from 'typeorm';

export class RealNameRecords1732300003000 implements MigrationInterface {
  name = 'RealNameRecords1732300003000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE real_name_records (
      user_id varchar(36) PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      status varchar(16) NOT NULL,
      key_id varchar(32) NOT NULL,
      real_name_enc varchar(255) NOT NULL,
      id_card_enc varchar(128) NOT NULL,
      id_card_index varchar(64),
      provider varchar(16) NOT NULL,
      submitted_at datetime NOT NULL,
      verified_at datetime,
      updated_at datetime NOT NULL
    )`);
    await db.query(`CREATE UNIQUE INDEX ux_real_name_records_id_card_index ON real_name_records (id_card_index)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE real_name_records`);
  }
}
