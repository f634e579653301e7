import { MigrationInterface, QueryRunner } from 'typeorm';

// Key columns use utf8mb4_bin: the service normalises them itself, and a case- or
// accent-folding collation would make different normalised names collide.
const TABLE = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci';

export class InitialSchema1732300000000 implements MigrationInterface {
  name = 'InitialSchema1732300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE users (
      id varchar(36) NOT NULL,
      username varchar(32) NOT NULL,
      username_key varchar(64) COLLATE utf8mb4_bin NOT NULL,
      email varchar(254) NULL,
      email_key varchar(254) COLLATE utf8mb4_bin NULL,
      email_verified tinyint NOT NULL DEFAULT 0,
      phone varchar(20) COLLATE utf8mb4_bin NULL,
      password_hash varchar(100) COLLATE utf8mb4_bin NULL,
      role varchar(20) NOT NULL DEFAULT 'normal_user',
      status varchar(20) NOT NULL DEFAULT 'active',
      display_name varchar(64) NULL,
      intro varchar(500) NULL,
      github varchar(100) NULL,
      school varchar(100) NULL,
      website varchar(255) NULL,
      avatar_key varchar(128) COLLATE utf8mb4_bin NULL,
      real_name_verified tinyint NOT NULL DEFAULT 0,
      api_key_hash varchar(64) COLLATE utf8mb4_bin NULL,
      created_at datetime(3) NOT NULL,
      updated_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      UNIQUE KEY ux_users_username_key (username_key),
      UNIQUE KEY ux_users_email_key (email_key),
      UNIQUE KEY ux_users_phone (phone),
      UNIQUE KEY ux_users_api_key_hash (api_key_hash),
      KEY ix_users_created_at (created_at)
    ) ${TABLE}`);

    await db.query(`CREATE TABLE sessions (
      id varchar(36) NOT NULL,
      user_id varchar(36) NOT NULL,
      ip varchar(64) NULL,
      user_agent varchar(255) NULL,
      authenticated_at datetime(3) NOT NULL,
      created_at datetime(3) NOT NULL,
      last_used_at datetime(3) NOT NULL,
      expires_at datetime(3) NOT NULL,
      revoked_at datetime(3) NULL,
      revoked_reason varchar(32) NULL,
      PRIMARY KEY (id),
      KEY ix_sessions_user_id (user_id),
      KEY ix_sessions_revoked_at (revoked_at),
      CONSTRAINT fk_sessions_user FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
    ) ${TABLE}`);

    await db.query(`CREATE TABLE refresh_tokens (
      token_hash varchar(64) COLLATE utf8mb4_bin NOT NULL,
      session_id varchar(36) NOT NULL,
      created_at datetime(3) NOT NULL,
      spent_at datetime(3) NULL,
      PRIMARY KEY (token_hash),
      KEY ix_refresh_tokens_session_id (session_id),
      CONSTRAINT fk_refresh_tokens_session FOREIGN KEY (session_id) REFERENCES sessions (id) ON DELETE CASCADE
    ) ${TABLE}`);

    await db.query(`CREATE TABLE audit_events (
      id varchar(36) NOT NULL,
      type varchar(48) NOT NULL,
      outcome varchar(16) NOT NULL,
      user_id varchar(36) NULL,
      actor_id varchar(36) NULL,
      ip varchar(64) NULL,
      user_agent varchar(255) NULL,
      detail varchar(1000) NULL,
      created_at datetime(3) NOT NULL,
      PRIMARY KEY (id),
      KEY ix_audit_events_user_created (user_id, created_at),
      KEY ix_audit_events_type_created (type, created_at),
      KEY ix_audit_events_created (created_at)
    ) ${TABLE}`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['audit_events', 'refresh_tokens', 'sessions', 'users']) await db.query(`DROP TABLE ${table}`);
  }
}
