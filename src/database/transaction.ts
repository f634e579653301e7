import type { DataSource, EntityManager } from 'typeorm';

/**
 * Further writes that must commit together with the one being made, or not at all: they get the
 * open transaction's manager. A database failure in between then leaves no half-written operation
 * (a session without its refresh token or its audit event, an account without its sign-up event,
 * a new password with the old sessions still alive).
 */
export type AlsoWrite = (tx: EntityManager) => Promise<void>;

const sqliteQueues = new WeakMap<DataSource, Promise<unknown>>();

/**
 * manager.transaction, except that on SQLite transactions take turns. TypeORM runs every SQLite
 * query on one connection, so a second transaction opened while one is running nests as a
 * savepoint of it — and a rollback of either (a lost unique-index race) then undoes the other's
 * work. `work` must not open another transaction through here (it would wait for itself).
 */
export function inTransaction<T>(manager: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  const source = manager.connection;
  if (source.options.type !== 'better-sqlite3') return manager.transaction(work);
  const run = (sqliteQueues.get(source) ?? Promise.resolve()).then(() => manager.transaction(work));
  sqliteQueues.set(source, run.catch(() => undefined));
  return run;
}
