import { type DataSource, type EntityManager } from 'typeorm';

/** Longest a request waits for a lock held by another process before it is answered 503 busy. */
const LOCK_WAIT_SECONDS = 2;

/** The lock stayed held elsewhere (another control plane's burst on the same name): retry shortly. */
export class LockBusyError extends Error {
  constructor(name: string) {
    super(`lock '${name}' is busy; retry shortly`);
    this.name = 'LockBusyError';
  }
}

// per DataSource and name, the callers of this process line up here, not on pooled connections: a
// burst on one session holds one connection, and the pool stays free for everybody else. When the
// one ahead found the lock busy elsewhere, those behind it are told at once instead of waiting in turn.
const turns = new WeakMap<DataSource, Map<string, Promise<boolean>>>();

async function inTurn<T>(ds: DataSource, name: string, fn: () => Promise<T>): Promise<T> {
  let queue = turns.get(ds);
  if (!queue) turns.set(ds, (queue = new Map()));
  const before = queue.get(name) ?? Promise.resolve(false);
  const mine = before.then((busy) => {
    if (busy) throw new LockBusyError(name);
    return fn();
  });
  const tail = mine.then(
    () => false,
    (e: unknown) => e instanceof LockBusyError,
  );
  queue.set(name, tail);
  try {
    return await mine;
  } finally {
    if (queue.get(name) === tail) queue.delete(name);
  }
}

/**
 * Runs `fn` holding a MariaDB named lock (GET_LOCK), on one connection: a count-then-insert under
 * it is atomic across control planes without locking rows other requests need.
 */
export function withNamedLock<T>(ds: DataSource, name: string, fn: (manager: EntityManager) => Promise<T>): Promise<T> {
  return inTurn(ds, name, async () => {
    const runner = ds.createQueryRunner();
    await runner.connect();
    try {
      const [row] = (await runner.query('SELECT GET_LOCK(?, ?) AS got', [name, LOCK_WAIT_SECONDS])) as { got: number | null }[];
      if (Number(row?.got) !== 1) throw new LockBusyError(name);
      try {
        return await fn(runner.manager);
      } finally {
        await runner.query('SELECT RELEASE_LOCK(?)', [name]);
      }
    } finally {
      await runner.release();
    }
  });
}
