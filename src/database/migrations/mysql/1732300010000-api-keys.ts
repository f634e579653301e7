import { MigrationInterface, QueryRunner } from 'typeorm';
import { copyLegacyApiKeys, RESTORE_LEGACY_API_KEYS } from '../legacy-api-keys';

export class ApiKeys1732300010000 implements MigrationInterface {
  name = 'ApiKeys1732300010000';

  async up(db: QueryRunner): Promise<void> {
    // Key hashes are compared byte for byte: utf8mb4_bin.
    await db.query(`CREATE TABLE api_keys (
      id varchar(36) NOT NULL,
      user_id varchar(36) NOT NULL,
      name varchar(64) NOT NULL,
      key_hash varchar(64) COLLATE utf8mb4_bin NOT NULL,
      scopes varchar(100) NOT NULL,
      expires_at datetime(3) NOT NULL,
      last_used_at datetime(3) NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY ux_api_keys_key_hash (key_hash),
      KEY ix_api_keys_user_id (user_id),
      CONSTRAINT fk_api_keys_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
    await copyLegacyApiKeys(db);
    await db.query(`ALTER TABLE users DROP INDEX ux_users_api_key_hash, DROP COLUMN api_key_hash`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN api_key_hash varchar(64) COLLATE utf8mb4_bin NULL, ADD UNIQUE KEY ux_users_api_key_hash (api_key_hash)`);
    await db.query(RESTORE_LEGACY_API_KEYS);
    await db.query(`DROP TABLE api_keys`);
  }
}
