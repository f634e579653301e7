import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Second factors. users.mfa_methods is read with the row at sign-in, so an account without MFA costs
 * no extra query; sessions.amr records how the session's last authentication was made (RFC 8176).
 */
export class Mfa1732300020000 implements MigrationInterface {
  name = 'Mfa1732300020000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN mfa_methods varchar(64)`);
    await db.query(`ALTER TABLE sessions ADD COLUMN amr varchar(64)`);
    await db.query(`CREATE TABLE mfa_totp (
      user_id varchar(36) PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      key_id varchar(32) NOT NULL,
      secret_enc varchar(255) NOT NULL,
      created_at datetime NOT NULL,
      confirmed_at datetime
    )`);
    await db.query(`CREATE TABLE mfa_recovery_codes (
      id varchar(36) PRIMARY KEY NOT NULL,
      user_id varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      code_hash varchar(64) NOT NULL,
      created_at datetime NOT NULL,
      used_at datetime
    )`);
    await db.query(`CREATE UNIQUE INDEX ux_mfa_recovery_codes_user_code ON mfa_recovery_codes (user_id, code_hash)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE mfa_recovery_codes`);
    await db.query(`DROP TABLE mfa_totp`);
    await db.query(`ALTER TABLE sessions DROP COLUMN amr`);
    await db.query(`ALTER TABLE users DROP COLUMN mfa_methods`);
  }
}
