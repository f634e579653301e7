import { MigrationInterface, QueryRunner } from 'typeorm';
import { copyLegacyApiKeys, RESTORE_LEGACY_API_KEYS } from '../legacy-api-keys';

export class ApiKeys1732300010000 implements MigrationInterface {
  name = 'ApiKeys1732300010000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE api_keys (
      id varchar(36) PRIMARY KEY NOT NULL,
      user_id varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      name varchar(64) NOT NULL,
      key_hash varchar(64) NOT NULL,
      scopes varchar(100) NOT NULL,
      expires_at datetime NOT NULL,
      last_used_at datetime,
      created_at datetime NOT NULL
    )`);
    await db.query(`CREATE UNIQUE INDEX ux_api_keys_key_hash ON api_keys (key_hash)`);
    await db.query(`CREATE INDEX ix_api_keys_user_id ON api_keys (user_id)`);
    await copyLegacyApiKeys(db);
    await db.query(`DROP INDEX ux_users_api_key_hash`);
    await db.query(`ALTER TABLE users DROP COLUMN api_key_hash`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`ALTER TABLE users ADD COLUMN api_key_hash varchar(64)`);
    await db.query(`CREATE UNIQUE INDEX ux_users_api_key_hash ON users (api_key_hash)`);
    await db.query(RESTORE_LEGACY_API_KEYS);
    await db.query(`DROP TABLE api_keys`);
  }
}
