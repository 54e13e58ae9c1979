import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { createWorker, QueueProducer, REAPER_QUEUE } from '@sandbox/queue';
import { type Worker } from 'bullmq';
import { InjectPinoLogger, PinoLogger } from 'nestjs-pino';
import { REAPER_CONFIG, type ReaperConfig } from '../reaper-config';
import { WorkspaceRetentionService } from '../retention/workspace-retention.service';

/**
 * The reaper's clock: each periodic task is a BullMQ job scheduler (upserted by every replica, one
 * job per tick in all) and the reaper's worker runs whichever tick it gets. Thin: a tick calls one
 * service method.
 */
@Injectable()
export class ReaperSchedulerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private worker: Worker | null = null;

  constructor(
    @Inject(REAPER_CONFIG) private readonly config: ReaperConfig,
    private readonly producer: QueueProducer,
    private readonly retention: WorkspaceRetentionService,
    @InjectPinoLogger(ReaperSchedulerService.name) private readonly log: PinoLogger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.producer.schedule('reaper', 'workspace-retention', this.config.RETENTION_INTERVAL_MS);
    this.worker = createWorker(
      'reaper',
      REAPER_QUEUE,
      { 'workspace-retention': () => this.retention.run() },
      { redisUrl: this.config.REDIS_URL, prefix: this.config.QUEUE_PREFIX },
    );
    this.worker.on('error', (e) => this.log.error({ err: e }, 'reaper worker error'));
    this.worker.on('failed', (job, e) => this.log.error({ task: job?.name, err: e }, 'reaper task failed'));
    this.log.info({ retention_days: this.config.WORKSPACE_RETENTION_DAYS }, 'reaper ready');
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await this.producer.close();
  }
}
