import { MigrationInterface, QueryRunner } from 'typeorm';

/** Passkeys (WebAuthn credentials, contract §10); users.mfa_methods gains "passkey" while an account has one. */
export class Passkeys1732300061000 implements MigrationInterface {
  name = 'Passkeys1732300061000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE passkeys (
      id varchar(36) PRIMARY KEY NOT NULL,
      user_id varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      credential_id varchar(1400) NOT NULL,
      public_key text NOT NULL,
      counter bigint NOT NULL,
      transports varchar(128),
      backup_eligible boolean NOT NULL,
      backed_up boolean NOT NULL,
      aaguid varchar(36) NOT NULL,
      name varchar(64) NOT NULL,
      created_at datetime NOT NULL,
      last_used_at datetime
    )`);
    await db.query(`CREATE UNIQUE INDEX ux_passkeys_credential_id ON passkeys (credential_id)`);
    await db.query(`CREATE INDEX ix_passkeys_user_id ON passkeys (user_id)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE passkeys`);
  }
}
