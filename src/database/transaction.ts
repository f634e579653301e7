import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { DependencyUnavailableError } from '@/common/http/error-response';

/**
 * Further writes that must commit together with the one being made, or not at all: they get the
 * open transaction's manager. A database failure in between then leaves no half-written operation
 * (a session without its refresh token or its audit event, an account without its sign-up event,
 * a new password with the old sessions still alive).
 */
export type AlsoWrite = (tx: EntityManager) => Promise<void>;

/**
 * Who may use SQLite's one connection now: any number of plain statements (each is atomic on its
 * own), or one transaction with nothing else. First come, first served, so a waiting transaction
 * holds back later statements instead of starving behind them.
 */
class ConnectionTurns {
  private statements = 0;
  private transaction = false;
  private readonly waiting: { exclusive: boolean; start: () => void }[] = [];

  async run<T>(exclusive: boolean, task: () => Promise<T>): Promise<T> {
    if (!this.waiting.length && this.free(exclusive)) this.enter(exclusive);
    else await new Promise<void>((start) => this.waiting.push({ exclusive, start }));
    try {
      return await task();
    } finally {
      if (exclusive) this.transaction = false;
      else this.statements -= 1;
      while (this.waiting.length && this.free(this.waiting[0].exclusive)) {
        const next = this.waiting.shift()!;
        this.enter(next.exclusive);
        next.start();
      }
    }
  }

  private free(exclusive: boolean): boolean {
    return !this.transaction && (!exclusive || this.statements === 0);
  }

  private enter(exclusive: boolean): void {
    if (exclusive) this.transaction = true;
    else this.statements += 1;
  }
}

interface SqliteConnection {
  turns: ConnectionTurns;
  /** A manager bound to the connection's own query runner: what a transaction's work is given. */
  transactionManager: EntityManager;
}

const sqliteConnections = new WeakMap<DataSource, SqliteConnection>();

/**
 * TypeORM runs every SQLite query on one connection, so whatever runs while a transaction is open
 * becomes part of it: a second transaction nests as a savepoint, and a plain statement from another
 * request joins it. A rollback (a lost unique-index race) then undoes their work too, though they
 * were answered as done. Here statements made outside a transaction and transactions (inTransaction)
 * take turns: statements run side by side, but never while a transaction is open, which runs alone.
 * Call it once, on the initialised data source (app.module's dataSourceFactory); MySQL has a pool
 * with a connection per transaction and needs none of this.
 */
export function takeTurnsOnSqlite(source: DataSource): DataSource {
  if (source.options.type !== 'better-sqlite3' || sqliteConnections.has(source)) return source;
  const driver = source.driver as unknown as { createQueryRunner(mode?: string): QueryRunner };
  const connection = driver.createQueryRunner('master');
  const transactionManager = source.createEntityManager(connection);
  Object.assign(connection, { manager: transactionManager });
  const turns = new ConnectionTurns();
  // Everyone else gets a view of the runner whose statements wait while a transaction is open.
  const turnTaking: QueryRunner = Object.create(connection);
  turnTaking.query = ((...args: Parameters<QueryRunner['query']>) => turns.run(false, () => connection.query(...args))) as QueryRunner['query'];
  driver.createQueryRunner = () => turnTaking;
  sqliteConnections.set(source, { turns, transactionManager });
  return source;
}

/**
 * manager.transaction, except that on SQLite transactions and plain statements take turns (see
 * takeTurnsOnSqlite). `work` must write through `tx` only: a statement through another manager,
 * or another inTransaction, would wait for this transaction to end, which waits for it.
 */
export function inTransaction<T>(manager: EntityManager, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  const source = manager.connection;
  if (source.options.type !== 'better-sqlite3') return manager.transaction(work);
  const sqlite = sqliteConnections.get(source);
  if (!sqlite) throw new Error('inTransaction on SQLite needs takeTurnsOnSqlite(dataSource) first');
  return sqlite.turns.run(true, () => sqlite.transactionManager.transaction(work));
}

/**
 * How long inExclusiveTransaction waits for the named lock before giving up (503): under the default
 * DB_QUERY_TIMEOUT_MS (10 s), so a long queue ends as a refused lock rather than a killed query.
 */
export const EXCLUSIVE_LOCK_WAIT_SECONDS = 5;

/**
 * inTransaction for a check-then-write that must not interleave with the same check anywhere, on any
 * instance: count the rows, then insert one only while under a cap. A transaction alone does not
 * serialise that on MySQL (two transactions both count 2 of 3, both insert), so the work runs under a
 * named lock (GET_LOCK, per database), taken on the transaction's own connection and released only
 * after the commit: released before, the next holder could count before this insert is visible.
 * On SQLite inTransaction already runs the transaction alone. `lockName` names what is guarded.
 * Each waiter holds a pooled connection while it waits: for rare writes (admin routes), not hot paths.
 */
export async function inExclusiveTransaction<T>(manager: EntityManager, lockName: string, work: (tx: EntityManager) => Promise<T>): Promise<T> {
  const source = manager.connection;
  if (source.options.type === 'better-sqlite3') return inTransaction(manager, work);
  const runner = source.createQueryRunner();
  try {
    // The lock is the connection's: taking it, the transaction and releasing it must share one runner.
    const [{ acquired }]: { acquired: number | string | null }[] = await runner.query('SELECT GET_LOCK(CONCAT(DATABASE(), ?), ?) AS acquired', [`:${lockName}`, EXCLUSIVE_LOCK_WAIT_SECONDS]);
    if (Number(acquired) !== 1) throw new DependencyUnavailableError(`database lock ${lockName}`);
    try {
      return await runner.manager.transaction(work);
    } finally {
      await runner.query('SELECT RELEASE_LOCK(CONCAT(DATABASE(), ?))', [`:${lockName}`]);
    }
  } finally {
    await runner.release();
  }
}
