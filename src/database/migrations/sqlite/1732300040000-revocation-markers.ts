import { MigrationInterface, QueryRunner } from 'typeorm';

/** The durable copy of the revoke-all marker (contract §14), loaded into the shared store at start-up. */
export class RevocationMarkers1732300040000 implements MigrationInterface {
  name = 'RevocationMarkers1732300040000';

  async up(db: QueryRunner): Promise<void> {
    await db.query(`CREATE TABLE revocation_markers (
      name varchar(64) PRIMARY KEY NOT NULL,
      before_at datetime NOT NULL
    )`);
  }

  async down(db: QueryRunner): Promise<void> {
    await db.query(`DROP TABLE revocation_markers`);
  }
}
