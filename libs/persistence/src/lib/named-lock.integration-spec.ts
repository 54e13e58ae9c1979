import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from './data-source-options';
import { LockBusyError, withNamedLock } from './named-lock';

/** The named lock under a burst, on real MariaDB: one name's waiters never take the whole pool. */
describe('withNamedLock on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let other: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('namedlock');
    ds = await new DataSource(dataSourceOptions(db.url, { poolSize: 3 })).initialize();
    other = await new DataSource(dataSourceOptions(db.url, { poolSize: 1 })).initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    await other?.destroy();
    await db?.drop();
  });

  it('lines a burst on one name up in the process: the pool stays free for other names and queries', async () => {
    const order: number[] = [];
    const burst = Array.from({ length: 40 }, (_, i) =>
      withNamedLock(ds, 'sandbox.session.burst', async (m) => {
        await m.query('SELECT SLEEP(0.01)');
        order.push(i);
      }),
    );
    // a pool of 3: were the 40 waiting on connections, these would wait behind all of them
    const elsewhere = await withNamedLock(ds, 'sandbox.session.other', async (m) => (await m.query('SELECT 1 AS one'))[0].one);
    const [plain] = await ds.query('SELECT 2 AS two');
    expect([Number(elsewhere), Number(plain.two)]).toEqual([1, 2]);
    await Promise.all(burst);
    expect(order).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('answers busy when another process holds the lock, and tells the ones queued behind at once', async () => {
    const holder = other.createQueryRunner();
    await holder.connect();
    await holder.query("SELECT GET_LOCK('sandbox.session.held', 10)");
    try {
      const connect = jest.spyOn(ds, 'createQueryRunner');
      const waiters = Array.from({ length: 10 }, () => withNamedLock(ds, 'sandbox.session.held', async () => 'ran').catch((e: Error) => e));
      const outcomes = await Promise.all(waiters);
      expect(outcomes.every((o) => o instanceof LockBusyError)).toBe(true);
      // one connection waited out the lock's timeout for all ten, not ten in turn
      expect(connect).toHaveBeenCalledTimes(1);
      connect.mockRestore();
      expect(await withNamedLock(ds, 'sandbox.session.free', async () => 'ran')).toBe('ran');
    } finally {
      await holder.query("SELECT RELEASE_LOCK('sandbox.session.held')");
      await holder.release();
    }
    expect(await withNamedLock(ds, 'sandbox.session.held', async () => 'ran')).toBe('ran');
  });
});
