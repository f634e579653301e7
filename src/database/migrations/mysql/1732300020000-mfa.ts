import { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/**
 * Second factors. users.mfa_methods is read with the row at sign-in, so an account without MFA costs
 * no extra query; sessions.amr records how the session's last authentication was made (RFC 8176).
 */
export class Mfa1732300020000 implements MigrationInterface {
  name = 'Mfa1732300020000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN mfa_methods varchar(64) NULL`);
    await db.query(`ALTER TABLE sessions ADD COLUMN amr varchar(64) NULL`);
    // Ciphertexts and digests are compared byte for byte: utf8mb4_bin.
    await db.query(`CREATE TABLE mfa_totp (
      user_id varchar(36) NOT NULL,
      key_id varchar(32) COLLATE utf8mb4_bin NOT NULL,
      secret_enc varchar(255) COLLATE utf8mb4_bin NOT NULL,
      created_at datetime(3) NOT NULL,
      confirmed_at datetime(3) NULL,
      PRIMARY KEY (user_id),
      CONSTRAINT fk_mfa_totp_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    ) ${TABLE}`);
    await db.query(`CREATE TABLE mfa_recovery_codes (
      id varchar(36) NOT NULL,
      user_id varchar(36) NOT NULL,
      code_hash varchar(64) COLLATE utf8mb4_bin NOT NULL,
      created_at datetime(3) NOT NULL,
      used_at datetime(3) NULL,
      PRIMARY KEY (id),
      UNIQUE KEY ux_mfa_recovery_codes_user_code (user_id, code_hash),
      CONSTRAINT fk_mfa_recovery_codes_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    ) ${TABLE}`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE mfa_recovery_codes`);
    await db.query(`DROP TABLE mfa_totp`);
    await db.query(`ALTER TABLE sessions DROP COLUMN amr`);
    await db.query(`ALTER TABLE users DROP COLUMN mfa_methods`);
  }
}
