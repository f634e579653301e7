import { MigrationInterface, QueryRunner } from 'typeorm';

/** The durable copy of the revoke-all marker (contract §14), loaded into the shared store at start-up. */
export class RevocationMarkers1732300040000 implements MigrationInterface {
  name = 'RevocationMarkers1732300040000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE revocation_markers (
      name varchar(64) NOT NULL,
      before_at datetime(3) NOT NULL,
      PRIMARY KEY (name)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE revocation_markers`);
  }
}
