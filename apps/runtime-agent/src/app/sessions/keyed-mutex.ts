import { Mutex } from 'async-mutex';

/**
 * One mutex per key, held only while someone holds or waits for it: the entry goes with its last
 * user, so a node that sees millions of sessions keeps as many entries as it has callers in flight.
 * Dropping an entry only when nobody waits keeps two callers of one key from ever getting two mutexes.
 */
export class KeyedMutex {
  private readonly entries = new Map<string, { mutex: Mutex; users: number }>();

  /** Keys with a holder or a waiter. */
  get size(): number {
    return this.entries.size;
  }

  async runExclusive<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) this.entries.set(key, (entry = { mutex: new Mutex(), users: 0 }));
    entry.users++;
    try {
      return await entry.mutex.runExclusive(fn);
    } finally {
      if (--entry.users === 0) this.entries.delete(key);
    }
  }
}
