import { MigrationInterface, QueryRunner } from 'typeorm';
import { rekeyUsernamesByCase, rekeyUsernamesBySkeleton } from '../username-skeleton-keys';

/** Usernames are unique by their confusable skeleton (Unicode TS #39): every row's username_key is recomputed. */
export class UsernameSkeletonKeys1732300012000 implements MigrationInterface {
  name = 'UsernameSkeletonKeys1732300012000';

  async up(db: QueryRunner): Promise<void> {
    // SQLite does not enforce varchar lengths: a skeleton longer than the name (m → rn) fits as it is.
    await rekeyUsernamesBySkeleton(db);
  }

  async down(db: QueryRunner): Promise<void> {
    await rekeyUsernamesByCase(db);
  }
}
