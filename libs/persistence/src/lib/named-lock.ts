import { type DataSource, type EntityManager } from 'typeorm';

/**
 * Runs `fn` holding a MariaDB named lock (GET_LOCK), on one connection: a count-then-insert under
 * it is atomic across control planes without locking rows other requests need.
 */
export async function withNamedLock<T>(ds: DataSource, name: string, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    const [row] = (await runner.query('SELECT GET_LOCK(?, 5) AS got', [name])) as { got: number | null }[];
    if (Number(row?.got) !== 1) throw new Error(`lock '${name}' not acquired within 5 s`);
    try {
      return await fn(runner.manager);
    } finally {
      await runner.query('SELECT RELEASE_LOCK(?)', [name]);
    }
  } finally {
    await runner.release();
  }
}
