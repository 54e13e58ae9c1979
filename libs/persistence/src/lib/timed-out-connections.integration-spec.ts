import { createTestDatabase, type TestDatabase } from '@sandbox/testing';
import { DataSource, QueryFailedError } from 'typeorm';
import { dataSourceOptions } from './data-source-options';

/** A query that timed out must not leave its connection in the pool with the query still pending on it. */
describe('a connection whose query timed out, on MariaDB', () => {
  let db: TestDatabase;
  let ds: DataSource;
  let holder: DataSource;

  beforeAll(async () => {
    db = await createTestDatabase('timedout');
    // one connection: without the fix the next query is queued behind the pending one, on the same one
    ds = await new DataSource(dataSourceOptions(db.url, { poolSize: 1, queryTimeoutMs: 500 })).initialize();
    holder = await new DataSource(dataSourceOptions(db.url, { poolSize: 1 })).initialize();
  });

  afterAll(async () => {
    await ds?.destroy();
    await holder?.destroy();
    await db?.drop();
  });

  it('is destroyed: the next query runs at once on a fresh connection, not behind the one that never answers', async () => {
    const runner = holder.createQueryRunner();
    await runner.connect();
    try {
      await runner.query(`SELECT GET_LOCK('timedout.held', 0)`);
      const [{ id: first }] = await ds.query('SELECT CONNECTION_ID() AS id');
      // waits an hour for the lock, server side: the client gives up after 500 ms
      const waited = await ds.query(`SELECT GET_LOCK('timedout.held', 3600)`).catch((e: unknown) => e);
      expect(waited).toBeInstanceOf(QueryFailedError);
      expect((waited as QueryFailedError & { driverError: { code: string } }).driverError.code).toBe('PROTOCOL_SEQUENCE_TIMEOUT');
      const [{ id: next }] = await ds.query('SELECT CONNECTION_ID() AS id');
      expect(Number(next)).not.toBe(Number(first));
      // the abandoned connection's wait ends server side too once its socket is closed
      await expect(ds.query('SELECT 1 AS one')).resolves.toEqual([{ one: 1 }]);
    } finally {
      await runner.release();
    }
  });
});
