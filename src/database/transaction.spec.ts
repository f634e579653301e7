import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { DataSource, EntityManager } from 'typeorm';
import { inExclusiveTransaction, inTransaction, takeTurnsOnSqlite } from './transaction';

/** Twenty overlapping transactions on SQLite's one connection, every other one rolling back. */
async function overlapping(source: DataSource, run: (manager: EntityManager, work: (tx: EntityManager) => Promise<void>) => Promise<void>): Promise<number[]> {
  await source.query('CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY)');
  await source.query('DELETE FROM t');
  await Promise.allSettled(
    Array.from({ length: 20 }, (_, n) =>
      run(source.manager, async (tx) => {
        await tx.query('INSERT INTO t (n) VALUES (?)', [n]);
        await new Promise((resolve) => setTimeout(resolve, 20 - n));
        if (n % 2) throw new Error('lost a race');
      }),
    ),
  );
  return ((await source.query('SELECT n FROM t ORDER BY n')) as { n: number }[]).map((row) => row.n);
}

describe('inTransaction', () => {
  let source: DataSource;
  beforeAll(async () => {
    source = takeTurnsOnSqlite(await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize());
  });
  afterAll(() => source.destroy());

  it('keeps exactly the committed work of overlapping SQLite transactions when others roll back', async () => {
    expect(await overlapping(source, (manager, work) => inTransaction(manager, work))).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  it("keeps a plain statement made while another request's transaction is open, when that transaction rolls back", async () => {
    await source.query('CREATE TABLE IF NOT EXISTS p (n INTEGER PRIMARY KEY)');
    await source.query('DELETE FROM p');
    let inside!: () => void;
    const opened = new Promise<void>((resolve) => (inside = resolve));
    const failing = inTransaction(source.manager, async (tx) => {
      await tx.query('INSERT INTO p (n) VALUES (1)');
      inside();
      await new Promise((resolve) => setTimeout(resolve, 30));
      throw new Error('lost a race');
    });
    await opened;
    // Another request's write (a repository call, no transaction) while that one is open:
    const plain = source.manager.insert('p', { n: 2 });
    await expect(failing).rejects.toThrow('lost a race');
    await plain;
    expect(await source.query('SELECT n FROM p ORDER BY n')).toEqual([{ n: 2 }]);
  });

  it('refuses to run a SQLite transaction on a data source that does not take turns', async () => {
    const bare = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
    try {
      expect(() => inTransaction(bare.manager, async () => undefined)).toThrow(/takeTurnsOnSqlite/);
    } finally {
      await bare.destroy();
    }
  });

  it('is needed: plain TypeORM transactions nest on the one connection and undo each other', async () => {
    expect(await overlapping(source, (manager, work) => manager.transaction(work))).not.toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });
});

const CAP = 3;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * 20 parallel count-then-insert transactions under a cap of 3, spread over the given sources (one per
 * instance); each waits between its count and its insert, and again before its commit, so that a
 * check that does not hold, or a lock released before the commit, lets more than 3 through.
 */
async function burstUnderCap(sources: DataSource[], run: (manager: EntityManager, work: (tx: EntityManager) => Promise<void>) => Promise<void>): Promise<{ inserted: number; refused: number }> {
  await sources[0].query('DELETE FROM capped');
  const outcomes = await Promise.allSettled(
    Array.from({ length: 20 }, (_, n) =>
      run(sources[n % sources.length].manager, async (tx) => {
        const [{ total }] = await tx.query('SELECT COUNT(*) AS total FROM capped');
        await sleep(5);
        if (Number(total) >= CAP) throw new Error('cap reached');
        await tx.query('INSERT INTO capped (n) VALUES (?)', [n]);
        await sleep(5);
      }),
    ),
  );
  const [{ total }] = await sources[0].query('SELECT COUNT(*) AS total FROM capped');
  return { inserted: Number(total), refused: outcomes.filter((outcome) => outcome.status === 'rejected').length };
}

describe('inExclusiveTransaction on SQLite', () => {
  let source: DataSource;
  beforeAll(async () => {
    source = takeTurnsOnSqlite(await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize());
    await source.query('CREATE TABLE capped (id INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER)');
  });
  afterAll(() => source.destroy());

  it('holds a cap of 3 under 20 parallel count-then-insert transactions: 3 inserted, 17 refused', async () => {
    expect(await burstUnderCap([source], (manager, work) => inExclusiveTransaction(manager, 'capped', work))).toEqual({ inserted: 3, refused: 17 });
  });
});

// The MariaDB + Redis pass sets DATABASE_URL; the embedded pass has no MySQL to lock on.
const mysqlUrl = process.env.DATABASE_URL?.startsWith('mysql') ? process.env.DATABASE_URL : null;

(mysqlUrl ? describe : describe.skip)('inExclusiveTransaction on MariaDB, two instances (two pools) on one database', () => {
  const name = `uc_test_${randomBytes(6).toString('hex')}`;
  const server = () => {
    const url = new URL(mysqlUrl!);
    return createConnection({ host: url.hostname, port: Number(url.port || 3306), user: decodeURIComponent(url.username), password: decodeURIComponent(url.password) });
  };
  let instances: DataSource[] = [];
  beforeAll(async () => {
    const admin = await server();
    await admin.query(`CREATE DATABASE \`${name}\``);
    await admin.end();
    const url = new URL(mysqlUrl!);
    url.pathname = `/${name}`;
    instances = await Promise.all([0, 1].map(() => new DataSource({ type: 'mysql', url: url.toString(), poolSize: 10 }).initialize()));
    await instances[0].query('CREATE TABLE capped (id INT AUTO_INCREMENT PRIMARY KEY, n INT) ENGINE=InnoDB');
  });
  afterAll(async () => {
    await Promise.all(instances.map((source) => source.destroy()));
    const admin = await server();
    await admin.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await admin.end();
  });

  it('holds a cap of 3 under 20 parallel count-then-insert transactions: 3 inserted, 17 refused', async () => {
    expect(await burstUnderCap(instances, (manager, work) => inExclusiveTransaction(manager, 'capped', work))).toEqual({ inserted: 3, refused: 17 });
  });

  it('is needed: plain transactions all count before any insert commits, and the burst walks through the cap', async () => {
    expect((await burstUnderCap(instances, (manager, work) => manager.transaction(work))).inserted).toBeGreaterThan(CAP);
  });

  it('gives the lock back after a failed transaction and after a commit, and returns the connection to the pool', async () => {
    await expect(inExclusiveTransaction(instances[0].manager, 'capped', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await inExclusiveTransaction(instances[0].manager, 'capped', async (tx) => void (await tx.query('SELECT 1')));
    const [{ free }] = await instances[1].query('SELECT IS_FREE_LOCK(CONCAT(DATABASE(), ?)) AS free', [':capped']);
    expect(Number(free)).toBe(1);
  });
});
