import { MigrationInterface, QueryRunner } from 'typeorm';

export class InitialSchema1732300000000 implements MigrationInterface {
  name = 'InitialSchema1732300000000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE users (
      id varchar(36) PRIMARY KEY NOT NULL,
      username varchar(32) NOT NULL,
      username_key varchar(64) NOT NULL,
      email varchar(254),
      email_key varchar(254),
      email_verified boolean NOT NULL DEFAULT 0,
      phone varchar(20),
      password_hash varchar(100),
      role varchar(20) NOT NULL DEFAULT 'normal_user',
      status varchar(20) NOT NULL DEFAULT 'active',
      display_name varchar(64),
      intro varchar(500),
      github varchar(100),
      school varchar(100),
      website varchar(255),
      avatar_key varchar(128),
      real_name_verified boolean NOT NULL DEFAULT 0,
      api_key_hash varchar(64),
      created_at datetime NOT NULL,
      updated_at datetime NOT NULL
    )`);
    await db.query(`CREATE UNIQUE INDEX ux_users_username_key ON users (username_key)`);
    await db.query(`CREATE UNIQUE INDEX ux_users_email_key ON users (email_key)`);
    await db.query(`CREATE UNIQUE INDEX ux_users_phone ON users (phone)`);
    await db.query(`CREATE UNIQUE INDEX ux_users_api_key_hash ON users (api_key_hash)`);
    await db.query(`CREATE INDEX ix_users_created_at ON users (created_at)`);

    await db.query(`CREATE TABLE sessions (
      id varchar(36) PRIMARY KEY NOT NULL,
      user_id varchar(36) NOT NULL REFERENCES users (id) ON DELETE CASCADE,
      ip varchar(64),
      user_agent varchar(255),
      authenticated_at datetime NOT NULL,
      created_at datetime NOT NULL,
      last_used_at datetime NOT NULL,
      expires_at datetime NOT NULL,
      revoked_at datetime,
      revoked_reason varchar(32)
    )`);
    await db.query(`CREATE INDEX ix_sessions_user_id ON sessions (user_id)`);
    await db.query(`CREATE INDEX ix_sessions_revoked_at ON sessions (revoked_at)`);

    await db.query(`CREATE TABLE refresh_tokens (
      token_hash varchar(64) PRIMARY KEY NOT NULL,
      session_id varchar(36) NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
      created_at datetime NOT NULL,
      spent_at datetime
    )`);
    await db.query(`CREATE INDEX ix_refresh_tokens_session_id ON refresh_tokens (session_id)`);

    await db.query(`CREATE TABLE audit_events (
      id varchar(36) PRIMARY KEY NOT NULL,
      type varchar(48) NOT NULL,
      outcome varchar(16) NOT NULL,
      user_id varchar(36),
      actor_id varchar(36),
      ip varchar(64),
      user_agent varchar(255),
      detail varchar(1000),
      created_at datetime NOT NULL
    )`);
    await db.query(`CREATE INDEX ix_audit_events_user_created ON audit_events (user_id, created_at)`);
    await db.query(`CREATE INDEX ix_audit_events_type_created ON audit_events (type, created_at)`);
    await db.query(`CREATE INDEX ix_audit_events_created ON audit_events (created_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    for (const table of ['audit_events', 'refresh_tokens', 'sessions', 'users']) await db.query(`DROP TABLE ${table}`);
  }
}
