import { MigrationInterface, QueryRunner } from 'typeorm';

const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

/** Passkeys (WebAuthn credentials, contract §10); users.mfa_methods gains "passkey" while an account has one. */
export class Passkeys1732300061000 implements MigrationInterface {
  name = 'Passkeys1732300061000';

  async up(db: QueryRunner): Promise<void> {
    // Credential ids are base64url compared byte for byte; ascii keeps the unique index within InnoDB's 3072-byte key limit.
    await db.query(`CREATE TABLE passkeys (
      id varchar(36) NOT NULL,
      user_id varchar(36) NOT NULL,
      credential_id varchar(1400) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      public_key text CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
      counter bigint NOT NULL,
      transports varchar(128) NULL,
      backup_eligible tinyint NOT NULL,
      backed_up tinyint NOT NULL,
      aaguid varchar(36) NOT NULL,
      name varchar(64) NOT NULL,
      created_at datetime(3) NOT NULL,
      last_used_at datetime(3) NULL,
      PRIMARY KEY (id),
      UNIQUE KEY ux_passkeys_credential_id (credential_id),
      KEY ix_passkeys_user_id (user_id),
      CONSTRAINT fk_passkeys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    ) ${TABLE}`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE passkeys`);
  }
}
