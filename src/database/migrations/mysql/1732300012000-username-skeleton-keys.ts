import { MigrationInterface, QueryRunner } from 'typeorm';
import { rekeyUsernamesByCase, rekeyUsernamesBySkeleton } from '../username-skeleton-keys';

/** Usernames are unique by their confusable skeleton (Unicode TS #39): every row's username_key is recomputed. */
export class UsernameSkeletonKeys1732300012000 implements MigrationInterface {
  name = 'UsernameSkeletonKeys1732300012000';

  async up(db: QueryRunner): Promise<void> {
    // A skeleton can be longer than the name it keys (m → rn, NFD splits accents): room for it.
    await db.query('ALTER TABLE users MODIFY username_key varchar(255) COLLATE utf8mb4_bin NOT NULL');
    await rekeyUsernamesBySkeleton(db);
  }

  async down(db: QueryRunner): Promise<void> {
    await rekeyUsernamesByCase(db);
    await db.query('ALTER TABLE users MODIFY username_key varchar(64) COLLATE utf8mb4_bin NOT NULL');
  }
}
