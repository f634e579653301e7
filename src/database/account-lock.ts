import type { EntityManager } from 'typeorm';

/**
 * Locks the account's row until `tx` ends, on MySQL/MariaDB (SQLite runs one transaction at a time).
 * A write that counts what an account holds before adding to it (sessions, keys, factors) takes it
 * first, so such writes queue per account; taking it before any of the account's other rows keeps
 * one lock order everywhere, and two transactions of one account cannot deadlock on it.
 */
export async function lockAccountRow(tx: EntityManager, userId: string): Promise<void> {
  if (tx.connection.options.type !== 'better-sqlite3') await tx.query('SELECT id FROM users WHERE id = ? FOR UPDATE', [userId]);
}
