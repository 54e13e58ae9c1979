import { type QueueProducer } from './queue-producer';

/**
 * The reapers' outage guard (DESIGN.md §7: no retry storm after an outage): since when, on the database
 * clock, they have been watching heartbeats without a failed tick. Kept in Redis, so consecutive ticks
 * on different replicas agree; forgotten when a tick fails (the database could not be read) or a
 * reaper starts, so a loss is judged only after a full threshold of watching.
 */
export class OutageGuard {
  private readonly key: string;

  constructor(
    private readonly producer: QueueProducer,
    prefix: string,
  ) {
    this.key = `${prefix}:reaper:watching-since`;
  }

  /** Seconds of watching up to `now` (database clock, seconds); starts the watch, answering 0, when none runs. */
  async watchingFor(now: number): Promise<number> {
    await this.producer.command('set', [this.key, String(now), 'NX']);
    return now - Number(await this.producer.command('get', [this.key]));
  }

  async forget(): Promise<void> {
    await this.producer.command('del', [this.key]);
  }
}
