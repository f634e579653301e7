import { MigrationInterface, QueryRunner } from 'typeorm';

/** The retention purge finds expired sessions by expires_at (revoked ones use ix_sessions_revoked_at, old audit events ix_audit_events_created). */
export class RetentionIndexes1732300004000 implements MigrationInterface {
  name = 'RetentionIndexes1732300004000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE INDEX ix_sessions_expires_at ON sessions (expires_at)`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP INDEX ix_sessions_expires_at ON sessions`);
  }
}
