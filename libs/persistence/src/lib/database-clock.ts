import { type DataSource } from 'typeorm';

/**
 * The database's clock: every age the platform judges (heartbeats, idle sessions, retention) is read
 * on it, never on a process's own (DESIGN.md §7). Reading it is also the cheapest proof that the
 * database answers.
 */
export class DatabaseClock {
  constructor(private readonly ds: DataSource) {}

  /** Seconds since the epoch, microsecond precision. */
  async now(): Promise<number> {
    const [row]: { now: string }[] = await this.ds.query('SELECT UNIX_TIMESTAMP(NOW(6)) AS now');
    return Number(row!.now);
  }
}
