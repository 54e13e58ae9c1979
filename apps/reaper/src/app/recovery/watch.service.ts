import { Inject, Injectable } from '@nestjs/common';
import { QueueProducer } from '@sandbox/queue';
import { REAPER_CONFIG, type ReaperConfig } from '../reaper-config';

/**
 * Since when (database clock, seconds) the reapers have been watching heartbeats without a failed
 * tick. Kept in Redis, so consecutive ticks on different replicas agree; forgotten when a tick fails
 * (the database was unreachable) or a reaper starts, so loss is judged only after a full threshold of
 * watching (DESIGN.md §7: no retry storm after an outage).
 */
@Injectable()
export class WatchService {
  private readonly key: string;

  constructor(
    @Inject(REAPER_CONFIG) config: ReaperConfig,
    private readonly producer: QueueProducer,
  ) {
    this.key = `${config.QUEUE_PREFIX}:reaper:watching-since`;
  }

  /** Seconds of watching up to `now`; starts the watch (and answers 0) when none runs. */
  async watchingFor(now: number): Promise<number> {
    await this.producer.command('set', [this.key, String(now), 'NX']);
    return now - Number(await this.producer.command('get', [this.key]));
  }

  async forget(): Promise<void> {
    await this.producer.command('del', [this.key]);
  }
}
