import { DataSource, EntityManager } from 'typeorm';
import { inTransaction } from './transaction';

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
    source = await new DataSource({ type: 'better-sqlite3', database: ':memory:' }).initialize();
  });
  afterAll(() => source.destroy());

  it('keeps exactly the committed work of overlapping SQLite transactions when others roll back', async () => {
    expect(await overlapping(source, (manager, work) => inTransaction(manager, work))).toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });

  it('is needed: plain TypeORM transactions nest on the one connection and undo each other', async () => {
    expect(await overlapping(source, (manager, work) => manager.transaction(work))).not.toEqual([0, 2, 4, 6, 8, 10, 12, 14, 16, 18]);
  });
});
