import { DataSource, EntityManager } from 'typeorm';
import { inTransaction, takeTurnsOnSqlite } from './transaction';

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
